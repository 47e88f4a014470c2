"""KPI screens: catalogue, KPI and site pages, history and corrections, the entry grid,
file import (upload → preview → confirm, run as a job) and pilot site assignments."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask import session as http_session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from programme.auth.models import User
from programme.auth.permissions import can, require
from programme.extensions import db
from programme.jobs import services as jobs
from programme.jobs.models import Job
from programme.kpis import charts, importing, queries, services
from programme.kpis.access import may_write_site, writable_site_ids
from programme.kpis.forms import (
    AssignmentForm,
    CorrectionForm,
    EmptyForm,
    KpiForm,
    UploadForm,
)
from programme.kpis.intake import IntakeError, IntakeRejected, ingest, records_frame
from programme.kpis.models import Kpi, KpiUpload, Measurement, PilotSiteAssignment
from programme.network.access import filter_sites, get_site_or_403, may_see_site
from programme.network.models import Site
from programme.web.forms import save_or_conflict
from programme.web.htmx import is_htmx, render
from programme.web.parsing import date_arg, int_arg
from programme.weeks import week_start

bp = Blueprint("kpis", __name__)

GRID_SOURCE = services.MANUAL_SOURCE
GRID_PAGE_SIZE = 40


def _kpi_or_404(kpi_id: int) -> Kpi:
    kpi = db.session.get(Kpi, kpi_id)
    if kpi is None:
        abort(404)
    return kpi


def _y_title(kpi: Kpi) -> str:
    return f"{kpi.name} ({kpi.unit})" if kpi.unit else kpi.name


# --- catalogue ---------------------------------------------------------------------------------


@bp.get("/kpis")
@require("view_kpis")
def kpi_list():
    return render("kpis/kpi_list.html", kpis=queries.catalogue(db.session))


def _kpi_values(form: KpiForm) -> dict:
    return {
        "code": form.code.data,
        "name_en": form.name_en.data,
        "name_fr": form.name_fr.data,
        "unit": form.unit.data,
        "kind": form.kind.data,
        "better": form.better.data,
        "min_value": form.min_value.data,
        "max_value": form.max_value.data,
        "period": form.period.data,
        "active": form.active.data,
    }


@bp.route("/kpis/new", methods=["GET", "POST"])
@require("manage_kpis")
def kpi_new():
    form = KpiForm()
    if form.validate_on_submit():
        saved = save_or_conflict(lambda: services.save_kpi(db.session, _kpi_values(form)), form)
        if saved.ok:
            kpi = saved.result
            flash(_("KPI %(code)s created.", code=kpi.code), "success")
            return redirect(url_for("kpis.kpi_list"))
    status = 422 if request.method == "POST" else 200
    return render("kpis/kpi_form.html", form=form, kpi=None, status=status)


@bp.route("/kpis/<int:kpi_id>/edit", methods=["GET", "POST"])
@require("manage_kpis")
def kpi_edit(kpi_id: int):
    kpi = _kpi_or_404(kpi_id)
    if request.method == "GET":
        form = KpiForm(obj=kpi)
        form.version.data = str(kpi.version)
        return render("kpis/kpi_form.html", form=form, kpi=kpi)
    form = KpiForm()
    conflict = False
    if form.validate_on_submit():
        saved = save_or_conflict(
            lambda: services.save_kpi(db.session, _kpi_values(form), kpi),
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
@require("view_kpis")
def kpi_detail(kpi_id: int):
    kpi = _kpi_or_404(kpi_id)
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
    return render(
        "kpis/kpi_detail.html",
        kpi=kpi,
        weeks=weeks,
        points=points,
        spec=spec,
        regions=regions,
        sites=sites,
        start=start,
        end=end,
    )


@bp.get("/sites/<int:site_id>/kpis")
@require("view_kpis")
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
        may_write=can(current_user, "write_measurements")
        and may_write_site(db.session, current_user, site.id),
    )


# --- history and corrections -------------------------------------------------------------------


def _measurement_or_404(measurement_id: int) -> Measurement:
    measurement = db.session.get(Measurement, measurement_id)
    if measurement is None:
        abort(404)
    if not may_see_site(current_user, measurement.site):
        abort(403)
    return measurement


def _history_page(measurement: Measurement, form: CorrectionForm, status: int = 200, errors=()):
    may_correct = can(current_user, "write_measurements") and may_write_site(
        db.session, current_user, measurement.site_id
    )
    return render(
        "kpis/measurement_history.html",
        m=measurement,
        revisions=queries.revisions(db.session, measurement.id),
        form=form,
        may_correct=may_correct,
        errors=errors,
        status=status,
    )


@bp.get("/measurements/<int:measurement_id>")
@require("view_kpis")
def measurement_history(measurement_id: int):
    measurement = _measurement_or_404(measurement_id)
    form = CorrectionForm(formdata=None, value=f"{measurement.value:g}", n=str(measurement.n))
    return _history_page(measurement, form)


@bp.post("/measurements/<int:measurement_id>/correct")
@require("write_measurements")
def measurement_correct(measurement_id: int):
    measurement = _measurement_or_404(measurement_id)
    if not may_write_site(db.session, current_user, measurement.site_id):
        abort(403)
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


# --- the entry grid ------------------------------------------------------------------------------


def _grid_week() -> date:
    raw = request.values.get("week", "")
    try:
        year, week = raw.split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        today = date.today()
        return week_start(today)


def _grid_sites(search: str, page: int) -> tuple[list[Site], int]:
    writable = writable_site_ids(db.session, current_user)
    stmt = select(Site).order_by(Site.code)
    if writable is not None:
        stmt = stmt.where(Site.id.in_(writable or [-1]))
    if search:
        like = f"%{search.lower()}%"
        stmt = stmt.where(or_(func.lower(Site.code).like(like), func.lower(Site.name).like(like)))
    stmt = filter_sites(stmt, current_user) if writable is not None else stmt
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // GRID_PAGE_SIZE))
    page = min(max(1, page), pages)
    sites = list(db.session.scalars(stmt.offset((page - 1) * GRID_PAGE_SIZE).limit(GRID_PAGE_SIZE)))
    return sites, pages


def _grid_kpi(kpis: list[Kpi]) -> Kpi:
    """The KPI asked for; else the user's pilot's; else the last one used (remembered in
    the session); else the first."""
    chosen = next((k for k in kpis if k.code == request.args.get("kpi", "")), None)
    if chosen is None:
        preferred = services.preferred_kpi_id(db.session, current_user.id)
        chosen = next((k for k in kpis if k.id == preferred), None)
    if chosen is None:
        chosen = next((k for k in kpis if k.code == http_session.get("grid_kpi")), None)
    chosen = chosen or kpis[0]
    if http_session.get("grid_kpi") != chosen.code:
        http_session["grid_kpi"] = chosen.code
    return chosen


@bp.get("/measurements/grid")
@require("write_measurements")
def grid():
    kpis = queries.catalogue(db.session, active_only=True)
    if not kpis:
        abort(404)
    if request.args.get("view") == "day":
        return _day_form(kpis)
    kpi = _grid_kpi(kpis)
    monday = _grid_week()
    days = [monday] if kpi.period == "week" else [monday + timedelta(days=i) for i in range(7)]
    q = request.args.get("q", "")[:60]
    page = int_arg("page") or 1
    sites, pages = _grid_sites(q, page)
    values = queries.grid_values(db.session, kpi.id, [s.id for s in sites], days[0], days[-1])
    iso = monday.isocalendar()
    today = date.today()
    return render(
        "kpis/grid.html",
        kpi=kpi,
        kpis=kpis,
        days=days,
        sites=sites,
        values=values,
        week=f"{iso[0]}-W{iso[1]:02d}",
        previous_week=_iso_week(monday - timedelta(days=7)),
        next_week=_iso_week(monday + timedelta(days=7)),
        phone_day=min(today, monday + timedelta(days=6)),
        today=today,
        q=q,
        page=page,
        pages=pages,
        locale=str(get_locale() or "fr"),
        grid_source=GRID_SOURCE,
    )


def _iso_week(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


def _day_form(kpis: list[Kpi]):
    """One site and one day, the KPIs as rows (the grid on a phone)."""
    sites, _pages = _grid_sites("", 1)
    code = request.args.get("site", "").strip().upper()
    site = db.session.scalar(select(Site).where(Site.code == code)) if code else None
    if site is None:
        site = sites[0] if sites else None
    elif not may_write_site(db.session, current_user, site.id):
        abort(403)
    today = date.today()
    day = min(date_arg("date") or today, today)
    monday = week_start(day)
    rows = [(k, monday if k.period == "week" else day) for k in kpis]
    values = queries.day_values(db.session, site.id, monday, day) if site else {}
    return render(
        "kpis/grid_day.html",
        site=site,
        sites=_day_form_sites(sites, site),
        day=day,
        rows=rows,
        values=values,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1) if day < today else None,
        week=_iso_week(day),
        today=today,
        grid_source=GRID_SOURCE,
    )


def _day_form_sites(first_page: list[Site], site: Site | None) -> list[Site]:
    """The sites the day form offers: the user's writable sites (the first hundreds)."""
    writable = writable_site_ids(db.session, current_user)
    stmt = select(Site).order_by(Site.code).limit(500)
    if writable is not None:
        stmt = filter_sites(stmt.where(Site.id.in_(writable or [-1])), current_user)
    sites = list(db.session.scalars(stmt))
    if site is not None and site not in sites:
        sites.insert(0, site)
    return sites


