"""Diagnostics screens: campaigns and coverage, the session entry screen, determinants,
customer voice, irritants with their Pareto, and the printable synthesis.

Thin views: parse → check permission (one helper per record) → call a service → render."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from programme.auth.models import User
from programme.auth.permissions import can as permitted
from programme.auth.permissions import require
from programme.auth.roles import ADMIN, DIAGNOSTICIAN
from programme.diagnostics import queries, services
from programme.diagnostics.access import (
    get_campaign_or_403,
    get_irritant_or_403,
    get_observation_or_403,
    may_edit_observation,
    may_lead_campaign,
    may_work_in_campaign,
)
from programme.diagnostics.forms import (
    CampaignForm,
    CompleteForm,
    FindingRowForm,
    GroupFindingsForm,
    IrritantForm,
    SessionForm,
    SynthesisForm,
    VerbatimForm,
    VoiceImportForm,
    determinant_form_class,
    set_step_choices,
    step_choices,
)
from programme.diagnostics.models import (
    CAUSES,
    DETERMINANT_SCORES,
    DETERMINANTS,
    JOURNEY_STEPS,
    OUTCOMES,
    SENTIMENTS,
    SEVERITIES,
    STAKES,
    Campaign,
    ObservationSession,
    step_label,
)
from programme.errors import Invalid
from programme.extensions import db
from programme.network.access import get_site_or_403
from programme.network.importing import FileRejected, header_index, mapped_rows, read_table
from programme.network.models import CHANNELS, SITE_TYPES, Region
from programme.web.forms import save_or_conflict
from programme.web.htmx import render
from programme.web.parsing import int_arg

bp = Blueprint("diagnostics", __name__, url_prefix="/diagnostics")

LABELS = {
    "journey_steps": JOURNEY_STEPS,
    "outcomes": OUTCOMES,
    "causes": CAUSES,
    "severities": SEVERITIES,
    "determinants": DETERMINANTS,
    "determinant_scores": DETERMINANT_SCORES,
    "sentiments": SENTIMENTS,
    "stakes": STAKES,
    "site_types": SITE_TYPES,
    "channels": CHANNELS,
}


@bp.app_context_processor
def _diagnostics_context():
    return {"step_label": step_label, "diag": LABELS}


def _save(save, form, version=None):
    """Save through the service; errors without a field show on the form's first field."""
    return save_or_conflict(
        save,
        form,
        sent_version=form.version.data if version is not None else None,
        current_version=version,
        on_first_field=True,
    )


def can(action: str) -> bool:
    """The role rule for the current user."""
    return permitted(current_user, action)


# --- campaigns -------------------------------------------------------------------------------


@bp.get("/")
@require("view_campaigns")
def campaign_list():
    return render("diagnostics/campaign_list.html", rows=queries.campaigns(db.session))


def _campaign_choices(form: CampaignForm) -> None:
    leads = db.session.execute(
        select(User.id, User.name, User.email)
        .where(User.role.in_((ADMIN, DIAGNOSTICIAN)), User.active.is_(True))
        .order_by(User.name, User.email)
    ).all()
    form.lead_id.choices = [("", "—")] + [(str(i), n or e) for i, n, e in leads]
    regions = db.session.scalars(select(Region).order_by(Region.name))
    form.region_ids.choices = [(str(r.id), r.name) for r in regions]


def _campaign_values(form: CampaignForm) -> dict:
    return {
        "name": form.name.data,
        "start_date": form.start_date.data,
        "end_date": form.end_date.data,
        "lead_id": form.lead_id.data,
        "region_ids": form.region_ids.data or [],
        "site_types": form.site_types.data or [],
        "channels": form.channels.data or [],
        "journey_steps": services.journey_steps_from(
            form.journey_steps.data or [], form.extra_steps.data or ""
        ),
        "site_codes": form.site_codes.data or "",
    }


