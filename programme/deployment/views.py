"""Deployment screens: waves (list with the timeline, detail, plan), the site's checklist and
visit log (one phone screen), engagement, the coaches (list and form) and their capacity."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from programme.auth.models import User
from programme.auth.permissions import can, require
from programme.deployment import charts, services
from programme.deployment.access import (
    get_wave_or_403,
    get_wave_site_or_403,
    may_edit_progress,
    may_record_engagement,
)
from programme.deployment.forms import (
    AssignmentForm,
    CoachForm,
    EngagementForm,
    VisitForm,
    WaveForm,
)
from programme.deployment.models import (
    BLOCKER_CATEGORIES,
    ITEM_STATES,
    Assignment,
    ChecklistItem,
    Coach,
    Engagement,
    Milestone,
    Visit,
    Wave,
)
from programme.extensions import db
from programme.network.access import filter_sites, get_site_or_403, may_see_site
from programme.network.models import SITE_TYPES, Person, Region, Site
from programme.pilots.models import Package
from programme.web.forms import BLANK_LABEL, save_or_conflict
from programme.web.htmx import is_htmx, render
from programme.web.parsing import parse_int
from programme.weeks import week_start

bp = Blueprint("deployment", __name__)


@bp.context_processor
def _labels():
    return {"item_states": ITEM_STATES, "blocker_labels": BLOCKER_CATEGORIES}


def _today() -> date:
    return date.today()


# --- waves: list and timeline ------------------------------------------------------------------


@bp.get("/waves")
@require("view_deployment")
def wave_list():
    waves = list(db.session.scalars(select(Wave).order_by(Wave.start, Wave.name)))
    progress = services.wave_progress(db.session)
    counts = {w.id: len(w.sites) for w in waves}
    return render(
        "deployment/wave_list.html",
        waves=waves,
        progress=progress,
        counts=counts,
        spec=charts.timeline_spec(waves, progress, _today()) if waves else None,
        alerts=services.alerts(db.session, _today()) if can(current_user, "plan_waves") else [],
        regions=services.engagement_by_region(
            db.session, list(db.session.scalars(filter_sites(select(Site.id), current_user)))
        ),
    )


# --- plan a wave -------------------------------------------------------------------------------


def _prepare(form: WaveForm) -> None:
    form.package.choices = [("", BLANK_LABEL)] + [
        (p.id, p.name) for p in db.session.scalars(select(Package).order_by(Package.name))
    ]


def _picker(chosen: list[str], region_id: int | None, site_type: str | None) -> dict:
    """The sites offered by the picker: the chosen ones first, then those matching the
    filters (at most 200)."""
    chosen_sites = list(
        db.session.scalars(select(Site).where(Site.code.in_(chosen)).order_by(Site.code))
    )
    stmt = select(Site).order_by(Site.code)
    if region_id:
        stmt = stmt.where(Site.region_id == region_id)
    if site_type:
        stmt = stmt.where(Site.type == site_type)
    matching = (
        [s for s in db.session.scalars(stmt.limit(200)) if s.code not in set(chosen)]
        if region_id or site_type
        else []
    )
    return {
        "chosen_sites": chosen_sites,
        "matching": matching,
        "regions": list(db.session.scalars(select(Region).order_by(Region.name))),
        "site_types": SITE_TYPES,
        "region_id": region_id,
        "site_type": site_type or "",
    }


@bp.get("/waves/site-picker")
@require("plan_waves")
def site_picker():
    chosen = [c for c in request.args.getlist("sites") if c]
    context = _picker(chosen, parse_int(request.args.get("region")), request.args.get("type"))
    return render("deployment/_site_picker.html", **context)


def _render_wave_form(form, wave, chosen, status=200, loose=(), conflict=False):
    return render(
        "deployment/wave_form.html",
        status=status,
        form=form,
        wave=wave,
        loose=list(loose),
        conflict=conflict,
        **_picker(chosen, parse_int(request.values.get("region")), request.values.get("type")),
    )


def _save_wave(form: WaveForm, wave: Wave | None):
    chosen = [c for c in request.form.getlist("sites") if c]
    if not form.validate_on_submit():
        return _render_wave_form(form, wave, chosen, status=422)
    plan = services.WavePlan(
        name=form.name.data,
        package_id=form.package.data,
        start=form.start.data,
        go_live=form.go_live.data,
        site_codes=chosen,
        status=form.status.data,
    )
    saved = save_or_conflict(
        lambda: services.save_wave(db.session, plan, wave),
        form,
        sent_version=form.version.data,
        current_version=wave.version if wave is not None else None,
    )
    if saved.conflict:
        wave = db.session.get(Wave, wave.id)  # type: ignore[union-attr]
        form.version.data = str(wave.version)
        return _render_wave_form(form, wave, chosen, status=409, conflict=True)
    if not saved.ok:
        return _render_wave_form(form, wave, chosen, status=422, loose=saved.loose)
    wave = saved.result
    flash(_("Wave “%(name)s” saved.", name=wave.name), "success")
    return redirect(url_for("deployment.wave_detail", wave_id=wave.id))


@bp.route("/waves/new", methods=["GET", "POST"])
@require("plan_waves")
def wave_new():
    form = WaveForm()
    _prepare(form)
    if request.method == "POST":
        return _save_wave(form, None)
    return _render_wave_form(form, None, [])


@bp.route("/waves/<int:wave_id>/edit", methods=["GET", "POST"])
@require("plan_waves")
def wave_edit(wave_id: int):
    wave = get_wave_or_403(wave_id, "plan_waves")
    form = WaveForm(obj=wave if request.method == "GET" else None)
    _prepare(form)
    if request.method == "POST":
        return _save_wave(form, wave)
    form.package.data = wave.package_id
    form.version.data = str(wave.version)
    return _render_wave_form(form, wave, [ws.site.code for ws in wave.sites])


# --- wave detail -------------------------------------------------------------------------------


def _assignment_form(wave: Wave, form: AssignmentForm | None = None) -> AssignmentForm:
    form = form or AssignmentForm(formdata=None, start=wave.start, end=wave.go_live)
    form.site.choices = [("", BLANK_LABEL)] + [
        (ws.site_id, f"{ws.site.code} · {ws.site.name}") for ws in wave.sites
    ]
    form.coach.choices = [("", BLANK_LABEL)] + [
        (c.id, c.name) for c in db.session.scalars(select(Coach).join(Coach.person))
    ]
    return form


def _render_detail(wave: Wave, assignment_form=None, status=200, loose=()):
    visible = [ws.site for ws in wave.sites if may_see_site(current_user, ws.site)]
    progress = services.site_progress(db.session, wave.id)
    assignments = list(
        db.session.scalars(
            select(Assignment).where(Assignment.wave_id == wave.id).order_by(Assignment.start_on)
        )
    )
    by_site: dict[int, list[Assignment]] = {}
    for a in assignments:
        by_site.setdefault(a.site_id, []).append(a)
    visible_ids = {s.id for s in visible}
    curve = services.s_curve(db.session, wave, _today())
    return render(
        "deployment/wave_detail.html",
        status=status,
        wave=wave,
        sites=visible,
        progress=progress,
        wave_progress=services.wave_progress(db.session, [wave.id]).get(wave.id, 0.0),
        by_site=by_site,
        engagement=services.latest_engagement(db.session, list(visible_ids)),
        readiness=services.readiness(db.session, wave),
        curve=curve,
        curve_spec=charts.s_curve_spec(wave, curve) if curve else None,
        alerts=[
            a
            for a in services.alerts(db.session, _today(), wave.id)
            if a.site_id is None or a.site_id in visible_ids
        ],
        today=_today(),
        assignment_form=(
            _assignment_form(wave, assignment_form) if can(current_user, "assign_coaches") else None
        ),
        assignment_errors=list(loose),
    )


@bp.get("/waves/<int:wave_id>")
@require("view_deployment")
def wave_detail(wave_id: int):
    return _render_detail(get_wave_or_403(wave_id))


@bp.post("/waves/<int:wave_id>/milestones/<int:milestone_id>")
@require("plan_waves")
def milestone_tick(wave_id: int, milestone_id: int):
    wave = get_wave_or_403(wave_id, "plan_waves")
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None or milestone.wave_id != wave.id:
        abort(404)
    done = request.form.get("done") == "1"
    services.tick_milestone(db.session, milestone, _today() if done else None)
    db.session.commit()
    if is_htmx():
        return render("deployment/_milestone.html", milestone=milestone, wave=wave, today=_today())
    return redirect(url_for("deployment.wave_detail", wave_id=wave.id))


@bp.post("/waves/<int:wave_id>/assignments")
@require("assign_coaches")
def assignment_new(wave_id: int):
    wave = get_wave_or_403(wave_id, "assign_coaches")
    form = _assignment_form(wave, AssignmentForm())
    if not form.validate_on_submit():
        return _render_detail(wave, form, status=422)
    coach = db.session.get(Coach, form.coach.data)
    saved = save_or_conflict(
        lambda: services.assign_coach(
            db.session, wave, form.site.data, coach, form.start.data, form.end.data
        ),
        form,
    )
    if not saved.ok:
        return _render_detail(wave, form, status=422, loose=saved.loose)
    flash(_("Coach assigned."), "success")
    return redirect(url_for("deployment.wave_detail", wave_id=wave.id))


# --- a site of a wave: checklist and visit log -------------------------------------------------


def _render_site(wave, site, visit_form=None, status=200, visit_errors=()):
    items = services.site_items(db.session, wave.id, site.id)
    visits = list(
        db.session.scalars(
            select(Visit)
            .where(Visit.wave_id == wave.id, Visit.site_id == site.id)
            .order_by(Visit.visited_on.desc(), Visit.id.desc())
            .limit(20)
        )
    )
    editable = may_edit_progress(db.session, current_user, site.id)
    return render(
        "deployment/site_detail.html",
        status=status,
        wave=wave,
        site=site,
        items=items,
        visits=visits,
        progress=services.site_progress(db.session, wave.id).get(site.id, 0.0),
        editable=editable,
        may_engage=may_record_engagement(db.session, current_user, site.id),
        visit_form=visit_form
        or (VisitForm(formdata=None, visited_on=_today()) if editable else None),
        visit_errors=list(visit_errors),
        engagement=services.latest_engagement(db.session, [site.id]).get(site.id),
    )


@bp.get("/waves/<int:wave_id>/sites/<int:site_id>")
@require("view_deployment")
def site_detail(wave_id: int, site_id: int):
    wave, site = get_wave_site_or_403(wave_id, site_id)
    return _render_site(wave, site)


@bp.post("/waves/<int:wave_id>/sites/<int:site_id>/items/<int:item_id>")
@require("edit_progress")
def item_update(wave_id: int, site_id: int, item_id: int):
    wave, site = get_wave_site_or_403(wave_id, site_id, "edit_progress")
    item = db.session.get(ChecklistItem, item_id)
    if item is None or item.wave_id != wave.id or item.site_id != site.id:
        abort(404)
    version = parse_int(request.form.get("version"))
    state = request.form.get("state", "")
    saved = save_or_conflict(
        lambda: services.set_item_state(
            db.session,
            item,
            state,
            version,
            on=_today(),
            note=request.form.get("note"),
            evidence=request.form.get("evidence"),
            user=current_user,
        )
    )
    status, conflict = saved.status, saved.conflict
    error = " ".join(saved.loose) if status == 422 else None
    if not saved.ok:
        item = db.session.get(ChecklistItem, item_id)
    if is_htmx():
        return render(
            "deployment/_item.html",
            status=status,
            item=item,
            wave=wave,
            site=site,
            editable=True,
            item_error=error,
            item_conflict=conflict,
            progress=services.site_progress(db.session, wave.id).get(site.id, 0.0),
            oob_progress=True,
        )
    if status != 200:
        flash(
            _("Someone else changed this element in the meantime: it is now “%(state)s”.",
              state=item.state_label)
            if conflict
            else error,
            "error",
        )  # fmt: skip
        return _render_site(wave, site, status=status)
    return redirect(url_for("deployment.site_detail", wave_id=wave.id, site_id=site.id))


@bp.post("/waves/<int:wave_id>/sites/<int:site_id>/visits")
@require("edit_progress")
def visit_new(wave_id: int, site_id: int):
    wave, site = get_wave_site_or_403(wave_id, site_id, "edit_progress")
    form = VisitForm()
    if not form.validate_on_submit():
        return _render_site(wave, site, form, status=422)
    updates: dict[int, tuple[str, int | None, str | None]] = {}
    for key in request.form:
        if key.startswith("element-"):
            element_id = parse_int(key.removeprefix("element-"))
            state = request.form.get(key) or ""
            if element_id is None:
                return _render_site(
                    wave, site, form, status=422, visit_errors=[_("Unknown package elements.")]
                )
            if state:
                updates[element_id] = (
                    state,
                    parse_int(request.form.get(f"version-{element_id}")),
                    request.form.get(f"note-{element_id}"),
                )
    data = services.VisitInput(
        visited_on=form.visited_on.data,
        duration_minutes=form.duration_minutes.data,
        worked_on=form.worked_on.data,
        blocker_category=form.blocker_category.data or None,
        blockers=form.blockers.data,
        next_visit_on=form.next_visit_on.data,
        updates=updates,
    )
    coach = services.coach_for_user(db.session, current_user)
    saved = save_or_conflict(
        lambda: services.record_visit(db.session, wave, site.id, data, coach, user=current_user),
        form,
    )
    if saved.status == 422:
        return _render_site(wave, site, form, status=422, visit_errors=saved.loose)
    if saved.conflict:
        return _render_site(
            wave,
            site,
            form,
            status=409,
            visit_errors=[
                _("Someone else updated this site's checklist in the meantime: check the "
                  "elements below and save again.")
            ],
        )  # fmt: skip
    flash(_("Visit recorded."), "success")
    return redirect(url_for("deployment.site_detail", wave_id=wave.id, site_id=site.id))


# --- engagement --------------------------------------------------------------------------------


@bp.route("/sites/<int:site_id>/engagement", methods=["GET", "POST"])
@require("record_engagement")
def engagement(site_id: int):
    site = get_site_or_403(site_id, "record_engagement")
    if not may_record_engagement(db.session, current_user, site.id):
        abort(403)
    form = EngagementForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        form.recorded_on.data = _today()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            services.record_engagement(
                db.session,
                site.id,
                form.score.data,
                form.note.data,
                form.recorded_on.data,
                form.asked_earlier.data,
                user=current_user,
            )
            db.session.commit()
            flash(_("Engagement recorded."), "success")
            return redirect(url_for("deployment.engagement", site_id=site.id))
        status = 422
    history = list(
        db.session.scalars(
            select(Engagement)
            .where(Engagement.site_id == site.id)
            .order_by(Engagement.recorded_on.desc(), Engagement.id.desc())
            .limit(20)
        )
    )
    return render(
        "deployment/engagement.html",
        status=status,
        site=site,
        form=form,
        history=history,
        wave=services.active_wave_of_site(db.session, site.id),
    )


# --- capacity ----------------------------------------------------------------------------------


@bp.get("/coaches/capacity")
@require("view_capacity")
def capacity():
    today = _today()
    monday = week_start(today)
    weeks = 8
    loads = services.capacity(db.session, monday, weeks, today)
    return render(
        "deployment/capacity.html",
        loads=loads,
        mondays=[monday + timedelta(weeks=i) for i in range(weeks)],
    )


# --- coaches: the programme office's list and form ---------------------------------------------


@bp.get("/coaches")
@require("view_capacity")
def coach_list():
    coaches = list(db.session.scalars(select(Coach).join(Coach.person).order_by(Person.full_name)))
    return render(
        "deployment/coach_list.html",
        coaches=coaches,
        loads=services.current_loads(db.session, _today()),
    )


def _prepare_coach(form: CoachForm) -> None:
    form.user.choices = [(0, "—")] + [
        (u.id, f"{u.display_name} <{u.email}>")
        for u in db.session.scalars(select(User).where(User.role == "coach").order_by(User.email))
    ]
    form.regions.choices = [
        (r.id, r.name) for r in db.session.scalars(select(Region).order_by(Region.name))
    ]


def _render_coach_form(form, coach, status=200, loose=(), conflict=False):
    return render(
        "deployment/coach_form.html",
        status=status,
        form=form,
        coach=coach,
        loose=list(loose),
        conflict=conflict,
    )


def _current_coach_form(coach: Coach) -> CoachForm:
    form = CoachForm(
        formdata=None,
        email=coach.person.email or "",
        full_name=coach.person.full_name,
        user=coach.user_id or 0,
        home_site=coach.home_site.code if coach.home_site else "",
        secondment_start=coach.secondment_start,
        secondment_end=coach.secondment_end,
        capacity=coach.capacity,
        regions=[r.id for r in coach.regions],
        trainings=[*coach.trainings, None],
        version=services.coach_fingerprint(coach),
    )
    _prepare_coach(form)
    return form


def _save_coach(form: CoachForm, coach: Coach | None):
    if request.form.get("add_training"):
        form.trainings.append_entry()
        return _render_coach_form(form, coach)
    if not form.validate_on_submit():
        return _render_coach_form(form, coach, status=422)
    if coach is not None and form.version.data != services.coach_fingerprint(coach):
        return _render_coach_form(_current_coach_form(coach), coach, status=409, conflict=True)
    data = services.CoachInput(
        email=form.email.data,
        full_name=form.full_name.data,
        home_site_code=form.home_site.data,
        secondment_start=form.secondment_start.data,
        secondment_end=form.secondment_end.data,
        capacity=form.capacity.data,
        user_id=form.user.data or None,
        region_ids=list(form.regions.data or []),
        trainings=[(row.module.data, row.completed_on.data) for row in form.trainings],
    )
    saved = save_or_conflict(lambda: services.save_coach(db.session, data, coach), form)
    if not saved.ok:
        return _render_coach_form(form, coach, status=422, loose=saved.loose)
    coach = saved.result
    flash(_("Coach “%(name)s” saved.", name=coach.name), "success")
    return redirect(url_for("deployment.coach_list"))


@bp.route("/coaches/new", methods=["GET", "POST"])
@require("assign_coaches")
def coach_new():
    form = CoachForm()
    _prepare_coach(form)
    if request.method == "POST":
        return _save_coach(form, None)
    form.secondment_start.data = _today()
    return _render_coach_form(form, None)


@bp.route("/coaches/<int:coach_id>/edit", methods=["GET", "POST"])
@require("assign_coaches")
def coach_edit(coach_id: int):
    coach = db.session.get(Coach, coach_id)
    if coach is None:
        abort(404)
    if request.method == "POST":
        form = CoachForm()
        _prepare_coach(form)
        return _save_coach(form, coach)
    return _render_coach_form(_current_coach_form(coach), coach)