def _cell(kpi: Kpi, site: Site, day: str, status: int = 200, **context):
    return render(
        "kpis/_grid_cell.html",
        kpi=kpi,
        site=site,
        day=day,
        status=status,
        grid_source=GRID_SOURCE,
        **{"errors": [], "saved": None, "confirm": False, "reason": "", **context},
    )


def _current_cell(site: Site, kpi: Kpi, day: str) -> Measurement | None:
    try:
        when = date.fromisoformat(day)
    except ValueError:
        return None
    return queries.cell_value(db.session, site.id, kpi.id, when)


def _shown(number: float | int | None) -> str:
    return "" if number is None else f"{number:g}"


@bp.post("/measurements/grid/cell")
@require("write_measurements")
def grid_cell():
    """Save one cell (value and n together) through the intake pipeline; htmx gets the cell
    back with its state. A change to an existing value first comes back asking for a reason
    (prefilled, editable); nothing is written until the user confirms. A refused cell comes
    back with status 422, what was typed and the message inside it."""
    kpi = db.session.scalar(select(Kpi).where(Kpi.code == request.form.get("kpi", "")))
    site = db.session.scalar(select(Site).where(Site.code == request.form.get("site", "")))
    if kpi is None or site is None:
        abort(404)
    if not may_write_site(db.session, current_user, site.id):
        abort(403)
    day = request.form.get("date", "")[:10]
    value, n = request.form.get("value", "").strip(), request.form.get("n", "").strip()
    reason = request.form.get("reason")
    current = _current_cell(site, kpi, day)
    if request.form.get("cancel") or (not value and not n and current is None):
        if current is not None:
            value, n = _shown(current.value), _shown(current.n)
        return _cell(kpi, site, day, value=value if current else "", n=n if current else "",
                     current=current)  # fmt: skip
    default_reason = _("Corrected in the entry grid")
    row = {"site": site.code, "kpi": kpi.code, "date": day, "value": value, "n": n}
    errors: list = []
    saved = None
    try:
        if reason is not None and not reason.strip():
            raise IntakeRejected(
                [IntakeError("reason", _("Say why the value is corrected."), 0)], 1
            )
        if reason is None and current is not None and is_htmx():
            preview = ingest(
                db.session, current_user, [records_frame([row])],
                default_source=GRID_SOURCE, dry_run=True,
            )  # fmt: skip
            db.session.rollback()
            if preview.corrected:
                return _cell(kpi, site, day, value=value, n=n, current=current, confirm=True,
                             reason=default_reason)  # fmt: skip
        row["reason"] = (reason or "").strip() or default_reason
        saved = ingest(db.session, current_user, [records_frame([row])], default_source=GRID_SOURCE)
        db.session.commit()
    except IntakeRejected as rejected:
        db.session.rollback()
        errors = rejected.errors
    if not is_htmx():
        if errors:
            for error in errors:
                flash(f"{site.code} {day} – {error.field}: {error.message}", "error")
        elif saved is not None:
            flash(_("Saved."), "success")
        if request.form.get("view") == "day":
            return redirect(url_for("kpis.grid", view="day", site=site.code, date=day))
        return redirect(url_for("kpis.grid", kpi=kpi.code, week=request.form.get("week", "")))
    if errors:
        return _cell(kpi, site, day, 422, value=value, n=n, errors=errors,
                     current=_current_cell(site, kpi, day), confirm=reason is not None,
                     reason=reason or "")  # fmt: skip
    return _cell(kpi, site, day, value=value, n=n, saved=saved,
                 current=_current_cell(site, kpi, day))  # fmt: skip


