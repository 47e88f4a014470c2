"""Monthly snapshots: idempotent per month and scope, month-on-month deltas with a
direction-aware judgement, the `take-snapshot` command and its refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from programme.network.access import network_scope
from programme.reports import snapshots
from programme.reports.models import Snapshot
from programme.reports.screens.glance import headline_figures
from tests.integration.test_exports import report_world

TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def _in_a_request(app, session):
    """Services speak the reader's language: run each test inside an English request."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def _count(session) -> int:
    return session.scalar(select(func.count(Snapshot.id)))


def test_taking_a_snapshot_twice_in_a_month_keeps_the_first(app, session):
    world = report_world()
    scope = network_scope()
    first, created = snapshots.take_snapshot(session, scope, TODAY)
    session.commit()
    assert created
    assert first.month == date(2026, 11, 1) and first.scope == "network"
    assert first.figures["sites_total"] == world.n_sites
    assert first.figures == pytest.approx(headline_figures(session, scope, TODAY))

    # Later in the month the network changes; a second attempt keeps the first figures.
    from tests.factories import make_site

    make_site("LATE-001")
    again, created = snapshots.take_snapshot(session, scope, date(2026, 11, 30))
    session.commit()
    assert not created and again.id == first.id
    assert again.figures["sites_total"] == world.n_sites
    assert _count(session) == 1


def test_take_all_covers_the_network_and_every_region(app, session):
    world = report_world()
    taken = snapshots.take_all(session, TODAY)
    session.commit()
    keys = {t.scope_key for t in taken}
    assert keys == {"network", f"region:{world.north_id}", f"region:{world.south_id}"}
    assert all(t.created for t in taken)
    north = next(t for t in taken if t.scope_key == f"region:{world.north_id}")
    assert north.snapshot.figures["sites_total"] == world.n_north
    assert not any(t.created for t in snapshots.take_all(session, TODAY))
    assert _count(session) == 3


def _stored(session, month: date, **figures) -> Snapshot:
    row = Snapshot(
        month=month,
        scope="network",
        figures=figures,
        taken_at=datetime(month.year, month.month, 1, 6, tzinfo=UTC),
        taken_by="cli:take-snapshot",
    )
    session.add(row)
    session.commit()
    return row


def test_compare_gives_direction_aware_deltas_against_last_month(app, session):
    _stored(session, date(2026, 9, 1), sites_live=1, open_alerts=9)
    _stored(
        session,
        date(2026, 10, 1),
        sites_live=10,
        open_alerts=4,
        wave_progress_pct=40.0,
        sites_total=100,
        completeness_pct=None,
    )
    current = {
        "sites_live": 14,
        "open_alerts": 6,
        "wave_progress_pct": 52.5,
        "sites_total": 100,
        "completeness_pct": 80.0,
        "brand_new": 3,
    }
    deltas = {d.key: d for d in snapshots.compare(session, network_scope(), current, TODAY)}
    assert set(deltas) == {
        "sites_live",
        "open_alerts",
        "wave_progress_pct",
        "sites_total",
        "completeness_pct",
    }
    live = deltas["sites_live"]
    assert (live.previous, live.change, live.judgement, live.since) == (
        10,
        4,
        "better",
        date(2026, 10, 1),
    )
    assert deltas["open_alerts"].change == 2 and deltas["open_alerts"].judgement == "worse"
    assert deltas["wave_progress_pct"].change == pytest.approx(12.5)
    assert deltas["wave_progress_pct"].judgement == "better"
    assert deltas["sites_total"].judgement == "unchanged"
    assert deltas["completeness_pct"].judgement == "unknown"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert live.change_text == "+4"
        assert deltas["open_alerts"].change_text == "+2"
        assert deltas["wave_progress_pct"].change_text == "+12.5 pts"
        assert deltas["wave_progress_pct"].current_text == "52.5%"


