"""What the value screens read (issue 18): the value report of the value page, the value to
date of the executive home and a pilot's projected annual value.

Each reader is one adapter over programme/reports/value.py: when that module provides the
function (`value_report`, `value_to_date`, `pilot_projected_value`), the screens use it;
until then the actual-only implementation below answers with the same shape (planned and
forecast null, `reading` says so). Switching is one line each (REPORT, TO_DATE, PILOT_PROJECTION)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import numpy as np
from flask_babel import gettext as _
from flask_babel import pgettext
from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from programme.deployment.models import Wave, WaveSite
from programme.kpis.models import Kpi, Measurement
from programme.network.models import Region, Site
from programme.pilots.models import Package
from programme.reports import impact
from programme.reports import value as value_service
from programme.value import compute, services
from programme.value.models import ValueDriver

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_MONTHS = 60
FIELDS = (
    "planned",
    "forecast",
    "actual",
    "actual_low",
    "actual_high",
    "estimate",
    "volume",
    "p10",
    "p50",
    "p90",
)


# --- input -------------------------------------------------------------------------------------


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def add_months(month: str, n: int) -> str:
    y, m = int(month[:4]), int(month[5:7]) - 1 + n
    return f"{y + m // 12:04d}-{m % 12 + 1:02d}"


def month_label(month: str) -> str:
    """ "2025-03" → "Mar 2025" / "mars 2025" in the user's language."""
    from flask_babel import format_date

    return format_date(date(int(month[:4]), int(month[5:7]), 1), "MMM y")


def default_range(today: date, session: Session | None = None) -> tuple[str, str]:
    """From the first go-live of a valued package (at most four years back; the past twelve
    months when there is none) to six months ahead."""
    now = month_of(today)
    first = add_months(now, -11)
    if session is not None:
        first_live = session.scalar(
            select(func.min(Wave.go_live)).where(
                Wave.package_id.in_(select(ValueDriver.package_id))
            )
        )
        if first_live is not None:
            first = max(month_of(first_live), add_months(now, -47))
    last = add_months(now, 6)
    return min(first, last), last


def parse_filters(session: Session, args, today: date) -> tuple[dict[str, Any], dict[str, str]]:
    """The value page's query string → (chosen filters, errors field → message). Unknown
    packages, KPIs or regions and malformed months are errors, never silently dropped."""
    errors: dict[str, str] = {}
    chosen: dict[str, Any] = {"package": None, "kpi": None, "region": None}
    default_first, default_last = default_range(today, session)

    def as_id(name: str, model, message: str):
        raw = (args.get(name) or "").strip()
        if not raw:
            return None
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            errors[name] = message
            return None
        if session.get(model, int(raw)) is None:
            errors[name] = message
            return None
        return int(raw)

    chosen["package"] = as_id("package", Package, _("Choose a package from the list."))
    chosen["region"] = as_id("region", Region, _("Choose a region from the list."))
    code = (args.get("kpi") or "").strip().upper()
    if code:
        if session.scalar(select(Kpi.id).where(Kpi.code == code)) is None:
            errors["kpi"] = _("Choose a KPI from the list.")
        else:
            chosen["kpi"] = code
    for name, default in (("from", default_first), ("to", default_last)):
        raw = (args.get(name) or "").strip()
        if raw and not MONTH.match(raw):
            errors[name] = _("Give a month as YYYY-MM, for example %(example)s.", example=default)
            chosen[name] = default
        else:
            chosen[name] = raw or default
    if "from" not in errors and "to" not in errors:
        if chosen["from"] > chosen["to"]:
            errors["to"] = _("The last month must not be before the first.")
        elif len(value_service._months(chosen["from"], chosen["to"])) > MAX_MONTHS:
            errors["to"] = _("Choose at most %(n)d months.", n=MAX_MONTHS)
    raw = args.get("window_weeks")
    try:
        chosen["window_weeks"] = impact.parse_window(raw)
    except impact.ImpactInvalid as invalid:
        errors.update(invalid.errors)
        chosen["window_weeks"] = impact.DEFAULT_WINDOW_WEEKS
    return chosen, errors


# --- adapters ----------------------------------------------------------------------------------


# The computed services of programme/reports/value.py (h18-compute) replace the actual-only
# readers below once they compute: switch each reader to `value_service.<name>`.
REPORT = None  # value_service.value_report
TO_DATE = None  # value_service.value_to_date
PILOT_PROJECTION = None  # value_service.pilot_projected_value


def report(session: Session, **kwargs) -> dict:
    """The value report (months, total, effect, reading, packages, regions, sites)."""
    return (REPORT or actual_report)(session, **kwargs)


