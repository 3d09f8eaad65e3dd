"""Tables of meetings and voting: meetings 业主大会会议, motions 议题, ballots 选票.

Lifecycle is timestamps (created, published, rc_notified, opens, closes, closed, announced, final);
the state a page shows is derived from them and the clock (assembly.voting.meetings.state).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from assembly.models import UTCDateTime, utcnow


class Meeting(SQLModel, table=True):
    """One owners' assembly meeting of an estate, with the rules its motions are voted under."""

    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    title: str = Field(max_length=200)
    revote: str = Field(default="last", max_length=8)  # last: a later ballot replaces; first: the first counts
    objection_days: int = 7  # 异议期
    proxy_limit: int = 3
    paper_grace_days: int = 3  # paper ballots entered within this many days after close
    publish_per_unit_results: bool = False  # only where the estate's rules provide (meetings.check_unit_publication)
    created_by: str = Field(max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rc_notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    opens_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # set when voting opens
    closes_at: datetime = Field(sa_type=UTCDateTime)  # planned when the meeting is drafted
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    announced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # the grace period ended with paper sheets unsettled that could change an outcome: the count
    # waits for them (docs/decisions.md, "Paper ballots are never discarded for a clerk's delay")
    held_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    final_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    roll_snapshot_id: int | None = Field(default=None, foreign_key="roll_snapshot.id")


class Motion(SQLModel, table=True):
    """One item of Civil Code Art. 278 put to the vote: a motion, or an election with seats and candidates."""

    __table_args__ = (UniqueConstraint("meeting_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    position: int  # 1, 2, ... in the meeting
    item: int  # 1..9
    title: str = Field(max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(default="motion", max_length=10)  # motion | election
    seats: int | None = None
    candidates_json: str | None = Field(default=None, sa_column=Column(Text))  # ["c1", ...] in ballot order
    tally_sha256: str | None = Field(default=None, max_length=64)
    tally_file: bytes | None = Field(default=None, sa_column=Column(LargeBinary))  # as opened at close
    result_json: str | None = Field(default=None, sa_column=Column(Text))  # `assembly tally` output at close

    @property
    def public_id(self) -> str:
        """The id in the audit log and the export's tally/<id>.json."""
        return f"motion-{self.id}"


class Ballot(SQLModel, table=True):
    """One ballot as cast. The choice stays in the database (operators can read it; docs say so);
    the log holds only its commitment until close."""

    __table_args__ = (
        UniqueConstraint("motion_id", "member_key", "idempotency_key"),
        Index("ix_ballot_motion_member", "motion_id", "member_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    motion_id: int = Field(foreign_key="motion.id", index=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    member_key: str = Field(max_length=400)
    unit: str = Field(max_length=40)  # the unit the ballot object names (the member's first unit)
    by: str = Field(default="owner", max_length=8)
    choice: str = Field(max_length=2000)  # agree/oppose/abstain, or a JSON list of candidates
    salt: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    commitment: str = Field(max_length=64)
    cast_at: datetime = Field(sa_type=UTCDateTime)
    cast_by_person: int | None = Field(default=None, foreign_key="person.id")  # who acted
    entry_index: int  # the ballot.cast audit entry
    idempotency_key: str = Field(max_length=64)


class Objection(SQLModel, table=True):
    """An owner's objection 异议 to an announced result ("this is not my vote"), and its decision."""

    id: int | None = Field(default=None, primary_key=True)
    motion_id: int = Field(foreign_key="motion.id", index=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    member_key: str = Field(max_length=400)
    ballot_entry: int | None = None  # the ballot.cast entry objected to (the member's counted ballot)
    ground: str = Field(default="not-my-vote", max_length=40)
    text: str = Field(default="", max_length=2000)
    filed_at: datetime = Field(sa_type=UTCDateTime)
    filed_by_person: int | None = Field(default=None, foreign_key="person.id")
    entry_index: int  # the objection.filed entry
    decision: str | None = Field(default=None, max_length=10)  # upheld | dismissed
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=40)
