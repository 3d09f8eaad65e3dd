"""Tables of the audit log: one sequencer row per estate, entries, stored hashes, checkpoints, keys.

Stored hashes use the Go sumdb layout (assembly.audit.merkle.stored_hash_index): a proof reads
at most about 2·log2(n) rows by primary key, in one query.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from assembly.models import UTCDateTime, utcnow


class AuditLog(SQLModel, table=True):
    """The sequencer of one estate's log: appends lock this row, so they are serialised."""

    __tablename__ = "audit_log"
    estate_id: int = Field(foreign_key="estate.id", primary_key=True)
    size: int = 0


class AuditEntry(SQLModel, table=True):
    """Entry `idx` of an estate's log: exactly the canonical bytes, plus columns for browsing."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_browse", "estate_id", "type", "at"),)
    estate_id: int = Field(foreign_key="estate.id", primary_key=True)
    idx: int = Field(primary_key=True)
    type: str = Field(max_length=40)
    at: datetime = Field(sa_type=UTCDateTime)
    actor_role: str = Field(max_length=40)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AuditHash(SQLModel, table=True):
    """One stored hash (a leaf, or a complete subtree) at its sumdb index."""

    __tablename__ = "audit_hash"
    estate_id: int = Field(foreign_key="estate.id", primary_key=True)
    hash_index: int = Field(primary_key=True)
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class AuditCheckpoint(SQLModel, table=True):
    """A signed checkpoint note (with any witness cosignatures added later)."""

    __tablename__ = "audit_checkpoint"
    __table_args__ = (Index("ix_audit_checkpoint_latest", "estate_id", "size"),)
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id")
    size: int
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    signed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    note: str = Field(sa_column=Column(Text, nullable=False))


class AuditKey(SQLModel, table=True):
    """A verifier key of the platform's log signing key (the private key never enters the database).

    Rotation adds a row and retires the previous one; exports list them all, the current first.
    """

    __tablename__ = "audit_key"
    id: int | None = Field(default=None, primary_key=True)
    public_key: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False, unique=True))
    active_from: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
