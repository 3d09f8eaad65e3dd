"""paper ballots: the paper_entry table (one row per entry of a sheet, its scan, who entered and who checked)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401

import assembly.models
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('paper_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('motion_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('member_key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('handed_in_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('choice', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('scan', sa.LargeBinary(), nullable=False),
    sa.Column('scan_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('scan_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('entered_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('entered_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('entry_index', sa.Integer(), nullable=False),
    sa.Column('checked_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('checked_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_choice', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('check_index', sa.Integer(), nullable=True),
    sa.Column('ballot_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['ballot_id'], ['ballot.id'], name=op.f('fk_paper_entry_ballot_id_ballot')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_paper_entry_estate_id_estate')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_paper_entry_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['motion_id'], ['motion.id'], name=op.f('fk_paper_entry_motion_id_motion')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_entry'))
    )
    with op.batch_alter_table('paper_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_entry_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_paper_entry_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index('ix_paper_entry_motion_member', ['motion_id', 'member_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('paper_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_paper_entry_motion_member')
        batch_op.drop_index(batch_op.f('ix_paper_entry_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_paper_entry_estate_id'))
    op.drop_table('paper_entry')
