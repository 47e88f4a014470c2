"""GET /api/v1/impact: the issue's JSON, per-role access, 401 without token, 422 errors."""

from __future__ import annotations

import pytest

from programme.api.tokens import create_token
from programme.auth.roles import (
    ADMIN,
    COACH,
    DIAGNOSTICIAN,
    EXECUTIVE,
    FINANCE,
    PILOT_TEAM,
    SITE_MANAGER,
)
from programme.extensions import db
from tests.deployment_factories import make_package, make_sites, make_wave
from tests.factories import make_user
from tests.integration.test_impact import EFFECT, MONDAYS, build

URL = "/api/v1/impact"


def _bearer(role: str) -> dict:
    _row, token = create_token(db.session, make_user(role), "impact")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def network(session):
    package, sites, live, rows = build(MONDAYS[:2], sites_per_wave=5, never=8)
    return {"package": package.id}


def test_round_trip(client, session, network):
    response = client.get(
        URL, query_string={"kpi": "WAIT", "window_weeks": "8"}, headers=_bearer(EXECUTIVE)
    )
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {
        "kpi",
        "window_weeks",
        "estimate",
        "ci_low",
        "ci_high",
        "n_sites",
        "waves",
        "reading",
        "as_of",
    }
    assert body["as_of"] is None  # up to date
    assert body["kpi"] == "WAIT" and body["window_weeks"] == 8
    assert body["ci_low"] < EFFECT < body["ci_high"]
    assert body["n_sites"] == 9  # 5 + 5 deployed, one stopped reporting
    assert [w["go_live"] for w in body["waves"]] == ["2025-03-03", "2025-03-24"]
    assert [(w["n_treated"], w["n_comparison"]) for w in body["waves"]] == [(4, 8), (5, 8)]
    assert set(body["waves"][0]) == {"wave", "go_live", "att", "n_treated", "n_comparison"}
    assert body["reading"].startswith("Waiting time: sites that deployed the package lowered")
    # the package may be given; the same answer
    again = client.get(
        URL, query_string={"kpi": "WAIT", "package": network["package"]}, headers=_bearer(ADMIN)
    ).get_json()
    assert again == body


def test_not_computable_is_null_with_the_reason(client, session, network):
    body = client.get(URL, query_string={"kpi": "CSAT"}, headers=_bearer(PILOT_TEAM)).get_json()
    assert body["estimate"] is None and body["ci_low"] is None and body["ci_high"] is None
    assert body["n_sites"] == 0
    assert all(w["att"] is None for w in body["waves"])
    assert body["reading"].startswith("Not computable: ")


@pytest.mark.parametrize("role", [ADMIN, EXECUTIVE, PILOT_TEAM, FINANCE])
def test_allowed_roles(client, session, network, role):
    assert client.get(URL, query_string={"kpi": "WAIT"}, headers=_bearer(role)).status_code == 200


@pytest.mark.parametrize("role", [SITE_MANAGER, COACH, DIAGNOSTICIAN])
def test_other_roles_are_refused(client, session, network, role):
    response = client.get(URL, query_string={"kpi": "WAIT"}, headers=_bearer(role))
    assert response.status_code == 403
    assert response.get_json() == {"error": "You may not see the deployment impact."}


def test_no_token_is_401(client, session, network):
    response = client.get(URL, query_string={"kpi": "WAIT"})
    assert response.status_code == 401
    assert "error" in response.get_json()


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({}, {"kpi"}),
        ({"kpi": "NOPE"}, {"kpi"}),
        ({"kpi": "WAIT", "window_weeks": "0"}, {"window_weeks"}),
        ({"kpi": "WAIT", "window_weeks": "x"}, {"window_weeks"}),
        ({"kpi": "WAIT", "window_weeks": "53"}, {"window_weeks"}),
        ({"kpi": "WAIT", "package": "abc"}, {"package"}),
        ({"kpi": "WAIT", "package": "999999"}, {"package"}),
        ({"kpi": "NOPE", "package": "999999", "window_weeks": "99"}, {"window_weeks"}),
    ],
)
def test_bad_parameters_are_422(client, session, network, query, fields):
    response = client.get(URL, query_string=query, headers=_bearer(EXECUTIVE))
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {e["field"] for e in errors} == fields
    assert all(e["message"] for e in errors)


def test_package_is_needed_when_several_have_waves(client, session, network):
    make_wave(make_package(name="Autre"), make_sites(2), name="Vague autre")
    headers = _bearer(EXECUTIVE)
    response = client.get(URL, query_string={"kpi": "WAIT"}, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"index": None, "field": "package", "message": "Several packages have waves: choose one."}
    ]
    chosen = client.get(
        URL, query_string={"kpi": "WAIT", "package": network["package"]}, headers=headers
    )
    assert chosen.status_code == 200


def test_openapi_documents_the_route(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    operation = doc["paths"]["/impact"]["get"]
    assert {"200", "401", "403", "422"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} == {"kpi", "package", "window_weeks"}
