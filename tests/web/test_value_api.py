"""The value API (issue 18): POST /api/v1/value-drivers and POST /api/v1/packages/<id>/gate
— per role, bad input per field, nothing written on a refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from programme.api.tokens import create_token
from programme.auth.roles import ROLES
from programme.extensions import db
from programme.value.models import GateMove, ValueDriver
from tests.factories import make_region, make_site, make_user
from tests.kpi_factories import default_kpis
from tests.web.value_matrix import package_id


class W:
    site_id = other_site_id = None


@pytest.fixture
def world(session):
    default_kpis()
    region = make_region("Bretagne")
    W.site_id = make_site("BRE-001", region).id
    W.other_site_id = make_site("BRE-002", region).id
    return package_id(W)


def _bearer(role: str) -> dict:
    user = make_user(role)
    _row, token = create_token(db.session, user, "finance-tool")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _body(pid, **changes):
    body = {"package": pid, "kpi": "FCR", "volume_kpi": "CONTACTS", "lever": "cost",
            "unit_value": {"low": 3.5, "most_likely": 4.2, "high": 5.0}, "source": "Finance 2026"}  # fmt: skip
    body.update(changes)
    return body


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("role", ROLES)
def test_value_driver_post_per_role(client, session, world, role):
    response = client.post("/api/v1/value-drivers", json=_body(world), headers=_bearer(role))
    if role in ("admin", "finance"):
        assert response.status_code == 201
        driver = session.get(ValueDriver, response.get_json()["id"])
        assert (driver.kpi.code, driver.unit_most_likely) == ("FCR", 4.2)
    else:
        assert response.status_code == 403 and _count(session, ValueDriver) == 0


def test_value_driver_anonymous_is_401(client, session, world):
    assert client.post("/api/v1/value-drivers", json=_body(world)).status_code == 401


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"unit_value": {"low": 5, "most_likely": 4.2, "high": 6}}, "unit_value.low"),
        ({"unit_value": {"low": 3, "most_likely": 4.2, "high": 4}}, "unit_value.high"),
        ({"volume_kpi": "WAIT"}, "volume_kpi"),
        ({"kpi": "NOPE"}, "kpi"),
        ({"package": 999}, "package"),
        ({"lever": "gift"}, "lever"),
        ({"source": ""}, "source"),
    ],
)
def test_bad_value_driver_is_422_per_field_and_nothing_written(
    client, session, world, changes, field
):
    response = client.post(
        "/api/v1/value-drivers", json=_body(world, **changes), headers=_bearer("finance")
    )
    assert response.status_code == 422
    assert field in {e["field"] for e in response.get_json()["errors"]}
    assert _count(session, ValueDriver) == 0


def test_gate_moves_through_the_api(client, session, world):
    headers = _bearer("admin")
    url = f"/api/v1/packages/{world}/gate"
    moved = client.post(url, json={"to": "L1", "comment": "designed"}, headers=headers)
    assert moved.status_code == 200 and moved.get_json() == {
        "package": world,
        "from_gate": "L0",
        "gate": "L1",
    }
    skipped = client.post(url, json={"to": "L4", "comment": "fast"}, headers=headers)
    assert skipped.status_code == 422 and skipped.get_json()["errors"][0]["field"] == "reason"
    assert client.post(url, json={"to": "L2"}, headers=headers).status_code == 422
    assert (
        client.post(
            "/api/v1/packages/999/gate", json={"to": "L1", "comment": "x"}, headers=headers
        ).status_code
        == 404
    )
    assert (
        client.post(url, json={"to": "L2", "comment": "x"}, headers=_bearer("coach")).status_code
        == 403
    )
    assert _count(session, GateMove) == 1


def test_value_get_shape_nulls_and_refusals(client, session, world):
    headers = _bearer("finance")
    assert (
        client.post("/api/v1/value-drivers", json=_body(world), headers=headers).status_code == 201
    )
    url = f"/api/v1/value?package={world}&kpi=FCR&from=2026-01&to=2026-03"
    body = client.get(url, headers=headers).get_json()
    assert body["currency"] == "EUR" and [m["month"] for m in body["months"]] == [
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    fields = {
        "planned",
        "forecast",
        "actual",
        "actual_low",
        "actual_high",
        "estimate",
        "volume",
        "p10",
        "p50",
        "p90",
    }
    assert set(body["total"]) == fields and set(body["months"][0]) == fields | {"month"}
    # no wave, no impact: no money, and the reading says why
    assert (
        body["total"]["actual"] is None and body["effect"]["estimate"] is None and body["reading"]
    )
    assert client.get(url.replace("FCR", "WAIT"), headers=headers).status_code == 422
    assert client.get(url.replace("2026-03", "2026-13"), headers=headers).status_code == 422
    assert client.get(url, headers=_bearer("coach")).status_code == 403


def test_value_driver_attribution_out_of_range_is_422(client, session, world):
    for bad in (1.2, 0, -0.5, "half"):
        response = client.post(
            "/api/v1/value-drivers", json=_body(world, attribution=bad), headers=_bearer("finance")
        )
        assert response.status_code == 422, bad
        assert "attribution" in {e["field"] for e in response.get_json()["errors"]}
    assert _count(session, ValueDriver) == 0


def test_a_second_package_on_shared_sites_is_refused_until_shares_are_set(client, session, world):
    from programme.network.models import Site
    from programme.pilots.models import Package
    from tests.deployment_factories import make_package, make_wave

    shared = session.get(Site, W.site_id)
    make_wave(session.get(Package, world), [shared], name="Vague A")
    other = make_package(name="Rappel client")
    make_wave(other, [shared, session.get(Site, W.other_site_id)], name="Vague B")
    headers = _bearer("finance")
    assert (
        client.post("/api/v1/value-drivers", json=_body(world), headers=headers).status_code == 201
    )
    refused = client.post("/api/v1/value-drivers", json=_body(other.id), headers=headers)
    assert refused.status_code == 422
    (error,) = [e for e in refused.get_json()["errors"] if e["field"] == "attribution"]
    assert "BRE-001" in error["message"] and "at most 1" in error["message"]
    assert _count(session, ValueDriver) == 1
    over = client.post(
        "/api/v1/value-drivers", json=_body(other.id, attribution=0.3), headers=headers
    )
    assert over.status_code == 422 and _count(session, ValueDriver) == 1


def test_value_driver_for_a_package_past_l3_is_409_and_nothing_written(client, session, world):
    from programme.pilots.models import Package
    from programme.value import services

    admin = make_user("admin")
    package = session.get(Package, world)
    for gate in ("L1", "L2", "L3"):
        services.move_gate(session, admin, package, gate, f"to {gate}")
    session.commit()
    response = client.post("/api/v1/value-drivers", json=_body(world), headers=_bearer("finance"))
    assert response.status_code == 409
    assert "frozen" in response.get_json()["error"]
    assert _count(session, ValueDriver) == 0


def test_value_get_refuses_an_unknown_region(client, session, world):
    headers = _bearer("finance")
    client.post("/api/v1/value-drivers", json=_body(world), headers=headers)
    url = f"/api/v1/value?package={world}&kpi=FCR&from=2026-01&to=2026-03"
    response = client.get(url + "&region=999", headers=headers)
    assert response.status_code == 422
    assert "region" in {e["field"] for e in response.get_json()["errors"]}
    region = session.get(
        __import__("programme.network.models", fromlist=["Site"]).Site, W.site_id
    ).region_id
    assert client.get(url + f"&region={region}", headers=headers).status_code == 200
