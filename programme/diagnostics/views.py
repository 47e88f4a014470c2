"""Diagnostics screens: campaigns and coverage, the session entry screen and the
organisational determinants. Customer voice is in `voice_views`, irritants and the synthesis
in `irritant_views`, on the same blueprint (importing them here registers them)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from programme.auth.permissions import can, require
from programme.diagnostics import irritant_views, queries, services, voice_views
from programme.diagnostics.access import (
    get_campaign_or_403,
    get_campaign_site_or_403,
    get_observation_or_403,
    may_edit_observation,
    may_lead_campaign,
    may_work_in_campaign,
)
from programme.diagnostics.blueprint import bp
from programme.diagnostics.forms import (
    CampaignForm,
    CompleteForm,
    FindingRowForm,
    SessionForm,
    campaign_data,
    campaign_values,
    determinant_data,
    determinant_form_class,
    determinant_values,
    finding_rows,
    save_form,
    session_data,
    session_values,
    set_campaign_choices,
    set_session_choices,
    step_choices,
)
from programme.diagnostics.models import JOURNEY_STEPS, Campaign, ObservationSession
from programme.extensions import db
from programme.network.models import CHANNELS, SITE_TYPES
from programme.network.queries import all_regions
from programme.web.htmx import render
from programme.web.parsing import int_arg

__all__ = ["bp", "irritant_views", "voice_views"]


# --- campaigns -------------------------------------------------------------------------------


@bp.get("/")
@require("view_campaigns")
def campaign_list():
    return render("diagnostics/campaign_list.html", rows=queries.campaigns(db.session))


def _campaign_form() -> CampaignForm:
    form = CampaignForm()
    set_campaign_choices(form, queries.lead_choices(db.session), all_regions(db.session))
    return form


def _campaign_page(form, campaign, status=200, conflict=False):
    return render(
        "diagnostics/campaign_form.html",
        form=form,
        campaign=campaign,
        conflict=conflict,
        status=status,
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
@require("manage_campaigns")
def campaign_new():
    form = _campaign_form()
    if request.method == "GET":
        form.journey_steps.data = list(JOURNEY_STEPS)
        form.channels.data = list(CHANNELS)
        form.site_types.data = list(SITE_TYPES)
        form.lead_id.data = str(current_user.id)
        return _campaign_page(form, None)
    if form.validate_on_submit():
        saved = save_form(lambda: services.save_campaign(db.session, campaign_values(form)), form)
        if saved.ok:
            campaign = saved.result
            flash(_("Campaign “%(name)s” created.", name=campaign.name), "success")
            return redirect(url_for("diagnostics.campaign_detail", campaign_id=campaign.id))
    return _campaign_page(form, None, 422)


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@login_required
def campaign_edit(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "manage_campaigns")
    form = _campaign_form()
    if request.method == "GET":
        form.process(data=campaign_data(campaign))
        return _campaign_page(form, campaign)
    if form.validate_on_submit():
        saved = save_form(
            lambda: services.save_campaign(db.session, campaign_values(form), campaign),
            form,
            campaign.version,
        )
        if saved.conflict:
            campaign = db.session.get(Campaign, campaign_id)
            form.version.data = str(campaign.version)
            return _campaign_page(form, campaign, 409, conflict=True)
        if saved.ok:
            flash(_("Campaign “%(name)s” saved.", name=campaign.name), "success")
            return redirect(url_for("diagnostics.campaign_detail", campaign_id=campaign.id))
    return _campaign_page(form, campaign, 422)


def _detail(campaign: Campaign, complete_form=None, status: int = 200):
    mine = request.args.get("mine") == "1"
    return render(
        "diagnostics/campaign_detail.html",
        campaign=campaign,
        coverage=(
            queries.coverage(db.session, campaign) if can(current_user, "view_analysis") else None
        ),
        sessions=queries.session_rows(
            db.session, campaign, current_user, observer_id=current_user.id if mine else None
        ),
        mine=mine,
        complete_form=complete_form or CompleteForm(formdata=None),
        may_work=may_work_in_campaign(current_user, campaign),
        may_lead=may_lead_campaign(current_user, campaign),
        may_edit=lambda obs: may_edit_observation(current_user, obs),
        problem=None,
        status=status,
    )


@bp.get("/campaigns/<int:campaign_id>")
@login_required
def campaign_detail(campaign_id: int):
    return _detail(get_campaign_or_403(campaign_id, "view_diagnostics"))


@bp.post("/campaigns/<int:campaign_id>/complete")
@login_required
def campaign_complete(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "complete_campaign")
    form = CompleteForm()
    if not form.validate_on_submit():
        return _detail(campaign, form, 422)
    saved = save_form(
        lambda: services.complete_campaign(
            db.session, campaign, current_user, form.override_reason.data
        ),
        form,
    )
    if not saved.ok:
        return _detail(campaign, form, 422)
    flash(_("Campaign “%(name)s” marked complete.", name=campaign.name), "success")
    return redirect(url_for("diagnostics.campaign_detail", campaign_id=campaign.id))


# --- observation sessions --------------------------------------------------------------------


def _session_form(campaign: Campaign, form: SessionForm | None = None) -> SessionForm:
    form = form if form is not None else SessionForm()
    set_session_choices(form, campaign, queries.sampled_sites(db.session, campaign, current_user))
    return form


def _session_page(form, campaign, observation=None, status=200, conflict=False):
    return render(
        "diagnostics/session_form.html",
        form=form,
        campaign=campaign,
        observation=observation,
        conflict=conflict,
        failed=status == 422,
        status=status,
    )


def _with_added_row(form: SessionForm, campaign: Campaign) -> SessionForm:
    """Without JavaScript, "Add a finding" posts the form: show it again with one more row."""
    form.findings.append_entry()
    return _session_form(campaign, form)


@bp.route("/campaigns/<int:campaign_id>/sessions/new", methods=["GET", "POST"])
@login_required
def session_new(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "record_sessions")
    form = _session_form(campaign)
    if request.method == "GET":
        site_id = int_arg("site")
        if site_id:
            form.site_id.data = str(site_id)
        return _session_page(form, campaign)
    if "add_row" in request.form:
        return _session_page(_with_added_row(form, campaign), campaign)
    if form.validate_on_submit():
        saved = save_form(
            lambda: services.save_observation(
                db.session, campaign, session_values(form), finding_rows(form), current_user
            ),
            form,
        )
        if saved.ok:
            observation = saved.result
            flash(
                ngettext(
                    "Session recorded with %(num)d finding.",
                    "Session recorded with %(num)d findings.",
                    len(observation.findings),
                ),
                "success",
            )
            return redirect(url_for("diagnostics.session_detail", observation_id=observation.id))
    return _session_page(form, campaign, status=422)


@bp.get("/campaigns/<int:campaign_id>/finding-row")
@login_required
def finding_row(campaign_id: int):
    """htmx: one more blank finding row, and the next free index (out of band)."""
    campaign = get_campaign_or_403(campaign_id, "record_sessions")
    index = int_arg("next_index") or 0
    if not 0 <= index < 1000:
        abort(400)
    row = FindingRowForm(prefix=f"findings-{index}")
    row.journey_step.choices = step_choices(campaign.journey_steps or [])
    row.journey_step.render_kw = {"autofocus": True}  # keyboard: carry on in the new row
    return render("diagnostics/_finding_row_added.html", row=row, index=index, next_index=index + 1)


@bp.get("/sessions/<int:observation_id>")
@login_required
def session_detail(observation_id: int):
    observation = get_observation_or_403(observation_id)
    return render(
        "diagnostics/session_detail.html",
        observation=observation,
        campaign=observation.campaign,
        may_edit=may_edit_observation(current_user, observation),
    )


@bp.route("/sessions/<int:observation_id>/edit", methods=["GET", "POST"])
@login_required
def session_edit(observation_id: int):
    observation = get_observation_or_403(observation_id, "record_sessions")
    campaign = observation.campaign
    if request.method == "GET":
        form = SessionForm(formdata=None)
        form.process(data=session_data(observation))
        return _session_page(_session_form(campaign, form), campaign, observation)
    form = _session_form(campaign)
    if "add_row" in request.form:
        return _session_page(_with_added_row(form, campaign), campaign, observation)
    if form.validate_on_submit():
        saved = save_form(
            lambda: services.save_observation(
                db.session,
                campaign,
                session_values(form),
                finding_rows(form),
                current_user,
                observation,
            ),
            form,
            observation.version,
        )
        if saved.conflict:
            observation = db.session.get(ObservationSession, observation_id)
            form.version.data = str(observation.version)
            form = _session_form(observation.campaign, form)
            return _session_page(form, observation.campaign, observation, 409, conflict=True)
        if saved.ok:
            flash(_("Session saved."), "success")
            return redirect(url_for("diagnostics.session_detail", observation_id=observation_id))
    return _session_page(form, campaign, observation, status=422)


@bp.post("/sessions/<int:observation_id>/delete")
@login_required
def session_delete(observation_id: int):
    observation = get_observation_or_403(observation_id, "record_sessions")
    campaign_id = observation.campaign_id
    if not CompleteForm().validate_on_submit():  # any FlaskForm: checks the CSRF token
        abort(400)
    services.delete_observation(db.session, observation)
    db.session.commit()
    flash(_("Session deleted."), "success")
    return redirect(url_for("diagnostics.campaign_detail", campaign_id=campaign_id))


# --- organisational determinants -------------------------------------------------------------


@bp.get("/campaigns/<int:campaign_id>/determinants")
@login_required
def determinant_comparison(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "view_diagnostics")
    return render(
        "diagnostics/determinants.html",
        campaign=campaign,
        comparison=queries.determinant_comparison(db.session, campaign, current_user),
        may_work=may_work_in_campaign(current_user, campaign),
    )


@bp.route("/campaigns/<int:campaign_id>/sites/<int:site_id>/determinants", methods=["GET", "POST"])
@login_required
def determinant_assess(campaign_id: int, site_id: int):
    campaign, site = get_campaign_site_or_403(campaign_id, site_id, "assess_determinants")
    form_class = determinant_form_class()
    if request.method == "GET":
        comparison = queries.determinant_comparison(db.session, campaign, current_user)
        form = form_class(data=determinant_data(comparison.scores, site.id))
        return render("diagnostics/determinant_form.html", form=form, campaign=campaign, site=site)
    form = form_class()
    if form.validate_on_submit():
        values = determinant_values(form)
        saved = save_form(
            lambda: services.save_determinants(db.session, campaign, site, values, current_user),
            form,
        )
        if saved.ok:
            flash(_("Determinants of %(code)s saved.", code=site.code), "success")
            return redirect(url_for("diagnostics.determinant_comparison", campaign_id=campaign.id))
    return render(
        "diagnostics/determinant_form.html",
        form=form,
        campaign=campaign,
        site=site,
        failed=True,
        status=422,
    )
