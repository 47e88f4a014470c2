"""pilot: matched-pair randomized assignment (seed, pairs, mark) and the reason recorded
for starting a design that can never reach 5 %

Revision ID: d4a8e6f1b2c9
Revises: d4f2a8c1e7b3
Create Date: 2026-12-06 14:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4a8e6f1b2c9'
down_revision = 'd4f2a8c1e7b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pilot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('randomized', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('randomization_seed', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('randomization_pairs', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('start_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('pilot', schema=None) as batch_op:
        batch_op.drop_column('start_reason')
        batch_op.drop_column('randomization_pairs')
        batch_op.drop_column('randomization_seed')
        batch_op.drop_column('randomized')
