"""Pure helpers of the diagnostics services: codes, journey steps, blank rows, dates."""

from __future__ import annotations

from datetime import date, time

import pytest

from programme.diagnostics import services


def test_site_codes_are_split_upper_cased_and_deduplicated():
    assert services.split_codes(" par-001, PAR-002;lyo-001\nPAR-001  ") == [
        "PAR-001",
        "PAR-002",
        "LYO-001",
    ]
    assert services.split_codes("") == []


def test_journey_steps_keep_the_method_order_then_the_campaign_own_steps():
    steps = services.journey_steps_from(
        ["payment", "first_contact"], "Sortie  du site\n\nsortie du site\nWaiting\n"
    )
    assert steps == ["first_contact", "payment", "Sortie du site", "Waiting"]


def test_an_untouched_row_is_blank():
    assert services.finding_is_blank({"journey_step": "", "severity": "", "description": "  "})
    assert not services.finding_is_blank({"severity": "2"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-12", date(2026, 3, 12)),
        ("12/03/2026", date(2026, 3, 12)),
        ("12.03.2026", date(2026, 3, 12)),
        ("2026-03-12 00:00:00", date(2026, 3, 12)),
        ("31/02/2026", None),
        ("demain", None),
    ],
)
def test_dates_as_people_write_them(text, expected):
    assert services._date(text) == expected


def test_numbers_and_times():
    assert services._int("12") == 12 and services._int("12,0") == 12
    assert services._int("1.5") is None and services._int("x") is None
    assert services._float("7,5") == 7.5 and services._float("1 234,5") == 1234.5
    assert services._time("9h30") == time(9, 30) and services._time("25:00") is None
