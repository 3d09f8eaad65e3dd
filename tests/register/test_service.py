"""apply_register: immutable versions and their diff, members (SPC Art. 9), roll freezing, tenancy."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from assembly import identity
from assembly.errors import InvalidInput
from assembly.register import facts, rolls, service
from assembly.register.importer import parse_register
from assembly.register.models import (
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

from .conftest import create_estate
from .registerfiles import (
    CHINESE,
    LI,
    SAMPLE,
    SAMPLE_MEMBERS,
    SAMPLE_TOTAL_AREA,
    WANG,
    ZHANG,
    ZHAO,
    csv_bytes,
    register_rows,
    table,
)

KEY = "service-test-key-" + "k" * 32


def apply(session, estate, rows, *, reason="导入 / import", evidence="file:test"):
    return service.apply_register(
        session, estate=estate, rows=rows, reason=reason, evidence_ref=evidence, actor="test", id_key=KEY
    )


def count(session, table_, *where) -> int:
    return session.scalar(select(func.count()).select_from(table_).where(*where))


def test_first_import_is_version_one(session, estate):
    outcome = apply(session, estate, register_rows())
    version = outcome.version
    assert outcome.created
    assert (version.number, version.unit_count, version.member_count) == (1, 7, 4)
    assert version.total_area == SAMPLE_TOTAL_AREA
    assert version.reason == "导入 / import" and version.evidence_ref == "file:test"
    assert outcome.diff.added == sorted({entry[0] for entry in SAMPLE})
    assert outcome.diff.removed == [] and outcome.diff.changed == {}
    assert count(session, UnitRecord, UnitRecord.version_id == version.id) == 7
    # 7 ownerships: 1-1-102 and 2-1-201 have two owners each, the developer units none.
    assert count(session, Ownership, Ownership.version_id == version.id) == 7
    assert count(session, Person, Person.estate_id == estate.id) == 3


def test_identity_numbers_are_stored_only_as_keyed_hashes(session, estate):
    apply(session, estate, register_rows())
    people = session.scalars(select(Person).where(Person.estate_id == estate.id)).all()
    stored = " ".join(f"{person.id_hash} {person.id_tail_hash} {person.pseudonym}" for person in people)
    for _name, number, _phone in (ZHANG, LI, WANG):
        assert number not in stored
        assert number[-4:] not in {person.id_tail_hash for person in people}
    assert {person.id_hash for person in people} == {identity.id_hash(KEY, number) for _n, number, _p in (ZHANG, LI, WANG)}


def test_identical_register_is_a_no_op_whatever_the_row_order(session, estate):
    first = apply(session, estate, register_rows()).version
    shuffled = register_rows()
    random.Random(7).shuffle(shuffled)
    again = apply(session, estate, shuffled)
    assert not again.created and again.diff.empty
    assert again.version.id == first.id
    assert count(session, RegisterVersion, RegisterVersion.estate_id == estate.id) == 1
    assert count(session, UnitRecord) == 7


def test_same_areas_written_differently_are_the_same_register(session, estate):
    apply(session, estate, register_rows())
    padded = [replace(row, survey=row.survey.quantize(Decimal("0.0001")) if row.survey else None) for row in register_rows()]
    assert not apply(session, estate, padded).created


def changed_register() -> list[RegisterRow]:
    """Version 2: 1-1-101 re-surveyed, 2-1-202 sold to 赵六, 2-1-102 gone, 3-1-101 new."""
    rows = []
    for row in register_rows():
        if row.unit == "1-1-101":
            row = replace(row, survey=Decimal("90.1"))
        elif row.unit == "2-1-202":
            row = replace(row, owner_name=ZHAO[0], id_number=ZHAO[1], phone=ZHAO[2])
        elif row.unit == "2-1-102":
            continue
        rows.append(row)
    rows.append(RegisterRow(unit="3-1-101", registry=Decimal("66.6"), owner_name=ZHANG[0], id_number=ZHANG[1]))
    return rows


def test_changed_register_is_version_two_with_its_diff(session, estate):
    first = apply(session, estate, register_rows()).version
    outcome = apply(session, estate, changed_register(), reason="过户 / transfer", evidence="不动产登记证明 2024-001")
    assert outcome.created and outcome.version.number == 2
    diff = outcome.diff
    assert diff.added == ["3-1-101"]
    assert diff.removed == ["2-1-102"]
    assert diff.changed == {
        "1-1-101": {
            "before": {"developer": False, "area": {"survey": "89.5"}, "owners": 1},
            "after": {"developer": False, "area": {"survey": "90.1"}, "owners": 1},
        },
        "2-1-202": {
            "before": {"developer": False, "area": {"survey": "70"}, "owners": 1},
            "after": {"developer": False, "area": {"survey": "70"}, "owners": 1},
            "owners_changed": True,
        },
    }
    assert json.loads(outcome.version.diff_json) == diff.as_dict()
    # For listings, the diff also carries the added units' facts and the removed units' old ones.
    assert diff.added_facts["3-1-101"].registry == Decimal("66.6")
    assert diff.removed_facts["2-1-102"].developer and diff.removed_facts["2-1-102"].registry == Decimal("60.5")
    # Version 1 is untouched: its facts still say what they said.
    old = facts.version_facts(session, version_id=first.id)
    assert old["1-1-101"].survey == Decimal("89.5") and "2-1-102" in old and "3-1-101" not in old
    assert old["2-1-202"].owners == frozenset({identity.id_hash(KEY, LI[1])})
    new = facts.version_facts(session, version_id=outcome.version.id)
    assert new["2-1-202"].owners == frozenset({identity.id_hash(KEY, ZHAO[1])})
    # {张三} now also holds 3-1-101: 89.5→90.1 and +66.6; the developer lost 60.5; {赵六} replaces {李四}.
    assert outcome.version.total_area == SAMPLE_TOTAL_AREA + Decimal("0.6") + Decimal("66.6") - Decimal("60.5")
    assert outcome.version.member_count == 4
    # The removed unit keeps its identity (older versions point at it).
    assert count(session, Unit, Unit.estate_id == estate.id) == 8


def test_developer_flag_change_is_a_change(session, estate):
    apply(session, estate, register_rows())
    rows = [
        RegisterRow(unit="2-1-101", survey=Decimal("120"), owner_name=ZHAO[0], id_number=ZHAO[1])
        if row.unit == "2-1-101"
        else row
        for row in register_rows()
    ]
    diff = apply(session, estate, rows).diff
    assert list(diff.changed) == ["2-1-101"]
    assert diff.changed["2-1-101"]["before"]["developer"] is True
    assert diff.changed["2-1-101"]["after"] == {"developer": False, "area": {"survey": "120"}, "owners": 1}


def test_name_or_phone_change_alone_is_a_new_version_without_unit_changes(session, estate):
    apply(session, estate, register_rows())
    loaded = session.scalars(select(Person).where(Person.id_hash == identity.id_hash(KEY, ZHANG[1]))).one()
    assert (loaded.name, loaded.phone) == (ZHANG[0], ZHANG[2])
    renamed = [
        replace(row, owner_name="张叁", phone="13900000001") if row.id_number == ZHANG[1] else row for row in register_rows()
    ]
    outcome = apply(session, estate, renamed)
    assert outcome.created and outcome.version.number == 2 and outcome.diff.empty
    # The person object loaded before the import sees the correction too.
    assert (loaded.name, loaded.phone) == ("张叁", "13900000001")
    others = session.scalars(select(Person.name).where(Person.estate_id == estate.id, Person.id != loaded.id)).all()
    assert sorted(others) == sorted([LI[0], WANG[0]])


def test_a_phone_given_on_any_row_of_an_owner_is_kept(session, estate):
    """Regression: the person took the first row's phone, so a phone on a later row was lost."""
    rows = [
        RegisterRow(unit="1-1-101", survey=Decimal("80"), owner_name=ZHANG[0], id_number=ZHANG[1]),
        RegisterRow(unit="1-1-102", survey=Decimal("80"), owner_name=ZHANG[0], id_number=ZHANG[1], phone="13800138001"),
    ]
    apply(session, estate, rows)
    assert session.scalar(select(Person.phone).where(Person.estate_id == estate.id)) == "13800138001"


