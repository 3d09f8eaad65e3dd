"""The table of notice postings 张贴公告: the meeting notice posted in a prominent place in the estate
(北京市物业管理条例第三十五条第四款), with where, when and a photo of it; the notice period runs from
the posting too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from assembly.models import UTCDateTime


class NoticePosting(SQLModel, table=True):
    """One meeting's posting in the estate, as the committee recorded it (one per meeting)."""

    __tablename__ = "notice_posting"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", unique=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    place: str = Field(max_length=200)  # where: "each building's entrance hall and the main gate's board"
    posted_at: datetime = Field(sa_type=UTCDateTime)  # when it went up (the period runs from this day)
    media_type: str = Field(max_length=40)  # the photo: image/jpeg | image/png | application/pdf, from its bytes
    sha256: str = Field(max_length=64)
    photo: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    recorded_by: str = Field(max_length=40)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    entry_index: int  # the meeting.posted audit entry
