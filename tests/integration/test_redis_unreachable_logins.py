"""With REDIS_URL pointing at a server that does not answer, logging in still works: the
throttling falls back to this process's memory and says so in the log, once a minute."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

from programme.extensions import LimiterWarnings
from tests.factories import PASSWORD, make_user

WORKER = textwrap.dedent(
    """
    import json, logging, os
    from programme import create_app

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append([record.name, record.levelname, record.getMessage()])

    logging.getLogger().addHandler(Keep())
    app = create_app({
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": os.environ["WORKER_DB"],
    })
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:1/0"

    def login(email, password):
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": password})
        account = client.get("/account").status_code if response.status_code == 302 else None
        return [response.status_code, account]

    results = {
        "right": login("target@example.org", os.environ["RIGHT"]),
        "wrong": [login("target@example.org", "wrong-guess-1")[0] for _ in range(6)],
        "right_after": login("target@example.org", os.environ["RIGHT"])[0],
        "other": login("other@example.org", os.environ["RIGHT"]),
    }
    print(json.dumps({"results": results, "records": records}))
    """
)


def test_login_works_and_is_throttled_in_memory_when_redis_is_unreachable(app, database_url):
    with app.app_context():
        make_user("coach", email="target@example.org")
        make_user("coach", email="other@example.org")
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "WORKER_DB": database_url,
            "RIGHT": PASSWORD,
            "LOGIN_LIMIT_PER_ACCOUNT": "5 per 5 minutes",
            "LOGIN_LIMIT_PER_IP": "100 per 5 minutes",
        }
    )
    out = subprocess.run(
        [sys.executable, "-c", WORKER], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    results = report["results"]

    assert results["right"] == [302, 200]  # logged in, and the session works
    assert results["wrong"] == [401, 401, 401, 401, 401, 429]  # still throttled, in memory
    assert results["right_after"] == 429  # the throttled account stays throttled
    assert results["other"] == [302, 200]

    warnings = [r for r in report["records"] if r[1] in {"WARNING", "ERROR"}]
    assert len(warnings) == 1, warnings  # once, however many requests met the dead storage
    name, _level, message = warnings[0]
    assert name == "programme.ratelimit"
    assert "Rate limit storage unreachable" in message
    assert "500" not in json.dumps(results)


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_limiter_warnings_are_logged_at_most_once_a_minute(caplog):
    clock = _Clock()
    source = logging.getLogger("tests.fake-limiter")
    source.addFilter(filter_ := LimiterWarnings(60.0, clock=clock))
    try:
        with caplog.at_level(logging.INFO):
            source.warning("Rate limit storage unreachable - falling back to in-memory storage")
            clock.now += 30
            source.warning("Rate limit storage unreachable - falling back to in-memory storage")
            source.info("Rate limit storage recovered")  # information is not throttled
            clock.now += 31
            source.warning("Rate limit storage unreachable - falling back to in-memory storage")
    finally:
        source.removeFilter(filter_)
    ours = [r for r in caplog.records if r.name == "programme.ratelimit"]
    assert len(ours) == 2
    assert all(r.levelno == logging.WARNING for r in ours)
    assert not [r for r in caplog.records if r.name == "tests.fake-limiter" and r.levelno >= 30]
    assert [r.getMessage() for r in caplog.records if r.name == "tests.fake-limiter"] == [
        "Rate limit storage recovered"
    ]


API_WORKER = textwrap.dedent(
    """
    import json, os
    from programme import create_app

    app = create_app({
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": os.environ["WORKER_DB"],
        "IMPACT_REFRESH": "thread",  # as in production: a write schedules a refresh
    })
    assert app.config["REDIS_URL"] == "redis://127.0.0.1:1/0"
    client = app.test_client()
    auth = {"Authorization": "Bearer " + os.environ["TOKEN"]}
    rows = [
        {"site": "RD-001", "kpi": "WAIT", "date": "2026-01-%02d" % day, "value": 7.5, "n": 40}
        for day in range(1, 11)
    ]
    written = client.post("/api/v1/measurements", json=rows, headers=auth)
    again = client.post("/api/v1/measurements", json=rows, headers=auth)
    read = client.get("/api/v1/measurements?site=RD-001&kpi=WAIT", headers=auth)
    ready = client.get("/readyz")
    print(json.dumps({
        "written": [written.status_code, written.get_json()],
        "again": [again.status_code, again.get_json()],
        "read": [read.status_code, len((read.get_json() or {}).get("items", []))],
        "ready": [ready.status_code, ready.get_json()],
    }))
    """
)


def test_api_writes_and_reads_work_when_redis_is_unreachable(app, database_url):
    """The API's rate limit, the report caches and the refresh after a write all use
    Redis when configured: with Redis down the API still writes and reads, and /readyz
    says what is down."""
    from programme.api.tokens import create_token
    from programme.extensions import db
    from tests.factories import make_site
    from tests.kpi_factories import default_kpis

    with app.app_context():
        default_kpis()
        make_site("RD-001")
        _row, secret = create_token(db.session, make_user("admin"), "redis-down")
        db.session.commit()
    env = dict(os.environ)
    env.update({"REDIS_URL": "redis://127.0.0.1:1/0", "WORKER_DB": database_url, "TOKEN": secret})
    out = subprocess.run(
        [sys.executable, "-c", API_WORKER], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["written"] == [201, {"created": 10, "unchanged": 0, "corrected": 0}]
    assert report["again"] == [201, {"created": 0, "unchanged": 10, "corrected": 0}]
    assert report["read"] == [200, 10]
    assert report["ready"][0] == 503
    assert report["ready"][1]["failed"] == ["redis"]
