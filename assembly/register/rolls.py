"""Voting members of a register version and frozen rolls (SPC 法释〔2009〕7号 Art. 8-9)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from assembly.errors import InvalidInput
from assembly.law import rules
from assembly.register.bulk import bulk_insert
from assembly.register.facts import ANCILLARY, roll_units, version_facts
from assembly.register.models import (
    Estate,
    Ownership,
    Person,
    RegisterVersion,
    RollMember,
    RollMemberUnit,
    RollSnapshot,
    Unit,
    UnitRecord,
)
from assembly.register.service import latest_version


def version_members(session: Session, *, version_id: int, count_ancillary: bool | None = True) -> list[rules.Member]:
    """The voting members of a version, keyed by owner pseudonyms (what the log may see); parking
    spaces and storage rooms only when `count_ancillary` (the estate's setting)."""
    facts = version_facts(session, version_id=version_id)
    pseudonyms = dict(session.execute(select(Person.id_hash, Person.pseudonym).join(
        Ownership, Ownership.person_id == Person.id).where(Ownership.version_id == version_id)).all())
    pseudonymous = {
        code: dataclasses.replace(unit, owners=frozenset(pseudonyms[hashed] for hashed in unit.owners))
        for code, unit in facts.items()
    }
    return rules.derive_members(roll_units(pseudonymous, count_ancillary=count_ancillary))


def freeze_roll(session: Session, *, estate: Estate, purpose: str, version: RegisterVersion | None = None) -> RollSnapshot:
    """Freeze the members, areas and heads of the latest (or a given) version (SPC Art. 8-9)."""
    version = version or latest_version(session, estate_id=estate.id)
    if version is None:
        raise InvalidInput("该小区还没有业主名册 / the estate has no register yet", code="register_missing")
    members = version_members(session, version_id=version.id, count_ancillary=estate.ancillary_counted)
    snapshot = RollSnapshot(
        estate_id=estate.id,
        version_id=version.id,
        purpose=purpose,
        total_area=sum((member.area for member in members), Decimal(0)),
        total_heads=sum(member.heads for member in members),
    )
    session.add(snapshot)
    session.flush()
    unit_ids = dict(session.execute(select(Unit.code, Unit.id).where(Unit.estate_id == estate.id)).all())
    bulk_insert(
        session,
        RollMember.__table__,
        [{"snapshot_id": snapshot.id, "member_key": m.key, "area": m.area, "heads": m.heads} for m in members],
    )
    member_ids = dict(
        session.execute(select(RollMember.member_key, RollMember.id).where(RollMember.snapshot_id == snapshot.id)).all()
    )
    links = [
        {"member_id": member_ids[member.key], "unit_id": unit_ids[code]} for member in members for code in member.unit_ids
    ]
    bulk_insert(session, RollMemberUnit.__table__, links)
    session.flush()
    return snapshot


def ancillary_units(session: Session, *, estate: Estate) -> int:
    """How many parking spaces and storage rooms the estate's latest register lists."""
    version = latest_version(session, estate_id=estate.id)
    if version is None:
        return 0
    return len(session.scalars(select(UnitRecord.unit_id).where(
        UnitRecord.version_id == version.id, UnitRecord.kind.in_(sorted(ANCILLARY)))).all())
