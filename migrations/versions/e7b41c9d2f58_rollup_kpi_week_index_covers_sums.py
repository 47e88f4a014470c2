"""kpi_rollup_week: the (KPI, week) index carries the site and the sums (PostgreSQL)

The network-wide readers of one KPI (the KPI page's weekly series and completeness, the
deployment impact's ranges) read a KPI's weeks for every site. The rows of a KPI's week sit
on a different heap page for every site (the table is in (site, KPI, week) order), so at
10,000 sites a year of one KPI read ~80,000 pages; with the site, the sums and the count in
the index (INCLUDE), PostgreSQL answers from the index alone (an index-only scan: ~4,000
pages). SQLite has no INCLUDE: the index stays the plain (KPI, week) one there.

Revision ID: e7b41c9d2f58
Revises: 5ba29ffee2fc
Create Date: 2026-12-06 18:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e7b41c9d2f58'
down_revision = '5ba29ffee2fc'
branch_labels = None
depends_on = None

COVERED = ['site_id', 'sum_vn', 'sum_n', 'count', 'sum_v']


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_kpi_rollup_week_kpi_week', table_name='kpi_rollup_week')
    op.create_index('ix_kpi_rollup_week_kpi_week', 'kpi_rollup_week', ['kpi_id', 'week_start'],
                    unique=False, postgresql_include=COVERED)


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_kpi_rollup_week_kpi_week', table_name='kpi_rollup_week')
    op.create_index('ix_kpi_rollup_week_kpi_week', 'kpi_rollup_week', ['kpi_id', 'week_start'],
                    unique=False)
