"""a sale registered during voting moves the vote (roll_transfer); who is an owner: delivered buyers,
bulk resellers, parking spaces and storage rooms (issue #24 items 4 and 7)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import assembly.models
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('roll_transfer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('member_key', sa.Text(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('version_number', sa.Integer(), nullable=False),
    sa.Column('registered_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('holders', sa.Text(), nullable=False),
    sa.Column('entry_index', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_roll_transfer_estate_id_estate')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_roll_transfer_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['version_id'], ['register_version.id'],
                            name=op.f('fk_roll_transfer_version_id_register_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roll_transfer'))
    )
    with op.batch_alter_table('roll_transfer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roll_transfer_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index('ix_roll_transfer_meeting_member', ['meeting_id', 'member_key'], unique=False)

    # who is an owner: the basis of each unit's owners, bulk resellers, parking spaces and storage rooms
    with op.batch_alter_table('unit_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('basis', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False,
                                      server_default='registered'))
        batch_op.add_column(sa.Column('evidence_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('reseller', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False,
                                      server_default='dwelling'))
    with op.batch_alter_table('estate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ancillary_counted', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('ancillary_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('ancillary_set_at', assembly.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ancillary_set_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('estate', schema=None) as batch_op:
        for column in ('ancillary_set_by', 'ancillary_set_at', 'ancillary_reason', 'ancillary_counted'):
            batch_op.drop_column(column)
    with op.batch_alter_table('unit_record', schema=None) as batch_op:
        for column in ('kind', 'reseller', 'evidence_ref', 'basis'):
            batch_op.drop_column(column)
    with op.batch_alter_table('roll_transfer', schema=None) as batch_op:
        batch_op.drop_index('ix_roll_transfer_meeting_member')
        batch_op.drop_index(batch_op.f('ix_roll_transfer_estate_id'))
    op.drop_table('roll_transfer')
