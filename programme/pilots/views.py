"""Pilot screens: list, detail, design form (with the control-site proposal and the power
estimate), results with the chart, team feel, decision and package."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from programme.auth.permissions import require
from programme.auth.roles import ADMIN
from programme.errors import FieldError, Invalid
from programme.extensions import db, limiter
from programme.kpis.queries import catalogue
from programme.pilots import queries, services
from programme.pilots.access import get_pilot_or_403, may_edit_pilot, may_work_on
from programme.pilots.forms import (
    DecisionForm,
    ElementForm,
    PilotForm,
    PulseForm,
    design_dates,
    design_from_form,
    fill_from_pilot,
    values_of,
)
from programme.pilots.models import ARMS, STAGES, SUPPORTING_FUNCTIONS, Pilot
from programme.web.forms import attach_errors, save_or_conflict
from programme.web.htmx import render
from programme.web.parsing import parse_date

bp = Blueprint("pilots", __name__)


@bp.context_processor
def _labels():
    return {"arm_labels": ARMS, "function_labels": SUPPORTING_FUNCTIONS}


# --- list and detail ---------------------------------------------------------------------------


@bp.get("/pilots")
@require("view_pilots")
def pilot_list():
    return render(
        "pilots/pilot_list.html",
        pilots=queries.visible_pilots(db.session, current_user),
        mine=queries.member_pilot_ids(db.session, current_user.id),
    )


@bp.get("/pilots/<int:pilot_id>")
@login_required
def pilot_detail(pilot_id: int):
    pilot = get_pilot_or_403(pilot_id)
    return render(
        "pilots/pilot_detail.html",
        pilot=pilot,
        irritant_frequency=queries.irritant_frequency(db.session, [i.id for i in pilot.irritants]),
        may_edit=may_edit_pilot(current_user, pilot),
        feel=services.team_feel(db.session, pilot.id),
    )


# --- design ------------------------------------------------------------------------------------


def _catalogue():
    return catalogue(db.session, active_only=True)


def _prepare(form: PilotForm) -> None:
    form.irritant_ids.choices = queries.irritant_choices(db.session)
    form.member_ids.choices = queries.member_choices(db.session)
    form.stage.choices = [(k, v) for k, v in STAGES.items()]


def _design(form: PilotForm):
    return design_from_form(
        form, request.form, _catalogue(), current_user.role == ADMIN, current_app.secret_key
    )


def _power_for(values, kpis, pilot: Pilot | None = None):
    return queries.power_estimates(
        db.session, values, design_dates(values), kpis, current_app.secret_key, pilot
    )


def _draw(form: PilotForm, pilot: Pilot | None):
    """The "Draw" button: pair the candidate sites and draw the arms, then show the form
    again with the arms filled in and the draw carried (signed) to the save."""
    chosen = [k for k in _catalogue() if request.form.get(f"kpi-{k.code}")]
    seed_text = (form.seed.data or "").strip()
    seed = None
    try:
        if seed_text:
            seed = int(seed_text)
        draw = services.draw_pairs(
            db.session,
            services.split_codes(form.candidate_sites.data),
            chosen[0] if chosen else None,
            form.baseline_start.data,
            form.baseline_end.data,
            seed,
        )
    except Invalid as invalid:
        loose = attach_errors(form, invalid, loose_fields=("kpis",))
        return _render_form(form, pilot, 422, loose, values=request.form)
    except ValueError:
        form.seed.errors = [_("The seed is a whole number from 0 to 2,147,483,647.")]
        return _render_form(form, pilot, 422, values=request.form)
    form.pilot_sites.data = " ".join(draw.pilot_sites)
    form.control_sites.data = " ".join(draw.control_sites)
    form.seed.data = str(draw.seed)
    form.draw_record.data = services.draw_token(draw, current_app.secret_key)
    values = request.form.to_dict()
    values.update(
        pilot_sites=form.pilot_sites.data,
        control_sites=form.control_sites.data,
        draw_record=form.draw_record.data,
    )
    return _render_form(form, pilot, 200, values=values, draw=draw)


def _render_form(form, pilot, status=200, kpi_errors=(), conflict=False, values=None, draw=None):
    kpis = _catalogue()
    values = values if values is not None else values_of(pilot)
    if draw is None and form.draw_record.data:
        draw = services.draw_from_token(form.draw_record.data, current_app.secret_key)
    return render(
        "pilots/pilot_form.html",
        form=form,
        pilot=pilot,
        kpis=kpis,
        values=values,
        kpi_errors=list(kpi_errors),
        power=_power_for(values, kpis, pilot),
        irritant_frequency=queries.irritant_frequency(db.session, form.irritant_ids.data or []),
        conflict=conflict,
        draw=draw,
        status=status,
    )


@bp.route("/pilots/new", methods=["GET", "POST"])
@require("create_pilots")
def pilot_new():
    form = PilotForm()
    _prepare(form)
    if request.method == "GET":
        form.stage.data = "design"
        return _render_form(form, None)
    if request.form.get("draw"):
        return _draw(form, None)
    saved = None
    if form.validate_on_submit():
        design, kpi_errors = _design(form)
        saved = _save_design(form, design, kpi_errors, None)
        if saved.ok:
            pilot = saved.result
            flash(_("Pilot “%(name)s” created.", name=pilot.name), "success")
            return redirect(url_for("pilots.pilot_detail", pilot_id=pilot.id))
    loose = saved.loose if saved else []
    return _render_form(form, None, 422, loose, values=request.form)


def _save_design(form: PilotForm, design, design_errors: list[str], pilot: Pilot | None):
    """Save the design (errors from reading the form refuse it like the service's);
    a pilot being edited is first checked against the version the form was loaded with."""

    def save():
        if design_errors:
            raise Invalid([FieldError("kpis", m) for m in design_errors])
        return services.save_pilot(db.session, design, pilot, user=current_user)

    return save_or_conflict(
        save,
        form,
        sent_version=form.version.data if pilot is not None else None,
        current_version=pilot.version if pilot is not None else None,
        loose_fields=("kpis",),
    )


@bp.route("/pilots/<int:pilot_id>/edit", methods=["GET", "POST"])
@login_required
def pilot_edit(pilot_id: int):
    pilot = get_pilot_or_403(pilot_id, "edit_pilot")
    if request.method == "GET":
        form = PilotForm(obj=pilot)
        _prepare(form)
        fill_from_pilot(form, pilot)
        return _render_form(form, pilot)
    form = PilotForm()
    _prepare(form)
    if request.form.get("draw"):
        return _draw(form, pilot)
    saved = None
    if form.validate_on_submit():
        design, kpi_errors = _design(form)
        lost = services.loses_randomization(pilot, design)
        saved = _save_design(form, design, kpi_errors, pilot)
        if saved.conflict:
            return _render_form(form, pilot, 409, conflict=True, values=request.form)
        if saved.ok:
            flash(_("Pilot saved."), "success")
            if lost:
                flash(
                    _(
                        "The arms no longer are the random draw's: the design is no longer "
                        "marked as randomized, and its results read as a placebo-in-space "
                        "test."
                    ),
                    "warning",
                )
            return redirect(url_for("pilots.pilot_detail", pilot_id=pilot.id))
    loose = saved.loose if saved else []
    return _render_form(form, pilot, 422, loose, values=request.form)


@bp.get("/pilots/power")
@require("edit_pilot")
def power():
    """The power estimate for the design being typed (htmx fragment, or a page)."""
    kpis = _catalogue()
    return render("pilots/power.html", "pilots/_power.html", power=_power_for(request.args, kpis))


@bp.get("/pilots/propose-controls")
@require("edit_pilot")
def propose_controls():
    kpis = {k.code: k for k in _catalogue()}
    chosen = [kpis[c] for c in kpis if request.args.get(f"kpi-{c}")]
    kpi = chosen[0] if chosen else kpis.get("WAIT")
    candidates = services.propose_controls(
        db.session,
        services.split_codes(request.args.get("pilot_sites")),
        kpi,
        parse_date(request.args.get("baseline_start")),
        parse_date(request.args.get("baseline_end")),
    )
    return render("pilots/proposal.html", "pilots/_proposal.html", candidates=candidates, kpi=kpi)


# --- results -----------------------------------------------------------------------------------


@bp.get("/pilots/<int:pilot_id>/results")
@login_required
def pilot_results(pilot_id: int):
    pilot = get_pilot_or_403(pilot_id)
    return render(
        "pilots/results.html",
        pilot=pilot,
        **queries.results_context(db.session, pilot),
        **queries.results_panels(db.session, pilot, current_user),
    )


# --- team feel ---------------------------------------------------------------------------------


def _action(on_post: str) -> str:
    """Every reader sees the page; sending its form takes `on_post`."""
    return on_post if request.method == "POST" else "view_pilots"


def _pulse_form(pilot: Pilot) -> PulseForm:
    form = PulseForm()
    form.site_id.choices = [(0, _("Not given"))] + [
        (ps.site_id, f"{ps.site.code} – {ps.site.name}") for ps in pilot.sites if ps.arm == "pilot"
    ]
    return form


@bp.route("/pilots/<int:pilot_id>/team-feel", methods=["GET", "POST"])
@login_required
def team_feel(pilot_id: int):
    pilot = get_pilot_or_403(pilot_id, _action("record_pulse"))
    form = _pulse_form(pilot)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            saved = save_or_conflict(
                lambda: services.add_pulse(db.session, pilot, form.score.data,
                                           form.comment.data, form.site_id.data or None,
                                           form.answered_on.data, current_user),
                form,
            )  # fmt: skip
            if saved.ok:
                flash(_("Answer recorded."), "success")
                return redirect(url_for("pilots.team_feel", pilot_id=pilot.id))
        status = 422
    may_record = may_work_on(current_user, "record_pulse", pilot)
    share_url = None
    if may_record and pilot.stage != "decided":
        token = services.pulse_token(pilot, current_app.secret_key)
        share_url = url_for("pilots.pulse_public", token=token, _external=True)
    return render(
        "pilots/team_feel.html",
        pilot=pilot,
        form=form,
        feel=services.team_feel(db.session, pilot.id),
        may_record=may_record,
        share_url=share_url,
        status=status,
    )


@bp.route("/pulse/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def pulse_public(token: str):
    """The shareable one-question form for contact teams at the pilot sites: no account
    needed, the signed link is the key (closed once the pilot is decided)."""
    pilot = services.pilot_for_pulse_token(db.session, token, current_app.secret_key)
    if pilot is None:
        abort(404)
    form = _pulse_form(pilot)
    del form.answered_on
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            saved = save_or_conflict(
                lambda: services.add_pulse(db.session, pilot, form.score.data,
                                           form.comment.data, form.site_id.data or None,
                                           None, None),
                form,
            )  # fmt: skip
            if saved.ok:
                return render("pilots/pulse_thanks.html", pilot=pilot)
        status = 422
    return render("pilots/pulse_public.html", pilot=pilot, form=form, status=status)


# --- decision and package ----------------------------------------------------------------------


@bp.route("/pilots/<int:pilot_id>/decision", methods=["GET", "POST"])
@login_required
def decision(pilot_id: int):
    pilot = get_pilot_or_403(pilot_id, _action("decide_pilot"))
    form = DecisionForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():

            def decide():
                row = services.decide(
                    db.session,
                    pilot,
                    form.decision.data or "",
                    form.reason.data,
                    form.decided_on.data,
                    current_user,
                )
                if row.decision == "go":
                    services.ensure_package(db.session, pilot)
                return row

            saved = save_or_conflict(decide, form)
            if saved.ok:
                row = saved.result
                flash(_("Decision recorded."), "success")
                target = "pilots.package" if row.decision == "go" else "pilots.pilot_detail"
                return redirect(url_for(target, pilot_id=pilot.id))
        status = 422
    return render(
        "pilots/decision.html",
        pilot=pilot,
        form=form,
        feel=services.team_feel(db.session, pilot.id),
        may_decide=may_work_on(current_user, "decide_pilot", pilot),
        status=status,
        **queries.results_context(db.session, pilot),
    )


@bp.route("/pilots/<int:pilot_id>/package", methods=["GET", "POST"])
@login_required
def package(pilot_id: int):
    pilot = get_pilot_or_403(pilot_id, _action("decide_pilot"))
    if pilot.package is None:
        abort(404)
    form = ElementForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            saved = save_or_conflict(
                lambda: services.add_element(
                    db.session,
                    pilot.package,
                    form.kind.data,
                    form.title.data,
                    form.description.data,
                    form.deployment_step.data,
                ),
                form,
            )
            if saved.ok:
                flash(_("Element added to the package."), "success")
                return redirect(url_for("pilots.package", pilot_id=pilot.id))
        status = 422
    return render(
        "pilots/package.html",
        pilot=pilot,
        package=pilot.package,
        form=form,
        may_edit=may_work_on(current_user, "decide_pilot", pilot),
        status=status,
    )
