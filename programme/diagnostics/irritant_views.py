"""Diagnostics screens of the analysis: irritants (ranking with its Pareto, grouping the
findings) and the campaign's printable synthesis."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from programme.auth.permissions import can
from programme.diagnostics import queries, services
from programme.diagnostics.access import (
    get_campaign_or_403,
    get_irritant_or_403,
    may_in_campaign,
)
from programme.diagnostics.blueprint import bp
from programme.diagnostics.forms import (
    CompleteForm,
    GroupFindingsForm,
    IrritantForm,
    SynthesisForm,
    irritant_values,
    save_form,
    synthesis_data,
)
from programme.diagnostics.models import CAUSES, Campaign
from programme.extensions import db
from programme.network.models import CHANNELS, SITE_TYPES
from programme.network.queries import all_regions
from programme.web.forms import save_or_conflict
from programme.web.htmx import render
from programme.web.parsing import int_arg

# --- irritants -------------------------------------------------------------------------------


def _ranking_filters() -> queries.RankingFilters:
    site_type = request.args.get("type", "")
    channel = request.args.get("channel", "")
    return queries.RankingFilters(
        region_id=int_arg("region"),
        site_type=site_type if site_type in SITE_TYPES else "",
        channel=channel if channel in CHANNELS else "",
    )


@bp.get("/campaigns/<int:campaign_id>/irritants")
@login_required
def irritant_ranking(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "view_irritants")
    filters = _ranking_filters()
    ranking = queries.irritant_ranking(db.session, campaign.id, filters)
    ranked_ids = {r.irritant_id for r in ranking.rows}
    others = [
        (irritant, n)
        for irritant, n in queries.irritants(db.session, campaign.id)
        if irritant.id not in ranked_ids
    ]
    return render(
        "diagnostics/irritants.html",
        "diagnostics/_ranking.html",
        campaign=campaign,
        ranking=ranking,
        others=others,
        filters=filters,
        spec=services.pareto_spec(ranking),
        regions=all_regions(db.session),
        may_manage=may_in_campaign(current_user, campaign, "manage_irritants"),
        may_open=can(current_user, "view_analysis"),
    )


def _irritant_form_page(form, campaign, irritant=None):
    return render(
        "diagnostics/irritant_form.html",
        form=form,
        campaign=campaign,
        irritant=irritant,
        status=422 if request.method == "POST" else 200,
    )


@bp.route("/campaigns/<int:campaign_id>/irritants/new", methods=["GET", "POST"])
@login_required
def irritant_new(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "manage_irritants")
    form = IrritantForm()
    if form.validate_on_submit():
        saved = save_form(
            lambda: services.save_irritant(db.session, campaign, irritant_values(form)), form
        )
        if saved.ok:
            irritant = saved.result
            flash(_("Irritant “%(name)s” created.", name=irritant.name), "success")
            return redirect(url_for("diagnostics.irritant_detail", irritant_id=irritant.id))
    return _irritant_form_page(form, campaign)


@bp.route("/irritants/<int:irritant_id>/edit", methods=["GET", "POST"])
@login_required
def irritant_edit(irritant_id: int):
    irritant = get_irritant_or_403(irritant_id, "manage_irritants")
    form = IrritantForm(obj=irritant) if request.method == "GET" else IrritantForm()
    if form.validate_on_submit():
        saved = save_form(
            lambda: services.save_irritant(
                db.session, irritant.campaign, irritant_values(form), irritant
            ),
            form,
        )
        if saved.ok:
            flash(_("Irritant “%(name)s” saved.", name=irritant.name), "success")
            return redirect(url_for("diagnostics.irritant_detail", irritant_id=irritant.id))
    return _irritant_form_page(form, irritant.campaign, irritant)


def _irritant_page(irritant, form=None, status=200):
    cause = request.args.get("cause", "")
    filters = queries.FindingFilters(
        journey_step=request.args.get("step", "")[:60], cause=cause if cause in CAUSES else ""
    )
    may_manage = may_in_campaign(current_user, irritant.campaign, "manage_irritants")
    ungrouped, ungrouped_total = ([], 0)
    if may_manage:
        ungrouped, ungrouped_total = queries.ungrouped_findings(
            db.session, irritant.campaign_id, filters
        )
    return render(
        "diagnostics/irritant_detail.html",
        "diagnostics/_ungrouped.html",
        irritant=irritant,
        campaign=irritant.campaign,
        findings=queries.irritant_findings(db.session, irritant.id, current_user),
        ungrouped=ungrouped,
        ungrouped_total=ungrouped_total,
        filters=filters,
        form=form or GroupFindingsForm(formdata=None),
        may_manage=may_manage,
        status=status,
    )


@bp.get("/irritants/<int:irritant_id>")
@login_required
def irritant_detail(irritant_id: int):
    return _irritant_page(get_irritant_or_403(irritant_id, "view_analysis"))


@bp.post("/irritants/<int:irritant_id>/findings")
@login_required
def irritant_group(irritant_id: int):
    irritant = get_irritant_or_403(irritant_id, "manage_irritants")
    form = GroupFindingsForm()
    if not form.validate_on_submit():
        return _irritant_page(irritant, form, 422)
    saved = save_or_conflict(
        lambda: services.group_findings(
            db.session, irritant, form.add.data or [], form.remove.data or []
        )
    )
    if not saved.ok:
        form.add.errors = saved.loose
        return _irritant_page(irritant, form, 422)
    added, removed = saved.result
    flash(
        _("%(added)d finding(s) grouped, %(removed)d taken out.", added=added, removed=removed),
        "success",
    )
    return redirect(url_for("diagnostics.irritant_detail", irritant_id=irritant.id))


@bp.post("/irritants/<int:irritant_id>/delete")
@login_required
def irritant_delete(irritant_id: int):
    irritant = get_irritant_or_403(irritant_id, "manage_irritants")
    if not CompleteForm().validate_on_submit():  # any FlaskForm: checks the CSRF token
        abort(400)
    campaign_id, name = irritant.campaign_id, irritant.name
    services.delete_irritant(db.session, irritant)
    db.session.commit()
    flash(_("Irritant “%(name)s” deleted; its findings are ungrouped.", name=name), "success")
    return redirect(url_for("diagnostics.irritant_ranking", campaign_id=campaign_id))


# --- synthesis -------------------------------------------------------------------------------


@bp.get("/campaigns/<int:campaign_id>/synthesis")
@login_required
def synthesis(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "view_synthesis")
    ranking = queries.irritant_ranking(db.session, campaign.id)
    top = ranking.rows[:5]
    return render(
        "diagnostics/synthesis.html",
        campaign=campaign,
        ranking=ranking,
        top=top,
        behind=queries.determinants_behind(db.session, campaign.id, top),
        stakes=services.stakes_overview(ranking),
        coverage=queries.coverage(db.session, campaign),
        sentiments=queries.sentiment_counts(db.session, campaign.id),
        surveys=queries.survey_summary(db.session, campaign.id),
        may_lead=may_in_campaign(current_user, campaign, "edit_synthesis"),
    )


@bp.route("/campaigns/<int:campaign_id>/synthesis/edit", methods=["GET", "POST"])
@login_required
def synthesis_edit(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "edit_synthesis")
    if request.method == "GET":
        form = SynthesisForm(data=synthesis_data(campaign))
        return render("diagnostics/synthesis_form.html", form=form, campaign=campaign)
    form = SynthesisForm()
    if form.validate_on_submit():
        saved = save_form(
            lambda: services.save_synthesis(
                db.session, campaign, form.stakes_text.data, form.service_aspiration.data
            ),
            form,
            campaign.version,
        )
        if saved.conflict:
            campaign = db.session.get(Campaign, campaign_id)
            form.version.data = str(campaign.version)
            return render(
                "diagnostics/synthesis_form.html",
                form=form,
                campaign=campaign,
                conflict=True,
                status=409,
            )
        if saved.ok:
            flash(_("Synthesis saved."), "success")
            return redirect(url_for("diagnostics.synthesis", campaign_id=campaign.id))
    return render("diagnostics/synthesis_form.html", form=form, campaign=campaign, status=422)
