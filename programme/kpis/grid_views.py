"""The entry grid: a KPI's week for the user's sites, the day form (one site, one day, the
KPIs as rows: the grid on a phone), and the cell saved through the intake pipeline."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, redirect, request, url_for
from flask import session as http_session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from programme.auth.permissions import require
from programme.extensions import db
from programme.kpis import queries, services
from programme.kpis.access import get_cell_or_403, writable_site_by_code
from programme.kpis.blueprint import bp
from programme.kpis.forms import iso_week, parse_week
from programme.kpis.intake import IntakeError, IntakeRejected, ingest, records_frame
from programme.kpis.models import Kpi, Measurement
from programme.network.models import Site
from programme.web.htmx import is_htmx, render
from programme.web.parsing import date_arg, int_arg, parse_date
from programme.weeks import week_start

GRID_SOURCE = services.MANUAL_SOURCE
GRID_PAGE_SIZE = 40


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
    monday = parse_week(request.values.get("week")) or week_start(date.today())
    days = [monday] if kpi.period == "week" else [monday + timedelta(days=i) for i in range(7)]
    q = request.args.get("q", "")[:60]
    page = int_arg("page") or 1
    sites, _page, pages = queries.grid_sites(db.session, current_user, q, page, GRID_PAGE_SIZE)
    values = queries.grid_values(db.session, kpi.id, [s.id for s in sites], days[0], days[-1])
    today = date.today()
    return render(
        "kpis/grid.html",
        kpi=kpi,
        kpis=kpis,
        days=days,
        sites=sites,
        values=values,
        week=iso_week(monday),
        previous_week=iso_week(monday - timedelta(days=7)),
        next_week=iso_week(monday + timedelta(days=7)),
        phone_day=min(today, monday + timedelta(days=6)),
        today=today,
        q=q,
        page=page,
        pages=pages,
        locale=str(get_locale() or "fr"),
        grid_source=GRID_SOURCE,
    )


def _day_form(kpis: list[Kpi]):
    """One site and one day, the KPIs as rows (the grid on a phone)."""
    sites = queries.writable_sites(db.session, current_user)
    site = writable_site_by_code(request.args.get("site", "").strip().upper())
    if site is None:
        site = sites[0] if sites else None
    elif site not in sites:
        sites.insert(0, site)
    today = date.today()
    day = min(date_arg("date") or today, today)
    monday = week_start(day)
    rows = [(k, monday if k.period == "week" else day) for k in kpis]
    values = queries.day_values(db.session, site.id, monday, day) if site else {}
    return render(
        "kpis/grid_day.html",
        site=site,
        sites=sites,
        day=day,
        rows=rows,
        values=values,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1) if day < today else None,
        week=iso_week(day),
        today=today,
        grid_source=GRID_SOURCE,
    )


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
    when = parse_date(day)
    return queries.cell_value(db.session, site.id, kpi.id, when) if when else None


def _shown(number: float | int | None) -> str:
    return "" if number is None else f"{number:g}"


@bp.post("/measurements/grid/cell")
@login_required
def grid_cell():
    """Save one cell (value and n together) through the intake pipeline; htmx gets the cell
    back with its state. A change to an existing value first comes back asking for a reason
    (prefilled, editable); nothing is written until the user confirms. A refused cell comes
    back with status 422, what was typed and the message inside it."""
    kpi, site = get_cell_or_403(request.form.get("kpi", ""), request.form.get("site", ""))
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
