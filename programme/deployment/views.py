"""Deployment screens: waves (list with the timeline, detail, plan), the site's checklist and
visit log (one phone screen) and engagement. The coaches' screens are in `coach_views`, on
the same blueprint (importing it here registers them)."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from programme.auth.permissions import can, require
from programme.deployment import charts, coach_views, queries, services
from programme.deployment.access import (
    get_engagement_site_or_403,
    get_item_or_403,
    get_milestone_or_403,
    get_wave_or_403,
    get_wave_site_or_403,
    may_edit_progress,
    may_record_engagement,
)
from programme.deployment.blueprint import bp
from programme.deployment.forms import (
    AssignmentForm,
    EngagementForm,
    VisitForm,
    WaveForm,
    checklist_updates,
    visit_input,
    wave_plan,
)
from programme.deployment.models import Coach, Wave
from programme.extensions import db
from programme.network.access import may_see_site
from programme.web.forms import BLANK_LABEL, save_or_conflict
from programme.web.htmx import is_htmx, render
from programme.web.parsing import parse_int

__all__ = ["bp", "coach_views"]


def _today() -> date:
    return date.today()


# --- waves: list and timeline ------------------------------------------------------------------


@bp.get("/waves")
@require("view_deployment")
def wave_list():
    waves = queries.waves(db.session)
    progress = services.wave_progress(db.session)
    return render(
        "deployment/wave_list.html",
        waves=waves,
        progress=progress,
        counts={w.id: len(w.sites) for w in waves},
        spec=charts.timeline_spec(waves, progress, _today()) if waves else None,
        alerts=services.alerts(db.session, _today()) if can(current_user, "plan_waves") else [],
        regions=services.engagement_by_region(
            db.session, queries.visible_site_ids(db.session, current_user)
        ),
    )


# --- plan a wave -------------------------------------------------------------------------------


def _picker(chosen: list[str], values) -> dict:
    return queries.site_picker(
        db.session, chosen, parse_int(values.get("region")), values.get("type")
    )


@bp.get("/waves/site-picker")
@require("plan_waves")
def site_picker():
    chosen = [c for c in request.args.getlist("sites") if c]
    return render("deployment/_site_picker.html", **_picker(chosen, request.args))


def _wave_form(wave: Wave | None = None) -> WaveForm:
    form = WaveForm(obj=wave if request.method == "GET" else None)
    form.package.choices = [("", BLANK_LABEL)] + queries.package_choices(db.session)
    return form


def _render_wave_form(form, wave, chosen, status=200, loose=(), conflict=False):
    return render(
        "deployment/wave_form.html",
        status=status,
        form=form,
        wave=wave,
        loose=list(loose),
        conflict=conflict,
        **_picker(chosen, request.values),
    )


def _save_wave(form: WaveForm, wave: Wave | None):
    chosen = [c for c in request.form.getlist("sites") if c]
    if not form.validate_on_submit():
        return _render_wave_form(form, wave, chosen, status=422)
    saved = save_or_conflict(
        lambda: services.save_wave(db.session, wave_plan(form, chosen), wave),
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
    flash(_("Wave “%(name)s” saved.", name=saved.result.name), "success")
    return redirect(url_for("deployment.wave_detail", wave_id=saved.result.id))


@bp.route("/waves/new", methods=["GET", "POST"])
@require("plan_waves")
def wave_new():
    form = _wave_form()
    if request.method == "POST":
        return _save_wave(form, None)
    return _render_wave_form(form, None, [])


@bp.route("/waves/<int:wave_id>/edit", methods=["GET", "POST"])
@login_required
def wave_edit(wave_id: int):
    wave = get_wave_or_403(wave_id, "plan_waves")
    form = _wave_form(wave)
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
    form.coach.choices = [("", BLANK_LABEL)] + queries.coach_choices(db.session)
    return form


def _render_detail(wave: Wave, assignment_form=None, status=200, loose=()):
    visible = [ws.site for ws in wave.sites if may_see_site(current_user, ws.site)]
    visible_ids = {s.id for s in visible}
    curve = services.s_curve(db.session, wave, _today())
    return render(
        "deployment/wave_detail.html",
        status=status,
        wave=wave,
        sites=visible,
        progress=services.site_progress(db.session, wave.id),
        wave_progress=services.wave_progress(db.session, [wave.id]).get(wave.id, 0.0),
        by_site=queries.assignments_by_site(db.session, wave.id),
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
@login_required
def wave_detail(wave_id: int):
    return _render_detail(get_wave_or_403(wave_id))


@bp.post("/waves/<int:wave_id>/milestones/<int:milestone_id>")
@login_required
def milestone_tick(wave_id: int, milestone_id: int):
    wave, milestone = get_milestone_or_403(wave_id, milestone_id, "plan_waves")
    done = request.form.get("done") == "1"
    services.tick_milestone(db.session, milestone, _today() if done else None)
    db.session.commit()
    if is_htmx():
        return render("deployment/_milestone.html", milestone=milestone, wave=wave, today=_today())
    return redirect(url_for("deployment.wave_detail", wave_id=wave.id))


@bp.post("/waves/<int:wave_id>/assignments")
@login_required
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
    editable = may_edit_progress(db.session, current_user, site.id)
    return render(
        "deployment/site_detail.html",
        status=status,
        wave=wave,
        site=site,
        items=services.site_items(db.session, wave.id, site.id),
        visits=queries.recent_visits(db.session, wave.id, site.id),
        progress=services.site_progress(db.session, wave.id).get(site.id, 0.0),
        editable=editable,
        may_engage=may_record_engagement(db.session, current_user, site.id),
        visit_form=visit_form
        or (VisitForm(formdata=None, visited_on=_today()) if editable else None),
        visit_errors=list(visit_errors),
        engagement=services.latest_engagement(db.session, [site.id]).get(site.id),
    )


@bp.get("/waves/<int:wave_id>/sites/<int:site_id>")
@login_required
def site_detail(wave_id: int, site_id: int):
    wave, site = get_wave_site_or_403(wave_id, site_id)
    return _render_site(wave, site)


@bp.post("/waves/<int:wave_id>/sites/<int:site_id>/items/<int:item_id>")
@login_required
def item_update(wave_id: int, site_id: int, item_id: int):
    wave, site, item = get_item_or_403(wave_id, site_id, item_id, "edit_progress")
    saved = save_or_conflict(
        lambda: services.set_item_state(
            db.session,
            item,
            request.form.get("state", ""),
            parse_int(request.form.get("version")),
            on=_today(),
            note=request.form.get("note"),
            evidence=request.form.get("evidence"),
            user=current_user,
        )
    )
    error = " ".join(saved.loose) if saved.status == 422 else None
    if not saved.ok:
        db.session.refresh(item)
    if is_htmx():
        return render(
            "deployment/_item.html",
            status=saved.status,
            item=item,
            wave=wave,
            site=site,
            editable=True,
            item_error=error,
            item_conflict=saved.conflict,
            progress=services.site_progress(db.session, wave.id).get(site.id, 0.0),
            oob_progress=True,
        )
    if not saved.ok:
        flash(
            _("Someone else changed this element in the meantime: it is now “%(state)s”.",
              state=item.state_label)
            if saved.conflict
            else error,
            "error",
        )  # fmt: skip
        return _render_site(wave, site, status=saved.status)
    return redirect(url_for("deployment.site_detail", wave_id=wave.id, site_id=site.id))


@bp.post("/waves/<int:wave_id>/sites/<int:site_id>/visits")
@login_required
def visit_new(wave_id: int, site_id: int):
    wave, site = get_wave_site_or_403(wave_id, site_id, "edit_progress")
    form = VisitForm()
    if not form.validate_on_submit():
        return _render_site(wave, site, form, status=422)
    updates = checklist_updates(request.form)
    if updates is None:
        return _render_site(
            wave, site, form, status=422, visit_errors=[_("Unknown package elements.")]
        )
    coach = services.coach_for_user(db.session, current_user)
    saved = save_or_conflict(
        lambda: services.record_visit(
            db.session, wave, site.id, visit_input(form, updates), coach, user=current_user
        ),
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
@login_required
def engagement(site_id: int):
    site = get_engagement_site_or_403(site_id)
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
    return render(
        "deployment/engagement.html",
        status=status,
        site=site,
        form=form,
        history=queries.engagement_history(db.session, site.id),
        wave=services.active_wave_of_site(db.session, site.id),
    )
