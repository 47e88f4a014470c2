"""Planted data for the value screens (issue 18): the deployment-impact network of
tests/integration/test_impact.py (waiting time falls by 2 minutes at go-live), daily
customer visits at every site and a cost driver on waiting time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from programme.extensions import db
from programme.kpis.models import Kpi, Measurement
from programme.kpis.services import rebuild_rollups
from programme.value import services
from tests.integration.test_impact import END, MONDAYS, START, TODAY, build

__all__ = ["TODAY", "plant_visits", "valued_network"]


def valued_network(driver: bool = True, lever: str = "cost"):
    """Returns (package, sites, live); visits 40–46 a day per site from START to END."""
    package, sites, live, _rows = build(MONDAYS)
    plant_visits(sites, base=40, spread=7)
    if driver:
        units = {"unit_low": 0.3, "unit_most_likely": 0.5, "unit_high": 0.6} if lever != "none" else {}  # fmt: skip
        services.save_driver(db.session, {"package": package.id, "kpi": "WAIT", "volume_kpi": "VISITS",
                                          "lever": lever, "source": "Contrôle de gestion 2026", **units})  # fmt: skip
    db.session.commit()
    return package, sites, live


def plant_visits(sites, base: int, spread: int) -> list[dict]:
    """Daily VISITS (base + k % spread for the k-th site) from START to END, with the
    rollups rebuilt; returns the rows written (the volumes a test sums by hand)."""
    visits = db.session.scalar(select(Kpi.id).where(Kpi.code == "VISITS"))
    rows, day = [], START
    while day <= END:
        for k, s in enumerate(sites):
            rows.append({"site_id": s.id, "kpi_id": visits, "period_date": day, "source": "test",
                         "value": float(base + k % spread), "n": 1, "revision": 1, "entered_by": "test"})  # fmt: skip
        day += timedelta(days=1)
    db.session.execute(insert(Measurement), rows)
    rebuild_rollups(db.session)
    return rows
