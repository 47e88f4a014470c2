"""Operations: /healthz and /readyz, one JSON log line per request and per job with its
request id, and PROXY_HOPS (docs/deploy.md)."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import event

from programme import create_app
from programme.extensions import db
from programme.jobs import services as jobs
from programme.observability import JOB_LOGGER, REQUEST_LOGGER, json_formatter
from tests.factories import login_as, make_user

REDIS_OK = "redis://127.0.0.1:6379/11"
REDIS_DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def redis_url(app):
    saved = app.config.get("REDIS_URL")
    yield lambda url: app.config.update(REDIS_URL=url)
    app.config["REDIS_URL"] = saved


def _lines(caplog, logger: str) -> list[dict]:
    """The records of `logger` as the JSON lines the handler writes."""
    formatter = json_formatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == logger]


# --- /healthz and /readyz ---------------------------------------------------------------


def test_healthz_answers_without_touching_the_database(app, client):
    statements = []

    def count(*args):
        statements.append(args[2])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/healthz")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert statements == []


def test_readyz_is_ready_without_redis_configured(client, redis_url):
    redis_url(None)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": True,
        "migrations": True,
        "redis": None,
        "failed": [],
    }


def test_readyz_checks_redis_when_configured(client, redis_url):
    redis_url(REDIS_OK)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["redis"] is True


def test_readyz_says_503_when_redis_is_unreachable(client, redis_url):
    redis_url(REDIS_DOWN)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert (body["redis"], body["database"], body["migrations"]) == (False, True, True)
    assert body["failed"] == ["redis"]


def test_readyz_says_503_when_the_schema_is_behind_the_migrations(client, monkeypatch):
    from programme.web import health

    monkeypatch.setattr(health, "migration_heads", lambda: frozenset({"ffffffffffff"}))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failed"] == ["migrations"]


def test_readyz_says_503_when_the_database_is_unreachable(app, client, monkeypatch):
    from programme.web import health

    def unreachable(_app):
        return False, None

    monkeypatch.setattr(health, "_database", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failed"] == ["database"]


def test_health_checks_need_no_login_even_for_a_logged_in_user(client, session):
    login_as(client, make_user("coach"))
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


# --- request and job logs ----------------------------------------------------------------


def test_one_json_line_per_request_with_a_new_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger=REQUEST_LOGGER)
    response = client.get("/login")
    lines = _lines(caplog, REQUEST_LOGGER)
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert len(line["request_id"]) == 32
    assert (line["method"], line["route"], line["path"], line["status"]) == (
        "GET",
        "/login",
        "/login",
        200,
    )
    assert line["user_id"] is None
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["time"]


def test_the_incoming_request_id_is_kept_and_echoed(client, caplog):
    caplog.set_level(logging.INFO, logger=REQUEST_LOGGER)
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a-0001"})
    assert response.headers["X-Request-ID"] == "lb-7f3a-0001"
    assert [line["request_id"] for line in _lines(caplog, REQUEST_LOGGER)] == ["lb-7f3a-0001"]


def test_a_malformed_request_id_is_replaced(client, caplog):
    caplog.set_level(logging.INFO, logger=REQUEST_LOGGER)
    response = client.get("/healthz", headers={"X-Request-ID": 'x" injected\tvalue'})
    rid = response.headers["X-Request-ID"]
    assert rid != 'x" injected\tvalue' and len(rid) == 32
    assert _lines(caplog, REQUEST_LOGGER)[0]["request_id"] == rid


def test_the_line_names_the_user_the_route_and_the_status(client, session, caplog):
    user = make_user("admin")
    login_as(client, user)
    caplog.set_level(logging.INFO, logger=REQUEST_LOGGER)
    client.get("/sites")
    client.get("/sites/999999")
    lines = _lines(caplog, REQUEST_LOGGER)
    assert [(line["user_id"], line["status"]) for line in lines] == [(user.id, 200), (user.id, 404)]
    assert lines[1]["route"] == "/sites/<int:site_id>" and lines[1]["path"] == "/sites/999999"


def test_an_api_request_names_the_token_user(client, session, caplog):
    from programme.api.tokens import create_token

    user = make_user("admin")
    _row, token = create_token(db.session, user, "qms")
    db.session.commit()
    caplog.set_level(logging.INFO, logger=REQUEST_LOGGER)
    client.get("/api/v1/kpis", headers={"Authorization": f"Bearer {token}"})
    client.get("/api/v1/kpis")
    lines = _lines(caplog, REQUEST_LOGGER)
    assert [(line["user_id"], line["status"]) for line in lines] == [(user.id, 200), (None, 401)]


def counting_job(session, params, progress):
    progress(50, None)
    if params.get("fail"):
        raise jobs.JobError("the file vanished")
    return {"ok": True}


@pytest.mark.parametrize("fail, status", [(False, "done"), (True, "failed")])
def test_one_json_line_per_job(app, session, monkeypatch, caplog, fail, status):
    monkeypatch.setitem(jobs.JOB_KINDS, "count", f"{__name__}:counting_job")
    monkeypatch.setitem(app.config, "JOB_RUNNER", "inline")
    job = jobs.create_job(session, "count", {"fail": fail}, user_id=None)
    session.commit()
    caplog.set_level(logging.INFO, logger=JOB_LOGGER)
    jobs.start(job.id)
    lines = _lines(caplog, JOB_LOGGER)
    assert len(lines) == 1
    assert (lines[0]["job_id"], lines[0]["kind"], lines[0]["status"]) == (job.id, "count", status)
    assert lines[0]["duration_ms"] >= 0


# --- PROXY_HOPS --------------------------------------------------------------------------


def _peer(app, caplog, **headers) -> str:
    caplog.clear()
    caplog.set_level(logging.INFO, logger=REQUEST_LOGGER)
    app.test_client().get("/healthz", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    return _lines(caplog, REQUEST_LOGGER)[0]["remote_addr"]


def test_proxy_hops_makes_the_forwarded_client_the_remote_address(database_url, caplog):
    settings = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_STORAGE_URI": "memory://",  # the limiter is shared with the test app
    }
    direct = create_app(settings)
    behind_proxy = create_app({**settings, "PROXY_HOPS": 1})
    forwarded = {"X-Forwarded-For": "198.51.100.4, 203.0.113.9"}
    # No proxy configured: a client cannot choose its address by sending the header.
    assert _peer(direct, caplog, **forwarded) == "10.0.0.2"
    # One proxy: the address it appended (the last one) is the client.
    assert _peer(behind_proxy, caplog, **forwarded) == "203.0.113.9"
    assert _peer(behind_proxy, caplog) == "10.0.0.2"


# --- database unavailable ----------------------------------------------------------------


def _locked(*_args, **_kwargs):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    raise OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


def test_a_locked_database_answers_503_to_try_again_not_500(client, session, monkeypatch):
    from programme.api import tokens

    monkeypatch.setattr(tokens, "user_for_token", _locked)
    response = client.post(
        "/api/v1/measurements",
        json=[],
        headers={"Authorization": "Bearer whatever", "Accept-Language": "fr"},
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.get_json() == {
        "error": "La base de données est occupée ou indisponible. Réessayez dans un instant."
    }


def test_a_page_says_the_database_is_busy_in_the_users_language(client, session, monkeypatch):
    from programme.network import queries

    login_as(client, make_user("admin", language="en"))
    monkeypatch.setattr(queries, "network_summary", _locked)
    response = client.get("/")
    assert response.status_code == 503
    assert "The database is busy or unavailable. Try again in a moment." in response.text


def test_a_sqlite_error_that_is_a_bug_stays_a_500(client, session, monkeypatch, database_url):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from programme.network import queries

    def bug(*_args, **_kwargs):
        raise OperationalError("SELECT nope", {}, sqlite3.OperationalError("no such column: nope"))

    login_as(client, make_user("admin", language="en"))
    monkeypatch.setattr(queries, "network_summary", bug)
    response = client.get("/")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers


def test_the_log_line_never_reloads_the_user_from_the_database(app, session):
    """A request rolled back while the database went down: its user is expired, and the
    log line must not load it again (that turned the 503 into a 500 during a PostgreSQL
    restart)."""
    from flask import g

    from programme.observability import _user_id

    user = make_user("admin")
    user_id = user.id
    session.commit()  # every attribute expired
    statements = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        with app.test_request_context("/api/v1/kpis"):
            g.api_user = user
            assert _user_id() == user_id
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert statements == []