@bp.route("/campaigns/new", methods=["GET", "POST"])
@require("manage_campaigns")
def campaign_new():
    form = CampaignForm()
    _campaign_choices(form)
    if request.method == "GET":
        form.journey_steps.data = list(JOURNEY_STEPS)
        form.channels.data = list(CHANNELS)
        form.site_types.data = list(SITE_TYPES)
        form.lead_id.data = str(current_user.id)
    elif form.validate_on_submit():
        saved = _save(lambda: services.save_campaign(db.session, _campaign_values(form)), form)
        if saved.ok:
            campaign = saved.result
            flash(_("Campaign “%(name)s” created.", name=campaign.name), "success")
            return redirect(url_for("diagnostics.campaign_detail", campaign_id=campaign.id))
    status = 422 if request.method == "POST" else 200
    return render("diagnostics/campaign_form.html", form=form, campaign=None, status=status)


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@require("manage_campaigns")
def campaign_edit(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "manage_campaigns")
    form = CampaignForm()
    _campaign_choices(form)
    if request.method == "GET":
        standard = [s for s in campaign.journey_steps if s in JOURNEY_STEPS]
        form.process(
            data={
                "name": campaign.name,
                "start_date": campaign.start_date,
                "end_date": campaign.end_date,
                "lead_id": str(campaign.lead_id or ""),
                "region_ids": [str(r.id) for r in campaign.regions],
                "site_types": campaign.scope_site_types,
                "channels": campaign.scope_channels,
                "journey_steps": standard,
                "extra_steps": "\n".join(
                    s for s in campaign.journey_steps if s not in JOURNEY_STEPS
                ),
                "site_codes": ", ".join(s.code for s in campaign.sites),
                "version": str(campaign.version),
            }
        )
        _campaign_choices(form)
        return render("diagnostics/campaign_form.html", form=form, campaign=campaign)
    if form.validate_on_submit():
        saved = _save(
            lambda: services.save_campaign(db.session, _campaign_values(form), campaign),
            form,
            campaign.version,
        )
        if saved.conflict:
            return _campaign_conflict(form, campaign_id)
        if saved.ok:
            flash(_("Campaign “%(name)s” saved.", name=campaign.name), "success")
            return redirect(url_for("diagnostics.campaign_detail", campaign_id=campaign.id))
    return render("diagnostics/campaign_form.html", form=form, campaign=campaign, status=422)


def _campaign_conflict(form, campaign_id: int):
    campaign = db.session.get(Campaign, campaign_id)
    form.version.data = str(campaign.version)
    return render(
        "diagnostics/campaign_form.html", form=form, campaign=campaign, conflict=True, status=409
    )


def _detail(campaign: Campaign, complete_form=None, status: int = 200, problem=None):
    cover = queries.coverage(db.session, campaign) if can("view_analysis") else None
    mine = request.args.get("mine") == "1"
    sessions = queries.session_rows(
        db.session, campaign, current_user, observer_id=current_user.id if mine else None
    )
    return render(
        "diagnostics/campaign_detail.html",
        campaign=campaign,
        coverage=cover,
        sessions=sessions,
        mine=mine,
        complete_form=complete_form or CompleteForm(formdata=None),
        may_work=may_work_in_campaign(current_user, campaign),
        may_lead=may_lead_campaign(current_user, campaign),
        may_edit=lambda obs: may_edit_observation(current_user, obs),
        problem=problem,
        status=status,
    )


@bp.get("/campaigns/<int:campaign_id>")
@require("view_diagnostics")
def campaign_detail(campaign_id: int):
    return _detail(get_campaign_or_403(campaign_id, "view_diagnostics"))