def test_compare_ignores_this_months_snapshot_and_is_empty_at_first(app, session):
    assert snapshots.compare(session, network_scope(), {"sites_live": 3}, TODAY) == []
    _stored(session, date(2026, 11, 1), sites_live=3)
    assert snapshots.compare(session, network_scope(), {"sites_live": 5}, TODAY) == []
    # Next month, November is last month.
    deltas = snapshots.compare(session, network_scope(), {"sites_live": 5}, date(2026, 12, 2))
    assert [(d.key, d.change) for d in deltas] == [("sites_live", 2)]


def test_history_compares_each_month_with_the_one_before(app, session):
    _stored(session, date(2026, 9, 1), open_alerts=9)
    _stored(session, date(2026, 10, 1), open_alerts=4)
    rows = snapshots.history(session, "network")
    assert [r.snapshot.month for r in rows] == [date(2026, 10, 1), date(2026, 9, 1)]
    assert [(d.key, d.change, d.judgement) for d in rows[0].deltas] == [
        ("open_alerts", -5, "better")
    ]
    assert rows[1].deltas == [] and rows[1].figures[0].current == 9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "is not a month"),
        ("novembre", "is not a month"),
        ("2026-10", "Only the current month"),
        ("2027-01", "Only the current month"),
    ],
)
def test_parse_month_refuses_bad_and_other_months(app, text, message):
    with (
        app.test_request_context(headers={"Accept-Language": "en"}),
        pytest.raises(snapshots.SnapshotError, match=message),
    ):
        snapshots.parse_month(text, TODAY)


def test_parse_month_speaks_the_readers_language(app):
    with (
        app.test_request_context(headers={"Accept-Language": "fr"}),
        pytest.raises(snapshots.SnapshotError, match="mois en cours"),
    ):
        snapshots.parse_month("2027-01", TODAY)


def test_take_snapshot_command(app, session):
    world = report_world()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["take-snapshot"])
    assert result.exit_code == 0, result.output
    assert "3 snapshot(s) taken, 0 already there." in result.output
    assert _count(session) == 3
    again = runner.invoke(args=["take-snapshot", "--month", f"{date.today():%Y-%m}"])
    assert again.exit_code == 0, again.output
    assert "0 snapshot(s) taken, 3 already there." in again.output
    assert world.north_name in again.output

    for bad in ("2020-01", "soon"):
        refused = runner.invoke(args=["take-snapshot", "--month", bad])
        assert refused.exit_code != 0
        assert "Only the current month" in refused.output or "is not a month" in refused.output
    assert _count(session) == 3


def test_impact_deltas_follow_each_kpis_better_way(app, session):
    from programme.kpis.models import Kpi
    from tests.kpi_factories import default_kpis

    default_kpis()
    better = {k.code: (k.better, k.kind) for k in session.query(Kpi)}
    assert better["WAIT"] == ("lower", "mean") and better["CONV"] == ("higher", "rate")
    _stored(session, date(2026, 10, 1), impact_WAIT=-1.0, impact_CONV=0.02)
    current = {"impact_WAIT": -1.5, "impact_CONV": 0.01}
    deltas = {d.key: d for d in snapshots.compare(session, network_scope(), current, TODAY)}
    assert deltas["impact_WAIT"].judgement == "better"  # waiting time fell further
    assert deltas["impact_CONV"].judgement == "worse"
    assert deltas["impact_CONV"].change_text == "−1 pts"
    assert deltas["impact_CONV"].current_text == "+1.0 pts"
    assert deltas["impact_WAIT"].label.startswith("Deployment impact on")


def test_a_snapshot_taken_meanwhile_by_another_process_is_kept(app, session, monkeypatch):
    report_world()
    theirs, _created = snapshots.take_snapshot(session, network_scope(), TODAY)
    session.commit()
    # Our check runs before their row is visible: the unique key refuses the second row.
    real_scalar = session.scalar
    misses = [None]
    monkeypatch.setattr(
        session, "scalar", lambda *a, **k: misses.pop() if misses else real_scalar(*a, **k)
    )
    kept, created = snapshots.take_snapshot(session, network_scope(), TODAY)
    session.commit()
    assert not created and kept.id == theirs.id
    assert _count(session) == 1
