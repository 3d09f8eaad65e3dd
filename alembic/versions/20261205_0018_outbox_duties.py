"""the platform's outbox and duties (the events issue); owner notices to send move into the outbox

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import assembly.models
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_outbox_message_estate_id_estate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_message_key'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_message_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index('ix_outbox_message_due', ['state', 'next_attempt_at'], unique=False)
    op.create_table('duty',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('opened_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deadline', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('missed_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_duty_estate_id_estate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty')),
    sa.UniqueConstraint('kind', 'subject', name=op.f('uq_duty_kind_subject'))
    )
    with op.batch_alter_table('duty', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index('ix_duty_open_deadline', ['closed_at', 'missed_at', 'deadline'], unique=False)
    # notices still waiting for the gateway become outbox rows with their schedule and attempts
    op.execute(
        "INSERT INTO outbox_message (topic, key, estate_id, payload, created_at, state, attempts, next_attempt_at,"
        " last_error) SELECT 'owner_notice.sms', 'owner-notice-' || id, estate_id, '{\"notice\": ' || id || '}',"
        " created_at, 'pending', attempts, next_attempt_at, last_error FROM owner_notice WHERE delivery = 'pending'")
    with op.batch_alter_table('owner_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_owner_notice_outbox')
        batch_op.drop_column('next_attempt_at')


def downgrade() -> None:
    with op.batch_alter_table('owner_notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', assembly.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_owner_notice_outbox', ['delivery', 'next_attempt_at'], unique=False)
    op.execute(
        "UPDATE owner_notice SET next_attempt_at = (SELECT next_attempt_at FROM outbox_message"
        " WHERE outbox_message.key = 'owner-notice-' || owner_notice.id) WHERE delivery = 'pending'")
    with op.batch_alter_table('duty', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_open_deadline')
        batch_op.drop_index(batch_op.f('ix_duty_estate_id'))
    op.drop_table('duty')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_due')
        batch_op.drop_index(batch_op.f('ix_outbox_message_estate_id'))
    op.drop_table('outbox_message')
