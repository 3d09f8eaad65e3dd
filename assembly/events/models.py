"""The events layer's tables: the outbox (work after commit) and duties (work with a deadline)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from assembly.models import UTCDateTime, utcnow

PENDING, DELIVERED, SKIPPED = "pending", "delivered", "skipped"


class OutboxMessage(SQLModel, table=True):
    """One piece of work to do after the commit that wrote it: delivered by the job runner with a
    lease, retried with backoff until its topic's handler says it is done; never dropped. `key` is
    the idempotency key the receiving side sees (a retry carries the same one)."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_outbox_message_due", "state", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=60)
    key: str = Field(max_length=120)
    estate_id: int | None = Field(default=None, foreign_key="estate.id", index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON, never a secret
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    state: str = Field(default=PENDING, max_length=20)  # pending, delivered, skipped (nothing to send)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=200)


class Duty(SQLModel, table=True):
    """An obligation with a deadline 职责: opened by an event, closed by a later one; when the deadline
    passes while open, the job runner marks it missed and raises DutyMissed (once)."""

    __tablename__ = "duty"
    __table_args__ = (
        UniqueConstraint("kind", "subject"),
        Index("ix_duty_open_deadline", "closed_at", "missed_at", "deadline"),
    )
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    kind: str = Field(max_length=60)  # e.g. "result.announce"
    subject: str = Field(max_length=120)  # what it is about, e.g. "meeting:12"
    holder: str = Field(max_length=40)  # who owes it: a role, e.g. "committee", "street_office"
    opened_at: datetime = Field(sa_type=UTCDateTime)
    deadline: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    missed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
