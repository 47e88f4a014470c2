"""Web workers in one test: each `worker_app` call is a `create_app` as a gunicorn worker
would make it, sharing the test database and (with `redis_url`) a Redis database."""

from __future__ import annotations

from programme import create_app
from tests.web.helpers import IsolatedClient

UNREACHABLE = "redis://127.0.0.1:1/0"


def redis_up(url: str) -> bool:
    try:
        from redis import Redis

        return bool(Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except Exception:  # noqa: BLE001
        return False


def worker_app(database_url: str, redis_url: str | None, **config):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "SERVER_NAME": None,
            "REDIS_URL": redis_url,
            **config,
        }
    )
    app.test_client_class = IsolatedClient
    return app
