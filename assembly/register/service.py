"""What the register does: apply a register as a new immutable version, diff it, freeze a roll.

Keyword-only functions over a session; they flush but never commit (the caller's unit of work does).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter

from sqlalchemy import Table, bindparam, insert, select, update
from sqlmodel import Session

from assembly.area import format_area
from assembly.audit import store as audit_log
from assembly.errors import InvalidInput, NotFound
from assembly.register import identity
from assembly.register.models import (
    Building,
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
from assembly.register.rows import RegisterRow
from assembly.voting import rules

_CHUNK = 5_000
_TEXT_LIMIT = 500  # register_version.reason and .evidence_ref


@dataclass(frozen=True)
class UnitFacts:
    """A unit's facts in one version, comparable across versions."""

    developer: bool
    registry: Decimal | None
    survey: Decimal | None
    contract: Decimal | None
    owners: frozenset[str]  # id hashes

    def describe(self) -> dict:
        return {
            "developer": self.developer,
            "area": {
                name: format_area(value)
                for name, value in (("registry", self.registry), ("survey", self.survey), ("contract", self.contract))
                if value is not None
            },
            "owners": len(self.owners),
        }


@dataclass
class RegisterDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, dict] = field(default_factory=dict)  # unit → {"before": …, "after": …}
    # The facts of the added units (as imported) and of the removed ones (as they were), for
    # listings; not part of as_dict(), which is what the version stores.
    added_facts: dict[str, UnitFacts] = field(default_factory=dict, repr=False)
    removed_facts: dict[str, UnitFacts] = field(default_factory=dict, repr=False)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def as_dict(self) -> dict:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


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
            if (row.developer, row.registry, row.survey, row.contract) != (
                first.developer,
                first.registry,
                first.survey,
                first.contract,
            ):
                raise InvalidInput(f"房屋 {code} 的各行面积或开发建设单位标记不一致 / unit {code}: rows disagree")
        owners = frozenset([hashes[row.id_number] for row in unit_rows if not row.developer])
        if not first.developer and not owners:
            raise InvalidInput(f"房屋 {code} 没有业主 / unit {code} has no owner")
        if first.registry is None and first.survey is None and first.contract is None:
            raise InvalidInput(f"房屋 {code} 没有面积 / unit {code} has no area")
        facts = UnitFacts(first.developer, first.registry, first.survey, first.contract, owners)
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


def version_facts(session: Session, *, version_id: int) -> dict[str, UnitFacts]:
    """unit code → facts, for one version (two queries, no per-unit round trips)."""
    owners: dict[int, set[str]] = defaultdict(set)
    ownership_query = (
        select(Ownership.unit_id, Person.id_hash)
        .join(Person, Person.id == Ownership.person_id)
        .where(Ownership.version_id == version_id)
    )
    for unit_id, hashed in session.execute(ownership_query):
        owners[unit_id].add(hashed)
    # Columns, not UnitRecord entities: 100,000 ORM objects in the identity map cost seconds.
    record_query = (
        select(
            Unit.code,
            UnitRecord.unit_id,
            UnitRecord.developer,
            UnitRecord.area_registry,
            UnitRecord.area_survey,
            UnitRecord.area_contract,
        )
        .join(Unit, Unit.id == UnitRecord.unit_id)
        .where(UnitRecord.version_id == version_id)
    )
    return {
        code: UnitFacts(developer, registry, survey, contract, frozenset(owners.get(unit_id, ())))
        for code, unit_id, developer, registry, survey, contract in session.execute(record_query)
    }


def diff_versions(before: dict[str, UnitFacts], after: dict[str, UnitFacts]) -> RegisterDiff:
    diff = RegisterDiff()
    diff.added = sorted(set(after) - set(before))
    diff.removed = sorted(set(before) - set(after))
    diff.added_facts = {code: after[code] for code in diff.added}
    diff.removed_facts = {code: before[code] for code in diff.removed}
    for code in sorted(set(before) & set(after)):
        if before[code] != after[code]:
            diff.changed[code] = {"before": before[code].describe(), "after": after[code].describe()}
            if before[code].owners != after[code].owners:
                diff.changed[code]["owners_changed"] = True
    return diff


def _bulk_insert(session: Session, table: Table, rows: list[dict]) -> None:
    """Insert many rows of one shape on the session's connection, inside its transaction.

    PostgreSQL: COPY (psycopg's executemany sends one INSERT per row: ~400,000 rows for 100,000
    units took ~15 s). SQLite: the driver's executemany with plain tuples (SQLAlchemy's per-row
    parameter handling was half the insert time). Values go through the columns' bind processors
    first (ExactArea, UTC times, SQLite booleans), so they are stored exactly as the ORM would.
    """
    if not rows:
        return
    session.flush()  # what the session holds goes first, as session.execute() would do
    connection = session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    processors = [
        (position, process)
        for position, name in enumerate(names)
        if (process := table.c[name].type.bind_processor(dialect)) is not None
    ]
    values = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)

    def records() -> Iterator[tuple | list]:
        for row in rows:
            record = values(row)
            if processors:
                record = list(record)
                for position, process in processors:
                    if record[position] is not None:
                        record[position] = process(record[position])
            yield record

    preparer = dialect.identifier_preparer
    target = f"{preparer.format_table(table)} ({', '.join(preparer.quote(name) for name in names)})"
    dbapi_connection = connection.connection.dbapi_connection
    if dialect.name == "postgresql":
        with dbapi_connection.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for record in records():
                copy.write_row(record)
    elif dialect.paramstyle == "qmark":
        cursor = dbapi_connection.cursor()
        try:
            cursor.executemany(f"INSERT INTO {target} VALUES ({', '.join('?' * len(names))})", records())
        finally:
            cursor.close()
    else:  # pragma: no cover - the two supported databases are handled above
        for start in range(0, len(rows), _CHUNK):
            connection.execute(insert(table), rows[start : start + _CHUNK])


