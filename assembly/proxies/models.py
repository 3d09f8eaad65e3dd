"""Tables of proxies 代理人: an owner's written authorisation for one meeting (proxy_appointment) and
the proxy's login for that meeting (proxy_login).

Identity numbers only as keyed hashes (assembly.identity), the login code only as argon2id,
the signed document as its bytes with its SHA-256. The state of an appointment is its timestamps:
pending until the committee confirms or rejects it; withdrawn by the owner while the proxy has not
voted for them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from assembly.models import UTCDateTime


class ProxyLogin(SQLModel, table=True):
    """One proxy person in one meeting (identified by the keyed hash of their identity number), and
    their login code once the committee confirmed a first authorisation naming them."""

    __tablename__ = "proxy_login"
    __table_args__ = (UniqueConstraint("meeting_id", "id_hash"),)
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    id_hash: str = Field(max_length=64)  # identity.id_hash of the proxy's identity number
    tail_hash: str = Field(max_length=64)  # identity.id_tail_hash: what the login asks for
    name: str = Field(max_length=50)  # as written in the authorisation
    pseudonym: str = Field(max_length=24, unique=True)  # keyed, per meeting: what the log sees
    handle: str | None = Field(default=None, max_length=8, unique=True)  # the code's first group (finds the login)
    code_hash: str | None = Field(default=None, max_length=200)  # argon2id of the rest of the code
    code_serial: int = 0  # 1 for the first code, +1 on every reissue
    code_issued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ProxyAppointment(SQLModel, table=True):
    """An owner's written authorisation 授权委托书 of a proxy, for one voting member in one meeting."""

    __tablename__ = "proxy_appointment"
    __table_args__ = (Index("ix_proxy_appointment_meeting_member", "meeting_id", "member_key"),)
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    member_key: str = Field(sa_column=Column(Text, nullable=False))  # the voting member represented
    units: str = Field(max_length=2000)  # the member's units, comma-separated, as when appointed
    area: str = Field(max_length=40)  # the member's area as a decimal string, as when appointed
    appointed_by_person: int = Field(foreign_key="person.id", index=True)
    proxy_login_id: int = Field(foreign_key="proxy_login.id", index=True)
    appointed_at: datetime = Field(sa_type=UTCDateTime)
    document: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # the signed authorisation
    document_type: str = Field(max_length=40)  # application/pdf | image/jpeg | image/png (by magic bytes)
    document_sha256: str = Field(max_length=64)
    document_size: int
    entry_index: int  # proxy.appointed
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rejected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=40)  # the committee person's pseudonym
    reject_reason: str | None = Field(default=None, max_length=500)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # the scan erased a year after the announcement with no case open (assembly.proxies.scans):
    # `document` is then empty; its SHA-256 and size stay, so the log's entries still name it
    document_erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
