"""Shared fixtures: one app and one schema for the whole run, a clean database per test.

The suite runs on a throwaway SQLite file by default, and on PostgreSQL when
TEST_DATABASE_URL is set (CI does both). The schema is built by the Alembic migrations,
so every test also exercises them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")

from programme import create_app  # noqa: E402
from programme.extensions import db as _db  # noqa: E402
from programme.extensions import limiter  # noqa: E402


def _database_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    folder = Path(tempfile.mkdtemp(prefix="programme-tests-"))
    return f"sqlite:///{folder / 'test.db'}"


@pytest.fixture(scope="session")
def database_url() -> str:
    return _database_url()


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,  # the csrf_on fixture turns it back on
            "RATELIMIT_STORAGE_URI": "memory://",
            "SERVER_NAME": None,
            "IMPACT_REFRESH": "inline",  # deterministic: no background refresh
        }
    )
    from flask_migrate import upgrade

    from tests.web.helpers import IsolatedClient

    # Each request in its own application context, as in production (see tests/web/conftest.py).
    app.test_client_class = IsolatedClient

    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()


def _clean(app) -> None:
    with app.app_context():
        tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
        with _db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # DELETE, children first, then every sequence back to 1: what TRUNCATE ...
                # RESTART IDENTITY does, without creating and unlinking a file per table
                # and index on every test (≈ 0.4 s a test on this machine's disk).
                conn.exec_driver_sql("; ".join(f'DELETE FROM "{name}"' for name in tables))
                conn.exec_driver_sql(
                    "SELECT setval(c.oid, 1, false) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
                )
            else:
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                for name in tables:
                    conn.exec_driver_sql(f'DELETE FROM "{name}"')
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")


@pytest.fixture(autouse=True)
def clean_database(request, app):
    """Every test starts from an empty database and fresh login throttling counters."""
    _clean(app)
    limiter.reset()
    yield


@pytest.fixture
def session(app):
    """The application's SQLAlchemy session, inside an app context."""
    with app.app_context():
        yield _db.session
        _db.session.rollback()
        _db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False
