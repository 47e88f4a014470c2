"""KPI screens: catalogue, KPI and site pages, history and corrections, the entry grid and
pilot site assignments (the file import is in `import_views`, on the same blueprint)."""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

import programme.kpis.grid_views  # noqa: F401 (the entry grid's routes, on `bp`)
import programme.kpis.import_views  # noqa: F401 (the file import's routes, on `bp`)
from programme.auth.models import User
from programme.auth.permissions import require
from programme.extensions import db
from programme.kpis import charts, queries, services
from programme.kpis.access import (
    get_assignment_or_403,
    get_kpi_or_403,
    get_measurement_or_403,
    may_enter_for,
)
from programme.kpis.blueprint import bp
from programme.kpis.forms import (
    AssignmentForm,
    CorrectionForm,
    EmptyForm,
    KpiForm,
    kpi_values,
)
from programme.kpis.models import Kpi, Measurement
from programme.network.access import get_site_or_403
from programme.network.services import find_site
from programme.web.forms import save_or_conflict
from programme.web.htmx import render
from programme.web.paging import page_window
from programme.web.parsing import int_arg

__all__ = ["bp"]


def _y_title(kpi: Kpi) -> str:
    return f"{kpi.name} ({kpi.unit})" if kpi.unit else kpi.name


# --- catalogue ---------------------------------------------------------------------------------


@bp.get("/kpis")
@require("view_kpis")
def kpi_list():
    return render("kpis/kpi_list.html", kpis=queries.catalogue(db.session))


@bp.route("/kpis/new", methods=["GET", "POST"])
@require("manage_kpis")
def kpi_new():
    form = KpiForm()
    if form.validate_on_submit():
        saved = save_or_conflict(lambda: services.save_kpi(db.session, kpi_values(form)), form)
        if saved.ok:
            kpi = saved.result
            flash(_("KPI %(code)s created.", code=kpi.code), "success")
            return redirect(url_for("kpis.kpi_list"))
    status = 422 if request.method == "POST" else 200
    return render("kpis/kpi_form.html", form=form, kpi=None, status=status)


@bp.route("/kpis/<int:kpi_id>/edit", methods=["GET", "POST"])
@login_required
def kpi_edit(kpi_id: int):
    kpi = get_kpi_or_403(kpi_id, "manage_kpis")
    if request.method == "GET":
        form = KpiForm(obj=kpi)
        form.version.data = str(kpi.version)
        return render("kpis/kpi_form.html", form=form, kpi=kpi)
    form = KpiForm()
    conflict = False
    if form.validate_on_submit():
        saved = save_or_conflict(
            lambda: services.save_kpi(db.session, kpi_values(form), kpi),
            form,
            sent_version=form.version.data,
            current_version=kpi.version,
        )
        conflict = saved.conflict
        if saved.ok:
            flash(_("KPI %(code)s saved.", code=kpi.code), "success")
            return redirect(url_for("kpis.kpi_list"))
    if conflict:
        kpi = db.session.get(Kpi, kpi_id)
        form.version.data = str(kpi.version)
        return render("kpis/kpi_form.html", form=form, kpi=kpi, conflict=True, status=409)
    return render("kpis/kpi_form.html", form=form, kpi=kpi, status=422)


# --- KPI page and site page ---------------------------------------------------------------------


def _weeks_arg(default: int = 52) -> int:
    weeks = int_arg("weeks")
    return weeks if weeks in (13, 26, 52, 104) else default


@bp.get("/kpis/<int:kpi_id>")
@login_required
def kpi_detail(kpi_id: int):
    kpi = get_kpi_or_403(kpi_id)
    weeks = _weeks_arg()
    points, (regions, sites, start, end) = queries.kpi_page_figures(
        db.session, current_user, kpi, weeks
    )
    spec = charts.weekly_series_spec(
        _("%(kpi)s per week, sites you can see", kpi=kpi.name),
        _y_title(kpi),
        points,
        kpi.kind == "rate",
    )
    # The by-site table a page at a time (least complete first): a network has thousands.
    size = current_app.config["SITE_PAGE_SIZE"]
    site_page, pages = page_window(len(sites), int_arg("page"), size)
    return render(
        "kpis/kpi_detail.html",
        kpi=kpi,
        weeks=weeks,
        points=points,
        spec=spec,
        regions=regions,
        sites=sites[(site_page - 1) * size : site_page * size],
        site_count=len(sites),
        site_page=site_page,
        site_pages=pages,
        start=start,
        end=end,
    )


