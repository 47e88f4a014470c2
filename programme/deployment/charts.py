"""Vega-Lite spec of the waves' timeline (Gantt-like): one bar per wave from its start to its
go-live, the stabilisation month after it, and today's rule. Same recipe as the KPI charts."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from programme.kpis.charts import SCHEMA, gantt_layers, week_axis


def timeline_spec(waves, progress: dict[int, float], today: date) -> dict[str, Any]:
    rows = []
    for wave in waves:
        share = progress.get(wave.id, 0.0)
        rows.append(
            {
                "wave": wave.name,
                "start": wave.start.isoformat(),
                "go_live": wave.go_live.isoformat(),
                "end": wave.end.isoformat(),
                "status": wave.status_label,
                "progress": share,
            }
        )
    wave_axis = {"field": "wave", "type": "nominal", "title": _("Wave"), "sort": None}
    colour = {"field": "status", "type": "nominal", "title": _("Status")}
    return {
        "$schema": SCHEMA,
        "title": _("Waves: preparation to go-live, then stabilisation"),
        "width": "container",
        "height": 90 + 40 * len(rows),
        "autosize": {"type": "fit", "contains": "padding", "resize": True},
        "data": {"values": rows},
        "layer": gantt_layers(
            rows,
            wave_axis,
            colour,
            [
                {"field": "wave", "title": _("Wave")},
                {"field": "start", "type": "temporal", "title": _("Planned start")},
                {"field": "go_live", "type": "temporal", "title": _("Go-live")},
                {
                    "field": "progress",
                    "type": "quantitative",
                    "format": ".0%",
                    "title": _("Progress"),
                },
            ],
            today,
            stabilisation_opacity=0.3,
        ),
    }


def s_curve_spec(wave, points: list[dict[str, Any]]) -> dict[str, Any]:
    planned, actual = _("Planned progress"), _("Actual progress")
    values = []
    for p in points:
        values.append({"week": p["week"], "series": planned, "share": p["planned"]})
        if p["actual"] is not None:
            values.append({"week": p["week"], "series": actual, "share": p["actual"]})
    return {
        "$schema": SCHEMA,
        "title": _("%(wave)s: planned vs actual progress", wave=wave.name),
        "width": "container",
        "height": 220,
        "autosize": {"type": "fit", "contains": "padding", "resize": True},
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {
                "field": "week",
                "type": "temporal",
                "title": _("Week of"),
                "axis": week_axis([str(p["week"]) for p in points]),
            },
            "y": {
                "field": "share",
                "type": "quantitative",
                "title": _("Progress"),
                "axis": {"format": ".0%"},
                "scale": {"domain": [0, 1]},
            },
            "color": {"field": "series", "type": "nominal", "title": None},
            "strokeDash": {"field": "series", "type": "nominal"},
            "tooltip": [
                {"field": "series", "title": _("Series")},
                {"field": "week", "type": "temporal", "title": _("Week of")},
                {"field": "share", "type": "quantitative", "format": ".0%", "title": _("Progress")},
            ],
        },
    }