@bp.post("/campaigns/<int:campaign_id>/complete")
@require("complete_campaign")
def campaign_complete(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "complete_campaign")
    form = CompleteForm()
    if not form.validate_on_submit():
        return _detail(campaign, form, 422)
    saved = _save(
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


def _session_choices(form: SessionForm, campaign: Campaign) -> None:
    sites = queries.sampled_sites(db.session, campaign, current_user)
    form.site_id.choices = [("", "—")] + [(str(s.id), f"{s.code} – {s.name}") for s in sites]
    form.channel.choices = [("", "—")] + [
        (c, CHANNELS[c]) for c in CHANNELS if c in (campaign.scope_channels or [])
    ]
    set_step_choices(form, campaign.journey_steps or [])
    form.next_index.data = str(form.findings.last_index + 1)


def _finding_rows(form: SessionForm) -> list[dict]:
    rows = []
    for index, entry in enumerate(form.findings.entries):
        row = entry.form
        values = {name: row[name].data for name in services.FINDING_FIELDS}
        values.update(row=index, id=row.id.data or None, delete=bool(row.delete.data))
        rows.append(values)
    return rows


def _session_values(form: SessionForm) -> dict:
    return {
        "site_id": form.site_id.data,
        "observed_on": form.observed_on.data,
        "start_time": form.start_time.data,
        "end_time": form.end_time.data,
        "channel": form.channel.data,
        "interactions": form.interactions.data,
        "notes": form.notes.data,
    }


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


def _add_row_requested(form: SessionForm, campaign: Campaign):
    """Without JavaScript, "Add a finding" posts the form: show it again with one more row."""
    form.findings.append_entry()
    _session_choices(form, campaign)
    return None


@bp.route("/campaigns/<int:campaign_id>/sessions/new", methods=["GET", "POST"])
@require("record_sessions")
def session_new(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "record_sessions")
    form = SessionForm()
    _session_choices(form, campaign)
    if request.method == "GET":
        site_id = int_arg("site")
        if site_id:
            form.site_id.data = str(site_id)
        return _session_page(form, campaign)
    if "add_row" in request.form:
        _add_row_requested(form, campaign)
        return _session_page(form, campaign)
    if form.validate_on_submit():
        saved = _save(
            lambda: services.save_observation(
                db.session, campaign, _session_values(form), _finding_rows(form), current_user
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
@require("record_sessions")
def finding_row(campaign_id: int):
    """htmx: one more blank finding row, and the next free index (out of band)."""
    campaign = get_campaign_or_403(campaign_id, "record_sessions")
    index = int_arg("next_index") or 0
    if not 0 <= index < 1000:
        abort(400)
    row = FindingRowForm(prefix=f"findings-{index}")
    row.journey_step.choices = step_choices(campaign.journey_steps or [])
    row.journey_step.render_kw = {"autofocus": True}  # keyboard: carry on in the new row
    return render(
        "diagnostics/_finding_row_added.html",
        row=row,
        index=index,
        next_index=index + 1,
    )


@bp.get("/sessions/<int:observation_id>")
@require("view_diagnostics")
def session_detail(observation_id: int):
    observation = get_observation_or_403(observation_id)
    return render(
        "diagnostics/session_detail.html",
        observation=observation,
        campaign=observation.campaign,
        may_edit=may_edit_observation(current_user, observation),
    )


@bp.route("/sessions/<int:observation_id>/edit", methods=["GET", "POST"])
@require("record_sessions")
def session_edit(observation_id: int):
    observation = get_observation_or_403(observation_id, "record_sessions")
    campaign = observation.campaign
    if request.method == "GET":
        form = SessionForm(formdata=None)
        form.process(
            data={
                "site_id": str(observation.site_id),
                "observed_on": observation.observed_on,
                "start_time": observation.start_time,
                "end_time": observation.end_time,
                "channel": observation.channel,
                "interactions": observation.interactions,
                "notes": observation.notes,
                "version": str(observation.version),
                "findings": [
                    {
                        "id": str(f.id),
                        "journey_step": f.journey_step,
                        "outcome": f.outcome,
                        "cause": f.cause,
                        "severity": str(f.severity),
                        "occurrences": str(f.occurrences),
                        "description": f.description,
                        "attachment_ref": f.attachment_ref or "",
                        "notes": f.notes or "",
                    }
                    for f in observation.findings
                ]
                or [{}],
            }
        )
        _session_choices(form, campaign)
        return _session_page(form, campaign, observation)
    form = SessionForm()
    _session_choices(form, campaign)
    if "add_row" in request.form:
        _add_row_requested(form, campaign)
        return _session_page(form, campaign, observation)
    if form.validate_on_submit():
        saved = _save(
            lambda: services.save_observation(
                db.session,
                campaign,
                _session_values(form),
                _finding_rows(form),
                current_user,
                observation,
            ),
            form,
            observation.version,
        )
        if saved.conflict:
            return _session_conflict(form, observation_id)
        if saved.ok:
            flash(_("Session saved."), "success")
            return redirect(url_for("diagnostics.session_detail", observation_id=observation_id))
    return _session_page(form, campaign, observation, status=422)


def _session_conflict(form, observation_id: int):
    observation = db.session.get(ObservationSession, observation_id)
    form.version.data = str(observation.version)
    _session_choices(form, observation.campaign)
    return _session_page(form, observation.campaign, observation, status=409, conflict=True)


@bp.post("/sessions/<int:observation_id>/delete")
@require("record_sessions")
def session_delete(observation_id: int):
    observation = get_observation_or_403(observation_id, "record_sessions")
    campaign_id = observation.campaign_id
    form = CompleteForm()  # any FlaskForm: checks the CSRF token
    if not form.validate_on_submit():
        abort(400)
    services.delete_observation(db.session, observation)
    db.session.commit()
    flash(_("Session deleted."), "success")
    return redirect(url_for("diagnostics.campaign_detail", campaign_id=campaign_id))


# --- organisational determinants -------------------------------------------------------------


@bp.get("/campaigns/<int:campaign_id>/determinants")
@require("view_diagnostics")
def determinant_comparison(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "view_diagnostics")
    comparison = queries.determinant_comparison(db.session, campaign, current_user)
    return render(
        "diagnostics/determinants.html",
        campaign=campaign,
        comparison=comparison,
        may_work=may_work_in_campaign(current_user, campaign),
    )


@bp.route("/campaigns/<int:campaign_id>/sites/<int:site_id>/determinants", methods=["GET", "POST"])
@require("assess_determinants")
def determinant_assess(campaign_id: int, site_id: int):
    campaign = get_campaign_or_403(campaign_id, "assess_determinants")
    site = get_site_or_403(site_id, "assess_determinants")
    if site not in campaign.sites:
        abort(404)
    form_class = determinant_form_class()
    if request.method == "GET":
        comparison = queries.determinant_comparison(db.session, campaign, current_user)
        data = {}
        for key in DETERMINANTS:
            assessment = comparison.scores.get((site.id, key))
            if assessment is not None:
                data[key] = {"score": str(assessment.score), "evidence": assessment.evidence}
        form = form_class(data=data)
        return render("diagnostics/determinant_form.html", form=form, campaign=campaign, site=site)
    form = form_class()
    if form.validate_on_submit():
        raw = {
            key: {"score": form[key].form.score.data, "evidence": form[key].form.evidence.data}
            for key in DETERMINANTS
        }
        saved = _save(
            lambda: services.save_determinants(db.session, campaign, site, raw, current_user), form
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


# --- customer voice --------------------------------------------------------------------------


def _verbatim_choices(form: VerbatimForm, campaign: Campaign) -> None:
    sites = queries.sampled_sites(db.session, campaign, current_user)
    form.site.choices = [("", "—")] + [(s.code, f"{s.code} – {s.name}") for s in sites]
    form.channel.choices = [("", "—")] + [
        (c, CHANNELS[c]) for c in CHANNELS if c in (campaign.scope_channels or [])
    ]
    form.journey_step.choices = step_choices(campaign.journey_steps or [])


@bp.route("/campaigns/<int:campaign_id>/voice", methods=["GET", "POST"])
@require("view_diagnostics")
def voice(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "view_diagnostics")
    form = VerbatimForm()
    _verbatim_choices(form, campaign)
    status = 200
    if request.method == "POST":
        get_campaign_or_403(campaign_id, "record_customer_voice")
        if form.validate_on_submit():
            verbatim = {
                "site": form.site.data,
                "quote": form.quote.data,
                "channel": form.channel.data,
                "journey_step": form.journey_step.data,
                "sentiment": form.sentiment.data,
                "collected_on": form.collected_on.data,
            }
            saved = _save(lambda: services.add_verbatim(db.session, campaign, verbatim), form)
            if saved.ok:
                flash(_("Verbatim recorded."), "success")
                return redirect(url_for("diagnostics.voice", campaign_id=campaign.id))
        status = 422
    filters = queries.VoiceFilters(
        site_id=int_arg("site"),
        sentiment=request.args.get("sentiment", "")
        if request.args.get("sentiment") in SENTIMENTS
        else "",
    )
    verbatims, total = queries.verbatims(db.session, campaign, current_user, filters)
    return render(
        "diagnostics/voice.html",
        "diagnostics/_verbatim_table.html",
        campaign=campaign,
        form=form,
        filters=filters,
        verbatims=verbatims,
        total=total,
        sentiments=queries.sentiment_counts(db.session, campaign.id, current_user),
        scores=queries.survey_scores(db.session, campaign, current_user),
        sites=queries.sampled_sites(db.session, campaign, current_user),
        may_work=may_work_in_campaign(current_user, campaign) and can("record_customer_voice"),
        status=status,
    )


_VOICE_HEADERS = {
    "site": ["site", "site code", "code site", "code"],
    "quote": ["quote", "verbatim", "citation", "texte"],
    "channel": ["channel", "canal"],
    "journey_step": ["journey step", "step", "etape", "etape du parcours"],
    "sentiment": ["sentiment", "tonalite"],
    "collected_on": ["date", "collected on", "collecte le", "date de collecte"],
    "survey": ["survey", "enquete", "indicator", "indicateur"],
    "score": ["score", "note", "resultat"],
    "scale_max": ["scale max", "scale", "echelle", "note max", "bareme"],
    "respondents": ["respondents", "repondants", "n", "base"],
    "period_end": ["period end", "date", "fin de periode", "period"],
}


def voice_rows(kind: str, filename: str, data: bytes) -> list[tuple[int, dict]]:
    """(line number, raw values) for each non-empty row of a customer voice file."""
    fields = services.VERBATIM_FIELDS if kind == "verbatims" else services.SURVEY_FIELDS
    aliases = header_index({key: _VOICE_HEADERS[key] for key in fields})
    required = [f for f in fields if f != "collected_on"]
    return mapped_rows(read_table(filename, data), aliases, required)


@bp.route("/campaigns/<int:campaign_id>/voice/import", methods=["GET", "POST"])
@require("record_customer_voice")
def voice_import(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "record_customer_voice")
    limit = current_app.config.get("VOICE_IMPORT_MAX_BYTES", 5 * 1024 * 1024)
    if request.method == "POST" and (request.content_length or 0) > limit + 64 * 1024:
        abort(413)
    form = VoiceImportForm()
    errors, result, problem, status = [], None, None, 200
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(limit + 1)
        filename = upload.filename or ""
        if len(data) > limit:
            problem, status = _("The file is too large."), 413
        else:
            try:
                rows = voice_rows(form.kind.data, filename, data)
                result = services.import_customer_voice(
                    db.session, campaign, form.kind.data, rows, source=filename
                )
                db.session.commit()
            except FileRejected as rejected:
                db.session.rollback()
                problem, status = str(rejected), rejected.status or 422
            except Invalid as failure:
                db.session.rollback()
                errors, status = failure.errors, 422
    elif request.method == "POST":
        status = 422
    return render(
        "diagnostics/voice_import.html",
        form=form,
        campaign=campaign,
        errors=errors,
        result=result,
        problem=problem,
        status=status,
    )


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
@require("view_irritants")
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
        regions=db.session.scalars(select(Region).order_by(Region.name)).all(),
        may_manage=can("manage_irritants") and may_work_in_campaign(current_user, campaign),
        may_open=can("view_analysis"),
    )


def _irritant_values(form: IrritantForm) -> dict:
    return {
        "name": form.name.data,
        "description": form.description.data,
        "stakes": form.stakes.data or [],
        "determinants": form.determinants.data or [],
    }


@bp.route("/campaigns/<int:campaign_id>/irritants/new", methods=["GET", "POST"])
@require("manage_irritants")
def irritant_new(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "manage_irritants")
    form = IrritantForm()
    if form.validate_on_submit():
        saved = _save(
            lambda: services.save_irritant(db.session, campaign, _irritant_values(form)), form
        )
        if saved.ok:
            irritant = saved.result
            flash(_("Irritant “%(name)s” created.", name=irritant.name), "success")
            return redirect(url_for("diagnostics.irritant_detail", irritant_id=irritant.id))
    status = 422 if request.method == "POST" else 200
    return render(
        "diagnostics/irritant_form.html", form=form, campaign=campaign, irritant=None, status=status
    )


@bp.route("/irritants/<int:irritant_id>/edit", methods=["GET", "POST"])
@require("manage_irritants")
def irritant_edit(irritant_id: int):
    irritant = get_irritant_or_403(irritant_id, "manage_irritants")
    form = IrritantForm(obj=irritant) if request.method == "GET" else IrritantForm()
    if form.validate_on_submit():
        saved = _save(
            lambda: services.save_irritant(
                db.session, irritant.campaign, _irritant_values(form), irritant
            ),
            form,
        )
        if saved.ok:
            flash(_("Irritant “%(name)s” saved.", name=irritant.name), "success")
            return redirect(url_for("diagnostics.irritant_detail", irritant_id=irritant.id))
    status = 422 if request.method == "POST" else 200
    return render(
        "diagnostics/irritant_form.html",
        form=form,
        campaign=irritant.campaign,
        irritant=irritant,
        status=status,
    )


def _irritant_page(irritant, form=None, status=200):
    filters = queries.FindingFilters(
        journey_step=request.args.get("step", "")[:60],
        cause=request.args.get("cause", "") if request.args.get("cause") in CAUSES else "",
    )
    may_manage = can("manage_irritants") and may_work_in_campaign(current_user, irritant.campaign)
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
@require("view_analysis")
def irritant_detail(irritant_id: int):
    return _irritant_page(get_irritant_or_403(irritant_id, "view_analysis"))


@bp.post("/irritants/<int:irritant_id>/findings")
@require("manage_irritants")
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
@require("manage_irritants")
def irritant_delete(irritant_id: int):
    irritant = get_irritant_or_403(irritant_id, "manage_irritants")
    if not CompleteForm().validate_on_submit():
        abort(400)
    campaign_id, name = irritant.campaign_id, irritant.name
    services.delete_irritant(db.session, irritant)
    db.session.commit()
    flash(_("Irritant “%(name)s” deleted; its findings are ungrouped.", name=name), "success")
    return redirect(url_for("diagnostics.irritant_ranking", campaign_id=campaign_id))


# --- synthesis -------------------------------------------------------------------------------


@bp.get("/campaigns/<int:campaign_id>/synthesis")
@require("view_synthesis")
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
        may_lead=may_lead_campaign(current_user, campaign) and can("edit_synthesis"),
    )


@bp.route("/campaigns/<int:campaign_id>/synthesis/edit", methods=["GET", "POST"])
@require("edit_synthesis")
def synthesis_edit(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "edit_synthesis")
    if request.method == "GET":
        form = SynthesisForm(
            data={
                "stakes_text": campaign.stakes_text or "",
                "service_aspiration": campaign.service_aspiration or "",
                "version": str(campaign.version),
            }
        )
        return render("diagnostics/synthesis_form.html", form=form, campaign=campaign)
    form = SynthesisForm()
    if form.validate_on_submit():
        saved = _save(
            lambda: services.save_synthesis(
                db.session, campaign, form.stakes_text.data, form.service_aspiration.data
            ),
            form,
            campaign.version,
        )
        if saved.conflict:
            return _synthesis_conflict(form, campaign_id)
        if saved.ok:
            flash(_("Synthesis saved."), "success")
            return redirect(url_for("diagnostics.synthesis", campaign_id=campaign.id))
    return render("diagnostics/synthesis_form.html", form=form, campaign=campaign, status=422)


def _synthesis_conflict(form, campaign_id: int):
    campaign = db.session.get(Campaign, campaign_id)
    form.version.data = str(campaign.version)
    return render(
        "diagnostics/synthesis_form.html", form=form, campaign=campaign, conflict=True, status=409
    )
