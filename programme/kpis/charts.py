"""Vega-Lite specs (plain dicts) for KPI series. Rendered by static/app.js on screen; the
same dicts can be rendered to SVG server-side (vl-convert) for the PDF report."""

from __future__ import annotations

import math
from datetime import date as _date
from typing import Any

from flask_babel import gettext as _

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"


def value_axis(
    y_title: str, rate: bool, values: list[Any] | None = None, zero: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(y axis, tooltip of the value) for a KPI: a rate as a percentage, a mean with two
    decimals. Each call returns new dicts (a spec may change its own).

    A rate's ticks are chosen here from the values drawn (`zero`: the axis starts at 0):
    3 to 5 round steps, and as many decimals as the step needs, so that no two ticks read
    the same ("25% 25% 25% 24%" when a rate moves between 24.1% and 25.2%)."""
    y_axis: dict[str, Any] = {"title": y_title}
    tooltip: dict[str, Any] = {"field": "value", "type": "quantitative", "title": y_title}
    if rate:
        y_axis.update(rate_ticks(values or [], zero))
        tooltip["format"] = ".1%"
    else:
        tooltip["format"] = ".2f"
    return y_axis, tooltip


def rate_ticks(values: list[Any], zero: bool = True) -> dict[str, Any]:
    """Axis `values` and `format` for rates (fractions) spanning `values`: every tick a
    multiple of a 1-2-5 step, written with the decimals that step needs."""
    numbers = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not numbers:
        return {"format": ".0%", "tickMinStep": 0.01}
    low, high = min(numbers), max(numbers)
    if zero:
        low, high = min(low, 0.0), max(high, 0.0)
    span = high - low or max(abs(high) * 0.1, 0.001)
    raw = span / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    decimals = max(0, -math.floor(math.log10(step) + 1e-9) - 2)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    ticks = [round(i * step, 10) for i in range(first, last + 1)]
    return {"format": f".{decimals}%", "values": ticks}


def week_axis(weeks: list[str], title: str | None = None) -> dict[str, Any]:
    """The x axis of a weekly series: one label format for every tick (day and month, the
    year too when the series spans more than one year), so that "November" never stands
    beside "Nov 15" and a timeline always says its year; labels never overlap."""
    years = {week[:4] for week in weeks if week}
    axis: dict[str, Any] = {
        "format": "%d %b %Y" if len(years) > 1 else "%d %b",
        "labelOverlap": "greedy",
        "tickCount": {"interval": "week", "step": 4} if len(weeks) > 8 else "week",
    }
    if title is not None:
        axis["title"] = title
    return axis


def timeline_axis(dates: list[Any], title: str | None = None) -> dict[str, Any]:
    """The x axis of a timeline (the waves' Gantt): every label says its month and year
    ("janv. 2027"), one format for every tick (never "2027" alone, nor "November" beside
    "Nov 15"), ticks every few months so that about six labels show, never overlapping.
    A span of two months or less is labelled by week, with day, month and year."""
    days = sorted(
        d if isinstance(d, _date) else _date.fromisoformat(str(d)[:10]) for d in dates if d
    )
    axis: dict[str, Any] = {"labelOverlap": "greedy", "labelFlush": True}
    if days:
        months = (days[-1].year - days[0].year) * 12 + days[-1].month - days[0].month + 1
        if months <= 2:
            axis["format"] = "%d %b %Y"
            axis["tickCount"] = {"interval": "week", "step": 2}
        else:
            axis["format"] = "%b %Y"
            axis["tickCount"] = {"interval": "month", "step": max(1, math.ceil(months / 6))}
    if title is not None:
        axis["title"] = title
    return axis


def gantt_layers(
    rows: list[dict[str, Any]],
    y: dict[str, Any],
    colour: dict[str, Any],
    tooltip: list[dict[str, Any]],
    today: _date,
    stabilisation_opacity: float,
) -> list[dict[str, Any]]:
    """The layers of a waves' Gantt: a bar from each wave's start to its go-live, a lighter
    bar for the stabilisation after it (go-live to end), and today's rule. Rows carry
    "start", "go_live" and "end" as ISO dates."""
    return [
        {
            "mark": {"type": "bar", "cornerRadius": 2},
            "encoding": {
                "y": y,
                "x": {
                    "field": "start",
                    "type": "temporal",
                    "title": _("Date"),
                    "axis": timeline_axis(
                        [d for r in rows for d in (r["start"], r["end"])] + [today]
                    ),
                },
                "x2": {"field": "go_live"},
                "color": colour,
                "tooltip": tooltip,
            },
        },
        {
            "mark": {"type": "bar", "opacity": stabilisation_opacity},
            "encoding": {
                "y": y,
                "x": {"field": "go_live", "type": "temporal"},
                "x2": {"field": "end"},
                "color": colour,
            },
        },
        {
            "data": {"values": [{"today": today.isoformat()}]},
            "mark": {"type": "rule", "strokeDash": [4, 3]},
            "encoding": {"x": {"field": "today", "type": "temporal"}},
        },
    ]


def weekly_series_spec(
    title: str, y_title: str, points: list[dict[str, Any]], rate: bool
) -> dict[str, Any]:
    """A weekly line with visible gaps: the line breaks and the week is shaded grey."""
    values = [
        {
            "week": p["week"],
            "week_end": p["week_end"],
            "value": p["value"],
            "n": p["n"],
            "gap": p["value"] is None,
        }
        for p in points
    ]
    y_axis, tooltip_value = value_axis(y_title, rate, [v["value"] for v in values])
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": "container",
        "height": 220,
        "autosize": {"type": "fit", "contains": "padding", "resize": True},
        "data": {"values": values},
        "layer": [
            # Weeks without data, shaded; only when there are some (an empty layer makes
            # Vega warn "Infinite extent for field week").
            *[
                {
                    "transform": [{"filter": "datum.gap"}],
                    "mark": {"type": "rect", "color": "#9ca3af", "opacity": 0.25},
                    "encoding": {
                        "x": {"field": "week", "type": "temporal"},
                        "x2": {"field": "week_end"},
                        "tooltip": [{"field": "week", "type": "temporal", "title": _("No data")}],
                    },
                }
            ][: 1 if any(v["gap"] for v in values) else 0],
            {
                "mark": {
                    "type": "line",
                    "point": True,
                    "invalid": "break-paths-filter-domains",
                },
                "encoding": {
                    "x": {
                        "field": "week",
                        "type": "temporal",
                        "title": _("Week"),
                        "axis": week_axis([str(v["week"]) for v in values]),
                    },
                    "y": {"field": "value", "type": "quantitative", "axis": y_axis},
                    "tooltip": [
                        {"field": "week", "type": "temporal", "title": _("Week")},
                        tooltip_value,
                        {"field": "n", "type": "quantitative", "title": "n"},
                    ],
                },
            },
        ],
    }
