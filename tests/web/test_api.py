"""The JSON API: tokens, the measurement round trip, permissions per role, bad input,
and the OpenAPI document covering every route."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from programme.api.tokens import create_token
from programme.extensions import db
from programme.kpis.models import Measurement
from programme.network.models import Site
from tests.factories import make_region, make_site, make_user
from tests.kpi_factories import MONDAY, assign, default_kpis, item


def _bearer(user, name="qms-export") -> dict:
    _row, token = create_token(db.session, user, name)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def world(session):
    default_kpis()
    region = make_region("Bretagne")
    rennes = make_site("BRE-001", region)
    brest = make_site("BRE-002", region)
    return {"rennes": rennes, "brest": brest}


def test_round_trip_post_get_repost(client, session, world):
    headers = _bearer(make_user("admin"))
    body = [
        item("BRE-001", value=7.5, n=120, source="qms-export"),
        item("BRE-002", "CONV", value=0.3, n=50),
    ]
    first = client.post("/api/v1/measurements", json=body, headers=headers)
    assert first.status_code == 201 and first.get_json() == {
        "created": 2,
        "unchanged": 0,
        "corrected": 0,
    }
    again = client.post("/api/v1/measurements", json=body, headers=headers)
    assert again.get_json() == {"created": 0, "unchanged": 2, "corrected": 0}
    corrected = client.post("/api/v1/measurements", json=[{**body[0], "value": 8}], headers=headers)
    assert corrected.get_json() == {"created": 0, "unchanged": 0, "corrected": 1}
    listing = client.get("/api/v1/measurements?site=BRE-001", headers=headers).get_json()
    assert [
        (i["site"], i["kpi"], i["value"], i["revision"], i["source"]) for i in listing["items"]
    ] == [("BRE-001", "WAIT", 8.0, 2, "qms-export")]
    # an item without a source gets the token's name
    assert set(session.scalars(select(Measurement.source))) == {"qms-export"}


def test_pagination_follows_next_links(client, session, world):
    headers = _bearer(make_user("admin"))
    from datetime import timedelta

    body = [item("BRE-001", day=MONDAY - timedelta(days=d)) for d in range(7)]
    assert client.post("/api/v1/measurements", json=body, headers=headers).status_code == 201
    seen, url = [], "/api/v1/measurements?limit=3&kpi=WAIT"
    while url:
        page = client.get(url, headers=headers).get_json()
        seen += [i["id"] for i in page["items"]]
        url = page["next"]
    assert len(seen) == 7 == len(set(seen))


def test_tokens_missing_wrong_revoked(client, session, world):
    user = make_user("admin")
    row, token = create_token(db.session, user, "x")
    db.session.commit()
    assert client.get("/api/v1/kpis").status_code == 401
    wrong = client.get("/api/v1/kpis", headers={"Authorization": "Bearer pgm_nope"})
    assert wrong.status_code == 401 and "error" in wrong.get_json()
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert (
        client.get("/api/v1/kpis", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    from programme.api.tokens import revoke_token

    revoke_token(db.session, row)
    db.session.commit()
    assert (
        client.get("/api/v1/kpis", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )


@pytest.mark.parametrize(
    ("role", "own", "status"),
    [
        ("admin", False, 201),
        ("pilot_team", True, 201),
        ("pilot_team", False, 403),
        ("site_manager", True, 201),
        ("site_manager", False, 403),
        ("coach", False, 403),
        ("executive", False, 403),
        ("diagnostician", False, 403),
    ],
)
def test_write_permissions_per_role(client, session, world, role, own, status):
    user = make_user(role, site_id=world["rennes"].id if role == "site_manager" and own else None)
    if role == "pilot_team" and own:
        assign(user, world["rennes"])
    headers = _bearer(user)
    response = client.post("/api/v1/measurements", json=[item("BRE-001")], headers=headers)
    assert response.status_code == status, response.get_json()
    assert "error" in response.get_json() or status == 201
    assert _count(session, Measurement) == (1 if status == 201 else 0)


def test_site_manager_reads_only_their_perimeter(client, session, world):
    admin_headers = _bearer(make_user("admin"))
    client.post(
        "/api/v1/measurements", json=[item("BRE-001"), item("BRE-002")], headers=admin_headers
    )
    headers = _bearer(make_user("site_manager", site_id=world["rennes"].id))
    items = client.get("/api/v1/measurements", headers=headers).get_json()["items"]
    assert {i["site"] for i in items} == {"BRE-001"}
    assert [s["code"] for s in client.get("/api/v1/sites", headers=headers).get_json()] == [
        "BRE-001"
    ]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"site": "BRE-001"}, 422, "body"),
        ([1, 2], 422, "item"),
        ([item("NOPE")], 422, "site"),
        ([item("BRE-001", value=700)], 422, "value"),
        ([item("BRE-001", "CONV", value=1.2)], 422, "value"),
        ([item("BRE-001", n=0)], 422, "n"),
        ([item("BRE-001", n=1.5)], 422, "n"),
        ([item("BRE-001", day=MONDAY.replace(year=MONDAY.year + 1))], 422, "date"),
        ([{**item("BRE-001"), "date": "tomorrow"}], 422, "date"),
        ([item("BRE-001"), item("BRE-001")], 422, "date"),
    ],
)
def test_bad_measurement_bodies(client, session, world, body, status, field):
    headers = _bearer(make_user("admin"))
    response = client.post("/api/v1/measurements", json=body, headers=headers)
    assert response.status_code == status
    errors = response.get_json()["errors"]
    assert errors and all({"index", "field", "message"} <= set(e) for e in errors)
    assert field in {e["field"] for e in errors}
    assert _count(session, Measurement) == 0


def test_not_json_too_many_and_too_large(app, client, session, world):
    headers = _bearer(make_user("admin"))
    response = client.post(
        "/api/v1/measurements",
        data="{nope",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "error" in response.get_json()
    response = client.post("/api/v1/measurements", json=[item("BRE-001")] * 10_001, headers=headers)
    assert response.status_code == 413
    app.config["API_MAX_BODY_BYTES"] = 200
    try:
        response = client.post("/api/v1/measurements", json=[item("BRE-001")] * 5, headers=headers)
    finally:
        app.config.pop("API_MAX_BODY_BYTES")
    assert response.status_code == 413 and "error" in response.get_json()
    assert _count(session, Measurement) == 0


def test_a_site_city_longer_than_its_column_is_422(client, session, world):
    body = [{"code": "NEW-1", "name": "Agence", "type": "branch", "region": "Normandie",
             "country": "FR", "operator": "internal", "city": "x" * 121}]  # fmt: skip
    response = client.post("/api/v1/sites", json=body, headers=_bearer(make_user("admin")))
    assert response.status_code == 422
    assert response.get_json()["errors"][0] | {"message": None} == {
        "index": 0,
        "field": "city",
        "message": None,
    }
    assert session.scalar(select(Site.id).where(Site.code == "NEW-1")) is None


def test_sites_sync_admin_only_with_per_item_errors(client, session, world):
    admin = _bearer(make_user("admin"))
    body = [
        {"code": "NEW-1", "name": "Agence Neuve", "type": "branch", "region": "Normandie", "country": "FR", "operator": "internal"},
        {"code": "BRE-001", "name": "Agence Rennes Centre", "type": "branch", "region": "Bretagne", "country": "FR", "operator": "internal"},
    ]  # fmt: skip
    response = client.post("/api/v1/sites", json=body, headers=admin)
    assert response.status_code == 201 and response.get_json() == {
        "created": 1,
        "updated": 1,
        "unchanged": 0,
    }
    bad = client.post(
        "/api/v1/sites", json=[{**body[0], "code": "X-2", "type": "castle"}], headers=admin
    )
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["index"] == 0
    assert session.scalar(select(Site.id).where(Site.code == "X-2")) is None
    pilot = _bearer(make_user("pilot_team"))
    assert client.post("/api/v1/sites", json=body, headers=pilot).status_code == 403


def test_the_session_cookie_does_not_open_the_api(client, session, world):
    from tests.factories import login_as

    login_as(client, make_user("admin"))
    assert client.get("/api/v1/kpis").status_code == 401


def test_openapi_document_lists_every_api_route_and_error(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1") :])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)
    post = doc["paths"]["/measurements"]["post"]["responses"]
    assert {"201", "400", "401", "403", "413", "422"} <= set(post)


def test_token_page_shows_the_token_once_and_revokes(client, session, world):
    from tests.factories import login_as

    user = make_user("pilot_team")
    login_as(client, user)
    response = client.post("/account/tokens", data={"name": "qms"})
    assert response.status_code == 201
    token = re.search(r'id="new-token">(pgm_[^<]+)<', response.get_data(as_text=True)).group(1)
    assert (
        client.get("/api/v1/kpis", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    assert token not in client.get("/account/tokens").get_data(as_text=True)
    from programme.api.models import ApiToken

    row = session.scalar(select(ApiToken))
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 302
    assert (
        client.get("/api/v1/kpis", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    other = make_user("pilot_team")
    login_as(client, other)
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 404


def test_create_token_cli_prints_the_token_once(app, session, world):
    make_user("admin", email="robot@example.org")
    result = app.test_cli_runner().invoke(
        args=["create-token", "robot@example.org", "--name", "qms"]
    )
    assert result.exit_code == 0
    token = result.output.strip()
    assert token.startswith("pgm_")
    from programme.api.models import ApiToken

    assert session.scalar(select(ApiToken.token_hash)) != token
    bad = app.test_cli_runner().invoke(args=["create-token", "nobody@example.org"])
    assert bad.exit_code != 0


# --- the contract is enforced (issue 14) ---------------------------------------------------------


@pytest.mark.parametrize(
    "day", ["06/05/2019", "2019-5-6", "20190506", "2019-05-06T00:00:00", 20190506]
)
def test_json_dates_are_yyyy_mm_dd_only(client, session, world, day):
    headers = _bearer(make_user("admin"))
    response = client.post(
        "/api/v1/measurements", json=[{**item("BRE-001"), "date": day}], headers=headers
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"index": 0, "field": "date", "message": "Use a date like 2026-01-31."}
    ]
    assert _count(session, Measurement) == 0


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/pilots/10000000000000000000",
        "/api/v1/pilots/10000000000000000000/results",
        "/api/v1/waves/9223372036854775808",
        "/api/v1/pilots/2147483648",  # beyond PostgreSQL's INTEGER ids
        "/api/v1/pilots/0",
    ],
)
def test_ids_beyond_64_bits_in_paths_are_404(client, session, world, url):
    response = client.get(url, headers=_bearer(make_user("admin")))
    assert response.status_code == 404 and "error" in response.get_json()


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/impact?kpi=WAIT&package=1177928437073035828763", "package"),
        ("/api/v1/impact?kpi=WAIT&package=2147483648", "package"),
        ("/api/v1/measurements?after=99999999999999999999", "after"),
        ("/api/v1/measurements?limit=-1", "limit"),
        ("/api/v1/measurements?to=", "to"),
        ("/api/v1/measurements?from=", "from"),
        ("/api/v1/measurements?site=", "site"),
        ("/api/v1/measurements?kpi=", "kpi"),
        ("/api/v1/measurements?limit=", "limit"),
        ("/api/v1/measurements?from=06/05/2019", "from"),
        ("/api/v1/impact?kpi=", "kpi"),
        ("/api/v1/impact?kpi=WAIT&window_weeks=", "window_weeks"),
    ],
)
def test_bad_or_empty_query_values_are_422(client, session, world, url, field):
    response = client.get(url, headers=_bearer(make_user("admin")))
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert [e["field"] for e in errors] == [field] and all(e["message"] for e in errors)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([item("BRE-001", n=10**20)], "n"),
        ([item("BRE-001", n=2**31)], "n"),
        ([item("BRE-001", value=True)], "value"),
        ([item("BRE-001", value="7.5")], "value"),
        ([{**item("BRE-001"), "site": "BRE\x00001"}], "site"),
    ],
)
def test_out_of_range_and_mistyped_body_values_are_422(client, session, world, body, field):
    response = client.post("/api/v1/measurements", json=body, headers=_bearer(make_user("admin")))
    assert response.status_code == 422
    assert [(e["index"], e["field"]) for e in response.get_json()["errors"]] == [(0, field)]
    assert _count(session, Measurement) == 0


def test_a_wave_package_beyond_64_bits_is_422(client, session, world):
    body = {"name": "V", "package": 10**20, "start": "2025-01-06", "go_live": "2025-03-03"}
    response = client.post("/api/v1/waves", json=body, headers=_bearer(make_user("admin")))
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"package"}


def test_a_body_that_is_not_json_is_415(client, session, world):
    import json

    headers = _bearer(make_user("admin"))
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        response = client.post(
            "/api/v1/measurements",
            data=json.dumps([item("BRE-001")]),
            headers={**headers, **({"Content-Type": content_type} if content_type else {})},
        )
        assert response.status_code == 415, content_type
        assert "JSON" in response.get_json()["error"]
    assert _count(session, Measurement) == 0


@pytest.mark.parametrize("depth", [21, 500, 5_000, 100_000])
def test_nesting_deeper_than_20_levels_is_400(client, session, world, depth):
    body = "[" * depth + "]" * depth
    response = client.post(
        "/api/v1/measurements",
        data=body,
        headers={**_bearer(make_user("admin")), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "20" in response.get_json()["error"]


def test_twenty_levels_are_allowed(client, session, world):
    nested: object = "x"
    for _level in range(18):
        nested = [nested]
    body = [{**item("BRE-001"), "extra": nested}]  # item (2) + 18 lists = 20 levels
    response = client.post("/api/v1/measurements", json=body, headers=_bearer(make_user("admin")))
    assert response.status_code == 201, response.get_json()


def test_a_chunked_body_over_the_limit_is_413(app, client, session, world):
    import io
    import json

    headers = _bearer(make_user("admin"))
    data = json.dumps([item("BRE-001")] * 5).encode()
    app.config["API_MAX_BODY_BYTES"] = 200
    try:
        response = client.post(
            "/api/v1/measurements",
            input_stream=io.BytesIO(data),
            # what gunicorn and the dev server set for a chunked body they de-chunk
            environ_overrides={"wsgi.input_terminated": True},
            headers={
                **headers,
                "Content-Type": "application/json",
                "Transfer-Encoding": "chunked",
            },
        )
    finally:
        app.config.pop("API_MAX_BODY_BYTES")
    assert response.status_code == 413 and "error" in response.get_json()
    assert _count(session, Measurement) == 0


def test_a_wrong_method_is_405_with_allow(client, session, world):
    response = client.delete("/api/v1/pilots/1", headers=_bearer(make_user("admin")))
    assert response.status_code == 405 and "error" in response.get_json()
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_the_document_lists_the_shared_statuses_of_every_route(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert "429" in statuses, (method, path)
            if path != "/openapi.json":
                assert "401" in statuses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            if any(p["in"] == "query" for p in operation.get("parameters", [])):
                assert "422" in statuses, (method, path)
    body = doc["paths"]["/measurements"]["post"]["requestBody"]["content"]["application/json"]
    item_schema = doc["components"]["schemas"][body["schema"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert item_schema["properties"]["date"]["format"] == "date"
    assert body["schema"]["maxItems"] == 10_000


def test_last_used_is_recorded_at_most_once_a_minute(client, session, world):
    """'Last used' is shown to the minute: an integration calling all the time does not
    write the token row on every call."""
    from datetime import timedelta

    from sqlalchemy import update

    from programme.api.models import ApiToken
    from programme.database import utcnow

    headers = _bearer(make_user("admin"))
    assert client.get("/api/v1/kpis", headers=headers).status_code == 200
    session.expire_all()
    first = session.scalar(select(ApiToken.last_used_at))
    assert first is not None
    assert client.get("/api/v1/kpis", headers=headers).status_code == 200
    session.expire_all()
    assert session.scalar(select(ApiToken.last_used_at)) == first  # not written again
    session.execute(update(ApiToken).values(last_used_at=utcnow() - timedelta(minutes=2)))
    session.commit()
    assert client.get("/api/v1/kpis", headers=headers).status_code == 200
    session.expire_all()
    again = session.scalar(select(ApiToken.last_used_at))
    again = again if again.tzinfo else again.replace(tzinfo=utcnow().tzinfo)
    assert utcnow() - again < timedelta(seconds=30)  # a minute later: recorded
