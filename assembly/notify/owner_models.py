"""Owner notices 业主提醒: what the owner is told of (activation, PIN change, ballot, card ended, voter
designation), shown on their home page and — when the operator configures one — sent through the
message gateway through the platform's outbox (assembly.notify.gateway): `delivery`, `attempts` and
`last_error` here are what the owner's page shows of it; the outbox row schedules the attempts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from assembly.models import UTCDateTime, utcnow

# delivery: "page" (no gateway configured: shown on the home page only), "no_contact" (a gateway, but
# no phone on file), "pending" (queued in the outbox), "delivered" (the gateway answered 2xx).
PAGE, NO_CONTACT, PENDING, DELIVERED = "page", "no_contact", "pending", "delivered"


class OwnerNotice(SQLModel, table=True):
    """One notice to one owner: never a secret, never a ballot's choice."""

    __tablename__ = "owner_notice"
    __table_args__ = (
        Index("ix_owner_notice_person", "person_id", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    event: str = Field(max_length=40)  # card.activated, card.pin_changed, ballot.cast, card.ended, voter.*
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivery: str = Field(default=PAGE, max_length=20)
    attempts: int = 0
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=200)