def members_by_units(session, version_id):
    return {member.unit_ids: member for member in rolls.version_members(session, version_id=version_id)}


def test_members_multi_unit_owners_co_owners_and_one_developer(session, estate):
    version = apply(session, estate, register_rows()).version
    members = members_by_units(session, version.id)
    assert set(members) == SAMPLE_MEMBERS
    developer = members[("2-1-101", "2-1-102")]
    assert developer.key == "developer" and developer.area == Decimal("180.5") and developer.heads == 1
    # The same two co-owners listed in either order are one member; one of them alone is another.
    assert members[("1-1-102", "2-1-201")].area == Decimal("188.25")
    assert members[("2-1-202",)].area == Decimal("70")
    # The first area present counts: registry before survey before contract (SPC Art. 8).
    assert members[("1-1-101", "1-1-103")].area == Decimal("89.5") + Decimal("75.1234")
    pseudonyms = set(session.scalars(select(Person.pseudonym).where(Person.estate_id == estate.id)))
    owner_keys = [member.key for member in members.values() if member.key != "developer"]
    assert all(set(key.removeprefix("owners:").split("+")) <= pseudonyms for key in owner_keys)


def test_all_developer_units_form_one_member():
    rows = [RegisterRow(unit=f"9-1-{room}", survey=Decimal("50.0001"), developer=True) for room in range(101, 131)]
    units = {code: unit for code, (unit, _rows) in service._group_units(rows, service._id_hashes(rows, KEY)).items()}
    from assembly.law import rules

    (member,) = rules.derive_members(facts.roll_units(units))
    assert member.key == "developer" and len(member.unit_ids) == 30 and member.area == Decimal("1500.003")