def to_date(session: Session, *, region_id: int | None = None, today: date | None = None) -> dict:
    """Value to date: actual with P10/P90 against planned."""
    return (TO_DATE or actual_to_date)(session, region_id=region_id, today=today)


def pilot_projection(session: Session, pilot_id: int) -> dict | None:
    """The projected annual value of deploying a pilot's package network-wide."""
    return (PILOT_PROJECTION or projected_from_pilot)(session, pilot_id)


def has_drivers(session: Session) -> bool:
    return session.scalar(select(ValueDriver.id).limit(1)) is not None


# --- the actual-only implementation ------------------------------------------------------------


def _month_end(month: str) -> date:
    y, m = int(month[:4]), int(month[5:7])
    return (date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)) - timedelta(days=1)


def site_month_volumes(
    session: Session, package_id: int, volume_kpi_id: int, start: date, end: date
) -> tuple[dict[tuple[int, str], float], dict[int, date]]:
    """Σ of the volume KPI per deployed site and month, on dates in [start, end] on or after
    the site's go-live (its earliest wave of the package live by `end`); and the go-lives."""
    go_live = (
        select(WaveSite.site_id, func.min(Wave.go_live).label("go_live"))
        .join(Wave, Wave.id == WaveSite.wave_id)
        .where(Wave.package_id == package_id, Wave.go_live <= end)
        .group_by(WaveSite.site_id)
        .subquery()
    )
    go_lives = {s: g for s, g in session.execute(select(go_live.c.site_id, go_live.c.go_live))}
    year = extract("year", Measurement.period_date)
    month = extract("month", Measurement.period_date)
    rows = session.execute(
        select(Measurement.site_id, year, month, func.sum(Measurement.value))
        .join(go_live, go_live.c.site_id == Measurement.site_id)
        .where(
            Measurement.kpi_id == volume_kpi_id,
            Measurement.period_date >= start,
            Measurement.period_date <= end,
            Measurement.period_date >= go_live.c.go_live,
        )
        .group_by(Measurement.site_id, year, month)
    ).all()
    volumes = {(s, f"{int(y):04d}-{int(m):02d}"): float(q) for s, y, m, q in rows}
    return volumes, go_lives


