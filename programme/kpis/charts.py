"""Vega-Lite specs (plain dicts) for KPI series. Rendered by static/app.js on screen; the
same dicts can be rendered to SVG server-side (vl-convert) for the PDF report."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"


def value_axis(y_title: str, rate: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """(y axis, tooltip of the value) for a KPI: a rate as a percentage, a mean with two
    decimals. Each call returns new dicts (a spec may change its own)."""
    y_axis: dict[str, Any] = {"title": y_title}
    tooltip: dict[str, Any] = {"field": "value", "type": "quantitative", "title": y_title}
    if rate:
        y_axis["format"] = ".0%"
        tooltip["format"] = ".1%"
    else:
        tooltip["format"] = ".2f"
    return y_axis, tooltip


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
    y_axis, tooltip_value = value_axis(y_title, rate)
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": "container",
        "height": 220,
        "autosize": {"type": "fit", "contains": "padding", "resize": True},
        "data": {"values": values},
        "layer": [
            {
                "transform": [{"filter": "datum.gap"}],
                "mark": {"type": "rect", "color": "#9ca3af", "opacity": 0.25},
                "encoding": {
                    "x": {"field": "week", "type": "temporal"},
                    "x2": {"field": "week_end"},
                    "tooltip": [{"field": "week", "type": "temporal", "title": _("No data")}],
                },
            },
            {
                "mark": {
                    "type": "line",
                    "point": True,
                    "invalid": "break-paths-filter-domains",
                },
                "encoding": {
                    "x": {"field": "week", "type": "temporal", "title": _("Week")},
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