def test_freeze_roll_totals_are_exact(session, estate):
    version = apply(session, estate, register_rows()).version
    snapshot = rolls.freeze_roll(session, estate=estate, purpose="第一次业主大会")
    assert snapshot.version_id == version.id
    assert snapshot.total_area == SAMPLE_TOTAL_AREA
    assert snapshot.total_heads == 4
    stored = session.scalars(select(RollMember).where(RollMember.snapshot_id == snapshot.id)).all()
    assert sum(member.area for member in stored) == SAMPLE_TOTAL_AREA
    assert count(session, RollMemberUnit, RollMemberUnit.member_id.in_([member.id for member in stored])) == 7


def test_freeze_roll_keeps_its_version_when_the_register_changes(session, estate):
    apply(session, estate, register_rows())
    snapshot = rolls.freeze_roll(session, estate=estate, purpose="会议 1")
    apply(session, estate, changed_register())
    later = rolls.freeze_roll(session, estate=estate, purpose="会议 2")
    assert session.get(RollSnapshot, snapshot.id).total_area == SAMPLE_TOTAL_AREA
    assert later.total_area != snapshot.total_area and later.version_id != snapshot.version_id


def test_tiny_areas_sum_exactly(session, estate):
    rows = [
        RegisterRow(unit=f"1-1-{room}", survey=Decimal("0.0001"), owner_name="业主", id_number=ZHANG[1])
        for room in range(101, 111)
    ] + [RegisterRow(unit="1-2-101", survey=Decimal("99999.9999"), owner_name=LI[0], id_number=LI[1])]
    apply(session, estate, rows)
    snapshot = rolls.freeze_roll(session, estate=estate, purpose="exact")
    assert snapshot.total_area == Decimal("100000.0009") and snapshot.total_heads == 2


def test_estates_never_share_persons_units_or_versions(session):
    first = create_estate(session, "e1")
    second = create_estate(session, "e2")
    apply(session, second, register_rows())
    second_state = {
        "persons": session.execute(
            select(Person.id, Person.name, Person.phone, Person.pseudonym).where(Person.estate_id == second.id).order_by(Person.id)
        ).all(),
        "units": session.execute(select(Unit.id, Unit.code).where(Unit.estate_id == second.id).order_by(Unit.id)).all(),
        "versions": session.execute(
            select(RegisterVersion.id, RegisterVersion.number).where(RegisterVersion.estate_id == second.id)
        ).all(),
    }
    # The same owners and unit codes in the first estate, then changes there.
    apply(session, first, register_rows())
    renamed = [replace(row, owner_name="改名", phone=None) if row.id_number == LI[1] else row for row in changed_register()]
    apply(session, first, renamed)
    assert second_state == {
        "persons": session.execute(
            select(Person.id, Person.name, Person.phone, Person.pseudonym).where(Person.estate_id == second.id).order_by(Person.id)
        ).all(),
        "units": session.execute(select(Unit.id, Unit.code).where(Unit.estate_id == second.id).order_by(Unit.id)).all(),
        "versions": session.execute(
            select(RegisterVersion.id, RegisterVersion.number).where(RegisterVersion.estate_id == second.id)
        ).all(),
    }
    # Each estate has its own person rows (own pseudonyms) for the same identity number.
    hashed = identity.id_hash(KEY, LI[1])
    li = session.execute(select(Person.estate_id, Person.pseudonym, Person.name).where(Person.id_hash == hashed)).all()
    assert {estate_id for estate_id, _p, _n in li} == {first.id, second.id}
    assert len({pseudonym for _e, pseudonym, _n in li}) == 2
    assert {name for estate_id, _p, name in li if estate_id == second.id} == {"李四"}
    # The first estate's second version starts from its own first version, not the other estate's.
    latest = service.latest_version(session, estate_id=first.id)
    assert latest.number == 2 and service.latest_version(session, estate_id=second.id).number == 1
    members = rolls.version_members(session, version_id=latest.id)
    own = set(session.scalars(select(Person.pseudonym).where(Person.estate_id == first.id)))
    assert all(set(member.key.removeprefix("owners:").split("+")) <= own for member in members if member.key != "developer")