def _add(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else a + b


def _driver_draws(driver: ValueDriver, result, volumes: list[float]) -> np.ndarray | None:
    if not driver.financial or result.estimate is None or result.ci_low is None or not volumes:
        return None
    rng = compute.rng(compute.SEED + driver.package_id * 7919 + driver.kpi_id)
    deltas = compute.effect_draws(result.estimate, result.ci_low, result.ci_high, rng)
    units = compute.unit_draws(driver.unit_low, driver.unit_most_likely, driver.unit_high, rng)
    return compute.value_draws(deltas, units, driver.kpi.better, volumes)


def actual_report(
    session: Session,
    *,
    package_id: int | None = None,
    kpi_code: str | None = None,
    region_id: int | None = None,
    first: str,
    last: str,
    window_weeks: int = impact.DEFAULT_WINDOW_WEEKS,
    today: date | None = None,
) -> dict:
    """Actual value only (planned and forecast null): for every driver in the filters, the
    deployment impact Δ × d × the volume of the deployed sites (of the region) × u, per
    ended month and per site; P10/P50/P90 from seeded draws added across drivers."""
    today = today or date.today()
    if package_id is not None and session.get(Package, package_id) is None:
        raise services.ValueRefused({"package": _("No such package.")})
    chosen = [
        d
        for d in services.drivers(session, package_id)
        if kpi_code is None or d.kpi.code == kpi_code.strip().upper()
    ]
    months = value_service._months(first, last)
    ended = [m for m in months if _month_end(m) < today]
    start = date(int(first[:4]), int(first[5:7]), 1)
    region_of = dict(session.execute(select(Site.id, Site.region_id)).all())
    blank = dict.fromkeys(FIELDS)
    out_months = {m: {"month": m, **blank} for m in months}
    volume_kpis = {d.volume_kpi_id for d in chosen}
    site_rows: dict[int, dict] = {}
    region_money: dict[int, dict] = defaultdict(lambda: dict.fromkeys(("actual", "actual_low", "actual_high")))  # fmt: skip
    packages, matrices, missing = [], [], []
    effect = None
    for driver in chosen:
        result = impact.compute_impact(
            session, driver.kpi.code, driver.package_id, window_weeks,
            with_regions=False, with_chart=False, today=today,
        )  # fmt: skip
        if len(chosen) == 1:
            effect = {
                "estimate": result.estimate,
                "ci_low": result.ci_low,
                "ci_high": result.ci_high,
                "source": "deployment",
            }
        volumes: dict[tuple[int, str], float] = {}
        go_lives: dict[int, date] = {}
        if ended:
            volumes, go_lives = site_month_volumes(
                session, driver.package_id, driver.volume_kpi_id, start, _month_end(ended[-1])
            )
        if region_id is not None:
            volumes = {k: q for k, q in volumes.items() if region_of.get(k[0]) == region_id}
            go_lives = {s: g for s, g in go_lives.items() if region_of.get(s) == region_id}
        monthly = dict.fromkeys(ended, 0.0)
        per_site: dict[int, float] = defaultdict(float)
        for (site, month), q in volumes.items():
            monthly[month] += q
            per_site[site] += q
        unit = driver.unit_most_likely if driver.financial else None
        rows = compute.actuals(monthly, result.estimate, result.ci_low, result.ci_high, driver.kpi.better, unit)  # fmt: skip
        total = dict.fromkeys(FIELDS)
        for row in rows:
            target = out_months[row.month]
            for name in ("actual", "actual_low", "actual_high"):
                target[name] = _add(target[name], getattr(row, name))
                total[name] = _add(total[name], getattr(row, name))
            if len(volume_kpis) == 1:
                target["volume"] = _add(target["volume"], row.volume)
            total["volume"] = _add(total["volume"], row.volume)
        draws = _driver_draws(driver, result, [monthly[m] for m in ended])
        if draws is not None:
            matrices.append(draws)
            p = compute.percentiles(compute.total_draws(draws))
            total.update(p10=p.p10, p50=p.p50, p90=p.p90)
        elif driver.financial and ended:
            missing.append(driver)
        total["estimate"] = total["actual"]
        packages.append({
            "id": driver.package_id, "name": driver.package.name, "kpi": driver.kpi.code,
            "kpi_label": driver.kpi.label, "financial": driver.financial, "total": total,
            "effect": {"estimate": result.estimate, "ci_low": result.ci_low,
                       "ci_high": result.ci_high, "source": "deployment"},
            "reading": result.reading,
        })  # fmt: skip
        for site, q in per_site.items():
            row = site_rows.setdefault(site, {"id": site, "go_live": go_lives.get(site), "volume": None,
                                              "actual": None, "actual_low": None, "actual_high": None})  # fmt: skip
            if len(volume_kpis) == 1:
                row["volume"] = _add(row["volume"], q)
            if unit is not None and result.estimate is not None:
                money = compute.value(result.estimate, driver.kpi.better, q, unit)
                row["actual"] = _add(row["actual"], money)
                region_money[region_of[site]]["actual"] = _add(region_money[region_of[site]]["actual"], money)  # fmt: skip
                if result.ci_low is not None:
                    low, high = compute.value_interval(result.ci_low, result.ci_high, driver.kpi.better, q, unit)  # fmt: skip
                    row["actual_low"] = _add(row["actual_low"], low)
                    row["actual_high"] = _add(row["actual_high"], high)
                    for name, v in (("actual_low", low), ("actual_high", high)):
                        region_money[region_of[site]][name] = _add(region_money[region_of[site]][name], v)  # fmt: skip
            if go_lives.get(site) and (row["go_live"] is None or go_lives[site] < row["go_live"]):
                row["go_live"] = go_lives[site]
    total_draws = None
    if matrices:
        total_draws = sum(matrices[1:], matrices[0])
        for i, month in enumerate(ended):
            p = compute.percentiles(total_draws[:, i])
            out_months[month].update(p10=p.p10, p50=p.p50, p90=p.p90)
    month_list = [out_months[m] for m in months]
    for m in month_list:
        m["estimate"] = m["actual"]
    total = dict.fromkeys(FIELDS)
    for m in month_list:
        for name in ("actual", "actual_low", "actual_high", "estimate", "volume"):
            total[name] = _add(total[name], m[name])
    if total_draws is not None:
        p = compute.percentiles(compute.total_draws(total_draws))
        total.update(p10=p.p10, p50=p.p50, p90=p.p90)
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_(list(site_rows))))}
    site_list = sorted(
        ({**row, "code": sites[i].code, "name": sites[i].name} for i, row in site_rows.items()),
        key=lambda r: (-(r["actual"] or 0), r["code"]),
    )
    region_names = dict(session.execute(select(Region.id, Region.name)).all())
    regions = sorted(
        ({"id": rid, "name": region_names.get(rid, ""), "total": money} for rid, money in region_money.items()),
        key=lambda r: impact.sort_key(r["name"]),
    )  # fmt: skip
    reading = _(
        "Actual value for the months that have ended, from the deployment impact over "
        "%(weeks)d weeks; planned and forecast are not computed yet.",
        weeks=window_weeks,
    )
    if not chosen:
        reading = _("No value driver matches these filters.")
    elif all(not d.financial for d in chosen):
        reading = _("A non-financial lever: effect and volume only, no money.")
    elif not ended:
        reading = _("No month of this period has ended yet: no actual value.")
    elif missing and len(missing) == len([d for d in chosen if d.financial]):
        reading = _(
            "No deployment impact with an interval yet, so no money: %(reading)s",
            reading=packages[0]["reading"] if len(chosen) == 1 else "",
        ).rstrip(": ")
    return {
        "currency": "EUR",
        "months": month_list,
        "total": total,
        "effect": effect,
        "reading": reading,
        "packages": packages,
        "regions": regions,
        "sites": site_list,
    }


