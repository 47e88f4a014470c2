"""Actual value on planted data (issue 18): actual = Δ (the deployment impact, as
/api/v1/impact gives it) × d × the volume sum × u, for every ended month."""

from __future__ import annotations

import pytest

from programme.reports import impact
from programme.reports.value import monthly_value
from programme.value import services
from tests.integration.test_impact import MONDAYS, TODAY, build
from tests.value_factories import plant_visits


@pytest.fixture(autouse=True)
def _english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def test_actual_is_the_impact_times_direction_volume_and_unit(session):
    package, sites, live, _rows = build(MONDAYS)
    volume_rows = plant_visits(sites, base=40, spread=7)
    services.save_driver(session, {"package": package.id, "kpi": "WAIT", "volume_kpi": "VISITS", "lever": "cost",
                                   "unit_low": 0.3, "unit_most_likely": 0.5, "unit_high": 0.6, "source": "test"})  # fmt: skip
    session.commit()
    effect = impact.compute_impact(session, "WAIT", package.id, 8, today=TODAY)
    body = monthly_value(session, package.id, "WAIT", "2025-03", "2025-06", 8, today=TODAY)
    assert body["effect"]["estimate"] == pytest.approx(effect.estimate, abs=1e-12)
    for month in body["months"]:
        y, m = int(month["month"][:4]), int(month["month"][5:])
        q = sum(
            r["value"] for r in volume_rows
            if r["period_date"].year == y and r["period_date"].month == m
            and r["site_id"] in live and r["period_date"] >= live[r["site_id"]]
        )  # fmt: skip
        assert month["volume"] == pytest.approx(q)
        assert month["actual"] == pytest.approx(effect.estimate * -1 * q * 0.5)
        low, high = sorted([effect.ci_low * -1 * q * 0.5, effect.ci_high * -1 * q * 0.5])
        assert (month["actual_low"], month["actual_high"]) == pytest.approx((low, high))
        assert month["estimate"] == month["actual"]
        assert month["p10"] <= month["p50"] <= month["p90"]
    assert body["total"]["actual"] == pytest.approx(sum(m["actual"] for m in body["months"]))
    assert body["total"]["actual"] > 0  # waiting time fell: positive money
    assert body["total"]["p10"] < body["total"]["p50"] < body["total"]["p90"]
    # drill-down: the sites' and the regions' actuals add up to the package's
    from programme.reports.value import value_report

    report = value_report(session, package_id=package.id, kpi_code="WAIT", first="2025-03",
                          last="2025-06", today=TODAY)  # fmt: skip
    assert report["total"]["actual"] == pytest.approx(body["total"]["actual"])
    assert sum(s["actual"] or 0 for s in report["sites"]) == pytest.approx(body["total"]["actual"])
    assert sum(s["volume"] for s in report["sites"]) == pytest.approx(body["total"]["volume"])
    assert {s["id"] for s in report["sites"]} == set(live)
    assert sum(r["total"]["actual"] for r in report["regions"]) == pytest.approx(
        body["total"]["actual"]
    )
    assert [p["kpi"] for p in report["packages"]] == ["WAIT"]
