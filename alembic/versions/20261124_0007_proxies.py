"""proxies: written authorisations of proxies per meeting and member, the proxies' logins, and
auth_session.proxy_login_id (a proxy's code login is a server-side session like any other)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import assembly.area  # noqa: F401
import assembly.models
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('proxy_login',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('id_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('tail_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('pseudonym', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('handle', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('code_serial', sa.Integer(), nullable=False),
    sa.Column('code_issued_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_proxy_login_estate_id_estate')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_proxy_login_meeting_id_meeting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proxy_login')),
    sa.UniqueConstraint('handle', name=op.f('uq_proxy_login_handle')),
    sa.UniqueConstraint('meeting_id', 'id_hash', name=op.f('uq_proxy_login_meeting_id_id_hash')),
    sa.UniqueConstraint('pseudonym', name=op.f('uq_proxy_login_pseudonym'))
    )
    with op.batch_alter_table('proxy_login', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proxy_login_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proxy_login_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('proxy_appointment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('member_key', sa.Text(), nullable=False),
    sa.Column('units', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('area', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('appointed_by_person', sa.Integer(), nullable=False),
    sa.Column('proxy_login_id', sa.Integer(), nullable=False),
    sa.Column('appointed_at', assembly.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=False),
    sa.Column('document_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('document_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('document_size', sa.Integer(), nullable=False),
    sa.Column('entry_index', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rejected_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('reject_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('withdrawn_at', assembly.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['appointed_by_person'], ['person.id'],
                            name=op.f('fk_proxy_appointment_appointed_by_person_person')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_proxy_appointment_estate_id_estate')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_proxy_appointment_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['proxy_login_id'], ['proxy_login.id'],
                            name=op.f('fk_proxy_appointment_proxy_login_id_proxy_login')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proxy_appointment'))
    )
    with op.batch_alter_table('proxy_appointment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proxy_appointment_appointed_by_person'), ['appointed_by_person'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_proxy_appointment_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proxy_appointment_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index('ix_proxy_appointment_meeting_member', ['meeting_id', 'member_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_proxy_appointment_proxy_login_id'), ['proxy_login_id'], unique=False)

    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proxy_login_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_auth_session_proxy_login_id'), ['proxy_login_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_auth_session_proxy_login_id_proxy_login'), 'proxy_login',
                                    ['proxy_login_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_auth_session_proxy_login_id_proxy_login'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_auth_session_proxy_login_id'))
        batch_op.drop_column('proxy_login_id')
    with op.batch_alter_table('proxy_appointment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proxy_appointment_proxy_login_id'))
        batch_op.drop_index('ix_proxy_appointment_meeting_member')
        batch_op.drop_index(batch_op.f('ix_proxy_appointment_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_proxy_appointment_estate_id'))
        batch_op.drop_index(batch_op.f('ix_proxy_appointment_appointed_by_person'))
    op.drop_table('proxy_appointment')
    with op.batch_alter_table('proxy_login', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proxy_login_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_proxy_login_estate_id'))
    op.drop_table('proxy_login')
