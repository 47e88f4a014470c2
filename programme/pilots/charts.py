"""Vega-Lite spec for a pilot: pilot vs control sites, weekly, with the baseline and the
pilot periods marked. Same recipe as the KPI charts (static/app.js renders it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from programme.kpis.charts import SCHEMA, value_axis, week_axis
from programme.pilots import results


def _weeks(points: list[dict[str, Any]]) -> list[str]:
    return sorted({str(p["week"])[:10] for p in points if p.get("week")})


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
    return _weekly_lines(
        kpi,
        _("%(kpi)s: pilot sites vs control sites, weekly", kpi=kpi.name),
        points,
        periods,
        {"strokeDash": {"field": "label", "type": "nominal", "title": _("Arm")}},
        [{"field": "label", "type": "nominal", "title": _("Arm")}],
        [{"field": "n", "type": "quantitative", "title": "n"}],
    )


def _weekly_lines(kpi, title, points, periods, encoding, tip_before, tip_after) -> dict[str, Any]:
    """Weekly lines of a KPI over the baseline and pilot bands: the pilot's arms, or each
    pilot site and its synthetic twin. `encoding` adds the series channels; the tooltip
    is the week, `tip_before`, the value, `tip_after`."""
    y_title = f"{kpi.name} ({kpi.unit})" if kpi.unit else kpi.name
    drawn = [p.get("value") for p in points]
    y_axis, value_tip = value_axis(y_title, kpi.kind == "rate", drawn, zero=False)
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": "container",
        "height": 240,
        "autosize": {"type": "fit", "contains": "padding", "resize": True},
        "layer": [
            _bands(periods),
            {
                "data": {"values": points},
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "x": {
                        "field": "week",
                        "type": "temporal",
                        "title": _("Week"),
                        "axis": week_axis(_weeks(points)),
                    },
                    "y": {
                        "field": "value",
                        "type": "quantitative",
                        "axis": y_axis,
                        "scale": {"zero": False},
                    },
                    **encoding,
                    "tooltip": [
                        {"field": "week", "type": "temporal", "title": _("Week")},
                        *tip_before,
                        value_tip,
                        *tip_after,
                    ],
                },
            },
        ],
        "resolve": {"scale": {"color": "independent"}},
    }


def _bands(periods: results.Periods) -> dict[str, Any]:
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
    }


def synthetic_points(synth) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pilot site vs its synthetic twin, weekly; gaps of the pilot sites and of the
    placebo donors, weekly) for the two synthetic-control charts and their tables."""
    name = synth.names.get
    twin, gaps = [], []
    for fit in synth.fits:
        code = name(fit.site, fit.site)
        actual = fit.gaps + fit.synthetic
        for week, value, synthetic in zip(synth.weeks, actual, fit.synthetic, strict=True):
            twin.append({"week": week.isoformat(), "series": _("%(site)s (pilot site)", site=code),
                         "site": code, "role": _("Pilot site"), "value": float(value)})  # fmt: skip
            twin.append({"week": week.isoformat(), "series": _("%(site)s: synthetic twin", site=code),
                         "site": code, "role": _("Synthetic twin"), "value": float(synthetic)})  # fmt: skip
        for week, gap in zip(synth.weeks, fit.gaps, strict=True):
            gaps.append({"week": week.isoformat(), "series": code, "kind": _("Pilot site"),
                         "gap": float(gap)})  # fmt: skip
    for placebo in synth.placebos:
        code = name(placebo.site, placebo.site)
        for week, gap in zip(synth.weeks, placebo.gaps, strict=True):
            gaps.append({"week": week.isoformat(), "series": code, "kind": _("Placebo (control site)"),
                         "gap": float(gap)})  # fmt: skip
    return twin, gaps


def synthetic_twin_spec(kpi, points, periods: results.Periods) -> dict[str, Any]:
    return _weekly_lines(
        kpi,
        _("%(kpi)s: each pilot site against its synthetic twin, weekly", kpi=kpi.name),
        points,
        periods,
        {
            "detail": {"field": "series", "type": "nominal"},
            "strokeDash": {"field": "role", "type": "nominal", "title": _("Series")},
        },
        [{"field": "series", "type": "nominal", "title": _("Series")}],
        [],
    )


def synthetic_gap_spec(kpi, points, periods: results.Periods) -> dict[str, Any]:
    """Gaps (site − its synthetic twin): the pilot sites in colour, the placebo donors in
    grey."""
    y_title = _("Gap to the synthetic twin")
    y_axis, _tip = value_axis(y_title, kpi.kind == "rate", [p.get("gap") for p in points])
    gap_tip = {**_tip, "field": "gap", "title": y_title}
    return {
        "$schema": SCHEMA,
        "title": _("%(kpi)s: gap to the synthetic twin, pilot sites and placebos", kpi=kpi.name),
        "width": "container",
        "height": 220,
        "autosize": {"type": "fit", "contains": "padding", "resize": True},
        "layer": [
            _bands(periods),
            {
                "data": {"values": points},
                "mark": {"type": "line"},
                "encoding": {
                    "x": {
                        "field": "week",
                        "type": "temporal",
                        "title": _("Week"),
                        "axis": week_axis(_weeks(points)),
                    },
                    "y": {"field": "gap", "type": "quantitative", "axis": y_axis},
                    "detail": {"field": "series", "type": "nominal"},
                    "color": {
                        "field": "kind",
                        "type": "nominal",
                        "title": _("Series"),
                        "scale": {
                            "domain": [_("Pilot site"), _("Placebo (control site)")],
                            "range": ["#1d4ed8", "#9ca3af"],
                        },
                    },
                    "strokeWidth": {
                        "field": "kind",
                        "type": "nominal",
                        "legend": None,
                        "scale": {
                            "domain": [_("Pilot site"), _("Placebo (control site)")],
                            "range": [3, 1],
                        },
                    },
                    "tooltip": [
                        {"field": "week", "type": "temporal", "title": _("Week")},
                        {"field": "series", "type": "nominal", "title": _("Site")},
                        gap_tip,
                    ],
                },
            },
        ],
        "resolve": {"scale": {"color": "independent"}},
    }