@bp.get("/sites/<int:site_id>/kpis")
@login_required
def site_kpis(site_id: int):
    site = get_site_or_403(site_id, "view_kpis")
    weeks = _weeks_arg()
    panels = []
    for kpi in queries.site_kpis(db.session, site.id):
        points = queries.weekly_series(db.session, current_user, kpi, weeks, site_id=site.id)
        spec = charts.weekly_series_spec(
            f"{kpi.code} – {kpi.name}", _y_title(kpi), points, kpi.kind == "rate"
        )
        panels.append({"kpi": kpi, "points": points, "spec": spec})
    return render(
        "kpis/site_kpis.html",
        site=site,
        weeks=weeks,
        panels=panels,
        recent=queries.recent_measurements(db.session, site.id),
        may_write=may_enter_for(current_user, site.id),
    )


# --- history and corrections -------------------------------------------------------------------


def _history_page(measurement: Measurement, form: CorrectionForm, status: int = 200, errors=()):
    return render(
        "kpis/measurement_history.html",
        m=measurement,
        revisions=queries.revisions(db.session, measurement.id),
        form=form,
        may_correct=may_enter_for(current_user, measurement.site_id),
        errors=errors,
        status=status,
    )


@bp.get("/measurements/<int:measurement_id>")
@login_required
def measurement_history(measurement_id: int):
    measurement = get_measurement_or_403(measurement_id)
    form = CorrectionForm(formdata=None, value=f"{measurement.value:g}", n=str(measurement.n))
    return _history_page(measurement, form)


@bp.post("/measurements/<int:measurement_id>/correct")
@login_required
def measurement_correct(measurement_id: int):
    measurement = get_measurement_or_403(measurement_id, "write_measurements")
    form = CorrectionForm()
    if not form.validate_on_submit():
        return _history_page(measurement, form, 422)
    saved = save_or_conflict(
        lambda: services.correct_measurement(
            db.session, current_user, measurement, form.value.data, form.n.data, form.reason.data
        ),
        form,
    )
    if not saved.ok:
        return _history_page(db.session.get(Measurement, measurement_id), form, 422)
    result = saved.result
    if result.corrected:
        flash(_("Correction saved; the previous value is kept in the history."), "success")
    else:
        flash(_("Same value as before: nothing changed."), "info")
    return redirect(url_for("kpis.measurement_history", measurement_id=measurement_id))


# --- pilot site assignments ----------------------------------------------------------------------


def _assignment_page(form: AssignmentForm, status: int = 200):
    members = queries.pilot_team_members(db.session)
    form.user_id.choices = [(str(u.id), u.display_name) for u in members]
    return render(
        "kpis/assignments.html",
        form=form,
        rows=queries.assignment_rows(db.session),
        remove_form=EmptyForm(),
        status=status,
    )


@bp.route("/kpis/assignments", methods=["GET", "POST"])
@require("assign_pilot_sites")
def assignments():
    form = AssignmentForm()
    if request.method == "GET":
        return _assignment_page(form)
    if form.validate_on_submit():
        user = db.session.get(User, int(form.user_id.data or 0)) if form.user_id.data else None
        code = (form.site_code.data or "").strip()
        site = find_site(db.session, code) if code else None
        if user is None or user.role != "pilot_team":
            form.user_id.errors.append(_("Choose a pilot team member."))
        elif site is None:
            form.site_code.errors.append(_("Unknown site code."))
        else:
            if services.assign_site(db.session, user.id, site.id):
                flash(
                    _(
                        "%(user)s may now enter measurements for %(site)s.",
                        user=user.display_name,
                        site=site.code,
                    ),
                    "success",
                )
            else:
                flash(_("This assignment already exists."), "info")
            db.session.commit()
            return redirect(url_for("kpis.assignments"))
    return _assignment_page(form, 422)


@bp.post("/kpis/assignments/<int:assignment_id>/remove")
@login_required
def assignment_remove(assignment_id: int):
    row = get_assignment_or_403(assignment_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    db.session.delete(row)
    db.session.commit()
    flash(_("Assignment removed."), "success")
    return redirect(url_for("kpis.assignments"))


@bp.app_context_processor
def _labels():
    from programme.kpis.models import DIRECTIONS, KPI_KINDS, PERIODS

    return {"kind_labels": KPI_KINDS, "direction_labels": DIRECTIONS, "period_labels": PERIODS}


@bp.app_template_filter("isodate")
def _isodate(value: str, fmt: str = "medium") -> str:
    from flask_babel import format_date

    return format_date(date.fromisoformat(value[:10]), fmt) if value else ""


@bp.app_template_filter("isodatetime")
def _isodatetime(value: str, fmt: str = "medium") -> str:
    from datetime import datetime

    from flask_babel import format_datetime

    return format_datetime(datetime.fromisoformat(value), fmt) if value else ""
