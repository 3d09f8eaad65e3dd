"""The table of motion attachments 议题附件: PDF or image files a draft's motions carry, frozen at publish."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from assembly.models import UTCDateTime


class MotionAttachment(SQLModel, table=True):
    """One file of a motion: its bytes, the type its first bytes prove, and their SHA-256 (in the log)."""

    __tablename__ = "motion_attachment"
    __table_args__ = (UniqueConstraint("motion_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    motion_id: int = Field(foreign_key="motion.id", index=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    position: int  # 1, 2, ... within the motion, in the order added
    filename: str = Field(max_length=120)  # as uploaded, cleaned; shown, never trusted
    media_type: str = Field(max_length=40)  # application/pdf | image/jpeg | image/png, from the magic bytes
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    added_at: datetime = Field(sa_type=UTCDateTime)
    added_by: str = Field(max_length=40)
    entry_index: int  # the attachment.added audit entry

    @property
    def public_id(self) -> str:
        return f"attachment-{self.id}"
