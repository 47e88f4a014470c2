"""Timelines read right (issue 16, item 4): every date label of the waves' Gantt says its
month and year, one format for every tick, labels never repeated; rendered as the PDF
renders them (vl-convert), in French and English, at a phone's and a laptop's width."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from programme.deployment.charts import timeline_spec
from programme.kpis.charts import timeline_axis, week_axis
from programme.reports import render
from programme.reports.charts import waves_timeline_spec
from programme.reports.sections.waves import WaveStatus

FRENCH_MONTHS = r"(janv\.|févr\.|mars|avr\.|mai|juin|juil\.|août|sept\.|oct\.|nov\.|déc\.)"
ENGLISH_MONTHS = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"


def _wave(name: str, start: date, weeks: int) -> WaveStatus:
    go_live = start + timedelta(weeks=weeks)
    return WaveStatus(
        wave_id=1,
        name=name,
        status="active",
        status_label="En cours",
        start=start,
        go_live=go_live,
        end=go_live + timedelta(days=30),
        n_sites=10,
        planned=0.5,
        actual=0.4,
        late_sites=0,
        alerts=0,
        rag="green",
        reason="",
    )


WAVES = [
    _wave("Vague 1", date(2026, 9, 7), 10),
    _wave("Vague 2", date(2026, 12, 7), 12),
    _wave("Vague 3", date(2027, 3, 1), 12),
]


def _axis_labels(svg: str) -> list[str]:
    """The x axis labels of a rendered Gantt (the texts of the bottom axis)."""
    labels = re.findall(r'<text[^>]*role="graphics-symbol"[^>]*>([^<]+)</text>', svg)
    if not labels:
        labels = re.findall(r"<text[^>]*>([^<]+)</text>", svg)
    return [label for label in labels if re.search(r"\d{4}", label)]


def test_a_timeline_axis_says_month_and_year_with_a_few_ticks():
    axis = timeline_axis(["2026-09-07", "2027-06-30"])
    assert axis["format"] == "%b %Y"
    assert axis["tickCount"] == {"interval": "month", "step": 2}  # 10 months: ~5 labels
    assert axis["labelOverlap"] == "greedy"
    short = timeline_axis([date(2026, 11, 2), date(2026, 12, 14)])
    assert short["format"] == "%d %b %Y"  # weeks, each with its year


def test_a_weekly_series_over_two_years_carries_the_year():
    assert week_axis(["2026-12-28", "2027-01-04"])["format"] == "%d %b %Y"
    assert week_axis(["2026-11-02", "2026-11-09"])["format"] == "%d %b"


@pytest.mark.parametrize(("locale", "months"), [("fr", FRENCH_MONTHS), ("en", ENGLISH_MONTHS)])
@pytest.mark.parametrize("width", [330, 1200])
def test_the_rendered_gantt_labels_each_month_with_its_year(app, locale, months, width):
    with app.test_request_context():
        spec = waves_timeline_spec(WAVES, date(2026, 12, 7))
    labels = _axis_labels(render.svg(spec, locale=locale, width=width))
    assert len(labels) >= 2, labels
    assert len(labels) == len(set(labels)), f"a label repeats: {labels}"
    for label in labels:
        assert re.fullmatch(months + r" 20\d\d", label), label


def test_the_waves_page_timeline_has_the_same_axis(app):
    class Wave:
        def __init__(self, w: WaveStatus, wave_id: int):
            self.id, self.name, self.start, self.go_live, self.end = (
                wave_id,
                w.name,
                w.start,
                w.go_live,
                w.end,
            )
            self.status_label = w.status_label

    with app.test_request_context():
        spec = timeline_spec([Wave(w, i) for i, w in enumerate(WAVES)], {}, date(2026, 12, 7))
    labels = _axis_labels(render.svg(spec, locale="fr", width=1200))
    assert labels and all(re.fullmatch(FRENCH_MONTHS + r" 20\d\d", label) for label in labels)


def _y_labels(svg: str) -> list[str]:
    return [t for t in re.findall(r"<text[^>]*>([^<]+)</text>", svg) if t.endswith("%")]


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_a_rates_axis_never_repeats_a_label(app, locale):
    """A conversion rate between 24.1 % and 25.2 %: whole percentages, each once (not
    "25% 25% 25% 24%")."""
    from programme.kpis.charts import weekly_series_spec

    monday = date(2026, 9, 7)
    values = [0.241, 0.252, 0.247, 0.249, 0.244, 0.250]
    points = [
        {
            "week": (monday + timedelta(weeks=i)).isoformat(),
            "week_end": (monday + timedelta(weeks=i, days=7)).isoformat(),
            "value": value,
            "n": 400,
        }
        for i, value in enumerate(values)
    ]
    with app.test_request_context():
        spec = weekly_series_spec("Conversion", "Rate", points, rate=True)
    line = spec["layer"][-1]["encoding"]["y"]
    assert line["axis"]["format"] == ".0%"  # from zero: whole percentages
    # The pilot and impact charts do not start at zero: their ticks follow the values.
    from programme.kpis.charts import value_axis

    line["scale"] = {"zero": False}
    line["axis"] = value_axis("Rate", True, values, zero=False)[0]
    assert line["axis"]["format"] == ".1%"
    for width in (330, 1200):
        labels = _y_labels(render.svg(spec, locale=locale, width=width))
        assert labels, labels
        assert len(labels) == len(set(labels)), labels
