"""screen_login: scan-to-login requests of shared screens (committee office PC, kiosk)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 23:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401

import assembly.models
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('screen_login',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('screen_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('created_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('user_agent', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('consumed_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['owner_card.id'], name=op.f('fk_screen_login_card_id_owner_card')),
    sa.ForeignKeyConstraint(['session_id'], ['auth_session.id'], name=op.f('fk_screen_login_session_id_auth_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screen_login')),
    sa.UniqueConstraint('screen_hash', name=op.f('uq_screen_login_screen_hash')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_screen_login_token_hash'))
    )
    with op.batch_alter_table('screen_login', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screen_login_card_id'), ['card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_screen_login_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_screen_login_ip'), ['ip'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('screen_login', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screen_login_ip'))
        batch_op.drop_index(batch_op.f('ix_screen_login_expires_at'))
        batch_op.drop_index(batch_op.f('ix_screen_login_card_id'))
    op.drop_table('screen_login')
