"""Planned and forecast value, the freeze at gate L3 and attribution shares (issue 18).

A real pilot (WAIT falls by about 3 minutes at its sites) validates a package; two waves
deploy it (one live since 16 March 2026, one planned for June) at sites whose VISITS we
plant for 2025 and early 2026. Planned = the pilot's effect × d × the sites' VISITS the same
month a year earlier (the mean of their past 12 months when that month is missing) from
their go-live (pro rata in the go-live month) × u, checked by hand against the raw rows."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from sqlalchemy import func, insert, select

from programme.errors import Conflict, Invalid
from programme.extensions import db
from programme.kpis.models import Measurement
from programme.pilots import services as pilots
from programme.reports.value import value_report, value_to_date
from programme.value import services
from programme.value.models import ValueDriver, ValuePlan
from tests.deployment_factories import make_package, make_wave
from tests.factories import make_region, make_site, make_user
from tests.kpi_factories import default_kpis
from tests.pilot_factories import make_pilot, measured_sites

TODAY = date(2026, 4, 10)
U = (0.3, 0.5, 0.6)


@pytest.fixture(autouse=True)
def _english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


class World:
    pass


def _visits(sites, skip=()):
    kpis = default_kpis()
    rows, day = [], date(2025, 1, 1)
    while day < TODAY:
        for k, s in enumerate(sites):
            if (s.code, f"{day:%Y-%m}") in skip:
                continue
            rows.append({"site_id": s.id, "kpi_id": kpis["VISITS"], "period_date": day,
                         "source": "test", "value": float(50 + 10 * k + day.month), "n": 1,
                         "revision": 1, "entered_by": "test"})  # fmt: skip
        day += timedelta(days=1)
    db.session.execute(insert(Measurement), rows)
    db.session.commit()
    return rows


@pytest.fixture
def world(session):
    w = World()
    w.admin = make_user("admin")
    w.finance = make_user("finance")
    measured_sites(w.admin)
    w.pilot = make_pilot(w.admin)
    north, south = make_region("Nord"), make_region("Sud")
    w.north, w.south = north, south
    w.sites = [make_site("DEP-1", north), make_site("DEP-2", north), make_site("DEP-3", south),
               make_site("DEP-4", south)]  # fmt: skip
    w.package = make_package(name="Accueil au flux")
    w.package.pilot_id = w.pilot.id
    session.commit()
    make_wave(w.package, w.sites[:2], start=date(2026, 2, 16), go_live=date(2026, 3, 16),
              status="deploying", name="Vague 1")  # fmt: skip
    w.late = make_wave(w.package, [w.sites[2]], start=date(2026, 5, 4), go_live=date(2026, 6, 1),
                       status="planned", name="Vague 2")  # fmt: skip
    w.rows = _visits(w.sites, skip={("DEP-2", "2025-05")})
    w.driver = services.save_driver(session, {"package": w.package.id, "kpi": "WAIT",
        "volume_kpi": "VISITS", "lever": "cost", "unit_low": U[0], "unit_most_likely": U[1],
        "unit_high": U[2], "source": "Contrôle de gestion"})  # fmt: skip
    session.commit()
    result = next(r for r in pilots.pilot_results(session, w.pilot) if r.kpi_code == "WAIT")
    w.effect = result.lead or result.estimate
    return w


def _month_sum(rows, site, month) -> float | None:
    values = [r["value"] for r in rows if r["site_id"] == site.id and f"{r['period_date']:%Y-%m}" == month]  # fmt: skip
    return sum(values) if values else None


def _expected_volume(w, site, month, go_live) -> float:
    """By hand: the same month a year earlier, else the mean of the last 12 ended months,
    × the share of the month from the go-live."""
    y, m = int(month[:4]), int(month[5:])
    ref = f"{y - 1:04d}-{m:02d}"
    q = _month_sum(w.rows, site, ref)
    if q is None:
        window = [f"{2025 + (i + 3) // 12:04d}-{(i + 3) % 12 + 1:02d}" for i in range(12)]
        present = [v for v in (_month_sum(w.rows, site, mm) for mm in window) if v is not None]
        q = sum(present) / len(present)
    days = calendar.monthrange(y, m)[1]
    start, end = date(y, m, 1), date(y, m, days)
    if go_live > end:
        return 0.0
    return q * ((end - max(go_live, start)).days + 1) / days


def test_planned_is_the_pilot_effect_on_the_planned_go_lives_and_last_year_volumes(session, world):
    w = world
    assert w.effect.effect is not None and w.effect.effect < 0
    body = value_report(session, package_id=w.package.id, kpi_code="WAIT", first="2026-03",
                        last="2026-07", today=TODAY)  # fmt: skip
    lives = {w.sites[0]: date(2026, 3, 16), w.sites[1]: date(2026, 3, 16), w.sites[2]: date(2026, 6, 1)}  # fmt: skip
    for row in body["months"]:
        q = sum(_expected_volume(w, s, row["month"], g) for s, g in lives.items())
        assert row["planned"] == pytest.approx(w.effect.effect * -1 * q * U[1]), row["month"]
    # DEP-2 has no VISITS in May 2025: its May 2026 volume is the mean of its past 12 months
    may = next(r for r in body["months"] if r["month"] == "2026-05")
    assert may["planned"] > 0  # waiting time falls: positive money
    # no wave has a deployment result (no WAIT at the deployed sites): the pilot's effect
    assert body["effect"]["source"] == "pilot"
    assert body["effect"]["estimate"] == pytest.approx(w.effect.effect)
    assert [r["forecast"] for r in body["months"]] == pytest.approx([r["planned"] for r in body["months"]])  # fmt: skip
    assert all(r["estimate"] == r["forecast"] for r in body["months"])
    assert body["total"]["planned"] == pytest.approx(sum(r["planned"] for r in body["months"]))
    assert [r["name"] for r in body["regions"]] == ["Nord", "Sud"]
    assert sum(r["total"]["planned"] for r in body["regions"]) == pytest.approx(body["total"]["planned"])  # fmt: skip
    assert {s["code"] for s in body["sites"]} == {"DEP-1", "DEP-2", "DEP-3"}
    south = value_report(session, package_id=w.package.id, kpi_code="WAIT", region_id=w.south.id,
                         first="2026-03", last="2026-07", today=TODAY)  # fmt: skip
    assert south["total"]["planned"] == pytest.approx(body["regions"][1]["total"]["planned"])
    assert [s["code"] for s in south["sites"]] == ["DEP-3"]


def test_forecast_follows_the_current_calendar_and_a_late_wave_starts_today(session, world):
    w = world
    w.late.go_live = date(2026, 4, 1)  # planned for 1 April, not live on 10 April: late
    w.late.start = date(2026, 3, 2)
    session.commit()
    body = value_report(session, package_id=w.package.id, kpi_code="WAIT", first="2026-04",
                        last="2026-04", today=TODAY)  # fmt: skip
    row = body["months"][0]
    base = sum(_expected_volume(w, s, "2026-04", date(2026, 3, 16)) for s in w.sites[:2])
    planned_q = base + _expected_volume(w, w.sites[2], "2026-04", date(2026, 4, 1))
    forecast_q = base + _expected_volume(w, w.sites[2], "2026-04", TODAY)
    assert row["planned"] == pytest.approx(w.effect.effect * -1 * planned_q * U[1])
    assert row["forecast"] == pytest.approx(w.effect.effect * -1 * forecast_q * U[1])
    assert row["forecast"] < row["planned"]


def _to_l3(session, w):
    for gate in ("L1", "L2", "L3"):
        services.move_gate(session, w.admin, w.package, gate, f"to {gate}")
    session.commit()


def test_planned_is_frozen_at_l3_and_an_edit_of_it_is_refused_with_409(session, world, monkeypatch):
    w = world
    monkeypatch.setattr(services, "date", type("D", (), {"today": staticmethod(lambda: TODAY)}))
    before = value_report(session, package_id=w.package.id, kpi_code="WAIT", first="2026-03",
                          last="2026-09", today=TODAY)  # fmt: skip
    _to_l3(session, w)
    stored = session.scalar(select(ValuePlan).where(ValuePlan.package_id == w.package.id))
    assert stored is not None and stored.effect == pytest.approx(w.effect.effect)
    # the calendar changes after the freeze: forecast moves, planned does not
    w.late.go_live, w.late.start = date(2026, 9, 1), date(2026, 8, 3)
    session.commit()
    after = value_report(session, package_id=w.package.id, kpi_code="WAIT", first="2026-03",
                         last="2026-09", today=TODAY)  # fmt: skip
    assert [r["planned"] for r in after["months"]] == pytest.approx([r["planned"] for r in before["months"]])  # fmt: skip
    assert after["total"]["forecast"] < before["total"]["forecast"]
    assert "frozen" in after["reading"]
    # editing what planned rests on is refused with 409, nothing saved
    version = w.driver.version
    for change in ({"unit_most_likely": 0.55}, {"attribution": 0.5}, {"volume_kpi": "CONTACTS"}):
        values = {"package": w.package.id, "kpi": "WAIT", "volume_kpi": "VISITS", "lever": "cost",
                  "unit_low": U[0], "unit_most_likely": U[1], "unit_high": U[2], "source": "x"}  # fmt: skip
        values.update(change)
        with pytest.raises(Conflict) as refused:
            services.save_driver(session, values, w.driver)
        session.rollback()
        assert refused.value.current.id == w.package.id
        assert "frozen" in services.frozen_message(refused.value.current)
    assert session.get(ValueDriver, w.driver.id).version == version
    assert session.get(ValueDriver, w.driver.id).unit_most_likely == U[1]
    # a new driver for the frozen package: 409 too
    with pytest.raises(Conflict) as refused:
        services.save_driver(session, {"package": w.package.id, "kpi": "FCR", "volume_kpi": "CONTACTS",
                                       "lever": "none"})  # fmt: skip
    session.rollback()
    assert refused.value.current.id == w.package.id
    # its source and owner are not planned value: they may change
    services.save_driver(session, {"package": w.package.id, "kpi": "WAIT", "volume_kpi": "VISITS",
                                   "lever": "cost", "unit_low": U[0], "unit_most_likely": U[1],
                                   "unit_high": U[2], "source": "Budget 2027"}, w.driver)  # fmt: skip
    session.commit()
    # back below L3 with a reason: planned may be edited again, and a new freeze stores a new plan
    services.move_gate(session, w.admin, w.package, "L2", "replan", reason="calendar moved")
    services.save_driver(session, {"package": w.package.id, "kpi": "WAIT", "volume_kpi": "VISITS",
                                   "lever": "cost", "unit_low": U[0], "unit_most_likely": 0.55,
                                   "unit_high": U[2], "source": "Budget 2027"}, w.driver)  # fmt: skip
    services.move_gate(session, w.admin, w.package, "L3", "replanned")
    session.commit()
    plans = session.scalar(select(func.count()).select_from(ValuePlan))
    assert plans == 2  # the first plan stays as the record


def test_a_second_package_on_the_same_sites_needs_shares_summing_to_at_most_1(session, world):
    w = world
    other = make_package(name="Rappel client")
    other.pilot_id = w.pilot.id
    session.commit()
    make_wave(other, [w.sites[0], w.sites[3]], start=date(2026, 2, 16), go_live=date(2026, 3, 16),
              status="deploying", name="Vague R")  # fmt: skip
    values = {"package": other.id, "kpi": "WAIT", "volume_kpi": "VISITS", "lever": "cost",
              "unit_low": U[0], "unit_most_likely": U[1], "unit_high": U[2], "source": "x"}  # fmt: skip
    count = session.scalar(select(func.count()).select_from(ValueDriver))
    with pytest.raises(Invalid) as refused:  # default share 1 + 1 > 1
        services.save_driver(session, values)
    session.rollback()
    assert "DEP-1" in refused.value.by_field["attribution"][0]
    assert "Accueil au flux" in refused.value.by_field["attribution"][0]
    for bad in (1.5, 0, -0.2, "beaucoup"):
        with pytest.raises(Invalid) as refused:
            services.save_driver(session, {**values, "attribution": bad})
        session.rollback()
        assert refused.value.by_field["attribution"][0]
    # first package's share 0.6: the second at 0.5 still breaks the sum, 0.4 fits
    first = {"package": w.package.id, "kpi": "WAIT", "volume_kpi": "VISITS", "lever": "cost",
             "unit_low": U[0], "unit_most_likely": U[1], "unit_high": U[2], "source": "x"}  # fmt: skip
    services.save_driver(session, {**first, "attribution": 0.6}, w.driver)
    session.commit()
    with pytest.raises(Invalid) as refused:
        services.save_driver(session, {**values, "attribution": 0.5})
    session.rollback()
    assert "0.4" in refused.value.by_field["attribution"][0]
    assert session.scalar(select(func.count()).select_from(ValueDriver)) == count
    services.save_driver(session, {**values, "attribution": 0.4})
    session.commit()
    # the share applies at the shared site only: DEP-1 counts 0.4, DEP-4 fully
    body = value_report(session, package_id=other.id, kpi_code="WAIT", first="2026-05",
                        last="2026-05", today=TODAY)  # fmt: skip
    q = 0.4 * _expected_volume(w, w.sites[0], "2026-05", date(2026, 3, 16)) + _expected_volume(
        w, w.sites[3], "2026-05", date(2026, 3, 16))  # fmt: skip
    assert body["months"][0]["planned"] == pytest.approx(w.effect.effect * -1 * q * U[1])
    mine = value_report(session, package_id=w.package.id, kpi_code="WAIT", first="2026-05",
                        last="2026-05", today=TODAY)  # fmt: skip
    q = 0.6 * _expected_volume(w, w.sites[0], "2026-05", date(2026, 3, 16)) + _expected_volume(
        w, w.sites[1], "2026-05", date(2026, 3, 16))  # fmt: skip
    assert mine["months"][0]["planned"] == pytest.approx(w.effect.effect * -1 * q * U[1])
    # the portfolio: both packages, the same pilot Δ (shared draws), totals add draws
    portfolio = value_report(session, first="2026-05", last="2026-05", today=TODAY)
    assert [p["name"] for p in portfolio["packages"]] == ["Accueil au flux", "Rappel client"]
    assert portfolio["total"]["planned"] == pytest.approx(
        body["total"]["planned"] + mine["total"]["planned"]
    )
    assert portfolio["effect"]["source"] is None


def test_percentiles_agree_with_an_independent_scipy_computation(session, world):
    """P10/P50/P90 of a month valued with the pilot's effect: the quantiles of Δ·d·Q·u with
    Δ ~ Normal(Δ̂, SE) and u ~ Triangular, by numerical integration (no draws)."""
    w = world
    body = value_report(session, package_id=w.package.id, kpi_code="WAIT", first="2026-05",
                        last="2026-05", today=TODAY)  # fmt: skip
    q = sum(_expected_volume(w, s, "2026-05", g) for s, g in
            ((w.sites[0], date(2026, 3, 16)), (w.sites[1], date(2026, 3, 16))))  # fmt: skip
    se = (w.effect.ci_high - w.effect.ci_low) / (2 * 1.959964)
    delta = stats.norm(w.effect.effect, se)
    unit = stats.triang((U[1] - U[0]) / (U[2] - U[0]), loc=U[0], scale=U[2] - U[0])

    def cdf(x):  # P(−Δ·q·u ≤ x) = P(Δ ≥ −x / (q·u))
        return integrate.quad(lambda u: delta.sf(-x / (q * u)) * unit.pdf(u), U[0], U[2])[0]

    month = body["months"][0]
    spread = month["p90"] - month["p10"]
    for p, key in ((0.1, "p10"), (0.5, "p50"), (0.9, "p90")):
        exact = optimize.brentq(lambda x, p=p: cdf(x) - p, month["p10"] - 3 * spread, month["p90"] + 3 * spread)  # fmt: skip
        assert month[key] == pytest.approx(exact, abs=0.03 * spread), key
    assert month["p10"] < month["estimate"] < month["p90"]


def test_value_to_date_adds_the_ended_months(session, world):
    w = world
    line = value_to_date(session, today=TODAY)
    assert (line["first_month"], line["last_month"]) == ("2026-03", "2026-03")
    # no deployment result yet: no actual, but the planned value to date is there
    assert line["actual"] is None and line["p10"] is None
    q = sum(_expected_volume(w, s, "2026-03", date(2026, 3, 16)) for s in w.sites[:2])
    assert line["planned"] == pytest.approx(w.effect.effect * -1 * q * U[1])
    assert np.isfinite(line["planned"]) and line["reading"]


def test_pilot_projected_value_is_a_year_of_network_volume_with_its_interval(session, world):
    from programme.reports.value import pilot_projected_value

    w = world
    body = pilot_projected_value(session, w.pilot.id, today=TODAY)
    (row,) = body["drivers"]
    q = sum(r["value"] for r in w.rows if date(2025, 4, 1) <= r["period_date"] <= date(2026, 3, 31))
    assert row["annual_volume"] == pytest.approx(q)
    assert row["value"] == pytest.approx(w.effect.effect * -1 * q * U[1])
    corners = [e * -1 * q * u for e in (w.effect.ci_low, w.effect.ci_high) for u in (U[0], U[2])]
    assert (row["low"], row["high"]) == pytest.approx((min(corners), max(corners)))
    assert row["low"] < row["p10"] < row["p50"] < row["p90"] < row["high"]
    assert body["total"]["value"] == pytest.approx(row["value"])
    assert "March 2026" in body["reading"]
    other = make_pilot(w.admin, name="Sans dispositif")
    assert pilot_projected_value(session, other.id, today=TODAY) is None
    assert pilot_projected_value(session, 999_999, today=TODAY) is None


def test_portfolio_p10_is_at_least_the_sum_of_the_packages_p10_when_independent(session, world):
    """Two packages validated by two pilots: independent Δ (their own draws). The portfolio's
    P10 adds draws, so it is not below the sum of the packages' P10s."""
    w = world
    second = make_pilot(w.admin, name="Deuxième période pilote")
    other = make_package(name="Rappel client")
    other.pilot_id = second.id
    session.commit()
    make_wave(other, [w.sites[3]], start=date(2026, 2, 16), go_live=date(2026, 3, 16),
              status="deploying", name="Vague R")  # fmt: skip
    services.save_driver(session, {"package": other.id, "kpi": "WAIT", "volume_kpi": "VISITS",
                                   "lever": "cost", "unit_low": 0.2, "unit_most_likely": 0.4,
                                   "unit_high": 0.9, "source": "x"})  # fmt: skip
    session.commit()
    body = value_report(session, first="2026-03", last="2026-12", today=TODAY)
    p10s = [p["total"]["p10"] for p in body["packages"]]
    assert len(p10s) == 2 and all(p is not None for p in p10s)
    assert body["total"]["p10"] >= sum(p10s)
    assert body["total"]["p90"] <= sum(p["total"]["p90"] for p in body["packages"])
    assert body["total"]["estimate"] == pytest.approx(
        sum(p["total"]["estimate"] for p in body["packages"])
    )
