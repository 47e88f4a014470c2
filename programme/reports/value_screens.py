"""What the value screens read: the value report of the value page, the value to
date of the executive home and a pilot's projected annual value.

The figures come from programme/reports/value.py (`value_report`, `value_to_date`,
`pilot_projected_value`); this module parses the value page's filters and builds its chart."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import pgettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from programme.deployment.models import Wave
from programme.errors import Invalid
from programme.kpis.models import Kpi
from programme.network.models import Region
from programme.pilots.models import Package
from programme.reports import impact
from programme.reports import value as value_service
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
    except Invalid as invalid:
        errors.update((e.field, e.message) for e in invalid.errors)
        chosen["window_weeks"] = impact.DEFAULT_WINDOW_WEEKS
    return chosen, errors


# --- adapters ----------------------------------------------------------------------------------


def report(session: Session, **kwargs) -> dict:
    """The value report (months, total, effect, reading, packages, regions, sites), cached
    like the report sections (see `to_date`). The caller reads its own copy: the page and
    the exports add labels to the months."""
    import copy

    from flask_babel import get_locale

    from programme.reports import cache as report_cache
    from programme.reports.stamps import programme_stamp

    key = (
        "value-report",
        tuple(sorted((k, str(v)) for k, v in kwargs.items())),
        str(get_locale() or "en"),
    )
    body = report_cache.cached(
        session, key, lambda s: value_service.value_report(s, **kwargs), programme_stamp
    )
    return copy.deepcopy(body)


def to_date(session: Session, *, region_id: int | None = None, today: date | None = None) -> dict:
    """Value to date: actual with P10/P90 against planned. Cached like the report sections
    (drivers and gate moves are audited, so the programme stamp follows them); the key
    carries the language because the result holds its worded reading."""
    from flask_babel import get_locale

    from programme.reports import cache as report_cache
    from programme.reports.stamps import programme_stamp

    today = today or date.today()
    key = ("value-to-date", region_id, today.isoformat(), str(get_locale() or "en"))
    return dict(
        report_cache.cached(
            session,
            key,
            lambda s: value_service.value_to_date(s, region_id=region_id, today=today),
            programme_stamp,
        )
    )


def pilot_projection(session: Session, pilot_id: int) -> dict | None:
    """The projected annual value of deploying a pilot's package network-wide."""
    return value_service.pilot_projected_value(session, pilot_id)


def has_drivers(session: Session) -> bool:
    return session.scalar(select(ValueDriver.id).limit(1)) is not None


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
    # The estimate first: the actual (equal where it exists) is drawn over it.
    lines = [
        {"month": f"{m['month']}-01", "series": str(labels[name]), "value": m[name]}
        for name in ("estimate", "planned", "forecast", "actual")
        for m in body["months"]
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
        "title": _("Value per month (€)"),
        "width": "container",
        "height": 260,
        "autosize": {"type": "fit", "contains": "padding", "resize": True},
        "layer": layers,
    }
