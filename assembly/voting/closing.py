"""Close 截止, count and announce 公告: open every commitment, write the tally file, decide with the
same `tally()` that `assembly tally` runs, log the result and notify the residents' committee.

Closing happens once `closes_at` has passed, by the minute ticker or by whoever looks first; it is
one transaction, so a result never exists without its log entries and notification records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from assembly.audit import store as audit_log
from assembly.notify import service as notify
from assembly.register.models import Estate, RollMember, RollMemberUnit, RollSnapshot, Unit, UnitRecord
from assembly.voting import meetings
from assembly.voting.casting import ballot_object, stored_choice
from assembly.voting.models import Ballot, Meeting, Motion
from assembly.voting.rules import AREA_SOURCES
from assembly.voting.tally import FORMAT, tally

SYSTEM = audit_log.SYSTEM


def _area_text(value) -> str:
    return format(value.normalize(), "f")


def roll_units(session: Session, *, snapshot: RollSnapshot) -> list[dict]:
    """The tally file's `units`, from the frozen roll itself: each unit of a member with the owners
    its member key names (pseudonyms) and every area source its register version records."""
    members = dict(session.execute(  # unit code -> member key (two plain queries: SQLite plans a
        select(Unit.code, RollMember.member_key)  # four-table join over 100,000 units badly)
        .select_from(RollMemberUnit)
        .join(RollMember, RollMember.id == RollMemberUnit.member_id)
        .join(Unit, Unit.id == RollMemberUnit.unit_id)
        .where(RollMember.snapshot_id == snapshot.id)
    ).all())
    records = session.execute(
        select(Unit.code, UnitRecord.developer, UnitRecord.area_registry, UnitRecord.area_survey,
               UnitRecord.area_contract)
        .join(Unit, Unit.id == UnitRecord.unit_id)
        .where(UnitRecord.version_id == snapshot.version_id)
    ).all()
    rows = [(code, members[code], developer, *areas) for code, developer, *areas in records if code in members]
    units = []
    for code, key, developer, *areas in sorted(rows):
        area = {source: _area_text(value) for source, value in zip(AREA_SOURCES, areas) if value is not None}
        if developer:
            units.append({"id": code, "developer": True, "area": area})
        else:
            units.append({"id": code, "owners": key.removeprefix("owners:").split("+"), "area": area})
    return units


def tally_document(motion: Motion, *, revote: str, units: list[dict], ballots: Sequence) -> dict:
    """The assembly-tally/1 document of a motion: ballots in order of casting time, then entry index."""
    document = {"format": FORMAT, "item": motion.item, "kind": motion.kind, "revote": revote, "units": units}
    if motion.kind == "election":
        document["seats"] = motion.seats
        document["candidates"] = json.loads(motion.candidates_json or "[]")
    document["ballots"] = [ballot_object(motion, unit=b.unit, choice=stored_choice(motion, b), by=b.by)
                           for b in ballots]
    return document


def tally_bytes(document: dict) -> bytes:
    return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def due(meeting: Meeting, now: datetime) -> bool:
    return meetings.state(meeting, now) == meetings.CLOSING


def close_if_due(session: Session, *, meeting: Meeting, now: datetime) -> bool:
    """Close, count and announce the meeting if its voting has ended; True when this call closed it."""
    if not due(meeting, now):
        return False
    meeting = meetings.lock(session, meeting)
    if not due(meeting, now):  # someone else closed it meanwhile
        return False
    estate = session.get(Estate, meeting.estate_id)
    snapshot = session.get(RollSnapshot, meeting.roll_snapshot_id)
    units = roll_units(session, snapshot=snapshot)
    meeting.closed_at = now
    lines = []
    for motion in meetings.motions_of(session, meeting=meeting):
        result = _close_motion(session, meeting=meeting, motion=motion, units=units, now=now)
        outcome = ("获得通过" if result["passed"] else "未获通过") if motion.kind == "motion" else \
            "当选：" + ("、".join(c["id"] for c in result["candidates"] if c["elected"]) or "无")
        lines.append(f"{motion.position}. {motion.title}：{outcome}")
    meeting.announced_at = now
    session.flush()
    evidence = f"/estate/{estate.code}/meetings/{meeting.id}"
    notify.notify(session, estate=estate, event="voting.closed", actor=SYSTEM, now=now, evidence=evidence,
                  what=f"业主大会会议“{meeting.title}”投票于 {meetings._local(meeting.closes_at)} 截止，已开票计票。")
    notify.notify(session, estate=estate, event="result.announced", actor=SYSTEM, now=now, evidence=evidence,
                  what=f"业主大会会议“{meeting.title}”表决结果已公告：" + "；".join(lines)
                       + f"。异议期 {meeting.objection_days} 日。")
    return True


def _close_motion(session: Session, *, meeting: Meeting, motion: Motion, units: list[dict], now: datetime) -> dict:
    ballots = session.execute(  # plain rows, not ORM objects: 90,000 of them at close
        select(Ballot.entry_index, Ballot.member_key, Ballot.salt, Ballot.unit, Ballot.choice, Ballot.by)
        .where(Ballot.motion_id == motion.id).order_by(Ballot.cast_at, Ballot.entry_index)
    ).all()
    openings = [{"entry": b.entry_index, "member": b.member_key, "salt": bytes(b.salt).hex(),
                 "ballot": ballot_object(motion, unit=b.unit, choice=stored_choice(motion, b), by=b.by)}
                for b in sorted(ballots, key=lambda b: b.entry_index)]
    document = tally_document(motion, revote=meeting.revote, units=units, ballots=ballots)
    data = tally_bytes(document)
    digest = hashlib.sha256(data).hexdigest()
    result = tally(json.loads(data))  # the very function `assembly tally FILE` runs, on the very bytes
    motion.tally_file, motion.tally_sha256 = data, digest
    motion.result_json = json.dumps(result, ensure_ascii=False)
    announced = {"totals": result["total"], "participating": result["participating"], "quorum": result["quorum"]}
    if motion.kind == "motion":
        announced |= {"agree": result["agree"], "passed": result["passed"]}
    else:
        announced["elected"] = [c["id"] for c in result["candidates"] if c["elected"]]
    audit_log.append_many(session, estate_id=meeting.estate_id, pending=[
        audit_log.PendingEntry("ballots.opened", SYSTEM, {"motion": motion.public_id, "openings": openings}, now),
        audit_log.PendingEntry("motion.closed", SYSTEM, {"motion": motion.public_id, "tally_sha256": digest}, now),
        audit_log.PendingEntry("result.announced", SYSTEM, {"motion": motion.public_id, **announced}, now),
    ])
    return result


def close_due_meetings(session: Session, *, now: datetime) -> int:
    """The ticker's duty: close every meeting whose voting has ended. Returns how many it closed."""
    query = select(Meeting).where(Meeting.opens_at.is_not(None), Meeting.closed_at.is_(None),
                                  Meeting.closes_at <= now)
    return sum(close_if_due(session, meeting=meeting, now=now) for meeting in session.scalars(query).all())


def result_of(motion: Motion) -> dict | None:
    return json.loads(motion.result_json) if motion.result_json else None
