"""motion attachments: PDF/JPEG/PNG files of a draft's motions, with their SHA-256

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import assembly.area  # noqa: F401
import assembly.models
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('motion_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('motion_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('added_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('added_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('entry_index', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_motion_attachment_estate_id_estate')),
    sa.ForeignKeyConstraint(['motion_id'], ['motion.id'], name=op.f('fk_motion_attachment_motion_id_motion')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_motion_attachment')),
    sa.UniqueConstraint('motion_id', 'position', name=op.f('uq_motion_attachment_motion_id_position'))
    )
    with op.batch_alter_table('motion_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_motion_attachment_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_motion_attachment_motion_id'), ['motion_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('motion_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_motion_attachment_motion_id'))
        batch_op.drop_index(batch_op.f('ix_motion_attachment_estate_id'))
    op.drop_table('motion_attachment')
