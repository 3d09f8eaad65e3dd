"""per-unit lines off where the estate's rules do not provide for them; proxy scans erased; legal holds

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import assembly.models
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Each unit's choice is personal information (个人信息保护法第十三条、第二十五条) and no estate's
    # rules provide for publishing it yet: a meeting whose result is not announced publishes no
    # per-unit lines. Announced results stay as announced (docs/decisions.md, "Per-unit choices").
    op.execute(sa.text("UPDATE meeting SET publish_per_unit_results = :off "
                       "WHERE announced_at IS NULL AND publish_per_unit_results = :on")
               .bindparams(off=False, on=True))

    with op.batch_alter_table('proxy_appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_erased_at', assembly.models.UTCDateTime(timezone=True), nullable=True))

    op.create_table('legal_hold',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('recorded_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('entry_index', sa.Integer(), nullable=False),
    sa.Column('released_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('released_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('release_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_legal_hold_estate_id_estate')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_legal_hold_meeting_id_meeting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_hold'))
    )
    with op.batch_alter_table('legal_hold', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_hold_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_legal_hold_meeting_id'), ['meeting_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('legal_hold', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_hold_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_legal_hold_estate_id'))
    op.drop_table('legal_hold')
    with op.batch_alter_table('proxy_appointment', schema=None) as batch_op:
        batch_op.drop_column('document_erased_at')
    # the per-unit setting is not turned back on: nobody consented in the meantime
