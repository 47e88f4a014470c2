"""The API's body limits through a real HTTP server (werkzeug's threaded dev server, which
de-chunks bodies like gunicorn): a chunked body over the limit is 413, not 400."""

from __future__ import annotations

import http.client
import json
import threading

import pytest
from werkzeug.serving import make_server

from programme.api.tokens import create_token
from programme.extensions import db
from tests.factories import make_region, make_site, make_user
from tests.kpi_factories import default_kpis, item


@pytest.fixture
def server(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def token(app):
    with app.app_context():
        default_kpis()
        make_site("BRE-001", make_region("Bretagne"))
        _row, value = create_token(db.session, make_user("admin"), "http")
        db.session.commit()
        db.session.remove()
    return value


def _post_chunked(port: int, token: str, body: bytes, chunk: int = 64 * 1024):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.putrequest("POST", "/api/v1/measurements")
    connection.putheader("Authorization", f"Bearer {token}")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    try:
        for start in range(0, len(body), chunk):
            part = body[start : start + chunk]
            connection.send(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        connection.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may answer 413 and close before reading everything
    response = connection.getresponse()
    status, data = response.status, json.loads(response.read())
    connection.close()
    return status, data


def test_a_chunked_body_over_5_mb_is_413_and_a_small_one_is_read(app, server, token):
    big = json.dumps([item("BRE-001")] * 70_000).encode()  # ≈ 5.7 MB
    assert len(big) > 5 * 1024 * 1024
    status, data = _post_chunked(server, token, big)
    assert status == 413 and "error" in data
    status, data = _post_chunked(server, token, json.dumps([item("BRE-001")]).encode())
    assert status == 201 and data == {"created": 1, "unchanged": 0, "corrected": 0}
