"""Charts that read right (issue 16, item 4): the properties of the Vega-Lite specs."""

from __future__ import annotations

from programme.kpis.charts import value_axis, week_axis, weekly_series_spec


def test_a_rate_axis_never_repeats_a_label():
    y_axis, tooltip = value_axis("Conversion", rate=True)
    assert y_axis["format"] == ".0%"
    assert y_axis["tickMinStep"] == 0.01  # ticks at least one point apart: no "25% 25%"
    assert tooltip["format"] == ".1%"
    mean_axis, _tooltip = value_axis("Wait", rate=False)
    assert "tickMinStep" not in mean_axis


def test_weeks_carry_the_year_when_the_series_spans_two_years():
    assert week_axis(["2026-11-30", "2026-12-07", "2027-01-04"])["format"] == "%d %b %Y"
    within = week_axis(["2026-03-02", "2026-03-09"])
    assert within["format"] == "%d %b" and within["labelOverlap"] == "greedy"


def test_the_weekly_series_uses_one_label_format(app):
    points = [
        {"week": "2026-12-28", "week_end": "2027-01-03", "value": 0.25, "n": 10},
        {"week": "2027-01-04", "week_end": "2027-01-10", "value": 0.24, "n": 10},
    ]
    with app.test_request_context():
        spec = weekly_series_spec("Conversion", "Conversion", points, rate=True)
    line = spec["layer"][-1]["encoding"]
    assert line["x"]["axis"]["format"] == "%d %b %Y"
    # Ticks chosen from the values (from zero): whole percentages, each a multiple of 10 %.
    assert line["y"]["axis"]["format"] == ".0%"
    assert line["y"]["axis"]["values"] == [0.0, 0.1, 0.2, 0.3]
