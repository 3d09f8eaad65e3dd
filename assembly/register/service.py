"""What the register does: apply a register as a new immutable version (with its diff and log entry).

Keyword-only functions over a session; they flush but never commit (the caller's unit of work does).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from assembly import identity
from assembly.audit import store as audit_log
from assembly.errors import InvalidInput, NotFound
from assembly.events.bus import publish
from assembly.events.catalog import RegisterVersionApplied
from assembly.law import rules
from assembly.models import utcnow
from assembly.register.bulk import bulk_insert
from assembly.register.facts import RegisterDiff, UnitFacts, diff_versions, roll_units, version_facts
from assembly.register.models import Building, Estate, Ownership, Person, RegisterVersion, Unit, UnitRecord
from assembly.register.rows import RegisterRow

_CHUNK = 5_000
_TEXT_LIMIT = 500  # register_version.reason and .evidence_ref


@dataclass
class ApplyOutcome:
    version: RegisterVersion
    created: bool  # False: the register equals the latest version, nothing was written
    diff: RegisterDiff


def get_estate(session: Session, code: str) -> Estate:
    estate = session.scalars(select(Estate).where(Estate.code == code)).first()
    if estate is None:
        raise NotFound(f"没有代码为 “{code}” 的小区 / no estate with the code '{code}'", code="estate_not_found")
    return estate


def latest_version(session: Session, *, estate_id: int) -> RegisterVersion | None:
    query = (
        select(RegisterVersion)
        .where(RegisterVersion.estate_id == estate_id)
        .order_by(RegisterVersion.number.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def _id_hashes(rows: list[RegisterRow], id_key: str) -> dict[str, str]:
    """id number → keyed hash, for every owner of the register: each hashed once, not once per use."""
    numbers = {row.id_number for row in rows if not row.developer}
    return {number: identity.id_hash(id_key, number) for number in numbers}


def _group_units(rows: list[RegisterRow], hashes: Mapping[str, str]) -> dict[str, tuple[UnitFacts, list[RegisterRow]]]:
    by_unit: dict[str, list[RegisterRow]] = defaultdict(list)
    for row in rows:
        by_unit[row.unit].append(row)
    units: dict[str, tuple[UnitFacts, list[RegisterRow]]] = {}
    for code, unit_rows in by_unit.items():
        first = unit_rows[0]
        for row in unit_rows[1:]:
            if (row.developer, row.registry, row.survey, row.contract, row.basis, row.evidence, row.reseller,
                    row.kind) != (first.developer, first.registry, first.survey, first.contract, first.basis,
                                  first.evidence, first.reseller, first.kind):
                raise InvalidInput(f"房屋 {code} 的各行面积或开发建设单位标记不一致 / unit {code}: rows disagree")
        owners = frozenset([hashes[row.id_number] for row in unit_rows if not row.developer])
        if not first.developer and not owners:
            raise InvalidInput(f"房屋 {code} 没有业主 / unit {code} has no owner")
        if first.registry is None and first.survey is None and first.contract is None:
            raise InvalidInput(f"房屋 {code} 没有面积 / unit {code} has no area")
        if first.basis == "delivered" and not first.evidence.strip():
            raise InvalidInput(f"房屋 {code} 的业主依据为交付，但没有交付凭证 / unit {code}: a delivered buyer needs "
                               "the delivery evidence", code="delivery_evidence_missing")
        facts = UnitFacts(first.developer or first.reseller, first.registry, first.survey, first.contract, owners,
                          first.basis, first.evidence.strip() if first.basis == "delivered" else "", first.reseller,
                          first.kind)
        units[code] = (facts, unit_rows)
    return units


def _content_digest(units: dict[str, tuple[UnitFacts, list[RegisterRow]]], hashes: Mapping[str, str]) -> str:
    """SHA-256 over the canonical register: same content, same digest, whatever the row order."""
    canonical = []
    for code in sorted(units):
        facts, unit_rows = units[code]
        people = sorted(
            (hashes[row.id_number], row.owner_name, row.phone or "")
            for row in unit_rows
            if not row.developer
        )
        canonical.append([code, facts.describe(), people])
    return hashlib.sha256(json.dumps(canonical, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _ensure_buildings(session: Session, estate_id: int, codes: set[str]) -> dict[str, int]:
    existing = dict(session.execute(select(Building.code, Building.id).where(Building.estate_id == estate_id)).all())
    missing = sorted(codes - set(existing))
    if missing:
        bulk_insert(session, Building.__table__, [{"estate_id": estate_id, "code": code} for code in missing])
        existing = dict(session.execute(select(Building.code, Building.id).where(Building.estate_id == estate_id)).all())
    return existing


def _ensure_units(session: Session, estate_id: int, codes: list[str], buildings: dict[str, int]) -> dict[str, int]:
    existing = dict(session.execute(select(Unit.code, Unit.id).where(Unit.estate_id == estate_id)).all())
    missing = [code for code in codes if code not in existing]
    bulk_insert(
        session,
        Unit.__table__,
        [{"estate_id": estate_id, "building_id": buildings[code.split("-", 1)[0]], "code": code} for code in missing],
    )
    if missing:
        existing = dict(session.execute(select(Unit.code, Unit.id).where(Unit.estate_id == estate_id)).all())
    return existing


def _ensure_persons(
    session: Session, estate_id: int, rows: list[RegisterRow], id_key: str, hashes: Mapping[str, str]
) -> dict[str, int]:
    """id hash → person id; new owners get a random pseudonym, changed names/phones are updated."""
    wanted: dict[str, RegisterRow] = {}
    for row in rows:
        if not row.developer:
            hashed = hashes[row.id_number]
            # An owner of several units may give the phone on one row only: keep the phone.
            if hashed not in wanted or (row.phone and not wanted[hashed].phone):
                wanted[hashed] = row
    existing = {
        hashed: (person_id, name, phone)
        for person_id, hashed, name, phone in session.execute(
            select(Person.id, Person.id_hash, Person.name, Person.phone).where(Person.estate_id == estate_id)
        )
    }
    new = [
        {
            "estate_id": estate_id,
            "pseudonym": "p" + secrets.token_hex(8),
            "name": row.owner_name,
            "id_hash": hashed,
            "id_tail_hash": identity.id_tail_hash(id_key, row.id_number, full=hashed),
            "phone": row.phone,
        }
        for hashed, row in wanted.items()
        if hashed not in existing
    ]
    bulk_insert(session, Person.__table__, new)
    corrected = [
        {"person": existing[hashed][0], "name": row.owner_name, "phone": row.phone}
        for hashed, row in wanted.items()
        if hashed in existing and existing[hashed][1:] != (row.owner_name, row.phone)
    ]
    if corrected:  # one statement for all, not a SELECT and an UPDATE per person
        session.flush()
        people = Person.__table__
        session.execute(update(people).where(people.c.id == bindparam("person")), corrected)
        for loaded in [entity for entity in session.identity_map.values() if isinstance(entity, Person)]:
            session.expire(loaded)  # a Person already in the session must not keep the old name
    if new:
        existing = {
            hashed: (person_id, None, None)
            for person_id, hashed in session.execute(
                select(Person.id, Person.id_hash).where(Person.estate_id == estate_id)
            )
        }
    return {hashed: values[0] for hashed, values in existing.items()}


def _owners_phones(session: Session, estate_id: int, rows: list[RegisterRow], hashes) -> list[RegisterRow]:
    """Every row of an owner carries that owner's one phone: the phone the file gives on any of
    their rows (crossrows refuses two different ones), else the stored phone — a register file
    without a phone column (official 不动产登记 data has none) must not wipe the contacts the estate
    collected. The content digest is taken after this, so an identical file (an owner of several
    units with the phone on one row only, say) gives the same digest on every import (issue #14)."""
    blank = [row for row in rows if not row.developer and not row.phone]
    if not blank:
        return rows
    phone_of: dict[str, str] = {}
    for row in rows:
        if not row.developer and row.phone:
            phone_of.setdefault(hashes[row.id_number], row.phone)
    if any(hashes[row.id_number] not in phone_of for row in blank):
        stored = session.execute(
            select(Person.id_hash, Person.phone).where(Person.estate_id == estate_id, Person.phone.is_not(None))
        ).all()
        phone_of = dict(stored) | phone_of
    return [
        dataclasses.replace(row, phone=phone_of[hashes[row.id_number]])
        if not row.developer and not row.phone and hashes[row.id_number] in phone_of
        else row
        for row in rows
    ]


def apply_register(
    session: Session,
    *,
    estate: Estate,
    rows: list[RegisterRow],
    reason: str,
    evidence_ref: str,
    actor: audit_log.Actor | str,
    id_key: str,
    now: datetime | None = None,
) -> ApplyOutcome:
    """Make `rows` the estate's register: a new version with its diff, or nothing if unchanged.

    The new version is a `register.version` audit entry in the same transaction. `actor` is the
    pseudonymous actor; a plain string means an operator (command line, demo).
    """
    if isinstance(actor, str):
        actor = audit_log.Actor(actor, "operator")
    if not rows:
        raise InvalidInput("名册为空 / the register has no rows", code="register_empty")
    if not reason.strip():
        raise InvalidInput("请说明变更原因 / a reason is required", code="reason_required")
    if len(reason.strip()) > _TEXT_LIMIT or len(evidence_ref.strip()) > _TEXT_LIMIT:
        # The columns hold 500 characters; PostgreSQL would refuse more, SQLite would keep it.
        raise InvalidInput(
            f"变更原因和依据各不超过 {_TEXT_LIMIT} 字 / reason and evidence are at most {_TEXT_LIMIT} characters each",
            code="reason_too_long",
        )
    hashes = _id_hashes(rows, id_key)
    # One writer per estate: two imports at once must not both become version N+1 (PostgreSQL;
    # SQLite's BEGIN IMMEDIATE already serialises writers).
    session.execute(select(Estate.id).where(Estate.id == estate.id).with_for_update())
    rows = _owners_phones(session, estate.id, rows, hashes)
    units = _group_units(rows, hashes)
    digest = _content_digest(units, hashes)
    previous = latest_version(session, estate_id=estate.id)
    new_facts = {code: facts for code, (facts, _rows) in units.items()}
    if previous is not None and previous.content_sha256 == digest:
        return ApplyOutcome(previous, False, RegisterDiff())
    before = version_facts(session, version_id=previous.id) if previous else {}
    diff = diff_versions(before, new_facts)
    members = rules.derive_members(roll_units(new_facts, count_ancillary=estate.ancillary_counted))

    buildings = _ensure_buildings(session, estate.id, {code.split("-", 1)[0] for code in units})
    unit_ids = _ensure_units(session, estate.id, sorted(units), buildings)
    person_ids = _ensure_persons(session, estate.id, rows, id_key, hashes)
    version = RegisterVersion(
        estate_id=estate.id,
        number=(previous.number + 1) if previous else 1,
        created_by=actor.id,
        reason=reason.strip(),
        evidence_ref=evidence_ref.strip(),
        content_sha256=digest,
        unit_count=len(units),
        member_count=len(members),
        total_area=sum((member.area for member in members), Decimal(0)),
        diff_json=json.dumps(diff.as_dict(), ensure_ascii=False),
    )
    session.add(version)
    session.flush()
    records = [
        {
            "version_id": version.id,
            "unit_id": unit_ids[code],
            "developer": facts.developer,
            "area_registry": facts.registry,
            "area_survey": facts.survey,
            "area_contract": facts.contract,
            "basis": facts.basis,
            "evidence_ref": facts.evidence,
            "reseller": facts.reseller,
            "kind": facts.kind,
        }
        for code, facts in new_facts.items()
    ]
    ownerships = [
        {"version_id": version.id, "unit_id": unit_ids[code], "person_id": person_ids[hashed]}
        for code, facts in new_facts.items()
        for hashed in sorted(facts.owners)
    ]
    bulk_insert(session, UnitRecord.__table__, records)
    bulk_insert(session, Ownership.__table__, ownerships)
    audit_log.append(
        session,
        estate_id=estate.id,
        type="register.version",
        actor=actor,
        version=version.number,
        register_sha256=digest,
        units=len(units),
    )
    session.flush()
    # a sale: voting moves a member's vote to the buyer, then auth ends the seller's card (assembly.wiring)
    publish(session, RegisterVersionApplied(estate_id=estate.id, at=now or utcnow(), actor=actor.id, role=actor.role,
                                            version=version.number))
    return ApplyOutcome(version, True, diff)
