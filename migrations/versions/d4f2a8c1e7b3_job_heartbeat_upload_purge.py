"""job heartbeats; upload files in their own table, purged after their retention

- job.heartbeat_at: set by the worker while a job runs; a running job without a recent
  heartbeat is marked failed (interrupted) instead of staying "running" for ever.
- kpi_upload_file holds the bytes of an upload (moved out of kpi_upload.content): SQLite
  rewrites a whole row on any UPDATE, so every change to an upload (its jobs, its import
  time) rewrote the file too, at twice its size in memory.
- kpi_upload.purged_at records when the file was deleted (`flask purge-uploads`,
  UPLOAD_RETENTION_DAYS after its import ended).

Revision ID: d4f2a8c1e7b3
Revises: d4f81b2c9e37
Create Date: 2026-12-06 14:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd4f2a8c1e7b3'
down_revision = 'd4f81b2c9e37'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'kpi_upload_file',
        sa.Column('upload_id', sa.Integer(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['upload_id'], ['kpi_upload.id'],
                                name=op.f('fk_kpi_upload_file_upload_id_kpi_upload'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('upload_id', name=op.f('pk_kpi_upload_file')),
    )
    op.execute('INSERT INTO kpi_upload_file (upload_id, content) SELECT id, content FROM kpi_upload')
    # Plain ALTER TABLE (SQLite 3.35+), not batch mode: rebuilding kpi_upload would drop the
    # old table, and SQLite's implicit DELETE would cascade to the files just copied.
    op.add_column('kpi_upload', sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))
    op.drop_column('kpi_upload', 'content')


def downgrade():
    op.add_column('kpi_upload', sa.Column('content', sa.LargeBinary(), nullable=True))
    op.drop_column('kpi_upload', 'purged_at')
    op.execute(
        'UPDATE kpi_upload SET content = (SELECT f.content FROM kpi_upload_file f '
        'WHERE f.upload_id = kpi_upload.id)'
    )
    op.execute("DELETE FROM kpi_upload WHERE content IS NULL")
    with op.batch_alter_table('kpi_upload', schema=None) as batch_op:
        batch_op.alter_column('content', existing_type=sa.LargeBinary(), nullable=False)
    op.drop_table('kpi_upload_file')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
