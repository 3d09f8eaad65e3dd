"""Tables of auth: staff accounts and their estates, sessions, owner cards, throttles, security events.

Secrets are never stored in a form that gives them back: passwords, PINs and activation codes as
argon2id, card tokens and session ids as SHA-256 (they are random and long), TOTP secrets encrypted
under a key derived from ASSEMBLY_SECRET_KEY (they must be read to check a code).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from assembly.models import UTCDateTime, utcnow


class Account(SQLModel, table=True):
    """A staff or supervisory login (committee, residents' committee, observer, street office, admin).

    Owners do not have accounts: they log in with their card (OwnerCard).
    """

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=40, unique=True, index=True)
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=30)
    pseudonym: str = Field(max_length=24, unique=True)  # what security events and the audit log see
    password_hash: str = Field(max_length=200)
    # Street-office accounts cover the estates of their street office (and any added later).
    street_office_id: int | None = Field(default=None, foreign_key="street_office.id", index=True)
    totp_secret: str | None = Field(default=None, max_length=200)  # encrypted (assembly.auth.totp)
    totp_enabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    totp_last_step: int | None = None  # the last time step accepted: a code is good once
    demo: bool = False  # created by `assembly demo`; never in production
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="account.id")
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AccountEstate(SQLModel, table=True):
    """An estate an account covers (observers: appointed per estate; committee: exactly one)."""

    __tablename__ = "account_estate"
    account_id: int = Field(foreign_key="account.id", primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", primary_key=True, index=True)
    granted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    granted_by_id: int | None = Field(default=None, foreign_key="account.id")


class AuthSession(SQLModel, table=True):
    """A server-side session; the cookie holds a signed token naming it, the table only its hash.

    `stage` is `full` for a logged-in session; `totp` / `totp_setup` (password checked, second
    factor outstanding) and `set_pin` (card activated, PIN not yet chosen) are short-lived steps that
    grant nothing else.
    """

    __tablename__ = "auth_session"
    id: int | None = Field(default=None, primary_key=True)
    sid_hash: str = Field(max_length=64, unique=True)
    stage: str = Field(default="full", max_length=20)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    card_id: int | None = Field(default=None, foreign_key="owner_card.id", index=True)
    proxy_login_id: int | None = Field(default=None, foreign_key="proxy_login.id", index=True)  # a proxy's code login
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)  # the absolute lifetime
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=40)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=200)


class OwnerCard(SQLModel, table=True):
    """业主一卡通 — an owner's card: a number to read out, a token in the QR code, a PIN once activated."""

    __tablename__ = "owner_card"
    __table_args__ = (
        # At most one card in force per owner of record.
        Index(
            "uq_owner_card_person_active",
            "person_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    number: str = Field(max_length=12, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    activation_hash: str | None = Field(default=None, max_length=200)  # cleared once activated
    pin_hash: str | None = Field(default=None, max_length=200)
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    issued_by_id: int | None = Field(default=None, foreign_key="account.id")
    replaces_id: int | None = Field(default=None, foreign_key="owner_card.id")
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pin_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=40)


class Throttle(SQLModel, table=True):
    """Failed attempts against one key (a card, an account, an IP address), and when the next may come."""

    __table_args__ = (UniqueConstraint("kind", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    key: str = Field(max_length=80)
    failures: int = 0
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_allowed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SecurityEvent(SQLModel, table=True):
    """A login, failure, slow-down, role change or card event, shaped like an audit-log entry.

    `type`, `at` and `actor` are the audit entry's own fields; `details_json` holds the rest. Never a
    submitted secret: a failed login records who, when, from where and why, nothing typed.
    """

    __tablename__ = "security_event"
    __table_args__ = (Index("ix_security_event_estate_at", "estate_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int | None = Field(default=None, foreign_key="estate.id")
    type: str = Field(max_length=40, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_pseudonym: str | None = Field(default=None, max_length=24)
    actor_role: str | None = Field(default=None, max_length=30)
    subject: str | None = Field(default=None, max_length=40, index=True)  # "card:12", "account:3"
    ip: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=40)
    details_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))



class PrintPickup(SQLModel, table=True):
    """A printed document (card sheet or activation slips) waiting for its one download, for at most
    10 minutes. Kept in the database so that any server process hands it over; the document is
    AES-256-GCM encrypted under a key derived from the download token, which is never stored (only
    its SHA-256): the database alone never reveals a card token or an activation code."""

    __tablename__ = "print_pickup"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=10)
    batch: str = Field(max_length=40)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    session_id: int | None = None  # the printing staff member's session: only they download it
    numbers: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of card numbers
    reissued: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    document: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # nonce + ciphertext
