"""feedback: responses from every source and the cases that call back unhappy customers

Site already has a time zone (Europe/Paris by default), used for the cases' deadlines.

Revision ID: d4f19a2b7c31
Revises: d4f8b2c6a1e9
Create Date: 2026-12-06 14:16:39.856193

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4f19a2b7c31'
down_revision = 'd4f8b2c6a1e9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('feedback_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=60), nullable=False),
    sa.Column('external_id', sa.String(length=120), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('journey_step', sa.String(length=60), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('scale', sa.String(length=10), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('complaint', sa.Boolean(), nullable=False),
    sa.Column('contact_consent', sa.Boolean(), nullable=False),
    sa.Column('contact_ref', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(scale = 'nps' AND score BETWEEN 0 AND 10) OR (scale = 'csat5' AND score BETWEEN 1 AND 5)", name=op.f('ck_feedback_response_score_in_scale')),
    sa.CheckConstraint("scale IN ('nps','csat5')", name=op.f('ck_feedback_response_scale')),
    sa.CheckConstraint('contact_ref IS NULL OR contact_consent', name=op.f('ck_feedback_response_contact_needs_consent')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_feedback_response_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_feedback_response_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_response')),
    sa.UniqueConstraint('source', 'external_id', name='uq_feedback_response_source_id')
    )
    with op.batch_alter_table('feedback_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_response_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_response_site_id'), ['site_id'], unique=False)

    op.create_table('feedback_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('escalate_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('contacted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('cause', sa.String(length=20), nullable=True),
    sa.Column('journey_step', sa.String(length=60), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('irritant_id', sa.Integer(), nullable=True),
    sa.Column('proposed_irritant', sa.String(length=200), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("cause IS NULL OR cause IN ('technical','ergonomic','relational','commercial')", name=op.f('ck_feedback_case_cause')),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('resolved','explained','unreachable')", name=op.f('ck_feedback_case_outcome')),
    sa.CheckConstraint("status <> 'closed' OR (outcome IS NOT NULL AND cause IS NOT NULL)", name=op.f('ck_feedback_case_closed_has_outcome_and_cause')),
    sa.CheckConstraint("status IN ('open','contacted','closed')", name=op.f('ck_feedback_case_status')),
    sa.ForeignKeyConstraint(['assignee_id'], ['user.id'], name=op.f('fk_feedback_case_assignee_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['irritant_id'], ['irritant.id'], name=op.f('fk_feedback_case_irritant_id_irritant'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['response_id'], ['feedback_response.id'], name=op.f('fk_feedback_case_response_id_feedback_response'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_feedback_case_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_case')),
    sa.UniqueConstraint('response_id', name=op.f('uq_feedback_case_response_id'))
    )
    with op.batch_alter_table('feedback_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_case_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_case_irritant_id'), ['irritant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_case_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_case_status'), ['status'], unique=False)


    op.create_table('feedback_import_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=60), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_import_mapping')),
    sa.UniqueConstraint('source', name=op.f('uq_feedback_import_mapping_source'))
    )


def downgrade():
    op.drop_table('feedback_import_mapping')
    with op.batch_alter_table('feedback_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_case_status'))
        batch_op.drop_index(batch_op.f('ix_feedback_case_site_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_case_irritant_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_case_assignee_id'))

    op.drop_table('feedback_case')
    with op.batch_alter_table('feedback_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_response_site_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_response_received_at'))

    op.drop_table('feedback_response')
