"""The table of paper ballots 纸质选票 as they are entered after close: one row per entry of one
sheet for one motion, with its scanned sheet, who entered it and who checked it.

A row is `entered` until a second committee person types the choice again from the scan: then
it is `confirmed` (and becomes a Ballot with by="paper") or `mismatch` (it never counts; the sheet
is entered again as a new row). Rows are never deleted: observers read the whole history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, select
from sqlmodel import Field, Session, SQLModel, col

from assembly.models import UTCDateTime

ENTERED, CONFIRMED, MISMATCH = "entered", "confirmed", "mismatch"


class PaperEntry(SQLModel, table=True):
    __tablename__ = "paper_entry"
    __table_args__ = (Index("ix_paper_entry_motion_member", "motion_id", "member_key"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    motion_id: int = Field(foreign_key="motion.id")
    estate_id: int = Field(foreign_key="estate.id", index=True)
    member_key: str = Field(max_length=400)  # the voting member of the frozen roll holding `unit`
    unit: str = Field(max_length=40)  # the unit the sheet names
    handed_in_at: datetime = Field(sa_type=UTCDateTime)  # when the sheet went into the sealed box
    choice: str = Field(max_length=2000)  # as the first person entered it (agree/…, or a JSON list)
    scan: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    scan_type: str = Field(max_length=40)  # application/pdf, image/jpeg, image/png (from the bytes)
    scan_sha256: str = Field(max_length=64)
    state: str = Field(default=ENTERED, max_length=10)  # entered | confirmed | mismatch
    entered_by: str = Field(max_length=40)  # the actor id (pseudonym) of the person who entered it
    entered_at: datetime = Field(sa_type=UTCDateTime)
    entry_index: int  # the paper.entered audit entry
    # the person entering checked the owner's signature on the sheet against the register
    # (业主大会和业主委员会指导规则第二十二条); entries made before the check was asked for say False
    signature_checked: bool = False
    checked_by: str | None = Field(default=None, max_length=40)  # who typed it again (confirmed or not)
    checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_choice: str | None = Field(default=None, max_length=2000)  # what they typed (kept for a mismatch)
    check_index: int | None = None  # the paper.confirmed or paper.mismatch audit entry
    ballot_id: int | None = Field(default=None, foreign_key="ballot.id")  # once confirmed


def unsettled_entries(session: Session, *, meeting_id: int) -> list[PaperEntry]:
    """Sheets not settled: entries awaiting their check, and mismatched sheets not yet entered again."""
    rows = list(session.scalars(select(PaperEntry).where(col(PaperEntry.meeting_id) == meeting_id)
                                .order_by(col(PaperEntry.id))))
    settled = {(e.motion_id, e.member_key) for e in rows if e.state != MISMATCH}
    return [e for e in rows if e.state == ENTERED
            or (e.state == MISMATCH and (e.motion_id, e.member_key) not in settled)]
