"""roll member keys unbounded; no second index on unit_record.version_id

A unit with 23 or more co-owners made a member key longer than 400 characters, which PostgreSQL
refused when freezing the roll. The unique (version_id, unit_id) index already serves lookups
by version, so the single-column one only slowed register imports.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 00:22:38.064677
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401

from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('roll_member', schema=None) as batch_op:
        batch_op.alter_column('member_key',
               existing_type=sa.VARCHAR(length=400),
               type_=sa.Text(),
               existing_nullable=False)

    with op.batch_alter_table('unit_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_record_version_id'))



def downgrade() -> None:
    with op.batch_alter_table('unit_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_record_version_id'), ['version_id'], unique=False)

    with op.batch_alter_table('roll_member', schema=None) as batch_op:
        batch_op.alter_column('member_key',
               existing_type=sa.Text(),
               type_=sa.VARCHAR(length=400),
               existing_nullable=False)