# --- file import ---------------------------------------------------------------------------------


def _upload_or_404(upload_id: int) -> KpiUpload:
    upload = db.session.get(KpiUpload, upload_id)
    if upload is None:
        abort(404)
    if upload.user_id != current_user.id and current_user.role != "admin":
        abort(403)
    return upload


def _start_job(kind: str, upload: KpiUpload) -> Job:
    job = jobs.create_job(
        db.session,
        kind,
        {
            "upload_id": upload.id,
            "user_id": current_user.id,
            "language": str(get_locale() or "fr"),
        },
        current_user.id,
    )
    if kind == "kpi_check":
        upload.check_job_id = job.id
    else:
        upload.import_job_id = job.id
    db.session.commit()
    jobs.start(job.id)
    return job


@bp.route("/measurements/import", methods=["GET", "POST"])
@require("write_measurements")
def import_upload():
    limit = current_app.config.get("KPI_IMPORT_MAX_BYTES", 100 * 1024 * 1024)
    if request.method == "POST" and (request.content_length or 0) > limit + 64 * 1024:
        abort(413)
    request.max_content_length = limit + 64 * 1024
    form = UploadForm()
    problem, status = None, 200
    if form.validate_on_submit():
        upload_file = form.file.data
        data = upload_file.read(limit + 1)
        filename = upload_file.filename or ""
        if len(data) > limit:
            problem = _("The file is larger than %(mb)s MB.", mb=limit // (1024 * 1024))
            status = 413
        else:
            try:
                started = services.create_upload(
                    db.session, current_user, filename, data, form.source.data
                )
                db.session.commit()
            except importing.FileRejected as rejected:
                db.session.rollback()
                problem = str(rejected)
                status = rejected.status or (
                    415 if not filename.lower().endswith((".csv", ".xlsx")) else 422
                )
            else:
                upload = started.upload
                if started.needs_mapping:
                    return redirect(url_for("kpis.import_mapping", upload_id=upload.id))
                _start_job("kpi_check", upload)
                return redirect(url_for("kpis.import_status", upload_id=upload.id))
    elif request.method == "POST":
        status = 422
    return render("kpis/import_upload.html", form=form, problem=problem, status=status)


def _mapping_from_form(names: list[str], kpis: list[Kpi]) -> tuple[str, dict]:
    layout = request.form.get("layout", "")

    def pick(key: str) -> str | None:
        value = request.form.get(key, "")
        return value if value in names else None

    if layout == "long":
        columns = {k: pick(f"col_{k}") for k in ("site", "kpi", "date", "value", "n", "source")}
        return layout, {k: v for k, v in columns.items() if v}
    columns: dict = {k: pick(f"col_{k}") for k in ("site", "date", "n")}
    columns = {k: v for k, v in columns.items() if v}
    columns["kpis"] = {k.code: pick(f"kpi_{k.code}") for k in kpis if pick(f"kpi_{k.code}")}
    n_kpis = {k.code: pick(f"n_{k.code}") for k in kpis if pick(f"n_{k.code}")}
    if n_kpis:
        columns["n_kpis"] = n_kpis
    return layout, columns


@bp.route("/measurements/import/<int:upload_id>/mapping", methods=["GET", "POST"])
@require("write_measurements")
def import_mapping(upload_id: int):
    upload = _upload_or_404(upload_id)
    if upload.purged_at is not None:
        abort(410)  # the file was deleted after its retention period
    names = services.upload_headers(db.session, upload)
    kpis = queries.catalogue(db.session, active_only=True)
    form = EmptyForm()
    problems, status = [], 200
    layout, columns = upload.layout or "long", upload.columns or {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        layout, columns = _mapping_from_form(names, kpis)
        problems = importing.mapping_problems(layout, columns, names)
        if not problems:
            upload.layout, upload.columns = layout, columns
            services.remember_mapping(db.session, upload.source, layout, columns)
            db.session.commit()
            _start_job("kpi_check", upload)
            return redirect(url_for("kpis.import_status", upload_id=upload.id))
        status = 422
    return render(
        "kpis/import_mapping.html",
        upload=upload,
        names=names,
        kpis=kpis,
        layout=layout,
        columns=columns,
        problems=problems,
        form=form,
        status=status,
    )


@bp.get("/measurements/import/<int:upload_id>")
@require("write_measurements")
def import_status(upload_id: int):
    upload = _upload_or_404(upload_id)
    check, run = _upload_jobs(upload)
    return render(
        "kpis/import_status.html",
        "kpis/_import_state.html",
        upload=upload,
        check=check,
        run=run,
        form=EmptyForm(),
        column_names=_column_names(upload),
        job_error=jobs.error_text,
    )


def _upload_jobs(upload: KpiUpload) -> tuple[Job | None, Job | None]:
    """The upload's check and import jobs, those whose worker died marked failed first."""
    check = db.session.get(Job, upload.check_job_id) if upload.check_job_id else None
    run = db.session.get(Job, upload.import_job_id) if upload.import_job_id else None
    jobs.refresh(db.session, check, run)
    return check, run


def _column_names(upload: KpiUpload) -> dict[str, str]:
    """Pipeline field → the file's column, to show errors in the file's words."""
    columns = upload.columns or {}
    return {k: v for k, v in columns.items() if isinstance(v, str)}


@bp.post("/measurements/import/<int:upload_id>/confirm")
@require("write_measurements")
def import_confirm(upload_id: int):
    upload = _upload_or_404(upload_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    check, run = _upload_jobs(upload)
    if check is None or check.status != "done" or not (check.result or {}).get("ok"):
        abort(409)
    # Confirmed once; again only when that import failed (it wrote nothing) and the file
    # is still kept.
    if run is None or (run.status == "failed" and upload.imported_at is None):
        if upload.purged_at is not None:
            abort(410)
        _start_job("kpi_import", upload)
    return redirect(url_for("kpis.import_status", upload_id=upload.id))


@bp.post("/measurements/import/<int:upload_id>/retry")
@require("write_measurements")
def import_retry(upload_id: int):
    """Try a failed check or import again from the saved file, without uploading it again."""
    upload = _upload_or_404(upload_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    check, run = _upload_jobs(upload)
    if upload.purged_at is not None:
        abort(410)
    if run is not None:
        if run.status != "failed" or upload.imported_at is not None:
            abort(409)
        _start_job("kpi_import", upload)
    elif check is not None and check.status == "failed":
        _start_job("kpi_check", upload)
    else:
        abort(409)
    return redirect(url_for("kpis.import_status", upload_id=upload.id))


# --- pilot site assignments ----------------------------------------------------------------------


def _assignment_page(form: AssignmentForm, status: int = 200):
    members = list(
        db.session.scalars(select(User).where(User.role == "pilot_team").order_by(User.email))
    )
    form.user_id.choices = [(str(u.id), u.display_name) for u in members]
    rows = db.session.execute(
        select(PilotSiteAssignment, User, Site)
        .join(User, User.id == PilotSiteAssignment.user_id)
        .join(Site, Site.id == PilotSiteAssignment.site_id)
        .order_by(User.email, Site.code)
    ).all()
    return render(
        "kpis/assignments.html",
        form=form,
        rows=rows,
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
        site = db.session.scalar(
            select(Site).where(Site.code == form.site_code.data.strip().upper())
        )
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
@require("assign_pilot_sites")
def assignment_remove(assignment_id: int):
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    row = db.session.get(PilotSiteAssignment, assignment_id)
    if row is None:
        abort(404)
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
