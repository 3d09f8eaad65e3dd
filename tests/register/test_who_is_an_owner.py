"""Issue #24 item 7: who is an owner. Buyers who took delivery but are not registered yet are owners
with the delivery evidence (SPC 法释〔2009〕7号 Art. 1 ¶2; Beijing Art. 25(1)); a bulk reseller's
units count with the developer's (SPC Art. 17); whether parking spaces and storage rooms with their
own registration count is the estate's recorded setting (SPC Art. 2; courts differ). Before, the
register had no column for any of it: a delivered buyer could not be told from a registered owner,
a reseller's units made a member of their own, and parking spaces counted as flats, silently."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from assembly.audit.models import AuditEntry
from assembly.audit.store import Actor
from assembly.config import get_settings
from assembly.errors import Conflict, InvalidInput
from assembly.models import utcnow
from assembly.permissions import Principal, Role
from assembly.register import estates, rolls, service
from assembly.register.importer import parse_register
from assembly.register.models import RollSnapshot, UnitRecord
from assembly.register.problems import RegisterFileError
from assembly.voting import meetings
from assembly.voting.meetings import MotionDraft
from tests.voting.meeting_world import record_posting

from .registerfiles import csv_bytes, resident_id

HEADER = ["房屋编号", "实测面积", "开发建设单位", "业主姓名", "证件号码", "取得依据", "交付凭证", "包销人", "房屋类型"]
STREET = Actor("street-1", "street_office")


def _rows(*extra: list[object]) -> list:
    return parse_register(csv_bytes(HEADER, [
        ["1-1-101", "80", "", "王一", resident_id(1), "", "", "", ""],
        ["1-1-102", "90", "", "李二", resident_id(2), "交付", "交房确认书 2026-0102", "", ""],
        ["1-1-103", "70", "", "包销公司", resident_id(3), "", "", "是", ""],
        ["1-1-104", "75", "是", "", "", "", "", "", ""],
        *extra,
    ]), max_bytes=10 * 1024 * 1024)


def _apply(session, estate, rows):
    return service.apply_register(session, estate=estate, rows=rows, reason="导入", evidence_ref="test",
                                  actor="test", id_key=get_settings().id_hash_key)


def test_a_delivered_buyer_without_the_delivery_evidence_is_a_problem_of_its_row():
    with pytest.raises(RegisterFileError) as caught:
        parse_register(csv_bytes(HEADER, [["1-1-101", "80", "", "王一", resident_id(1), "交付", "", "", ""]]),
                       max_bytes=10 * 1024 * 1024)
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (2, "交付凭证")
    assert "交付凭证" in problem.message and "delivery evidence" in problem.message
    with pytest.raises(RegisterFileError) as caught:
        parse_register(csv_bytes(HEADER, [["1-1-101", "80", "", "王一", resident_id(1), "占有", "", "", "车库"]]),
                       max_bytes=10 * 1024 * 1024)
    assert {(p.row, p.column) for p in caught.value.problems} == {(2, "取得依据"), (2, "房屋类型")}


def test_delivered_buyers_are_owners_and_a_resellers_units_count_with_the_developer(session, estate):
    rows = _rows()
    assert rows[1].basis == "delivered" and rows[1].evidence == "交房确认书 2026-0102"
    assert rows[2].reseller and rows[2].developer  # the reseller's row is the developer's
    outcome = _apply(session, estate, rows)
    records = {record.unit_id: record for record in session.scalars(
        select(UnitRecord).where(UnitRecord.version_id == outcome.version.id))}
    assert sorted((r.basis, r.evidence_ref) for r in records.values()) == [
        ("delivered", "交房确认书 2026-0102"), ("registered", ""), ("registered", ""), ("registered", "")]
    members = rolls.version_members(session, version_id=outcome.version.id)
    # 王一, 李二 (delivered: an owner), and the developer with the reseller's unit: three heads
    assert len(members) == 3 and outcome.version.member_count == 3
    (developer,) = [m for m in members if m.key == "developer"]
    assert developer.area == Decimal("145") and len(developer.unit_ids) == 2


def test_parking_spaces_count_only_as_the_estate_decided_and_never_while_a_meeting_votes(session, estate):
    outcome = _apply(session, estate, _rows(["P-1-001", "12.5", "", "王一", resident_id(1), "", "", "", "车位"],
                                            ["P-1-002", "13", "", "赵三", resident_id(4), "", "", "", "车位"]))
    assert rolls.ancillary_units(session, estate=estate) == 2
    # undecided: they do not count, and no vote may open until the street office decides
    undecided = rolls.version_members(session, version_id=outcome.version.id, count_ancillary=None)
    assert len(undecided) == 3
    chair = Principal(kind="account", role=Role.COMMITTEE_CHAIR, estate_ids=frozenset({estate.id}), account_id=1,
                      pseudonym="a-chair", display_name="主任")
    start = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    meeting = meetings.create_meeting(session, estate=estate, principal=chair, title="大会", now=start,
                                      closes_at=start + timedelta(days=40),
                                      motions=[MotionDraft(item=4, title="续聘物业", text="续聘三年。")])
    meetings.publish(session, meeting=meeting, estate=estate, principal=chair, now=start)
    record_posting(session, meeting, chair, now=start)
    opened = meetings.earliest_open(start)
    assert meetings.ANCILLARY_UNDECIDED in meetings.problems_before_open(session, meeting=meeting, now=opened)

    with pytest.raises(InvalidInput) as missing:
        estates.set_ancillary_rule(session, estate=estate, counted=True, reason="  ", actor=STREET, now=start)
    assert missing.value.code == "reason_required"
    estates.set_ancillary_rule(session, estate=estate, counted=True, reason="业主大会议事规则第十条：车位计入",
                               actor=STREET, now=start)
    (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.estate_id == estate.id,
                                                        AuditEntry.type == "estate.ancillary_rule")).all()
    body = json.loads(entry.body)
    assert body["counted"] is True and body["reason"] == "业主大会议事规则第十条：车位计入" and body["actor"]["id"] == "street-1"
    assert meetings.problems_before_open(session, meeting=meeting, now=opened) == []
    meetings.open_voting(session, meeting=meeting, estate=estate, principal=chair, now=opened)
    # counted: 王一's parking space joins their member; 赵三, who owns only a space, is a head
    snapshot = session.get(RollSnapshot, meeting.roll_snapshot_id)
    assert snapshot.total_heads == 4 and snapshot.total_area == Decimal("340.5")
    with pytest.raises(Conflict) as refused:
        estates.set_ancillary_rule(session, estate=estate, counted=False, reason="改变", actor=STREET,
                                   now=opened + timedelta(hours=1))
    assert refused.value.code == "meeting_open_for_voting" and estate.ancillary_counted is True
