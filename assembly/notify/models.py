"""The notification record 通知记录 of one event, kept for the residents' committee of the estate's community."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from assembly.models import UTCDateTime, utcnow


class NotificationRecord(SQLModel, table=True):
    """Who, what, when, a link to the evidence, and its delivery in the inbox (read, acknowledged)."""

    __tablename__ = "notification_record"
    __table_args__ = (Index("ix_notification_record_inbox", "community_id", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    community_id: int = Field(foreign_key="community.id")
    event: str = Field(max_length=40)  # meeting.convened, voting.opened, voting.closed, result.announced, ...
    what: str = Field(sa_column=Column(Text, nullable=False))  # a sentence in Chinese, with the dates
    actor: str = Field(max_length=40)  # the pseudonymous actor of the event
    evidence: str = Field(max_length=300)  # a path on this site where the evidence is
    audit_index: int | None = None  # the audit entry that records the notification
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=40)
