"""Simultaneous correct logins to one account, on a real threaded server: no 500, and none
of them counts towards the throttling of the account."""

from __future__ import annotations

import threading

import pytest
import requests
from werkzeug.serving import make_server

from programme.auth.models import User
from tests.factories import PASSWORD, make_user

LOGINS = 6


@pytest.fixture
def server(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


def _login(base: str, email: str, password: str = PASSWORD) -> requests.Response:
    return requests.post(
        f"{base}/login",
        data={"email": email, "password": password},
        headers={"Accept-Language": "en"},
        allow_redirects=False,
        timeout=60,
    )


def test_simultaneous_correct_logins_all_succeed(server, session):
    user = make_user("executive", email="busy@example.org")
    version = user.version
    barrier = threading.Barrier(LOGINS)
    results: list[requests.Response | BaseException] = []

    def one_login():
        barrier.wait()
        try:
            results.append(_login(server, user.email))
        except BaseException as error:  # reported below, not swallowed
            results.append(error)

    threads = [threading.Thread(target=one_login) for _ in range(LOGINS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = [r.status_code if isinstance(r, requests.Response) else repr(r) for r in results]
    assert statuses == [302] * LOGINS
    assert all(r.headers["Location"].endswith("/") for r in results)
    # every browser is logged in
    for response in results:
        home = requests.get(f"{server}/account", cookies=response.cookies, allow_redirects=False)
        assert home.status_code == 200

    # none of them counted as a failure: the account is not throttled afterwards
    after = _login(server, user.email)
    assert after.status_code == 302

    session.expire_all()
    stored = session.get(User, user.id)
    assert stored.last_login_at is not None
    assert stored.version == version  # a login is not an edit of the account


def test_failures_still_count_after_concurrent_successes(app, server, session):
    user = make_user("executive", email="target@example.org")
    limit = int(app.config["LOGIN_LIMIT_PER_ACCOUNT"].split()[0])
    for _ in range(3):
        assert _login(server, user.email).status_code == 302
    for _ in range(limit):
        assert _login(server, user.email, "wrong-guess-1").status_code == 401
    assert _login(server, user.email).status_code == 429
