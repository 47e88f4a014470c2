"""measurement: one value per site, KPI and date, whatever the source

The unique key was (site, KPI, date, source): two sources of the same day both counted.
Now it is (site, KPI, date) and the source is recorded on the value and on every revision.

Existing duplicates are merged: per key, the most recently entered value (then the highest
id) stays current; the others, with their own revisions, become its history in the order
they were entered. The weekly rollups are then rebuilt from the current values.

Plain SQL on purpose (no import of the application's code, which may change later).

Revision ID: d4f81b2c9e37
Revises: c4f64843943d
Create Date: 2026-12-06 14:00:00.000000

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd4f81b2c9e37'
down_revision = 'c4f64843943d'
branch_labels = None
depends_on = None

MERGED_BY = 'merge: one value per site, KPI and date'
MERGED_REASON = 'Another source gave a value for the same site, KPI and date'


def _week(dialect: str) -> str:
    if dialect == 'postgresql':
        return "CAST(date_trunc('week', period_date) AS date)"
    return (
        "date(period_date, '-' || ((CAST(strftime('%w', period_date) AS INTEGER) + 6) % 7) "
        "|| ' days')"
    )


def rebuild_rollups(bind) -> None:
    week = _week(bind.dialect.name)
    bind.execute(sa.text('DELETE FROM kpi_rollup_week'))
    bind.execute(
        sa.text(
            'INSERT INTO kpi_rollup_week (site_id, kpi_id, week_start, sum_vn, sum_n, count, '
            'sum_v, sum_v2) '
            f'SELECT site_id, kpi_id, {week}, SUM(value * n), SUM(n), COUNT(*), SUM(value), '
            f'SUM(value * value) FROM measurement GROUP BY site_id, kpi_id, {week}'
        )
    )


def _sqlite_foreign_keys(on: bool) -> None:
    """SQLite rebuilds `measurement` to change its unique key (batch mode): its DROP TABLE
    would fail on the revisions that reference it unless foreign keys are off. The pragma
    only takes effect outside a transaction."""
    if op.get_bind().dialect.name == 'sqlite':
        with op.get_context().autocommit_block():
            op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    _sqlite_foreign_keys(False)
    bind = op.get_bind()
    with op.batch_alter_table('measurement_revision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=120), nullable=True))
    # A revision's source is its measurement's (a correction never changed it until now).
    bind.execute(
        sa.text(
            'UPDATE measurement_revision SET source = (SELECT m.source FROM measurement m '
            'WHERE m.id = measurement_revision.measurement_id)'
        )
    )

    # loser → winner for every key with more than one row
    bind.execute(sa.text('DROP TABLE IF EXISTS merge_measurement'))
    bind.execute(sa.text('CREATE TABLE merge_measurement (loser_id bigint, winner_id bigint)'))
    bind.execute(
        sa.text(
            'INSERT INTO merge_measurement (loser_id, winner_id) '
            'SELECT id, winner FROM (SELECT id, '
            'FIRST_VALUE(id) OVER (PARTITION BY site_id, kpi_id, period_date '
            'ORDER BY entered_at DESC, id DESC) AS winner, '
            'COUNT(*) OVER (PARTITION BY site_id, kpi_id, period_date) AS rows_in_key '
            'FROM measurement) AS ranked WHERE rows_in_key > 1 AND id <> winner'
        )
    )
    merged = bind.execute(sa.text('SELECT COUNT(*) FROM merge_measurement')).scalar()
    if merged:
        now = datetime.now(timezone.utc)
        # the losers' current values become revisions of the winner (renumbered below) ...
        bind.execute(
            sa.text(
                'INSERT INTO measurement_revision (measurement_id, revision, source, value, n, '
                'entered_by_id, entered_by, entered_at, replaced_by_id, replaced_by, '
                'replaced_at, reason) '
                'SELECT g.winner_id, 0, m.source, m.value, m.n, m.entered_by_id, m.entered_by, '
                'm.entered_at, NULL, :by, :now, :reason '
                'FROM measurement m JOIN merge_measurement g ON g.loser_id = m.id'
            ).bindparams(
                sa.bindparam('now', type_=sa.DateTime(timezone=True)),
            ),
            {'by': MERGED_BY, 'now': now, 'reason': MERGED_REASON},
        )
        # ... and so do the losers' own revisions
        bind.execute(
            sa.text(
                'UPDATE measurement_revision SET measurement_id = (SELECT g.winner_id '
                'FROM merge_measurement g WHERE g.loser_id = measurement_revision.measurement_id) '
                'WHERE measurement_id IN (SELECT loser_id FROM merge_measurement)'
            )
        )
        # the winners' history numbered 1, 2, ... in the order the values were entered
        bind.execute(sa.text('DROP TABLE IF EXISTS merge_revision'))
        bind.execute(sa.text('CREATE TABLE merge_revision (id bigint, number integer)'))
        bind.execute(
            sa.text(
                'INSERT INTO merge_revision (id, number) '
                'SELECT id, ROW_NUMBER() OVER (PARTITION BY measurement_id '
                'ORDER BY entered_at, revision, id) FROM measurement_revision '
                'WHERE measurement_id IN (SELECT DISTINCT winner_id FROM merge_measurement)'
            )
        )
        bind.execute(
            sa.text(
                'UPDATE measurement_revision SET revision = (SELECT r.number FROM merge_revision r '
                'WHERE r.id = measurement_revision.id) '
                'WHERE id IN (SELECT id FROM merge_revision)'
            )
        )
        bind.execute(
            sa.text(
                'UPDATE measurement SET revision = 1 + (SELECT COUNT(*) FROM measurement_revision r '
                'WHERE r.measurement_id = measurement.id) '
                'WHERE id IN (SELECT winner_id FROM merge_measurement)'
            )
        )
        bind.execute(
            sa.text('DELETE FROM measurement WHERE id IN (SELECT loser_id FROM merge_measurement)')
        )
        bind.execute(sa.text('DROP TABLE merge_revision'))
    bind.execute(sa.text('DROP TABLE merge_measurement'))

    with op.batch_alter_table('measurement_revision', schema=None) as batch_op:
        batch_op.alter_column('source', existing_type=sa.String(length=120), nullable=False)
    with op.batch_alter_table('measurement', schema=None) as batch_op:
        batch_op.drop_constraint('uq_measurement_key', type_='unique')
        batch_op.create_unique_constraint(
            'uq_measurement_key', ['site_id', 'kpi_id', 'period_date']
        )
    rebuild_rollups(bind)
    _sqlite_foreign_keys(True)


def downgrade():
    # The merged values stay merged (their history keeps every source).
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('measurement', schema=None) as batch_op:
        batch_op.drop_constraint('uq_measurement_key', type_='unique')
        batch_op.create_unique_constraint(
            'uq_measurement_key', ['site_id', 'kpi_id', 'period_date', 'source']
        )
    with op.batch_alter_table('measurement_revision', schema=None) as batch_op:
        batch_op.drop_column('source')
    _sqlite_foreign_keys(True)
