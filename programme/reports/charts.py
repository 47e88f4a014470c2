"""Vega-Lite specs (plain dicts) of the leadership reports: the funnel, the waves' timeline
coloured by RAG, weekly KPI trends and KPI trends around a wave's go-live. Pure builders fed
by the report screens (`programme.reports.screens`); static/app.js renders them on screen and the PDF renders
the same dicts to SVG (vl-convert). Every chart has a title and axis titles; the templates
show the same figures as a table."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from programme.kpis.charts import SCHEMA, gantt_layers, value_axis, weekly_series_spec
from programme.web import words

RAG_COLOURS = {"red": "#b91c1c", "amber": "#b45309", "green": "#15803d"}


def _base(title: str, height: int) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": "container",
        "height": height,
        "autosize": {"type": "fit", "contains": "padding", "resize": True},
    }


def funnel_spec(stages) -> dict[str, Any]:
    """Horizontal bars, one per stage in order, labelled with the count."""
    values = [
        {"stage": s.label, "sites": s.count, "share": s.share or 0.0, "order": i}
        for i, s in enumerate(stages)
    ]
    y = {"field": "stage", "type": "nominal", "sort": None, "title": _("Stage")}
    return {
        **_base(_("Sites at each stage of the programme"), 40 * len(values) + 40),
        "data": {"values": values},
        "layer": [
            {
                "mark": {"type": "bar", "color": "#1d4ed8"},
                "encoding": {
                    "y": y,
                    "x": {"field": "sites", "type": "quantitative", "title": _("Sites")},
                    "tooltip": [
                        {"field": "stage", "title": _("Stage")},
                        {"field": "sites", "type": "quantitative", "title": _("Sites")},
                        {
                            "field": "share",
                            "type": "quantitative",
                            "format": ".0%",
                            "title": _("Share of the network"),
                        },
                    ],
                },
            },
            {
                "mark": {"type": "text", "align": "left", "dx": 4},
                "encoding": {
                    "y": y,
                    "x": {"field": "sites", "type": "quantitative"},
                    "text": {"field": "sites", "type": "quantitative"},
                },
            },
        ],
    }


def waves_timeline_spec(waves, today: date) -> dict[str, Any]:
    """One bar per wave from its start to go-live (then the stabilisation month, lighter),
    coloured by RAG; today's rule dashed."""
    rows = [
        {
            "wave": w.name,
            "start": w.start.isoformat(),
            "go_live": w.go_live.isoformat(),
            "end": w.end.isoformat(),
            "rag": w.rag_label,
            "reason": words.text(w.reason),
            "progress": w.actual if w.actual is not None else 0.0,
            "planned": w.planned,
        }
        for w in waves
    ]
    domain, colours = [], []
    for key in ("red", "amber", "green"):
        label = next((w.rag_label for w in waves if w.rag == key), None)
        if label is not None and label not in domain:
            domain.append(label)
            colours.append(RAG_COLOURS[key])
    y = {"field": "wave", "type": "nominal", "title": _("Wave"), "sort": None}
    colour = {
        "field": "rag",
        "type": "nominal",
        "title": _("Status (RAG)"),
        "scale": {"domain": domain, "range": colours},
    }
    return {
        **_base(_("Waves on a timeline, coloured by RAG status"), 80 + 36 * len(rows)),
        "data": {"values": rows},
        "layer": gantt_layers(
            rows,
            y,
            colour,
            [
                {"field": "wave", "title": _("Wave")},
                {"field": "start", "type": "temporal", "title": _("Start")},
                {"field": "go_live", "type": "temporal", "title": _("Go-live")},
                {"field": "rag", "title": _("Status (RAG)")},
                {"field": "reason", "title": _("Why")},
                {
                    "field": "progress",
                    "type": "quantitative",
                    "format": ".0%",
                    "title": _("Actual progress"),
                },
                {
                    "field": "planned",
                    "type": "quantitative",
                    "format": ".0%",
                    "title": _("Planned progress"),
                },
            ],
            today,
            stabilisation_opacity=0.35,
        ),
    }


def kpi_trend_spec(trend, title_prefix: str = "") -> dict[str, Any]:
    """The weekly trend of one KPI (gaps shown), same look as the KPI pages."""
    unit = f" ({trend.unit})" if trend.unit else ""
    title = f"{title_prefix}{trend.code} – {trend.name}"
    return weekly_series_spec(title, f"{trend.name}{unit}", trend.points, trend.kind == "rate")


def event_time_spec(trend, wave_name: str) -> dict[str, Any]:
    """A KPI of a wave's sites by week relative to go-live (0 = go-live week), the two
    phases coloured, go-live marked."""
    rate = trend.kind == "rate"
    unit = f" ({trend.unit})" if trend.unit else ""
    drawn = [p["value"] for p in trend.points]
    y_axis, _tooltip = value_axis(f"{trend.name}{unit}", rate, drawn)
    values = [
        {
            "offset": p["offset"],
            "value": p["value"],
            "n": p["n"],
            "phase": _("After go-live") if p["phase"] == "post" else _("Before go-live"),
        }
        for p in trend.points
    ]
    x = {"field": "offset", "type": "quantitative", "title": _("Weeks since go-live")}
    return {
        **_base(_("%(kpi)s around the go-live of %(wave)s", kpi=trend.code, wave=wave_name), 220),
        "data": {"values": values},
        "layer": [
            {
                "mark": {"type": "line", "point": True, "invalid": "break-paths-filter-domains"},
                "encoding": {
                    "x": x,
                    "y": {"field": "value", "type": "quantitative", "axis": y_axis},
                    "color": {"field": "phase", "type": "nominal", "title": _("Phase")},
                    "tooltip": [
                        {"field": "offset", "type": "quantitative", "title": _("Week")},
                        {
                            "field": "value",
                            "type": "quantitative",
                            "format": ".1%" if rate else ".2f",
                            "title": words.text(trend.name),
                        },
                        {"field": "n", "type": "quantitative", "title": _("Customers (n)")},
                    ],
                },
            },
            {
                "data": {"values": [{"offset": 0}]},
                "mark": {"type": "rule", "strokeDash": [4, 3]},
                "encoding": {"x": {"field": "offset", "type": "quantitative"}},
            },
        ],
    }
