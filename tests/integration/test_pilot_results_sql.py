"""Pilot results read from the database: rollups and the measurement table agree, missing
days, rates, and the effect equals scipy on the sites' hand-computed changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from scipy import stats

from programme.extensions import db
from programme.kpis.models import Kpi
from programme.pilots.results import (
    Periods,
    historical_delta_sd,
    kpi_result,
    phase_means,
    weekly_arm_series,
)
from tests.factories import make_site, make_user
from tests.kpi_factories import MONDAY, default_kpis, item, put
from tests.sql_plans import captured_statements, sqlite_plan

START = MONDAY - timedelta(weeks=6)
PERIODS = Periods(
    START, START + timedelta(days=13), START + timedelta(days=14), START + timedelta(days=27)
)


@pytest.fixture(autouse=True)
def _english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def _series(site, base, during, n=50, skip=(), kpi="WAIT"):
    """Daily values: `base` over the baseline's 14 days, `during` over the pilot's 14."""
    rows = []
    for i in range(28):
        if i in skip:
            continue
        value = base(i) if i < 14 else during(i)
        rows.append(item(site, kpi=kpi, day=START + timedelta(days=i), value=value, n=n + i))
    return rows


def _mean(rows, lo, hi):
    chosen = [r for r in rows if lo <= (r_date(r) - START).days <= hi]
    return sum(r["value"] * r["n"] for r in chosen) / sum(r["n"] for r in chosen)


def r_date(row):
    from datetime import date

    return date.fromisoformat(row["date"])


def test_effect_from_the_database_matches_scipy_with_a_site_missing_days():
    default_kpis()
    admin = make_user("admin")
    pilots = [make_site(f"P{i}") for i in range(3)]
    controls = [make_site(f"C{i}") for i in range(3)]
    data = {}
    for k, s in enumerate(pilots):
        skip = range(16, 21) if k == 0 else ()  # the first pilot site misses 5 days
        data[s.id] = _series(
            s,
            lambda i, k=k: 10 + k + (i % 7) * 0.1,
            lambda i, k=k: 8 + k * 0.7 + (i % 5) * 0.2,
            skip=skip,
        )
    for k, s in enumerate(controls):
        data[s.id] = _series(
            s,
            lambda i, k=k: 11 + k * 0.5 + (i % 3) * 0.1,
            lambda i, k=k: 11 + k * 0.4 + (i % 4) * 0.1,
        )
    put(admin, [r for rows in data.values() for r in rows])
    wait = db.session.query(Kpi).filter_by(code="WAIT").one()

    deltas = {sid: _mean(rows, 14, 27) - _mean(rows, 0, 13) for sid, rows in data.items()}
    p = [deltas[s.id] for s in pilots]
    c = [deltas[s.id] for s in controls]
    ref = stats.ttest_ind(p, c, equal_var=False)

    result = kpi_result(
        db.session,
        wait,
        [s.id for s in pilots],
        [s.id for s in controls],
        PERIODS,
        target_relative=-0.2,
    )
    assert result.effect == pytest.approx(sum(p) / 3 - sum(c) / 3)
    assert result.p_value == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval()
    assert (result.ci_low, result.ci_high) == pytest.approx((ci.low, ci.high))
    assert result.site_days == 6 * 28 - 5
    assert result.completeness == pytest.approx((6 * 28 - 5) / (6 * 28))
    assert result.customers == sum(r["n"] for rows in data.values() for r in rows)
    # 3 + 3 sites: the randomization test leads (its smallest p-value, 0.1, is above 5 %)
    assert result.reading.startswith("Waiting time: estimated change -2.2 min")
    assert "Welch's t-test, shown beside: -2.2 min, 95% CI" in result.reading

    # Whole ISO weeks read the rollups; a period cut mid-week reads the measurement table:
    # the same sums either way.
    ids = [s.id for s in pilots + controls]
    weekly = phase_means(db.session, wait.id, ids, PERIODS.pilot_start, PERIODS.pilot_end)
    shifted_end = PERIODS.pilot_end - timedelta(days=1)
    daily = phase_means(db.session, wait.id, ids, PERIODS.pilot_start, shifted_end)
    for sid in ids:
        last = [r for r in data[sid] if r_date(r) == PERIODS.pilot_end]
        assert weekly[sid].sum_n == daily[sid].sum_n + sum(r["n"] for r in last)
        assert weekly[sid].mean == pytest.approx(_mean(data[sid], 14, 27))
    assert weekly[pilots[0].id].periods == 9

    series = weekly_arm_series(
        db.session, wait.id, [s.id for s in pilots], [s.id for s in controls], PERIODS
    )
    assert len(series) == 8 and {p["arm"] for p in series} == {"pilot", "control"}

    sd, level, count = historical_delta_sd(
        db.session, wait.id, 2, PERIODS.pilot_end + timedelta(days=1), history_weeks=4
    )
    assert count == 6  # one change per site between the two 2-week blocks
    expected_sd = stats.tstd(list(deltas.values()))
    assert sd == pytest.approx(expected_sd)
    assert level > 0


def test_rates_from_the_database_are_pooled():
    default_kpis()
    admin = make_user("admin")
    s1 = make_site("R1")
    rows = [
        item(s1, kpi="CONV", day=START, value=0.5, n=20),
        item(s1, kpi="CONV", day=START + timedelta(days=1), value=0.375, n=80),
        item(s1, kpi="CONV", day=START + timedelta(days=15), value=0.6, n=100),
    ]
    put(admin, rows)
    conv = db.session.query(Kpi).filter_by(code="CONV").one()
    means = phase_means(db.session, conv.id, [s1.id], PERIODS.baseline_start, PERIODS.baseline_end)
    assert means[s1.id].mean == pytest.approx(0.4)  # 40 successes out of 100, not (0.5+0.375)/2
    result = kpi_result(db.session, conv, [s1.id], [], PERIODS)
    assert result.effect == pytest.approx(0.2)
    assert result.ci_low is None
    assert "no confidence interval" in result.reading
    assert result.completeness == pytest.approx(3 / 28)


def test_results_read_through_indexes_never_a_table_scan(session):
    """Every statement the results run is an index search on SQLite (EXPLAIN QUERY PLAN):
    the pilot's sites and periods, never the whole measurement or rollup table."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("query plans checked on SQLite")
    default_kpis()
    admin = make_user("admin")
    sites = [make_site(f"S{i}") for i in range(4)]
    put(admin, [r for s in sites for r in _series(s, lambda i: 10.0, lambda i: 9.0)])
    wait = db.session.query(Kpi).filter_by(code="WAIT").one()
    engine = session.get_bind()
    with captured_statements(engine) as statements:
        ids = [s.id for s in sites]
        kpi_result(db.session, wait, ids[:2], ids[2:], PERIODS, -0.2)
        shifted = Periods(PERIODS.baseline_start + timedelta(days=1), PERIODS.baseline_end,
                          PERIODS.pilot_start, PERIODS.pilot_end)  # fmt: skip
        kpi_result(db.session, wait, ids[:2], ids[2:], shifted, -0.2)
        weekly_arm_series(db.session, wait.id, ids[:2], ids[2:], PERIODS)
    reads = [(s, p) for s, p in statements if "measurement" in s or "kpi_rollup_week" in s]
    assert len(reads) >= 5
    for statement, parameters in reads:
        details = sqlite_plan(engine, statement, parameters)
        assert "SCAN measurement" not in details and "SCAN kpi_rollup_week" not in details, (
            statement,
            details,
        )
