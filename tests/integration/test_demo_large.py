"""The large reference network (`seed-demo --scale large`) at a tiny scale: what it builds,
rollups equal to a recomputation, go-lives on Mondays, the planted effect visible in the raw
measurements, refusal on a non-empty database, and the CLI option."""

from __future__ import annotations

from datetime import date, timedelta
from statistics import mean

import pytest
from sqlalchemy import func, select

from programme.auth.models import User
from programme.demo import large
from programme.deployment.models import Coach, Wave, WaveSite
from programme.diagnostics.models import Finding, ObservationSession
from programme.kpis.models import Kpi, Measurement
from programme.kpis.services import recomputed_rollups, stored_rollups
from programme.network.models import Region, Site
from programme.pilots.models import Package, PackageElement, Pilot
from tests.factories import PASSWORD

TODAY = date(2026, 11, 23)  # a Monday
SITES, DAYS, WAVES, COACHES = 40, 120, 4, 6


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _seed(session):
    return large.seed_large(session, PASSWORD, sites=SITES, days=DAYS, waves=WAVES,
                            coaches=COACHES, today=TODAY, echo=lambda _line: None)  # fmt: skip


def _did(session, code: str, window: int = 14) -> float:
    """Mean over the waves already live for `window` days of (post − pre mean at the wave's
    sites) − (post − pre mean at the sites never deployed): same calendar windows."""
    kpi = session.scalar(select(Kpi.id).where(Kpi.code == code))
    values: dict[int, dict[date, float]] = {}
    for site, day, value in session.execute(
        select(Measurement.site_id, Measurement.period_date, Measurement.value).where(
            Measurement.kpi_id == kpi
        )
    ):
        values.setdefault(site, {})[day] = value
    members = session.execute(select(WaveSite.site_id, Wave.go_live).join(Wave)).all()
    deployed = {site for site, _g in members}
    never = [s for s in values if s not in deployed]
    end = TODAY - timedelta(days=1)

    def change(site: int, go_live: date) -> float | None:
        series = values.get(site, {})
        pre = [
            series[d] for k in range(1, window + 1) if (d := go_live - timedelta(days=k)) in series
        ]
        post = [series[d] for k in range(window) if (d := go_live + timedelta(days=k)) in series]
        return mean(post) - mean(pre) if pre and post else None

    effects = []
    for go_live in sorted({g for _s, g in members}):
        if go_live + timedelta(days=window - 1) > end:
            continue
        treated = [c for s, g in members if g == go_live if (c := change(s, go_live)) is not None]
        others = [c for s in never if (c := change(s, go_live)) is not None]
        effects.append(mean(treated) - mean(others))
    assert len(effects) >= 2
    return mean(effects)


def test_tiny_large_network_is_consistent(app, session):
    report = _seed(session)

    assert _count(session, Site) == SITES
    assert _count(session, Region) == 12
    assert _count(session, Wave) == WAVES
    assert _count(session, Coach) == COACHES
    assert report["measurements"] == _count(session, Measurement)
    # 5 KPIs daily with a few gaps (CONTACTS, a count, with n = 1).
    assert 0.9 * SITES * 5 * DAYS < report["measurements"] <= SITES * 5 * DAYS
    last = session.scalar(select(func.max(Measurement.period_date)))
    assert last == TODAY - timedelta(days=1)
    contacts = select(Kpi.id).where(Kpi.code == "CONTACTS").scalar_subquery()
    assert (
        session.scalar(
            select(func.count()).where(Measurement.kpi_id == contacts, Measurement.n != 1)
        )
        == 0
        and session.scalar(
            select(func.min(Measurement.value)).where(Measurement.kpi_id == contacts)
        )
        >= 5
    )

    # The demo accounts exist, the regional manager in Bretagne.
    manager = session.scalar(select(User).where(User.email == "region@demo.programme.fr"))
    assert session.get(Region, manager.region_id).name == "Bretagne"
    assert session.scalar(select(User.role).where(User.email == "direction@demo.programme.fr")) == (
        "executive"
    )

    # Rollups equal a recomputation from the raw measurements.
    stored, recomputed = stored_rollups(session), recomputed_rollups(session)
    assert stored.keys() == recomputed.keys()
    for key, values in recomputed.items():
        assert stored[key] == pytest.approx(values)

    # Waves: go-lives on Mondays, statuses consistent with the dates, ~75 % of sites deployed.
    waves = session.scalars(select(Wave).order_by(Wave.go_live)).all()
    assert all(w.go_live.weekday() == 0 for w in waves)
    for wave in waves:
        if wave.go_live + timedelta(days=30) <= TODAY:
            assert wave.status == "closed"
        elif wave.go_live <= TODAY:
            assert wave.status == "stabilising"
        else:
            assert wave.status in ("planned", "preparing", "deploying")
    assert waves[-1].go_live > TODAY  # one still ahead
    assert _count(session, WaveSite) == pytest.approx(0.75 * SITES, abs=WAVES)

    # A diagnostic campaign, the pilot that produced the package, its elements.
    assert _count(session, ObservationSession) > 0 and _count(session, Finding) > 0
    first = session.scalar(select(Pilot).where(Pilot.name == large.FIRST_PILOT))
    assert first.decision.decision == "go"
    assert session.scalar(select(func.count(PackageElement.id)).join(Package)) == 4

    # The planted effect is in the raw data: deployed sites vs never-deployed sites.
    assert _did(session, "WAIT") == pytest.approx(large.PLANTED_WAIT_EFFECT, abs=0.6)
    assert _did(session, "CONV") == pytest.approx(large.PLANTED_CONV_EFFECT, abs=0.012)

    # The deployment impact (issue 8) recovers the planted effects within its interval.
    from programme.reports.impact import compute_impact

    with app.test_request_context():  # the reading is worded in the request's language
        for code, planted in large.PLANTED.items():
            impact = compute_impact(session, code, window_weeks=4, resamples=300, today=TODAY)
            assert impact.ci_low <= planted <= impact.ci_high, (code, impact.estimate)

    # A second run refuses and writes nothing.
    with pytest.raises(large.LargeSeedRefused):
        _seed(session)
    assert _count(session, Site) == SITES


