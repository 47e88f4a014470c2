"""The deployment API: packages, waves (read and create, with per-field errors and nothing
written on bad input) and a site's progress."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from programme.api.tokens import create_token
from programme.deployment import services
from programme.deployment.models import ChecklistItem, Wave
from programme.extensions import db
from tests.deployment_factories import GO_LIVE, START, make_package, make_sites, make_wave
from tests.factories import make_user


def _bearer(user) -> dict:
    _row, token = create_token(db.session, user, "planning-tool")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def world(session):
    package = make_package(2, name="Accueil sur rendez-vous")
    sites = make_sites(3, prefix="API")
    wave = make_wave(package, sites[:2], name="Vague 1")
    item = services.site_items(db.session, wave.id, sites[0].id)[0]
    services.set_item_state(db.session, item, "in_place", None, START)
    db.session.commit()
    return {"package": package, "sites": sites, "wave": wave}


def test_packages_with_their_elements(client, world):
    body = client.get("/api/v1/packages", headers=_bearer(make_user("executive"))).get_json()
    assert body == [
        {
            "id": world["package"].id,
            "name": "Accueil sur rendez-vous",
            "elements": [
                {"id": e.id, "name": e.title, "kind": e.kind} for e in world["package"].elements
            ],
        }
    ]


def test_waves_list_and_detail(client, world):
    headers = _bearer(make_user("executive"))
    wave, sites = world["wave"], world["sites"]
    expected = {
        "id": wave.id,
        "name": "Vague 1",
        "package": world["package"].id,
        "start": START.isoformat(),
        "go_live": GO_LIVE.isoformat(),
        "status": "deploying",
        "sites": sorted([sites[0].code, sites[1].code]),
        "progress": 0.25,
    }
    assert client.get("/api/v1/waves", headers=headers).get_json() == [expected]
    assert client.get(f"/api/v1/waves/{wave.id}", headers=headers).get_json() == expected
    assert client.get("/api/v1/waves/999999", headers=headers).status_code == 404


def test_admin_creates_a_wave_with_past_dates(client, session, world):
    code = world["sites"][2].code
    response = client.post(
        "/api/v1/waves",
        json={"name": "Vague rétro", "package": world["package"].id, "start": "2025-01-06",
              "go_live": "2025-03-03", "sites": [code]},
        headers=_bearer(make_user("admin")),
    )  # fmt: skip
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["sites"] == [code] and body["progress"] == 0.0 and isinstance(body["id"], int)
    assert response.headers["Location"].endswith(f"/api/v1/waves/{body['id']}")
    assert _count(session, ChecklistItem) == 2 * 2 + 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"go_live": "2025-01-01"}, "go_live"),
        ({"sites": ["NOPE-9"]}, "sites"),
        ({"sites": "x"}, "sites"),
        ({"start": "01/02/2025"}, "start"),
        ({"package": 999999}, "package"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_wave_bodies_are_refused_per_field(client, session, world, overrides, field):
    body = {"name": "Vague 2", "package": world["package"].id, "start": "2025-01-06",
            "go_live": "2025-03-03", "sites": [world["sites"][2].code]}  # fmt: skip
    body.update(overrides)
    response = client.post("/api/v1/waves", json=body, headers=_bearer(make_user("admin")))
    assert response.status_code == 422
    assert field in {e["field"] for e in response.get_json()["errors"]}
    assert _count(session, Wave) == 1


def test_a_site_in_another_active_wave_of_the_package_is_refused(client, session, world):
    response = client.post(
        "/api/v1/waves",
        json={"name": "Vague 2", "package": world["package"].id, "start": "2026-06-01",
              "go_live": "2026-07-01", "sites": [world["sites"][0].code]},
        headers=_bearer(make_user("admin")),
    )  # fmt: skip
    assert response.status_code == 422
    assert "Vague 1" in response.get_json()["errors"][0]["message"]
    assert _count(session, Wave) == 1


@pytest.mark.parametrize("role", ["coach", "executive", "site_manager", "pilot_team"])
def test_only_admins_create_waves(client, session, world, role):
    response = client.post("/api/v1/waves", json={}, headers=_bearer(make_user(role)))
    assert response.status_code == 403
    assert _count(session, Wave) == 1


def test_site_progress(client, world):
    site = world["sites"][0]
    headers = _bearer(make_user("coach"))
    body = client.get(f"/api/v1/sites/{site.code}/progress", headers=headers).get_json()
    assert body["site"] == site.code and body["wave"] == world["wave"].id
    assert body["progress"] == 0.5
    assert [(i["state"], i["state_on"]) for i in body["items"]] == [
        ("in_place", START.isoformat()),
        ("not_started", None),
    ]
    assert client.get("/api/v1/sites/NOPE/progress", headers=headers).status_code == 404
    # A site manager reads only their own site's progress.
    manager = make_user("site_manager", site_id=world["sites"][1].id)
    assert client.get(
        f"/api/v1/sites/{site.code}/progress", headers=_bearer(manager)
    ).status_code == 403  # fmt: skip


def test_anonymous_gets_401(client, world):
    assert client.get("/api/v1/waves").status_code == 401
