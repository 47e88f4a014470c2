"""Actual value through the API on planted data (issue 18): each month's actual equals Δ
from GET /api/v1/impact × d × the volume sum × u, and the forecast uses that Δ too."""

from __future__ import annotations

import pytest

from programme.api.tokens import create_token
from programme.extensions import db
from programme.value import services
from tests.factories import make_user
from tests.integration.test_impact import MONDAYS, build
from tests.value_factories import plant_visits


def _bearer(role: str) -> dict:
    _row, token = create_token(db.session, make_user(role), "value")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_actual_is_the_api_impact_times_direction_volume_and_unit(client, session):
    package, sites, live, _rows = build(MONDAYS, sites_per_wave=6, never=12)
    rows = plant_visits(sites, base=30, spread=5)
    services.save_driver(session, {"package": package.id, "kpi": "WAIT", "volume_kpi": "VISITS", "lever": "cost",
                                   "unit_low": 0.3, "unit_most_likely": 0.5, "unit_high": 0.6, "source": "test"})  # fmt: skip
    session.commit()
    headers = _bearer("finance")
    effect = client.get(
        "/api/v1/impact",
        query_string={"kpi": "WAIT", "package": package.id},
        headers=_bearer("executive"),
    ).get_json()
    body = client.get(
        "/api/v1/value",
        query_string={"package": package.id, "kpi": "WAIT", "from": "2025-03", "to": "2025-06"},
        headers=headers,
    ).get_json()
    assert body["effect"]["source"] == "deployment"
    assert body["effect"]["estimate"] == pytest.approx(effect["estimate"], abs=1e-9)
    for month in body["months"]:
        y, m = int(month["month"][:4]), int(month["month"][5:])
        q = sum(
            r["value"] for r in rows
            if r["period_date"].year == y and r["period_date"].month == m
            and r["site_id"] in live and r["period_date"] >= live[r["site_id"]]
        )  # fmt: skip
        assert month["volume"] == pytest.approx(q)
        assert month["actual"] == pytest.approx(effect["estimate"] * -1 * q * 0.5)
        low, high = sorted([effect["ci_low"] * -1 * q * 0.5, effect["ci_high"] * -1 * q * 0.5])
        assert (month["actual_low"], month["actual_high"]) == pytest.approx((low, high))
        assert month["estimate"] == month["actual"]
        assert (
            month["forecast"] is not None and month["planned"] is None
        )  # the package has no pilot
    assert "no planned value" in body["reading"]
