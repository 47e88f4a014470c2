"""value: drivers (package × KPI → euros) and the stage-gate history of packages

Revision ID: b5e2d8f4a6c1
Revises: a7c3e5d91f20
Create Date: 2026-12-06 15:45:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b5e2d8f4a6c1'
down_revision = 'a7c3e5d91f20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'value_driver',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=False),
        sa.Column('kpi_id', sa.Integer(), nullable=False),
        sa.Column('volume_kpi_id', sa.Integer(), nullable=False),
        sa.Column('lever', sa.String(length=10), nullable=False),
        sa.Column('unit_low', sa.Float(), nullable=True),
        sa.Column('unit_most_likely', sa.Float(), nullable=True),
        sa.Column('unit_high', sa.Float(), nullable=True),
        sa.Column('source', sa.String(length=300), nullable=False),
        sa.Column('owner', sa.String(length=200), nullable=False),
        sa.Column('explanation', sa.Text(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("lever IN ('cost','revenue','none')", name=op.f('ck_value_driver_lever')),
        sa.CheckConstraint(
            "lever = 'none' OR (unit_low IS NOT NULL AND unit_most_likely IS NOT NULL "
            "AND unit_high IS NOT NULL AND unit_low <= unit_most_likely "
            "AND unit_most_likely <= unit_high)",
            name=op.f('ck_value_driver_unit_value'),
        ),
        sa.ForeignKeyConstraint(['kpi_id'], ['kpi.id'], name=op.f('fk_value_driver_kpi_id_kpi')),
        sa.ForeignKeyConstraint(
            ['package_id'], ['package.id'], name=op.f('fk_value_driver_package_id_package'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['volume_kpi_id'], ['kpi.id'], name=op.f('fk_value_driver_volume_kpi_id_kpi')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_value_driver')),
        sa.UniqueConstraint('package_id', 'kpi_id', name=op.f('uq_value_driver_package_id')),
    )
    with op.batch_alter_table('value_driver', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_value_driver_package_id'), ['package_id'], unique=False)

    op.create_table(
        'value_gate_move',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=False),
        sa.Column('from_gate', sa.String(length=2), nullable=False),
        sa.Column('to_gate', sa.String(length=2), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('evidence', sa.Text(), nullable=False),
        sa.Column('moved_by_id', sa.Integer(), nullable=True),
        sa.Column('moved_by', sa.String(length=200), nullable=False),
        sa.Column('moved_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "to_gate IN ('L0','L1','L2','L3','L4','L5')", name=op.f('ck_value_gate_move_to_gate')
        ),
        sa.ForeignKeyConstraint(
            ['moved_by_id'], ['user.id'], name=op.f('fk_value_gate_move_moved_by_id_user'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['package_id'], ['package.id'], name=op.f('fk_value_gate_move_package_id_package'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_value_gate_move')),
    )
    with op.batch_alter_table('value_gate_move', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_value_gate_move_package_id'), ['package_id'], unique=False
        )


def downgrade():
    op.drop_table('value_gate_move')
    op.drop_table('value_driver')
