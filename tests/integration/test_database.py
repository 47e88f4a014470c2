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
