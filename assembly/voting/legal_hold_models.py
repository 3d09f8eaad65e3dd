"""Legal holds 案件保全: a case about a meeting that the committee or the street office records (a
lawsuit to revoke the decision, SPC 法释〔2009〕7号 Art. 12; a revocation request before the street
office, Beijing Arts. 8, 51). While a hold is in force nothing the case may need is erased."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from assembly.models import UTCDateTime


class LegalHold(SQLModel, table=True):
    """One recorded case about one meeting: in force from `recorded_at` until `released_at`."""

    __tablename__ = "legal_hold"
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    reason: str = Field(max_length=500)  # typed by a person: stays here, never in the log
    recorded_by: str = Field(max_length=40)  # pseudonym of the committee or street-office person
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    entry_index: int  # legal_hold.recorded
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    released_by: str | None = Field(default=None, max_length=40)
    release_reason: str | None = Field(default=None, max_length=500)