def actual_to_date(session: Session, *, region_id: int | None = None, today: date | None = None) -> dict:  # fmt: skip
    """Actual value from the first go-live of a valued package to the last ended month, with
    P10/P50/P90 (the shape of value_service.value_to_date; planned null)."""
    today = today or date.today()
    first_live = session.scalar(
        select(func.min(Wave.go_live)).where(
            Wave.package_id.in_(select(ValueDriver.package_id)), Wave.go_live < today
        )
    )
    last = month_of(today.replace(day=1) - timedelta(days=1))
    out = {"currency": "EUR", "actual": None, "actual_low": None, "actual_high": None, "p10": None,
           "p50": None, "p90": None, "planned": None, "first_month": None, "last_month": None,
           "reading": _("No package with a value driver has gone live yet.")}  # fmt: skip
    if first_live is None or month_of(first_live) > last:
        return out
    body = actual_report(session, region_id=region_id, first=month_of(first_live), last=last, today=today)  # fmt: skip
    t = body["total"]
    out.update({k: t[k] for k in ("actual", "actual_low", "actual_high", "p10", "p50", "p90")})
    out.update(first_month=month_of(first_live), last_month=last, reading=body["reading"])
    return out


def annual_network_volume(session: Session, volume_kpi_id: int, today: date) -> float:
    """Σ of a volume KPI over every site during the past twelve months."""
    start = today - timedelta(days=365)
    total = session.scalar(
        select(func.sum(Measurement.value)).where(
            Measurement.kpi_id == volume_kpi_id,
            Measurement.period_date >= start,
            Measurement.period_date < today,
        )
    )
    return float(total or 0.0)


def projected_from_pilot(session: Session, pilot_id: int, today: date | None = None) -> dict | None:  # fmt: skip
    """The pilot's effect × d × the whole network's volume over the past 12 months × u, for
    every driver of the pilot's packages; low/high from the effect's 95 % interval, P10/P90
    from seeded draws added across drivers (the shape of value_service.pilot_projected_value).
    None when no package of the pilot has a value driver."""
    from programme.pilots.models import Pilot
    from programme.pilots.services import pilot_results

    today = today or date.today()
    pilot = session.get(Pilot, pilot_id)
    if pilot is None:
        return None
    drivers = [d for p in pilot.packages for d in services.drivers(session, p.id)]
    if not drivers:
        return None
    results = {r.kpi_code: r for r in pilot_results(session, pilot)}
    lines, matrices = [], []
    total = dict.fromkeys(("value", "low", "high", "p10", "p50", "p90"))
    for driver in drivers:
        r = results.get(driver.kpi.code)
        est = r.estimate if r else None
        q = annual_network_volume(session, driver.volume_kpi_id, today)
        line = {"package": driver.package_id, "package_name": driver.package.name,
                "kpi": driver.kpi.code, "volume_kpi": driver.volume_kpi.code, "annual_volume": q,
                "financial": driver.financial, "effect": est.effect if est else None,
                "ci_low": est.ci_low if est else None, "ci_high": est.ci_high if est else None,
                **dict.fromkeys(("value", "low", "high", "p10", "p50", "p90"))}  # fmt: skip
        if driver.financial and est is not None and est.effect is not None:
            line["value"] = compute.value(est.effect, driver.kpi.better, q, driver.unit_most_likely)
            total["value"] = _add(total["value"], line["value"])
            if est.ci_low is not None and est.ci_high is not None:
                a, b = compute.value_interval(est.ci_low, est.ci_high, driver.kpi.better, q, driver.unit_most_likely)  # fmt: skip
                line.update(low=a, high=b)
                total["low"], total["high"] = _add(total["low"], a), _add(total["high"], b)
                rng = compute.rng(compute.SEED + pilot_id * 104729 + driver.kpi_id)
                draws = compute.value_draws(
                    compute.effect_draws(est.effect, est.ci_low, est.ci_high, rng),
                    compute.unit_draws(
                        driver.unit_low, driver.unit_most_likely, driver.unit_high, rng
                    ),
                    driver.kpi.better,
                    [q],
                )[:, 0]
                p = compute.percentiles(draws)
                line.update(p10=p.p10, p50=p.p50, p90=p.p90)
                matrices.append(draws)
        lines.append(line)
    if matrices:
        p = compute.percentiles(sum(matrices[1:], matrices[0]))
        total.update(p10=p.p10, p50=p.p50, p90=p.p90)
    reading = _(
        "The pilot's effect applied to the whole network's volume of the past twelve months, "
        "at the unit value of each value driver."
    )
    if total["value"] is None:
        reading = _("No pilot effect with a financial value driver yet: no money to project.")
    return {"currency": "EUR", "drivers": lines, "total": total, "reading": reading}


