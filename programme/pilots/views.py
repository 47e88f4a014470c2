"""Pilot screens: list, detail, design form (with the control-site proposal and the power
estimate), results with the chart, team feel, decision and package."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from programme.auth.models import User
from programme.auth.permissions import can, require
from programme.auth.roles import ADMIN, PILOT_TEAM
from programme.errors import FieldError, Invalid
from programme.extensions import db, limiter
from programme.kpis.models import Kpi
from programme.pilots import charts, services
from programme.pilots.access import filter_pilots, get_pilot_or_403, may_edit_pilot
from programme.pilots.forms import DecisionForm, ElementForm, PilotForm, PulseForm
from programme.pilots.models import ARMS, STAGES, SUPPORTING_FUNCTIONS, Pilot, PilotMember
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
    pilots = db.session.scalars(
        filter_pilots(select(Pilot), current_user).order_by(Pilot.pilot_start.desc(), Pilot.name)
    ).all()
    mine = set(
        db.session.scalars(
            select(PilotMember.pilot_id).where(PilotMember.user_id == current_user.id)
        )
    )
    return render("pilots/pilot_list.html", pilots=pilots, mine=mine)


@bp.get("/pilots/<int:pilot_id>")
@require("view_pilots")
def pilot_detail(pilot_id: int):
    pilot = get_pilot_or_403(pilot_id)
    return render(
        "pilots/pilot_detail.html",
        pilot=pilot,
        irritant_frequency=_irritant_frequency([i.id for i in pilot.irritants]),
        may_edit=may_edit_pilot(current_user, pilot),
        feel=services.team_feel(db.session, pilot.id),
    )


def _irritant_frequency(irritant_ids) -> list:
    """The addressed irritants' recent frequency: campaign findings and closed customer
    cases over the last 90 days, against the 90 days before (issue 19)."""
    from programme.feedback.queries import irritant_frequency

    return irritant_frequency(db.session, irritant_ids, date.today())


# --- design ------------------------------------------------------------------------------------


def _catalogue() -> list[Kpi]:
    return list(db.session.scalars(select(Kpi).where(Kpi.active.is_(True)).order_by(Kpi.code)))


def _prepare(form: PilotForm, pilot: Pilot | None) -> None:
    from programme.diagnostics.models import Irritant

    form.irritant_ids.choices = [
        (i.id, i.name) for i in db.session.scalars(select(Irritant).order_by(Irritant.name))
    ]
    form.member_ids.choices = [
        (u.id, f"{u.display_name} ({u.email})")
        for u in db.session.scalars(
            select(User).where(User.role.in_([PILOT_TEAM, ADMIN])).order_by(User.email)
        )
    ]
    form.stage.choices = [(k, v) for k, v in STAGES.items()]


def _percent(text: str | None) -> float | None | str:
    text = (text or "").strip().replace(",", ".").replace("%", "").replace("−", "-")
    if not text:
        return None
    try:
        return float(text) / 100
    except ValueError:
        return "invalid"


def _design(form: PilotForm, args) -> tuple[services.Design, list[str]]:
    """A Design from the posted form; KPI targets come as `target-<code>` percentages."""
    problems: list[str] = []
    kpis: list[tuple[str, float | None]] = []
    for kpi in _catalogue():
        if args.get(f"kpi-{kpi.code}"):
            target = _percent(args.get(f"target-{kpi.code}"))
            if target == "invalid":
                problems.append(_("%(code)s: the target is not a number.", code=kpi.code))
                target = None
            kpis.append((kpi.code, target))  # type: ignore[arg-type]
    improvements = []
    for line in (form.improvements.data or "").splitlines():
        if line.strip():
            title, _sep, description = line.partition(":")
            improvements.append((title.strip(), description.strip() or None))
    design = services.Design(
        name=form.name.data or "",
        description=form.description.data,
        stakes=form.stakes.data,
        baseline_start=form.baseline_start.data,
        baseline_end=form.baseline_end.data,
        pilot_start=form.pilot_start.data,
        pilot_end=form.pilot_end.data,
        pilot_sites=services.split_codes(form.pilot_sites.data),
        control_sites=services.split_codes(form.control_sites.data),
        kpis=kpis,
        improvements=improvements,
        supporting_functions=form.supporting_functions.data or [],
        member_ids=form.member_ids.data if current_user.role == ADMIN else None,
        irritant_ids=form.irritant_ids.data or [],
        stage=form.stage.data or None,
        draw=services.draw_from_token(form.draw_record.data, current_app.secret_key),
        start_reason=form.start_reason.data,
    )
    return design, problems


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


def _power_for(args, kpis: list[Kpi], pilot: Pilot | None = None) -> list[services.Power]:
    pilot_codes = services.split_codes(args.get("pilot_sites"))
    control_codes = services.split_codes(args.get("control_sites"))
    # Arms from a matched-pair draw (just drawn, or a randomized pilot left as drawn): the
    # randomization test swaps within pairs, and the pairs give the order of the arms.
    draw = services.draw_from_token(args.get("draw_record"), current_app.secret_key)
    pairs = None
    if draw is None and pilot is not None and pilot.randomized and pilot.randomization_pairs:
        codes = {ps.site_id: ps.site.code for ps in pilot.sites}
        draw = services.Draw(
            pilot.randomization_seed or 0,
            [(codes.get(a, ""), codes.get(b, "")) for a, b in pilot.randomization_pairs],
        )
    if (
        draw is not None
        and set(draw.pilot_sites) == set(pilot_codes)
        and set(draw.control_sites) == set(control_codes)
    ):
        pilot_codes, control_codes, pairs = draw.pilot_sites, draw.control_sites, len(draw.pairs)
    start = parse_date(args.get("pilot_start"))
    end = parse_date(args.get("pilot_end"))
    # The history known at design time: everything up to the end of the baseline.
    baseline_end = parse_date(args.get("baseline_end"))
    until = (
        baseline_end + timedelta(days=1) if baseline_end else parse_date(args.get("baseline_start"))
    )
    weeks = services.weeks_between(start, end) or 12
    baseline_weeks = services.weeks_between(
        parse_date(args.get("baseline_start")), parse_date(args.get("baseline_end"))
    )
    chosen = [k for k in kpis if args.get(f"kpi-{k.code}")] or kpis[:1]
    return [
        services.power(
            db.session,
            kpi,
            len(pilot_codes),
            len(control_codes),
            weeks,
            until,
            pilot_codes=pilot_codes,
            control_codes=control_codes,
            baseline_weeks=baseline_weeks or weeks,
            pairs=pairs,
        )
        for kpi in chosen
    ]


def _form_args(pilot: Pilot | None) -> dict:
    """The form values as request args would carry them (for the power estimate on GET)."""
    if pilot is None:
        return {}
    args = {
        "pilot_sites": " ".join(ps.site.code for ps in pilot.sites if ps.arm == "pilot"),
        "control_sites": " ".join(ps.site.code for ps in pilot.sites if ps.arm == "control"),
        "pilot_start": pilot.pilot_start.isoformat(),
        "pilot_end": pilot.pilot_end.isoformat(),
        "baseline_start": pilot.baseline_start.isoformat(),
        "baseline_end": pilot.baseline_end.isoformat(),
    }
    for pk in pilot.kpis:
        args[f"kpi-{pk.kpi.code}"] = "on"
        if pk.target_relative is not None:
            args[f"target-{pk.kpi.code}"] = f"{pk.target_relative * 100:g}"
    return args


def _render_form(form, pilot, status=200, kpi_errors=(), conflict=False, values=None, draw=None):
    kpis = _catalogue()
    values = values if values is not None else _form_args(pilot)
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
        irritant_frequency=_irritant_frequency(form.irritant_ids.data or []),
        conflict=conflict,
        draw=draw,
        status=status,
    )


@bp.route("/pilots/new", methods=["GET", "POST"])
@require("create_pilots")
def pilot_new():
    form = PilotForm()
    _prepare(form, None)
    if request.method == "GET":
        form.stage.data = "design"
        return _render_form(form, None)
    if request.form.get("draw"):
        return _draw(form, None)
    saved = None
    if form.validate_on_submit():
        design, kpi_errors = _design(form, request.form)
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
@require("edit_pilot")
def pilot_edit(pilot_id: int):
    pilot = get_pilot_or_403(pilot_id, "edit_pilot")
    if request.method == "GET":
        form = PilotForm(obj=pilot)
        _prepare(form, pilot)
        form.pilot_sites.data = " ".join(ps.site.code for ps in pilot.sites if ps.arm == "pilot")
        form.control_sites.data = " ".join(
            ps.site.code for ps in pilot.sites if ps.arm == "control"
        )
        form.improvements.data = "\n".join(
            f"{i.title}: {i.description}" if i.description else i.title for i in pilot.improvements
        )
        form.irritant_ids.data = [i.id for i in pilot.irritants]
        form.member_ids.data = [m.user_id for m in pilot.members]
        form.version.data = str(pilot.version)
        return _render_form(form, pilot)
    form = PilotForm()
    _prepare(form, pilot)
    if request.form.get("draw"):
        return _draw(form, pilot)
    saved = None
    if form.validate_on_submit():
        design, kpi_errors = _design(form, request.form)
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


def _results_context(pilot: Pilot) -> dict:
    results = services.pilot_results(db.session, pilot)
    periods = services.periods(pilot)
    charts_ = []
    for pk, result in zip(pilot.kpis, results, strict=True):
        points = charts.arm_points(db.session, pk.kpi, pilot, periods)
        synthetic = None
        synth = result.synthetic_control
        if synth is not None and synth.fits:
            twin, gaps = charts.synthetic_points(synth)
            code = pk.kpi.code.lower()
            synthetic = {
                "result": synth,
                "twin_id": f"chart-twin-{code}",
                "twin": twin,
                "twin_spec": charts.synthetic_twin_spec(pk.kpi, twin, periods),
                "gap_id": f"chart-placebo-{code}",
                "gaps": gaps,
                "gap_spec": charts.synthetic_gap_spec(pk.kpi, gaps, periods),
                "weight_rows": [
                    (synth.names.get(p.site, p.site), [f.weights[p.site] for f in synth.fits])
                    for p in synth.placebos
                ],
            }
        charts_.append(
            {
                "id": f"chart-pilot-{pk.kpi.code.lower()}",
                "kpi": pk.kpi,
                "points": points,
                "spec": charts.pilot_spec(pk.kpi, points, periods),
                "result": result,
                "synthetic": synthetic,
            }
        )
    site_codes = {ps.site_id: f"{ps.site.code} – {ps.site.name}" for ps in pilot.sites}
    return {"results": results, "charts": charts_, "site_codes": site_codes}


@bp.get("/pilots/<int:pilot_id>/results")
@require("view_pilots")
def pilot_results(pilot_id: int):
    pilot = get_pilot_or_403(pilot_id)
    return render("pilots/results.html", pilot=pilot, **_results_context(pilot))


# --- team feel ---------------------------------------------------------------------------------


def _pulse_form(pilot: Pilot) -> PulseForm:
    form = PulseForm()
    form.site_id.choices = [(0, _("Not given"))] + [
        (ps.site_id, f"{ps.site.code} – {ps.site.name}") for ps in pilot.sites if ps.arm == "pilot"
    ]
    return form


@bp.route("/pilots/<int:pilot_id>/team-feel", methods=["GET", "POST"])
@require("view_pilots")
def team_feel(pilot_id: int):
    pilot = get_pilot_or_403(pilot_id)
    form = _pulse_form(pilot)
    status = 200
    if request.method == "POST":
        get_pilot_or_403(pilot_id, "record_pulse")
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
    may_record = can(current_user, "record_pulse") and may_edit_pilot(current_user, pilot)
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
@require("view_pilots")
def decision(pilot_id: int):
    pilot = get_pilot_or_403(pilot_id)
    form = DecisionForm()
    status = 200
    if request.method == "POST":
        get_pilot_or_403(pilot_id, "decide_pilot")
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
        may_decide=can(current_user, "decide_pilot") and may_edit_pilot(current_user, pilot),
        status=status,
        **_results_context(pilot),
    )


@bp.route("/pilots/<int:pilot_id>/package", methods=["GET", "POST"])
@require("view_pilots")
def package(pilot_id: int):
    pilot = get_pilot_or_403(pilot_id)
    if pilot.package is None:
        abort(404)
    form = ElementForm()
    status = 200
    if request.method == "POST":
        get_pilot_or_403(pilot_id, "decide_pilot")
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
        may_edit=can(current_user, "decide_pilot") and may_edit_pilot(current_user, pilot),
        status=status,
    )
