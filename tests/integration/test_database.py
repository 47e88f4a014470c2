"""The schema comes from the migrations, and they agree with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from programme.database import SQLITE_PRAGMAS
from programme.extensions import db


def test_migrations_match_the_models(app):
    """`upgrade` from empty ran at session start; autogenerate must find nothing to do."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_upgrade_created_every_table(app):
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"region", "site", "person", "user", "audit_event", "alembic_version"} <= tables


def test_downgrade_to_base_and_upgrade_again(app, database_url, tmp_path):
    """The whole chain runs both ways on a separate database of the same kind."""
    from flask_migrate import downgrade, upgrade

    from programme import create_app

    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
        other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
        with other.app_context():
            upgrade()
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            upgrade()
            assert "site" in inspect(db.engine).get_table_names()
            db.engine.dispose()
    else:
        # PostgreSQL: a throwaway schema in the same database.
        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS migration_roundtrip CASCADE"))
            conn.execute(text("CREATE SCHEMA migration_roundtrip"))
        try:
            url = engine.url.update_query_dict({"options": "-csearch_path=migration_roundtrip"})
            other = create_app(
                {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url.render_as_string(False)}
            )
            with other.app_context():
                upgrade()
                names = set(inspect(db.engine).get_table_names(schema="migration_roundtrip"))
                assert "site" in names
                downgrade(revision="base")
                names = set(inspect(db.engine).get_table_names(schema="migration_roundtrip"))
                assert names <= {"alembic_version"}
                upgrade()
                db.engine.dispose()
        finally:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS migration_roundtrip CASCADE"))
            engine.dispose()


def test_sqlite_connections_get_the_pragmas(app, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with engine.connect() as conn:
        values = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in SQLITE_PRAGMAS}
    engine.dispose()
    assert str(values["journal_mode"]).lower() == "wal"
    assert values["busy_timeout"] == 5000
    assert values["foreign_keys"] == 1
    assert values["synchronous"] == 1  # NORMAL


def test_embedded_default_is_a_sqlite_file_under_instance(monkeypatch):
    from programme.config import INSTANCE, database_url

    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url() == f"sqlite:///{INSTANCE / 'programme.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert database_url() == "postgresql+psycopg://u@h/db"


def _locked_engine(tmp_path):
    """An engine on a fresh file, its connections waiting only 100 ms for a lock, and a
    second driver connection to hold the write lock."""
    import sqlite3

    path = tmp_path / "locks.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE item (x INTEGER)")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    return engine, holder


def _insert_immediate(engine) -> None:
    from programme.database import sqlite_begin

    with engine.connect() as conn:
        conn.connection.driver_connection.execute("PRAGMA busy_timeout=100")
        with sqlite_begin("IMMEDIATE"), conn.begin():
            conn.exec_driver_sql("INSERT INTO item VALUES (1)")


def test_a_writer_waits_for_the_lock_longer_than_one_busy_timeout(tmp_path):
    """BEGIN IMMEDIATE is tried again when the lock is still held after the busy timeout
    (here 100 ms, 3 attempts): a writer released after 150 ms gets through."""
    import threading
    import time

    engine, holder = _locked_engine(tmp_path)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.15, lambda: holder.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    _insert_immediate(engine)
    release.join()
    assert time.monotonic() - started >= 0.1  # it did wait for the holder
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM item").scalar() == 1
    holder.close()
    engine.dispose()


def test_a_writer_gives_up_when_the_lock_is_never_released(tmp_path):
    import pytest
    from sqlalchemy.exc import OperationalError

    engine, holder = _locked_engine(tmp_path)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError, match="database is locked"):
        _insert_immediate(engine)
    holder.execute("ROLLBACK")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM item").scalar() == 0
    holder.close()
    engine.dispose()


def test_writes_in_a_post_begin_immediate_and_pages_do_not(app):
    from programme.database import sqlite_begin_mode

    with app.test_request_context("/sites", method="POST"):
        assert sqlite_begin_mode() == "IMMEDIATE"
    with app.test_request_context("/sites", method="GET"):
        assert sqlite_begin_mode() == "DEFERRED"
    with app.app_context():
        assert sqlite_begin_mode() == "DEFERRED"  # CLI, jobs
