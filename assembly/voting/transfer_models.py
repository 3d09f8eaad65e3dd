"""The table of vote-right transfers 表决权随转让移转: a sale registered while a meeting's voting is
open moves the right to cast the unit's member's ballot to the buyer (民法典第二百七十三条第二款)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from assembly.models import UTCDateTime


class RollTransfer(SQLModel, table=True):
    """From `registered_at` on, `holders` (pseudonyms joined by "+") cast the ballot of a member of
    the meeting's frozen roll; the member's key, area and heads stay as frozen."""

    __tablename__ = "roll_transfer"
    __table_args__ = (Index("ix_roll_transfer_meeting_member", "meeting_id", "member_key"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    estate_id: int = Field(foreign_key="estate.id", index=True)
    member_key: str = Field(sa_column=Column(Text, nullable=False))
    version_id: int = Field(foreign_key="register_version.id")
    version_number: int  # the register version that recorded the sale (what pages and the log name)
    registered_at: datetime = Field(sa_type=UTCDateTime)  # that version's import: the right moves from here
    holders: str = Field(sa_column=Column(Text, nullable=False))
    entry_index: int  # the roll.transferred audit entry

    @property
    def holder_set(self) -> frozenset[str]:
        return frozenset(self.holders.split("+"))
