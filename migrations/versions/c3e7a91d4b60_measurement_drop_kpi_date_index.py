"""measurement: drop the (kpi, date) index

Every reader of the measurement table now goes through its unique key (site, KPI, date,
source), site by site, or through the weekly rollups; the second index only slowed every
import down (about a third of the time of writing a million rows). See docs/architecture.md,
"Measurement intake".

Revision ID: c3e7a91d4b60
Revises: b8d1c0a7e5f2
Create Date: 2026-11-23 19:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3e7a91d4b60'
down_revision = 'b8d1c0a7e5f2'
branch_labels = None
depends_on = None


def upgrade():
    # A plain DROP INDEX (no batch mode): SQLite does not rebuild the table for it.
    op.drop_index('ix_measurement_kpi_date', table_name='measurement')


def downgrade():
    op.create_index('ix_measurement_kpi_date', 'measurement', ['kpi_id', 'period_date'], unique=False)
