"""Deployment screens of the coaches: the programme office's list and form, and the coaches'
capacity over the coming weeks."""

from __future__ import annotations

from datetime import date, timedelta

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from programme.auth.permissions import require
from programme.deployment import queries, services
from programme.deployment.access import get_coach_or_403
from programme.deployment.blueprint import bp
from programme.deployment.forms import CoachForm, coach_form, coach_input
from programme.deployment.models import Coach
from programme.extensions import db
from programme.web.forms import save_or_conflict
from programme.web.htmx import render
from programme.weeks import week_start

# --- capacity ----------------------------------------------------------------------------------


@bp.get("/coaches/capacity")
@require("view_capacity")
def capacity():
    today = date.today()
    monday = week_start(today)
    weeks = 8
    return render(
        "deployment/capacity.html",
        loads=services.capacity(db.session, monday, weeks, today),
        mondays=[monday + timedelta(weeks=i) for i in range(weeks)],
    )


# --- coaches: the programme office's list and form ---------------------------------------------


@bp.get("/coaches")
@require("view_capacity")
def coach_list():
    return render(
        "deployment/coach_list.html",
        coaches=queries.coaches(db.session),
        loads=services.current_loads(db.session, date.today()),
    )


def _with_choices(form: CoachForm) -> CoachForm:
    form.user.choices = [(0, "—")] + queries.coach_user_choices(db.session)
    form.regions.choices = queries.region_choices(db.session)
    return form


def _render_coach_form(form, coach, status=200, loose=(), conflict=False):
    return render(
        "deployment/coach_form.html",
        status=status,
        form=form,
        coach=coach,
        loose=list(loose),
        conflict=conflict,
    )


def _save_coach(form: CoachForm, coach: Coach | None):
    if request.form.get("add_training"):
        form.trainings.append_entry()
        return _render_coach_form(form, coach)
    if not form.validate_on_submit():
        return _render_coach_form(form, coach, status=422)
    saved = save_or_conflict(
        lambda: services.save_coach(db.session, coach_input(form), coach),
        form,
        sent_version=form.version.data,
        current_version=services.coach_fingerprint(coach) if coach is not None else None,
    )
    if saved.conflict:
        return _render_coach_form(
            _with_choices(coach_form(coach)), coach, status=409, conflict=True
        )
    if not saved.ok:
        return _render_coach_form(form, coach, status=422, loose=saved.loose)
    flash(_("Coach “%(name)s” saved.", name=saved.result.name), "success")
    return redirect(url_for("deployment.coach_list"))


@bp.route("/coaches/new", methods=["GET", "POST"])
@require("assign_coaches")
def coach_new():
    form = _with_choices(CoachForm())
    if request.method == "POST":
        return _save_coach(form, None)
    form.secondment_start.data = date.today()
    return _render_coach_form(form, None)


@bp.route("/coaches/<int:coach_id>/edit", methods=["GET", "POST"])
@login_required
def coach_edit(coach_id: int):
    coach = get_coach_or_403(coach_id, "assign_coaches")
    if request.method == "POST":
        return _save_coach(_with_choices(CoachForm()), coach)
    return _render_coach_form(_with_choices(coach_form(coach)), coach)
