"""the notice posted in the estate, a result held for unsettled paper sheets, the sheet's signature check

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-04 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import assembly.models
from alembic import op

revision: str = '0015'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notice_posting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('posted_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('photo', sa.LargeBinary(), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('recorded_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('entry_index', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_notice_posting_estate_id_estate')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_notice_posting_meeting_id_meeting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_posting')),
    sa.UniqueConstraint('meeting_id', name=op.f('uq_notice_posting_meeting_id'))
    )
    with op.batch_alter_table('notice_posting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_posting_estate_id'), ['estate_id'], unique=False)

    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_at', assembly.models.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('paper_entry', schema=None) as batch_op:
        # entries made before the check was asked for did not record it: False, honestly
        batch_op.add_column(sa.Column('signature_checked', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('paper_entry', schema=None) as batch_op:
        batch_op.drop_column('signature_checked')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('held_at')
    with op.batch_alter_table('notice_posting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_posting_estate_id'))
    op.drop_table('notice_posting')
