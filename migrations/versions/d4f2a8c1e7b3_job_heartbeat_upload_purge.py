"""job heartbeats; upload files purged after their retention

- job.heartbeat_at: set by the worker while a job runs; a running job without a recent
  heartbeat is marked failed (interrupted) instead of staying "running" for ever.
- kpi_upload.content becomes nullable and kpi_upload.purged_at records when the file was
  deleted (`flask purge-uploads`, UPLOAD_RETENTION_DAYS after its import ended).

Revision ID: d4f2a8c1e7b3
Revises: c3e7a91d4b60
Create Date: 2026-12-06 14:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd4f2a8c1e7b3'
down_revision = 'c3e7a91d4b60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('kpi_upload', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('content', existing_type=sa.LargeBinary(), nullable=True)


def downgrade():
    with op.batch_alter_table('kpi_upload', schema=None) as batch_op:
        batch_op.alter_column('content', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('purged_at')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