def test_refuses_a_database_that_already_has_accounts(session):
    from programme.auth import services as accounts

    accounts.create_user(session, "someone@example.org", "admin", PASSWORD, name="Someone")
    session.commit()
    with pytest.raises(large.LargeSeedRefused, match="not empty"):
        _seed(session)
    assert _count(session, Site) == 0
    assert _count(session, Measurement) == 0


def test_cli_scale_option(app, session):
    runner = app.test_cli_runner()
    built = runner.invoke(args=["seed-demo", "--scale", "large", "--sites", "24", "--days", "35"])
    assert built.exit_code == 0, built.output
    assert "Large network built" in built.output
    assert "direction@demo.programme.fr" in built.output
    assert _count(session, Site) == 24

    again = runner.invoke(args=["seed-demo", "--scale", "large", "--sites", "24", "--days", "35"])
    assert again.exit_code != 0
    assert "not empty" in again.output

    wrong = runner.invoke(args=["seed-demo", "--scale", "huge"])
    assert wrong.exit_code == 2


def test_refuses_a_database_that_is_not_migrated(tmp_path):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with Session(engine) as bare, pytest.raises(large.LargeSeedRefused, match="db upgrade"):
        _seed(bare)
    engine.dispose()


def test_xlarge_scale_is_five_times_the_network_with_sizes_as_parameters(app, session, monkeypatch):
    """On PostgreSQL the xlarge scale is built (its sizes shrunk here); on SQLite it is
    refused with a message that says what to do, and nothing is written."""
    from programme.demo import large

    assert large.SCALES["xlarge"] == {"sites": 10_000, "days": 3 * 365, "waves": 50, "coaches": 300}
    asked = {}
    real = large.seed_large

    def spy(session, password, **options):
        asked.update(options)
        return real(session, password, **{**options, "sites": 24, "days": 35, "waves": 3})

    monkeypatch.setattr(large, "seed_large", spy)
    runner = app.test_cli_runner()
    built = runner.invoke(args=["seed-demo", "--scale", "xlarge"])  # the defaults, shrunk here
    if session.get_bind().dialect.name != "postgresql":
        assert built.exit_code == 1
        assert "PostgreSQL only" in built.output
        assert "DATABASE_URL" in built.output and "--scale large" in built.output
        assert asked == {}  # refused before anything is generated
        assert _count(session, Site) == 0
        assert _count(session, User) == 0
        assert _count(session, Measurement) == 0
        tiny = runner.invoke(args=["seed-demo", "--scale", "xlarge", "--sites", "24"])
        assert tiny.exit_code == 1 and "PostgreSQL only" in tiny.output
        assert _count(session, Site) == 0
        return
    assert built.exit_code == 0, built.output
    assert {k: asked[k] for k in ("sites", "days", "waves", "coaches")} == large.SCALES["xlarge"]
    assert _count(session, Site) == 24
    assert _count(session, Wave) == 3
    stored, recomputed = stored_rollups(session), recomputed_rollups(session)
    assert stored.keys() == recomputed.keys()
    for key, values in recomputed.items():
        assert stored[key] == pytest.approx(values)
    again = runner.invoke(args=["seed-demo", "--scale", "xlarge", "--sites", "30"])
    assert again.exit_code != 0  # not empty: refused, whatever the scale
    assert asked["sites"] == 30 and asked["coaches"] == 300  # a given size wins over the scale
    # The binary COPY gave the ids itself: the sequence continues after them, so the next
    # measurement entered the ordinary way is written.
    last = session.scalar(select(func.max(Measurement.id)))
    assert last == _count(session, Measurement)
    site, kpi = session.execute(select(Measurement.site_id, Measurement.kpi_id).limit(1)).one()
    added = Measurement(site_id=site, kpi_id=kpi, period_date=date(2020, 1, 1), source="test",
                        value=1.0, n=1, revision=1, entered_by="test")  # fmt: skip
    session.add(added)
    session.flush()
    assert added.id == last + 1
