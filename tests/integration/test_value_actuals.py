"""Actual value on planted data (issue 18): Q = Σ of the volume KPI at the package's deployed
sites, per month, on or after each site's go-live (SQL); actual = Δ·d·Q·u."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from programme.kpis.models import Kpi
from programme.value import compute, queries
from tests.deployment_factories import make_package, make_sites, make_wave
from tests.factories import make_user
from tests.kpi_factories import default_kpis, put


def test_volumes_count_only_deployed_sites_from_their_go_live(session):
    default_kpis()
    admin = make_user("admin")
    package = make_package()
    early, late, never, behind = make_sites(4)
    make_wave(package, [early], start=date(2026, 1, 5), go_live=date(2026, 2, 16), name="W1")
    make_wave(package, [late], start=date(2026, 2, 2), go_live=date(2026, 3, 9), name="W2")
    # go-live date passed but the wave is still being prepared: its site is not deployed
    make_wave(package, [behind], start=date(2026, 1, 5), go_live=date(2026, 2, 2),
              status="preparing", name="W3")  # fmt: skip
    items = []
    day = date(2026, 2, 1)
    while day <= date(2026, 3, 31):
        for site, volume in ((early, 100), (late, 10), (never, 1000), (behind, 5000)):
            items.append({"site": site.code, "kpi": "CONTACTS", "date": day.isoformat(), "value": volume, "n": 1})  # fmt: skip
        day += timedelta(days=1)
    put(admin, items)
    contacts = session.scalar(select(Kpi.id).where(Kpi.code == "CONTACTS"))
    volumes = queries.monthly_volumes(
        session, package.id, contacts, date(2026, 2, 1), date(2026, 3, 31)
    )
    # February: early site from the 16th (13 days × 100); March: early 31 × 100 + late from the 9th (23 × 10)
    assert volumes == {"2026-02": 1300.0, "2026-03": 3100.0 + 230.0}
    rows = compute.actuals(volumes, 0.03, 0.01, 0.05, "higher", 4.2)
    assert [r.actual for r in rows] == pytest.approx([0.03 * 1300 * 4.2, 0.03 * 3330 * 4.2])
    assert (rows[0].actual_low, rows[0].actual_high) == pytest.approx(
        (0.01 * 1300 * 4.2, 0.05 * 1300 * 4.2)
    )
    lower = compute.actuals(volumes, -2.0, -3.0, -1.0, "lower", 0.5)
    assert (lower[0].actual, lower[0].actual_low, lower[0].actual_high) == pytest.approx(
        (1300.0, 650.0, 1950.0)
    )
    assert compute.actuals(volumes, 0.03, 0.01, 0.05, "higher", None)[0].actual is None
