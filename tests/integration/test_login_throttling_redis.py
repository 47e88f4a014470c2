"""With REDIS_URL set, login throttling is shared by every worker process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid

WORKER = textwrap.dedent(
    """
    import json, os, sys
    from programme import create_app
    app = create_app({
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": os.environ["WORKER_DB"],
        "RATELIMIT_KEY_PREFIX": os.environ["WORKER_PREFIX"],
    })
    client = app.test_client()
    codes = []
    for _ in range(int(sys.argv[1])):
        r = client.post("/login", data={"email": "target@example.org", "password": "wrong-guess-1"})
        codes.append(r.status_code)
    print(json.dumps(codes))
    """
)


def _worker(attempts: int, env: dict) -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, str(attempts)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_two_workers_share_the_failed_login_count(app, database_url):
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": "redis://127.0.0.1:6379/15",
            "WORKER_DB": database_url,
            "WORKER_PREFIX": f"programme-test-{uuid.uuid4().hex}",
            "LOGIN_LIMIT_PER_ACCOUNT": "5 per 5 minutes",
            "LOGIN_LIMIT_PER_IP": "100 per 5 minutes",
        }
    )
    first = _worker(3, env)  # worker 1: three failures
    second = _worker(3, env)  # worker 2: two more failures, then throttled
    assert first == [401, 401, 401]
    assert second == [401, 401, 429]
