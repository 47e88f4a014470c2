"""e-mail digests: preferences and digests sent

Revision ID: d4f8b2c6a1e9
Revises: d4a8e6f1b2c9
Create Date: 2026-12-06 14:10:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd4f8b2c6a1e9'
down_revision = 'd4a8e6f1b2c9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'digest_preference',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('frequency', sa.String(length=10), nullable=False),
        sa.Column('hour', sa.Integer(), nullable=False),
        sa.Column('time_zone', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("frequency IN ('daily','weekly')", name=op.f('ck_digest_preference_frequency')),
        sa.CheckConstraint('hour BETWEEN 0 AND 23', name=op.f('ck_digest_preference_hour')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_digest_preference_user_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_preference')),
        sa.UniqueConstraint('user_id', name=op.f('uq_digest_preference_user_id')),
    )
    op.create_table(
        'digest_sent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('lines', sa.Integer(), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_digest_sent_user_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_sent')),
        sa.UniqueConstraint('user_id', 'period', name='uq_digest_sent_user_period'),
    )
    with op.batch_alter_table('digest_sent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_sent_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('digest_sent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_sent_user_id'))
    op.drop_table('digest_sent')
    op.drop_table('digest_preference')
