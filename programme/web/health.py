"""Liveness and readiness, for load balancers and orchestrators (docs/deploy.md).

`alive()` needs nothing; `readiness()` checks what a request needs: the database answers,
its schema is at the migrations' head, and Redis answers when REDIS_URL is set."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from flask import Flask

from programme.config import ROOT

log = logging.getLogger(__name__)


@cache
def migration_heads(directory: str = str(ROOT / "migrations")) -> frozenset[str]:
    """The head revisions of the migration scripts (read once per process)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(directory)))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def _database(app: Flask) -> tuple[bool, bool | None]:
    """(database reachable, schema at head); the second is None when unknown."""
    from alembic.migration import MigrationContext

    from programme.extensions import db

    try:
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as error:  # any driver error means "not reachable" here
        log.warning("readiness: database check failed: %s", error)
        return False, None
    return True, current == set(migration_heads())


def _redis(url: str) -> bool:
    from redis import Redis

    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except Exception as error:  # connection refused, timeout, auth, ...
        log.warning("readiness: Redis check failed: %s", error)
        return False
    finally:
        client.close()


def readiness(app: Flask) -> dict:
    """{"status": "ok" | "unavailable", "database": bool, "migrations": bool | None,
    "redis": bool | None (None: REDIS_URL not set), "failed": [names]}."""
    database, migrations = _database(app)
    url = app.config.get("REDIS_URL")
    redis = _redis(url) if url else None
    checks = {"database": database, "migrations": migrations, "redis": redis}
    failed = [name for name, ok in checks.items() if ok is False]
    return {"status": "unavailable" if failed else "ok", **checks, "failed": failed}
