"""Co-owners' voter 共有人推选的投票人: who among the co-owners of a voting member casts its ballot.

A designation is proposed by a co-owner and takes effect once every co-owner of record has agreed,
or at once when the committee records it from the co-owners' signed form (docs/decisions.md,
"Co-owners' voter"). At most one is in force per member; a new one replaces it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from assembly.models import UTCDateTime

PROPOSED, IN_FORCE, REPLACED, WITHDRAWN = "proposed", "in_force", "replaced", "withdrawn"


class VoterDesignation(SQLModel, table=True):
    __tablename__ = "voter_designation"
    __table_args__ = (Index("ix_voter_designation_estate_state", "estate_id", "state"),)
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id")
    # The member as the roll keys it: "owners:" + the co-owners' pseudonyms, sorted, joined by "+".
    member_key: str = Field(sa_column=Column(Text, nullable=False))
    voter_id: int = Field(foreign_key="person.id")
    state: str = Field(default=PROPOSED, max_length=20)
    basis: str | None = Field(default=None, max_length=20)  # agreement | form (once in force)
    proposed_by_id: int | None = Field(default=None, foreign_key="person.id")  # None: recorded by the committee
    proposed_at: datetime = Field(sa_type=UTCDateTime)
    in_force_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recorded_by: str | None = Field(default=None, max_length=40)  # the committee account's pseudonym
    evidence_ref: str | None = Field(default=None, max_length=200)  # where the signed form is kept


class VoterAgreement(SQLModel, table=True):
    """A co-owner's agreement to a proposed designation (the proposer's is recorded with the proposal)."""

    __tablename__ = "voter_agreement"
    designation_id: int = Field(foreign_key="voter_designation.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    agreed_at: datetime = Field(sa_type=UTCDateTime)
