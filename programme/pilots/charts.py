"""Vega-Lite spec for a pilot: pilot vs control sites, weekly, with the baseline and the
pilot periods marked. Same recipe as the KPI charts (static/app.js renders it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from programme.kpis.charts import SCHEMA, value_axis
from programme.pilots import results


def arm_points(session: Session, kpi, pilot, periods: results.Periods) -> list[dict[str, Any]]:
    """Weekly pooled value per arm, with the arm's label in the user's language."""
    labels = {results.PILOT: _("Pilot sites"), results.CONTROL: _("Control sites")}
    points = results.weekly_arm_series(
        session, kpi.id, pilot.site_ids("pilot"), pilot.site_ids("control"), periods
    )
    for point in points:
        point["label"] = labels[point["arm"]]
    return points


def pilot_spec(kpi, points: list[dict[str, Any]], periods: results.Periods) -> dict[str, Any]:
    y_title = f"{kpi.name} ({kpi.unit})" if kpi.unit else kpi.name
    y_axis, value_tip = value_axis(y_title, kpi.kind == "rate")
    bands = [
        {
            "start": periods.baseline_start.isoformat(),
            "end": (periods.baseline_end + timedelta(days=1)).isoformat(),
            "phase": _("Baseline"),
        },
        {
            "start": periods.pilot_start.isoformat(),
            "end": (periods.pilot_end + timedelta(days=1)).isoformat(),
            "phase": _("Pilot period"),
        },
    ]
    return {
        "$schema": SCHEMA,
        "title": _("%(kpi)s: pilot sites vs control sites, weekly", kpi=kpi.name),
        "width": "container",
        "height": 240,
        "autosize": {"type": "fit", "contains": "padding", "resize": True},
        "layer": [
            {
                "data": {"values": bands},
                "mark": {"type": "rect", "opacity": 0.12},
                "encoding": {
                    "x": {"field": "start", "type": "temporal"},
                    "x2": {"field": "end"},
                    "color": {
                        "field": "phase",
                        "type": "nominal",
                        "title": _("Period"),
                        "scale": {"range": ["#6b7280", "#2563eb"]},
                    },
                    "tooltip": [{"field": "phase", "type": "nominal", "title": _("Period")}],
                },
            },
            {
                "data": {"values": points},
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "x": {"field": "week", "type": "temporal", "title": _("Week")},
                    "y": {
                        "field": "value",
                        "type": "quantitative",
                        "axis": y_axis,
                        "scale": {"zero": False},
                    },
                    "strokeDash": {"field": "label", "type": "nominal", "title": _("Arm")},
                    "tooltip": [
                        {"field": "week", "type": "temporal", "title": _("Week")},
                        {"field": "label", "type": "nominal", "title": _("Arm")},
                        value_tip,
                        {"field": "n", "type": "quantitative", "title": "n"},
                    ],
                },
            },
        ],
        "resolve": {"scale": {"color": "independent"}},
    }