def test_imported_file_gives_the_same_version(session, estate):
    rows = parse_register(csv_bytes(CHINESE, table(), encoding="gb18030"), max_bytes=1 << 20)
    apply(session, estate, register_rows())
    assert not apply(session, estate, rows).created


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"reason": "  "}, "reason_required"),
        ({"reason": "x" * 501}, "reason_too_long"),
        ({"evidence": "y" * 501}, "reason_too_long"),
    ],
)
def test_reason_and_evidence_are_checked(session, estate, options, code):
    with pytest.raises(InvalidInput) as caught:
        apply(session, estate, register_rows(), **options)
    assert caught.value.code == code
    assert count(session, RegisterVersion) == 0


def test_empty_register_is_refused(session, estate):
    with pytest.raises(InvalidInput):
        apply(session, estate, [])


def test_concurrent_imports_of_one_estate_make_one_version(engine_copy):
    """Two imports at once: the estate lock makes the second wait and find the register unchanged
    (without it, both would try to become version 1 on PostgreSQL)."""
    import threading

    from sqlmodel import Session

    from assembly.db import unit_of_work

    with Session(engine_copy) as setup:
        create_estate(setup, "e1")
        setup.commit()
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def import_register() -> None:
        try:
            barrier.wait()
            with unit_of_work(engine_copy) as db:
                estate = service.get_estate(db, "e1")
                outcomes.append(apply(db, estate, register_rows()).created)
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)

    threads = [threading.Thread(target=import_register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) == [False, True]
    with Session(engine_copy) as check:
        assert count(check, RegisterVersion) == 1


def test_a_register_without_phones_keeps_the_stored_phones(session, estate):
    """Regression: a file without a phone column (official registry data has none) wiped every phone."""
    first = apply(session, estate, register_rows())
    again = apply(session, estate, [replace(row, phone=None) for row in register_rows()])
    assert not again.created and again.version.id == first.version.id
    zhang = session.scalars(select(Person).where(Person.estate_id == estate.id, Person.name == ZHANG[0])).one()
    assert zhang.phone == ZHANG[2]


def test_a_unit_with_many_co_owners_freezes_into_the_roll(session, estate):
    """Regression: the member key of 23+ co-owners overflowed a 400-character column on PostgreSQL."""
    owners = []
    for serial in range(40):
        first17 = f"11010519800101{serial:03d}"
        owners.append((f"共有人{serial}", first17 + identity.mainland_check_character(first17)))
    rows = [
        RegisterRow(unit="9-1-101", registry=Decimal("120.00"), owner_name=name, id_number=number)
        for name, number in owners
    ]
    apply(session, estate, rows)
    snapshot = rolls.freeze_roll(session, estate=estate, purpose="test")
    member = session.scalars(select(RollMember).where(RollMember.snapshot_id == snapshot.id)).one()
    assert len(member.member_key) > 400 and member.member_key.count("+") == 39


@pytest.mark.parametrize("phone_row", [0, 1])
def test_an_identical_file_with_an_owners_phone_on_one_row_writes_no_version_issue_14(session, estate, phone_row):
    """Regression (issue #14, 2): one owner on two rows with the phone on only one of them; the
    second import of the same file filled the stored phone into the blank row before the digest
    and wrote a spurious version 2 (with its register.version entry)."""
    rows = [
        RegisterRow(unit="1-1-101", survey=Decimal("80"), owner_name=ZHANG[0], id_number=ZHANG[1]),
        RegisterRow(unit="1-1-102", survey=Decimal("80"), owner_name=ZHANG[0], id_number=ZHANG[1]),
        RegisterRow(unit="1-1-103", survey=Decimal("70"), owner_name=LI[0], id_number=LI[1], phone=LI[2]),
    ]
    rows[phone_row] = replace(rows[phone_row], phone=ZHANG[2])
    first = apply(session, estate, rows)
    again = apply(session, estate, rows)
    assert not again.created and again.version.id == first.version.id
    assert count(session, RegisterVersion, RegisterVersion.estate_id == estate.id) == 1
    # the same content without any phone keeps the stored phones and is the same register too
    bare = apply(session, estate, [replace(row, phone=None) for row in rows])
    assert not bare.created
    # a phone that really changed is a new version
    changed = apply(session, estate, [replace(row, phone="13900000009") if row.id_number == ZHANG[1] else row
                                      for row in rows])
    assert changed.created
