"""With REDIS_URL set, a token's API budget is shared by every worker process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid

from programme.api.tokens import create_token
from programme.extensions import db
from tests.factories import make_user

WORKER = textwrap.dedent(
    """
    import json, os, sys
    from programme import create_app
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": os.environ["WORKER_DB"],
        "RATELIMIT_KEY_PREFIX": os.environ["WORKER_PREFIX"],
    })
    client = app.test_client()
    headers = {"Authorization": "Bearer " + os.environ["WORKER_TOKEN"]}
    codes = []
    for _ in range(int(sys.argv[1])):
        r = client.get("/api/v1/kpis", headers=headers)
        codes.append([r.status_code, r.headers.get("Retry-After")])
    print(json.dumps(codes))
    """
)


def _worker(calls: int, env: dict) -> list:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, str(calls)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_two_workers_share_a_tokens_budget(app, database_url):
    with app.app_context():
        _row, token = create_token(db.session, make_user("admin"), "shared")
        db.session.commit()
        db.session.remove()
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": "redis://127.0.0.1:6379/10",
            "WORKER_DB": database_url,
            "WORKER_PREFIX": f"programme-test-{uuid.uuid4().hex}",
            "WORKER_TOKEN": token,
            "API_RATE_LIMIT": "4 per minute",
        }
    )
    first = _worker(3, env)
    second = _worker(2, env)
    assert [code for code, _retry in first] == [200, 200, 200]
    assert [code for code, _retry in second] == [200, 429]
    assert int(second[1][1]) >= 1
