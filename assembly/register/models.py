"""Tables of the register: the administrative tree, units, persons, register versions, roll snapshots.

A register version is immutable: a change of ownership or area is a new version with a reason and
an evidence reference (rules.md, "The register"). Unit records and ownerships hang off a version.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from assembly.area import ExactArea
from assembly.models import UTCDateTime, utcnow


class District(SQLModel, table=True):
    """区 — a district (its housing authority issues the owner cards)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)


class StreetOffice(SQLModel, table=True):
    """街道办事处 — street office: onboards estates, checks registers."""

    __tablename__ = "street_office"
    id: int | None = Field(default=None, primary_key=True)
    district_id: int = Field(foreign_key="district.id", index=True)
    name: str = Field(max_length=100)


class Community(SQLModel, table=True):
    """社区 — community, with its residents' committee 社区居委会."""

    id: int | None = Field(default=None, primary_key=True)
    street_office_id: int = Field(foreign_key="street_office.id", index=True)
    name: str = Field(max_length=100)
    residents_committee: str = Field(max_length=100)


class Estate(SQLModel, table=True):
    """物业管理区域 — one estate, the tenant boundary of every query."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=100)
    community_id: int = Field(foreign_key="community.id", index=True)
    address: str = Field(default="", max_length=200)
    committee_contact: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Whether parking spaces and storage rooms with their own registration count as 专有部分 in its
    # votes (courts differ): None until decided, with the reason, who and when (register/estates.py).
    ancillary_counted: bool | None = None
    ancillary_reason: str = Field(default="", max_length=500)
    ancillary_set_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ancillary_set_by: str = Field(default="", max_length=40)


class Building(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("estate_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    code: str = Field(max_length=20)


class Unit(SQLModel, table=True):
    """专有部分 — a unit's stable identity ("building-entrance-room"); its facts live in UnitRecord."""

    __table_args__ = (UniqueConstraint("estate_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    building_id: int = Field(foreign_key="building.id", index=True)
    code: str = Field(max_length=40)


class Person(SQLModel, table=True):
    """An owner of record. Identity numbers only as keyed hashes; `pseudonym` is what logs see."""

    __table_args__ = (UniqueConstraint("estate_id", "id_hash"),)
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    pseudonym: str = Field(max_length=24, unique=True)
    name: str = Field(max_length=100)
    id_hash: str = Field(max_length=64)
    id_tail_hash: str = Field(max_length=64)
    phone: str | None = Field(default=None, max_length=32)


class RegisterVersion(SQLModel, table=True):
    """One immutable version of an estate's register, with why it changed and the diff."""

    __tablename__ = "register_version"
    __table_args__ = (UniqueConstraint("estate_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    number: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=40)
    reason: str = Field(max_length=500)
    evidence_ref: str = Field(max_length=500)
    content_sha256: str = Field(max_length=64)
    unit_count: int
    member_count: int
    total_area: Decimal = Field(sa_type=ExactArea)
    diff_json: str = Field(sa_column=Column(Text, nullable=False))


class UnitRecord(SQLModel, table=True):
    """A unit's facts in one version: developer-held or not, and its three possible areas."""

    __tablename__ = "unit_record"
    # The unique (version_id, unit_id) index also serves lookups by version: no second index.
    __table_args__ = (UniqueConstraint("version_id", "unit_id"),)
    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="register_version.id")
    unit_id: int = Field(foreign_key="unit.id", index=True)
    developer: bool = False
    area_registry: Decimal | None = Field(default=None, sa_type=ExactArea)
    area_survey: Decimal | None = Field(default=None, sa_type=ExactArea)
    area_contract: Decimal | None = Field(default=None, sa_type=ExactArea)
    # who is an owner (issue #24 item 7; docs/register-import.md)
    basis: str = Field(default="registered", max_length=10)  # registered | delivered (SPC Art. 1 ¶2)
    evidence_ref: str = Field(default="", max_length=200)  # the delivery evidence, for "delivered"
    reseller: bool = False  # held by a bulk reseller 包销人: counts with the developer (SPC Art. 17)
    kind: str = Field(default="dwelling", max_length=10)  # dwelling | parking | storage


class Ownership(SQLModel, table=True):
    """An owner of record of a unit in one version (co-owners: several rows)."""

    __table_args__ = (Index("ix_ownership_person", "person_id"),)
    version_id: int = Field(foreign_key="register_version.id", primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)


class RollSnapshot(SQLModel, table=True):
    """A frozen roll: members, areas and heads as of one register version (SPC Art. 8-9)."""

    __tablename__ = "roll_snapshot"
    id: int | None = Field(default=None, primary_key=True)
    estate_id: int = Field(foreign_key="estate.id", index=True)
    version_id: int = Field(foreign_key="register_version.id", index=True)
    frozen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    purpose: str = Field(max_length=200)
    total_area: Decimal = Field(sa_type=ExactArea)
    total_heads: int


class RollMember(SQLModel, table=True):
    """A voting member of a frozen roll: the developer, or one set of owners of record."""

    __tablename__ = "roll_member"
    __table_args__ = (UniqueConstraint("snapshot_id", "member_key"),)
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="roll_snapshot.id", index=True)
    # "owners:" + pseudonyms joined by "+": unbounded (a unit may have many co-owners).
    member_key: str = Field(sa_column=Column(Text, nullable=False))
    area: Decimal = Field(sa_type=ExactArea)
    heads: int = 1


class RollMemberUnit(SQLModel, table=True):
    __tablename__ = "roll_member_unit"
    member_id: int = Field(foreign_key="roll_member.id", primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
