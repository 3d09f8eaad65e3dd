"""owner notices (shown on the owner's page, the message gateway's outbox) and co-owners' voter designations

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import assembly.area  # noqa: F401
import assembly.models
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('owner_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivery', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_owner_notice_estate_id_estate')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_owner_notice_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_owner_notice'))
    )
    with op.batch_alter_table('owner_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_owner_notice_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index('ix_owner_notice_person', ['person_id', 'created_at'], unique=False)
        batch_op.create_index('ix_owner_notice_outbox', ['delivery', 'next_attempt_at'], unique=False)

    op.create_table('voter_designation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('member_key', sa.Text(), nullable=False),
    sa.Column('voter_id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('basis', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('in_force_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('evidence_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_voter_designation_estate_id_estate')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['person.id'],
                            name=op.f('fk_voter_designation_proposed_by_id_person')),
    sa.ForeignKeyConstraint(['voter_id'], ['person.id'], name=op.f('fk_voter_designation_voter_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voter_designation'))
    )
    with op.batch_alter_table('voter_designation', schema=None) as batch_op:
        batch_op.create_index('ix_voter_designation_estate_state', ['estate_id', 'state'], unique=False)

    op.create_table('voter_agreement',
    sa.Column('designation_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('agreed_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['designation_id'], ['voter_designation.id'],
                            name=op.f('fk_voter_agreement_designation_id_voter_designation')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_voter_agreement_person_id_person')),
    sa.PrimaryKeyConstraint('designation_id', 'person_id', name=op.f('pk_voter_agreement'))
    )


def downgrade() -> None:
    op.drop_table('voter_agreement')
    with op.batch_alter_table('voter_designation', schema=None) as batch_op:
        batch_op.drop_index('ix_voter_designation_estate_state')
    op.drop_table('voter_designation')
    with op.batch_alter_table('owner_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_owner_notice_outbox')
        batch_op.drop_index('ix_owner_notice_person')
        batch_op.drop_index(batch_op.f('ix_owner_notice_estate_id'))
    op.drop_table('owner_notice')
