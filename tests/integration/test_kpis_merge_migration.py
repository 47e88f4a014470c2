"""The migration to one value per site, KPI and date merges the duplicates of the old key
(site, KPI, date, source): the newest value stays, the others become its history in the
order they were entered, and the weekly rollups count one value per key again."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from programme.extensions import db

MIGRATION = "d4f81b2c9e37"
BEFORE = f"{MIGRATION}-1"


@contextmanager
def _scratch_app(database_url, tmp_path):
    """An app on an empty database of the same kind as the suite's."""
    from programme import create_app

    if database_url.startswith("sqlite"):
        other = create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'merge.db'}"}
        )
        with other.app_context():
            yield other
            db.engine.dispose()
        return
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS merge_migration CASCADE"))
        conn.execute(text("CREATE SCHEMA merge_migration"))
    try:
        url = engine.url.update_query_dict({"options": "-csearch_path=merge_migration"})
        other = create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url.render_as_string(False)}
        )
        with other.app_context():
            yield other
            db.engine.dispose()
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS merge_migration CASCADE"))
        engine.dispose()


def _insert_measurement(conn, mid, site, kpi, day, source, value, n, at, revision=1):
    conn.execute(
        text(
            "INSERT INTO measurement (id, site_id, kpi_id, period_date, source, value, n, "
            "revision, entered_by_id, entered_by, entered_at) VALUES "
            "(:id, :site, :kpi, :day, :source, :value, :n, :revision, NULL, :who, :at)"
        ),
        {
            "id": mid,
            "site": site,
            "kpi": kpi,
            "day": day,
            "source": source,
            "value": value,
            "n": n,
            "revision": revision,
            "who": f"{source}-person",
            "at": at,
        },
    )


def test_duplicates_are_merged_into_one_value_with_its_history(app, database_url, tmp_path):
    from flask_migrate import downgrade, upgrade

    with _scratch_app(database_url, tmp_path):
        upgrade()
        downgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO region (id, name, created_at, updated_at) "
                    "VALUES (1, 'Nord', '2026-01-01', '2026-01-01')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO site (id, code, name, type, region_id, country, time_zone, "
                    "operator, channel_in_person, channel_phone, channel_digital, version, "
                    "created_at, updated_at) "
                    "VALUES (1, 'LIL-001', 'Lille', 'branch', 1, 'FR', 'Europe/Paris', "
                    "'internal', true, false, false, 1, '2026-01-01', '2026-01-01')"
                )
            )
            kpi = conn.execute(text("SELECT id FROM kpi WHERE code = 'WAIT'")).scalar()
            if kpi is None:
                kpi = 1
                conn.execute(
                    text(
                        "INSERT INTO kpi (id, code, name_en, name_fr, unit, kind, better, "
                        "min_value, max_value, period, active, version, created_at, updated_at) "
                        "VALUES (1, 'WAIT', 'Waiting', 'Attente', 'min', 'mean', 'lower', 0, 600, "
                        "'day', true, 1, '2026-01-01', '2026-01-01')"
                    )
                )
            day, other_day = "2026-11-23", "2026-11-24"
            # the same day from three sources: the grid's value, corrected once, is the newest
            _insert_measurement(conn, 1, 1, kpi, day, "seed-demo", 7.8, 50, "2026-11-30 08:00:00")
            _insert_measurement(
                conn, 2, 1, kpi, day, "form", 6.8, 120, "2026-12-01 09:00:00", revision=2
            )
            _insert_measurement(conn, 3, 1, kpi, day, "qms.csv", 7.0, 90, "2026-11-30 12:00:00")
            # another day, one source only: untouched
            _insert_measurement(
                conn, 4, 1, kpi, other_day, "qms.csv", 5.0, 10, "2026-11-30 12:00:00"
            )
            conn.execute(
                text(
                    "INSERT INTO measurement_revision (measurement_id, revision, value, n, "
                    "entered_by_id, entered_by, entered_at, replaced_by_id, replaced_by, "
                    "replaced_at, reason) VALUES (2, 1, 6.0, 100, NULL, 'form-person', "
                    "'2026-11-30 10:00:00', NULL, 'form-person', '2026-12-01 09:00:00', 'typo')"
                )
            )
            # the rollups as the old key made them: four rows counted for two days
            conn.execute(
                text(
                    "INSERT INTO kpi_rollup_week (site_id, kpi_id, week_start, sum_vn, sum_n, "
                    "count, sum_v, sum_v2) VALUES (1, :kpi, '2026-11-23', 1846, 270, 4, 26.6, 0)"
                ),
                {"kpi": kpi},
            )
        upgrade()
        with db.engine.connect() as conn:
            current = conn.execute(
                text(
                    "SELECT id, period_date, source, value, n, revision FROM measurement "
                    "ORDER BY period_date"
                )
            ).all()
            history = conn.execute(
                text(
                    "SELECT measurement_id, revision, source, value, n, entered_by, reason "
                    "FROM measurement_revision ORDER BY measurement_id, revision"
                )
            ).all()
            rollup = conn.execute(
                text("SELECT week_start, sum_vn, sum_n, count FROM kpi_rollup_week")
            ).all()
        # the new key refuses a second value for the same day, whatever its source
        with pytest.raises(IntegrityError), db.engine.begin() as other:
            _insert_measurement(other, 9, 1, kpi, day, "api", 1.0, 1, "2026-12-02 09:00:00")
    assert [(str(r[1])[:10], r[2], r[3], r[4], r[5]) for r in current] == [
        (day, "form", 6.8, 120, 4),
        (other_day, "qms.csv", 5.0, 10, 1),
    ]
    assert [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in history] == [
        (2, 1, "seed-demo", 7.8, 50, "seed-demo-person"),
        (2, 2, "form", 6.0, 100, "form-person"),
        (2, 3, "qms.csv", 7.0, 90, "qms.csv-person"),
    ]
    assert history[1][6] == "typo"
    assert [(str(r[0])[:10], float(r[1]), int(r[2]), int(r[3])) for r in rollup] == [
        ("2026-11-23", 6.8 * 120 + 5.0 * 10, 130, 2)
    ]