def _ensure_buildings(session: Session, estate_id: int, codes: set[str]) -> dict[str, int]:
    existing = dict(session.execute(select(Building.code, Building.id).where(Building.estate_id == estate_id)).all())
    missing = sorted(codes - set(existing))
    if missing:
        _bulk_insert(session, Building.__table__, [{"estate_id": estate_id, "code": code} for code in missing])
        existing = dict(session.execute(select(Building.code, Building.id).where(Building.estate_id == estate_id)).all())
    return existing


def _ensure_units(session: Session, estate_id: int, codes: list[str], buildings: dict[str, int]) -> dict[str, int]:
    existing = dict(session.execute(select(Unit.code, Unit.id).where(Unit.estate_id == estate_id)).all())
    missing = [code for code in codes if code not in existing]
    _bulk_insert(
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
    _bulk_insert(session, Person.__table__, new)
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


def roll_units(facts: dict[str, UnitFacts]) -> list[rules.RollUnit]:
    return [
        rules.RollUnit(
            id=code,
            owners=unit.owners,
            developer=unit.developer,
            area=rules.unit_area(rules.UnitAreas(unit.registry, unit.survey, unit.contract))[0],
        )
        for code, unit in facts.items()
    ]


def _keep_known_phones(session: Session, estate_id: int, rows: list[RegisterRow], hashes) -> list[RegisterRow]:
    """A row without a phone keeps the owner's stored phone: a register file without a phone
    column (official 不动产登记 data has none) must not wipe the contacts the estate collected."""
    if all(row.phone for row in rows if not row.developer):
        return rows
    stored = dict(
        session.execute(
            select(Person.id_hash, Person.phone).where(Person.estate_id == estate_id, Person.phone.is_not(None))
        ).all()
    )
    if not stored:
        return rows
    return [
        dataclasses.replace(row, phone=stored[hashes[row.id_number]])
        if not row.developer and not row.phone and hashes[row.id_number] in stored
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
    rows = _keep_known_phones(session, estate.id, rows, hashes)
    units = _group_units(rows, hashes)
    digest = _content_digest(units, hashes)
    previous = latest_version(session, estate_id=estate.id)
    new_facts = {code: facts for code, (facts, _rows) in units.items()}
    if previous is not None and previous.content_sha256 == digest:
        return ApplyOutcome(previous, False, RegisterDiff())
    before = version_facts(session, version_id=previous.id) if previous else {}
    diff = diff_versions(before, new_facts)
    members = rules.derive_members(roll_units(new_facts))

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
        }
        for code, facts in new_facts.items()
    ]
    ownerships = [
        {"version_id": version.id, "unit_id": unit_ids[code], "person_id": person_ids[hashed]}
        for code, facts in new_facts.items()
        for hashed in sorted(facts.owners)
    ]
    _bulk_insert(session, UnitRecord.__table__, records)
    _bulk_insert(session, Ownership.__table__, ownerships)
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
    return ApplyOutcome(version, True, diff)


def version_members(session: Session, *, version_id: int) -> list[rules.Member]:
    """The voting members of a version, keyed by owner pseudonyms (what the log may see)."""
    facts = version_facts(session, version_id=version_id)
    pseudonyms = dict(session.execute(select(Person.id_hash, Person.pseudonym).join(
        Ownership, Ownership.person_id == Person.id).where(Ownership.version_id == version_id)).all())
    pseudonymous = {
        code: UnitFacts(unit.developer, unit.registry, unit.survey, unit.contract,
                        frozenset(pseudonyms[hashed] for hashed in unit.owners))
        for code, unit in facts.items()
    }
    return rules.derive_members(roll_units(pseudonymous))


def freeze_roll(session: Session, *, estate: Estate, purpose: str, version: RegisterVersion | None = None) -> RollSnapshot:
    """Freeze the members, areas and heads of the latest (or a given) version (SPC Art. 8-9)."""
    version = version or latest_version(session, estate_id=estate.id)
    if version is None:
        raise InvalidInput("该小区还没有业主名册 / the estate has no register yet", code="register_missing")
    members = version_members(session, version_id=version.id)
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
    _bulk_insert(
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
    _bulk_insert(session, RollMemberUnit.__table__, links)
    session.flush()
    return snapshot
