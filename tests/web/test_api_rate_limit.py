"""The API's rate limit: per token (API_RATE_LIMIT, 600 a minute by default) and, for calls
without a valid token, per address; over it, 429 JSON with Retry-After."""

from __future__ import annotations

import pytest

from programme.api.tokens import create_token
from programme.extensions import db
from tests.factories import make_user


@pytest.fixture
def low_limits(app):
    saved = {k: app.config.get(k) for k in ("API_RATE_LIMIT", "API_ANONYMOUS_RATE_LIMIT")}
    app.config["API_RATE_LIMIT"] = "3 per minute"
    app.config["API_ANONYMOUS_RATE_LIMIT"] = "2 per minute"
    yield
    app.config.update(saved)


def _bearer(user, name="t") -> dict:
    _row, token = create_token(db.session, user, name)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_the_call_after_the_limit_is_429_with_retry_after(client, session, low_limits):
    first, second = _bearer(make_user("admin"), "a"), _bearer(make_user("executive"), "b")
    for _call in range(3):
        assert client.get("/api/v1/kpis", headers=first).status_code == 200
    refused = client.get("/api/v1/sites", headers=first)  # the budget covers every route
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "error" in refused.get_json()
    # another token is unaffected
    assert client.get("/api/v1/kpis", headers=second).status_code == 200


def test_two_tokens_of_one_user_have_their_own_budgets(client, session, low_limits):
    user = make_user("admin")
    first, second = _bearer(user, "a"), _bearer(user, "b")
    for _call in range(3):
        client.get("/api/v1/kpis", headers=first)
    assert client.get("/api/v1/kpis", headers=first).status_code == 429
    assert client.get("/api/v1/kpis", headers=second).status_code == 200


def test_calls_without_a_valid_token_are_limited_per_address(client, session, low_limits):
    good = _bearer(make_user("admin"))
    wrong = {"Authorization": "Bearer pgm_guessed"}
    assert client.get("/api/v1/kpis", headers=wrong).status_code == 401
    assert client.get("/api/v1/kpis").status_code == 401
    refused = client.get("/api/v1/kpis", headers={"Authorization": "Bearer pgm_other"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    # from another address, and with a valid token, calls still go through
    other = client.get("/api/v1/kpis", environ_overrides={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 401
    assert client.get("/api/v1/kpis", headers=good).status_code == 200


def test_the_default_is_600_a_minute_per_token(app, client, session):
    headers = _bearer(make_user("admin"))
    statuses = [client.get("/api/v1/kpis", headers=headers).status_code for _ in range(601)]
    assert statuses[:600] == [200] * 600 and statuses[600] == 429


def test_every_route_documents_429_with_retry_after(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            too_many = operation["responses"].get("429")
            assert too_many, (method, path)
            assert too_many["headers"]["Retry-After"]["required"] is True
