"""printed documents waiting for their one download, in the database (any server process hands them over)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import assembly.models
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('print_pickup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('batch', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('numbers', sa.Text(), nullable=False),
    sa.Column('reissued', sa.Text(), nullable=False),
    sa.Column('expires_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_print_pickup_estate_id_estate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_pickup')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_print_pickup_token_hash'))
    )
    with op.batch_alter_table('print_pickup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_pickup_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_print_pickup_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('print_pickup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_pickup_expires_at'))
        batch_op.drop_index(batch_op.f('ix_print_pickup_estate_id'))
    op.drop_table('print_pickup')
