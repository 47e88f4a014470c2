"""kpi: a third kind, `count` (a volume, whose period figure is the sum)

Revision ID: a7c3e5d91f20
Revises: d4f19a2b7c31
Create Date: 2026-12-06 15:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7c3e5d91f20'
down_revision = 'd4f19a2b7c31'
branch_labels = None
depends_on = None


def _sqlite_foreign_keys(on: bool) -> None:
    """SQLite rebuilds `kpi` to change its check (batch mode): its DROP TABLE would fail on
    the rows that reference it unless foreign keys are off (only outside a transaction)."""
    if op.get_bind().dialect.name == 'sqlite':
        with op.get_context().autocommit_block():
            op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _kind_check(kinds: str) -> None:
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('kpi', schema=None) as batch_op:
        batch_op.drop_constraint('kind', type_='check')
        batch_op.create_check_constraint('kind', f'kind IN ({kinds})')
    _sqlite_foreign_keys(True)


def upgrade():
    _kind_check("'mean','rate','count'")


def downgrade():
    op.execute("UPDATE kpi SET kind = 'mean' WHERE kind = 'count'")
    _kind_check("'mean','rate'")
