"""Completeness is defined once (programme.kpis.completeness)."""

from __future__ import annotations

from datetime import date

from programme.kpis.completeness import Completeness, CompletenessRow, expected_periods, share


def test_expected_periods_are_days_or_iso_weeks_touched():
    # Wednesday 2026-03-04 to Tuesday 2026-03-17: 14 days, touching 3 ISO weeks.
    start, end = date(2026, 3, 4), date(2026, 3, 17)
    assert expected_periods("day", start, end) == 14
    assert expected_periods("week", start, end) == 3
    assert expected_periods("day", end, start) == 0


def test_share_is_present_over_expected_at_most_one():
    assert share(3, 4) == 0.75
    assert share(5, 4) == 1.0
    assert share(0, 0) is None
    assert Completeness(date(2026, 3, 2), date(2026, 3, 29), 21, 28).share == 0.75
    assert CompletenessRow("Nord", 0, 0).share is None
