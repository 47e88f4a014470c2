"""Weeks run Monday to Sunday everywhere (the KPI rollups, pilots, the impact, the entry
grid, feedback counts): a week is named by its Monday."""

from __future__ import annotations

from datetime import date, timedelta


def week_start(day: date) -> date:
    """The Monday of the week holding `day`."""
    return day - timedelta(days=day.weekday())


def first_week_start(day: date) -> date:
    """The first Monday on or after `day` (the first whole week from `day`)."""
    return day + timedelta(days=(7 - day.weekday()) % 7)
