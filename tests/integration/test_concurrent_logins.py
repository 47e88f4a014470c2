"""Simultaneous correct logins to one account, on a real threaded server: no 500, and none
of them counts towards the throttling of the account."""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from werkzeug.serving import make_server

from programme.auth.models import User
from tests.factories import PASSWORD, make_user

LOGINS = 6


@pytest.fixture
def server(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()
    thread.join()


@dataclass
class Reply:
    status_code: int
    location: str
    cookie: str


def _request(port: int, method: str, path: str, body: str = "", cookie: str = "") -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Accept-Language": "en", "Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = cookie
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        sent = "; ".join(f"{k}={m.value}" for k, m in jar.items())
        return Reply(response.status, response.headers.get("Location", ""), sent)
    finally:
        connection.close()


def _login(port: int, email: str, password: str = PASSWORD) -> Reply:
    return _request(port, "POST", "/login", urlencode({"email": email, "password": password}))


def test_simultaneous_correct_logins_all_succeed(server, session):
    user = make_user("executive", email="busy@example.org")
    version = user.version
    barrier = threading.Barrier(LOGINS)
    results: list[Reply | BaseException] = []

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

    statuses = [r.status_code if isinstance(r, Reply) else repr(r) for r in results]
    assert statuses == [302] * LOGINS
    assert all(r.location.endswith("/") for r in results)
    # every browser is logged in
    for reply in results:
        assert _request(server, "GET", "/account", cookie=reply.cookie).status_code == 200

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