# --- the chart ---------------------------------------------------------------------------------

SERIES_COLOURS = {"planned": "#6b7280", "forecast": "#b45309", "actual": "#15803d", "estimate": "#1d4ed8"}  # fmt: skip


def chart_spec(body: dict) -> dict | None:
    """Vega-Lite: planned, forecast, actual and estimate per month (lines) over the P10–P90
    band of the estimate (area). None when there is no money to draw."""
    from programme.kpis.charts import SCHEMA

    labels = {
        "planned": pgettext("value", "Planned"),
        "forecast": pgettext("value", "Forecast"),
        "actual": pgettext("value", "Actual"),
        "estimate": pgettext("value", "Estimate"),
    }
    lines = [
        {"month": f"{m['month']}-01", "series": str(labels[name]), "value": m[name]}
        for m in body["months"]
        for name in labels
        if m[name] is not None
    ]
    band = [
        {"month": f"{m['month']}-01", "p10": m["p10"], "p90": m["p90"]}
        for m in body["months"]
        if m["p10"] is not None and m["p90"] is not None
    ]
    if not lines and not band:
        return None
    x = {
        "field": "month",
        "type": "temporal",
        "timeUnit": "utcyearmonth",
        "title": _("Month"),
        "axis": {"format": "%b %Y", "labelAngle": -45},
    }
    money_axis = {"format": ",.0f"}
    band_label = _("P10–P90 band")
    layers: list[dict[str, Any]] = []
    if band:
        layers.append({
            "data": {"values": band},
            "mark": {"type": "area", "opacity": 0.25, "color": "#1d4ed8"},
            "encoding": {
                "x": x,
                "y": {"field": "p10", "type": "quantitative", "title": _("Value (€)"), "axis": money_axis},
                "y2": {"field": "p90"},
                "tooltip": [
                    {"field": "month", "type": "temporal", "timeUnit": "utcyearmonth", "title": _("Month"), "format": "%B %Y"},
                    {"field": "p10", "type": "quantitative", "title": "P10 (€)", "format": ",.0f"},
                    {"field": "p90", "type": "quantitative", "title": "P90 (€)", "format": ",.0f"},
                ],
            },
            "description": band_label,
        })  # fmt: skip
    if lines:
        layers.append({
            "data": {"values": lines},
            "mark": {"type": "line", "point": True},
            "encoding": {
                "x": x,
                "y": {"field": "value", "type": "quantitative", "title": _("Value (€)"), "axis": money_axis},
                "color": {
                    "field": "series", "type": "nominal", "title": None,
                    "scale": {"domain": [str(v) for v in labels.values()], "range": list(SERIES_COLOURS.values())},
                    "legend": {"orient": "bottom"},
                },
                "strokeDash": {
                    "field": "series", "type": "nominal", "legend": None,
                    "scale": {"domain": [str(v) for v in labels.values()], "range": [[4, 3], [2, 2], [1, 0], [1, 0]]},
                },
                "tooltip": [
                    {"field": "series", "title": _("Figure")},
                    {"field": "month", "type": "temporal", "timeUnit": "utcyearmonth", "title": _("Month"), "format": "%B %Y"},
                    {"field": "value", "type": "quantitative", "title": _("Value (€)"), "format": ",.0f"},
                ],
            },
        })  # fmt: skip
    return {
        "$schema": SCHEMA,
        "title": _(
            "Value per month: planned, forecast, actual and estimate, with the P10–P90 band"
        ),
        "width": "container",
        "height": 260,
        "autosize": {"type": "fit", "contains": "padding", "resize": True},
        "layer": layers,
    }
