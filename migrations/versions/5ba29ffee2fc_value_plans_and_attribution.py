"""value: frozen plans (planned value fixed at gate L3) and attribution shares of drivers

Revision ID: 5ba29ffee2fc
Revises: b5e2d8f4a6c1
Create Date: 2026-12-06 17:05:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5ba29ffee2fc'
down_revision = 'b5e2d8f4a6c1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('value_driver', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('attribution', sa.Float(), server_default='1', nullable=False)
        )
        batch_op.create_check_constraint(
            'attribution', 'attribution > 0 AND attribution <= 1'
        )

    op.create_table(
        'value_plan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=False),
        sa.Column('kpi_id', sa.Integer(), nullable=False),
        sa.Column('gate_move_id', sa.Integer(), nullable=True),
        sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('effect', sa.Float(), nullable=True),
        sa.Column('ci_low', sa.Float(), nullable=True),
        sa.Column('ci_high', sa.Float(), nullable=True),
        sa.Column('reading', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ['gate_move_id'], ['value_gate_move.id'],
            name=op.f('fk_value_plan_gate_move_id_value_gate_move'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(['kpi_id'], ['kpi.id'], name=op.f('fk_value_plan_kpi_id_kpi')),
        sa.ForeignKeyConstraint(
            ['package_id'], ['package.id'], name=op.f('fk_value_plan_package_id_package'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_value_plan')),
    )
    with op.batch_alter_table('value_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_value_plan_package_id'), ['package_id'], unique=False)

    op.create_table(
        'value_plan_month',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('volume', sa.Float(), nullable=False),
        sa.Column('attributed_volume', sa.Float(), nullable=False),
        sa.Column('planned', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ['plan_id'], ['value_plan.id'], name=op.f('fk_value_plan_month_plan_id_value_plan'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['region_id'], ['region.id'], name=op.f('fk_value_plan_month_region_id_region'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_value_plan_month')),
        sa.UniqueConstraint(
            'plan_id', 'region_id', 'month', name=op.f('uq_value_plan_month_plan_id')
        ),
    )
    with op.batch_alter_table('value_plan_month', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_value_plan_month_plan_id'), ['plan_id'], unique=False
        )


def downgrade():
    op.drop_table('value_plan_month')
    op.drop_table('value_plan')
    with op.batch_alter_table('value_driver', schema=None) as batch_op:
        batch_op.drop_constraint('attribution', type_='check')
        batch_op.drop_column('attribution')
