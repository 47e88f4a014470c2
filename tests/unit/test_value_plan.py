"""The calendar arithmetic behind planned and forecast value (issue 18), by hand."""

from __future__ import annotations

from datetime import date

import pytest

from programme.value import plan


def test_the_reference_month_is_the_same_month_a_year_earlier_that_has_ended():
    assert plan.reference_month("2026-05", "2026-03") == "2025-05"
    assert plan.reference_month("2026-03", "2026-03") == "2025-03"
    assert plan.reference_month("2027-06", "2026-03") == "2025-06"  # 2026-06 has not ended
    assert plan.last_ended_month(date(2026, 1, 10)) == "2025-12"


def test_a_site_counts_from_its_go_live_pro_rata_in_that_month():
    assert plan.live_fraction("2026-03", date(2026, 3, 16)) == pytest.approx(16 / 31)
    assert plan.live_fraction("2026-03", date(2026, 3, 1)) == 1.0
    assert plan.live_fraction("2026-02", date(2026, 3, 1)) == 0.0
    assert plan.live_fraction("2026-04", None) == 0.0


def test_the_forecast_calendar_keeps_live_go_lives_and_moves_late_ones_to_today():
    today = date(2026, 4, 10)
    rows = [
        (1, date(2026, 3, 16), "deploying"),  # live
        (2, date(2026, 4, 1), "preparing"),  # late: not before today
        (3, date(2026, 6, 1), "planned"),  # to come
        (3, date(2026, 9, 1), "planned"),  # a later wave of the same site
    ]
    assert plan.forecast_go_lives(rows, today) == {
        1: date(2026, 3, 16),
        2: today,
        3: date(2026, 6, 1),
    }
    assert plan.planned_go_lives(rows)[2] == date(2026, 4, 1)


def test_reference_volumes_fall_back_on_the_mean_of_the_past_12_months():
    refs = plan.References(
        volumes={(1, "2025-05"): 300.0, (1, "2025-06"): 600.0},
        means={1: 450.0},
        last_ended="2026-03",
    )
    assert refs.volume(1, "2026-05") == 300.0
    assert refs.volume(1, "2026-07") == 450.0  # July 2025 missing
    assert refs.volume(2, "2026-05") is None  # no history at all
    volumes = plan.site_volumes(refs, {1: date(2026, 5, 16)}, ["2026-04", "2026-05", "2026-06"])
    assert volumes == {(1, "2026-05"): pytest.approx(300.0 * 16 / 31), (1, "2026-06"): 600.0}


def test_months_and_horizon():
    assert plan.months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert plan.add_months("2026-01", -1) == "2025-12"
    rows = [(1, date(2026, 3, 16), "deploying")]
    months = plan.horizon(rows)
    assert (months[0], months[-1], len(months)) == ("2026-03", "2029-02", plan.HORIZON_MONTHS)
