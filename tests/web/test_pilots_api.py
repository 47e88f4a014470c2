"""/api/v1/pilots: create with per-field errors, read, results; same permission rules."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from programme.api.tokens import create_token
from programme.extensions import db
from programme.pilots.models import Pilot, PilotSite
from tests.factories import make_user
from tests.pilot_factories import (
    BASELINE_END,
    BASELINE_START,
    PILOT_END,
    PILOT_START,
    make_pilot,
    measured_sites,
)


def _bearer(user) -> dict:
    _row, token = create_token(db.session, user, "pilots")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def _body(**overrides) -> dict:
    body = {
        "name": "API pilot",
        "kpis": [{"kpi": "WAIT", "target_relative": -0.2}],
        "pilot_sites": ["PIL-1", "PIL-2", "PIL-3", "PIL-4"],
        "control_sites": ["CTL-1", "CTL-2", "CTL-3", "CTL-4"],
        "baseline_start": BASELINE_START.isoformat(),
        "baseline_end": BASELINE_END.isoformat(),
        "pilot_start": PILOT_START.isoformat(),
        "pilot_end": PILOT_END.isoformat(),
    }
    body.update(overrides)
    return body


@pytest.fixture
def world(session):
    admin = make_user("admin")
    measured_sites(admin)
    return {"admin": admin}


def test_create_read_and_results(client, session, world):
    headers = _bearer(world["admin"])
    created = client.post("/api/v1/pilots", json=_body(), headers=headers)
    assert created.status_code == 201, created.get_json()
    pilot_id = created.get_json()["id"]
    assert created.get_json()["control_sites"] == ["CTL-1", "CTL-2", "CTL-3", "CTL-4"]
    got = client.get(f"/api/v1/pilots/{pilot_id}", headers=headers).get_json()
    assert got["kpis"] == [{"kpi": "WAIT", "target_relative": -0.2}]
    results = client.get(f"/api/v1/pilots/{pilot_id}/results", headers=headers).get_json()
    assert results["pilot"] == pilot_id
    (wait,) = results["results"]
    assert set(wait) == {
        "kpi", "baseline_mean", "pilot_mean", "effect", "relative_effect", "ci_low", "ci_high",
        "p_value", "n_pilot_sites", "n_control_sites", "completeness", "target_reached", "reading",
        "leading_method", "randomization", "synthetic_control",
    }  # fmt: skip
    assert wait["kpi"] == "WAIT" and wait["ci_high"] < 0 and wait["target_reached"] is True
    assert wait["n_pilot_sites"] == 4 and wait["n_control_sites"] == 4
    assert wait["leading_method"] == "randomization"
    rand = wait["randomization"]
    assert set(rand) == {
        "effect", "theta", "p_value", "ci_low", "ci_high", "min_p", "n_assignments", "exact",
        "randomized_design",
    }  # fmt: skip
    assert rand["n_assignments"] == 70 and rand["exact"] is True
    assert rand["min_p"] == pytest.approx(2 / 70) and rand["p_value"] == pytest.approx(2 / 70)
    assert rand["ci_low"] < rand["effect"] < rand["ci_high"] < 0
    assert rand["randomized_design"] is False
    assert wait["completeness"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"baseline_end": PILOT_START.isoformat()}, "baseline_end"),
        ({"control_sites": ["CTL-1", "PIL-1"]}, "control_sites"),
        ({"pilot_sites": ["PIL-1", "XXX-1"]}, "pilot_sites"),
        ({"pilot_sites": []}, "pilot_sites"),
        ({"kpis": [{"kpi": "WAIT", "target_relative": 0.2}]}, "kpis"),
        ({"kpis": [{"kpi": "NOPE"}]}, "kpis"),
        ({"pilot_start": "31/01/2026"}, "pilot_start"),
    ],
)
def test_bad_bodies_get_per_field_errors_and_write_nothing(
    client, session, world, overrides, field
):
    response = client.post(
        "/api/v1/pilots", json=_body(**overrides), headers=_bearer(world["admin"])
    )
    assert response.status_code == 422
    assert field in {e["field"] for e in response.get_json()["errors"]}
    assert _count(session, Pilot) == 0 and _count(session, PilotSite) == 0


def test_permissions_follow_the_screens(client, session, world):
    pilot = make_pilot(world["admin"])
    member = make_user("pilot_team")
    assert (
        client.post("/api/v1/pilots", json=_body(name="x"), headers=_bearer(member)).status_code
        == 403
    )
    assert client.get(f"/api/v1/pilots/{pilot.id}", headers=_bearer(member)).status_code == 200
    manager = make_user("site_manager", site_id=None)
    assert (
        client.get(f"/api/v1/pilots/{pilot.id}/results", headers=_bearer(manager)).status_code
        == 403
    )
    assert client.get("/api/v1/pilots/999", headers=_bearer(world["admin"])).status_code == 404
    assert client.get(f"/api/v1/pilots/{pilot.id}").status_code == 401
