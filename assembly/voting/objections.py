"""Objections 异议 during the objection period, their decision by the committee, and the end of the
period 异议期结束: an upheld objection voids the ballot objected to and the motion is recounted with
the same tally(); once the period is over and every objection decided, `result.final` records the
result as the period left it — not beyond challenge: the street office may still order it corrected
or revoke it, and owners may sue within a year (meetings.STILL_CHALLENGEABLE)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from assembly.audit import store as audit_log
from assembly.errors import Conflict, Forbidden, InvalidInput, NotFound
from assembly.events.bus import publish
from assembly.events.catalog import ObjectionDecided, ObjectionFiled, ResultFinal
from assembly.law.ballots import Cast, resolve_ballots
from assembly.law.tally import roll_of, tally
from assembly.permissions import Principal
from assembly.register.models import Estate
from assembly.voting import casting, meetings, transfers
from assembly.voting.models import Ballot, Meeting, Motion, Objection

SYSTEM = audit_log.SYSTEM


def period_ends(meeting: Meeting) -> datetime | None:
    return meeting.announced_at + timedelta(days=meeting.objection_days) if meeting.announced_at else None


def _entries_in_file_order(session: Session, motion: Motion) -> list[int]:
    """The ballot.cast entry of each ballot of the tally file, in the file's order (without those a
    later holder's ballot replaced after a sale registered during voting: transfers.py)."""
    aside = transfers.superseded_entries(session, motion=motion)
    return [entry for entry in session.scalars(select(col(Ballot.entry_index)).where(col(Ballot.motion_id) == motion.id)
                                               .order_by(col(Ballot.cast_at), col(Ballot.entry_index)))
            if entry not in aside]


def counted_document(session: Session, *, motion: Motion) -> tuple[dict, list[int]]:
    """The motion's tally file without the ballots voided by upheld objections, and the
    `ballot.cast` entry of each ballot it keeps (in its order): what every recount, the per-unit
    lines and a further objection read, so that they all agree."""
    assert motion.tally_file is not None  # opened at close; objections come after the announcement
    document = json.loads(motion.tally_file)
    voided = set(voided_entries(session, motion=motion))
    kept = [(ballot, entry) for ballot, entry in zip(document["ballots"], _entries_in_file_order(session, motion), strict=False)
            if entry not in voided]
    return {**document, "ballots": [ballot for ballot, _ in kept]}, [entry for _, entry in kept]


def counted_entries(session: Session, *, motion: Motion) -> list[int]:
    """The `ballot.cast` entries of counted_document()'s ballots, in its order, without reading the
    file: what a ballot index of the shown result (a rejected ballot's, say) refers to."""
    voided = set(voided_entries(session, motion=motion))
    return [entry for entry in _entries_in_file_order(session, motion) if entry not in voided]


def counted_indexes(document: dict) -> dict[str, int]:
    """member key -> index of its counted ballot in `document`, as tally() resolves it."""
    _members, member_of = roll_of(document["units"])
    casts = [Cast(member_of.get(b["unit"]), b.get("by", "owner")) for b in document["ballots"]]
    return dict(resolve_ballots(casts, revote=document.get("revote", "last")).counted)


def counted_entry(session: Session, *, motion: Motion, member_key: str) -> int | None:
    """The entry of the member's counted ballot, as the recount resolves it (None: no ballot);
    after an upheld objection under `revote: last` that may be the member's earlier ballot."""
    document, entries = counted_document(session, motion=motion)
    index = counted_indexes(document).get(member_key)
    return None if index is None else entries[index]


def file_objection(session: Session, *, meeting: Meeting, motion: Motion, principal: Principal, member_key: str,
                   text: str, now: datetime) -> Objection:
    meeting = meetings.lock(session, meeting)
    ends = period_ends(meeting)  # None before the announcement, so never in the ANNOUNCED state
    if meetings.state(meeting, now) != meetings.ANNOUNCED or ends is None or now >= ends:
        raise Conflict("现在不在异议期内 / outside the objection period", code="not_objection_period")
    if member_key not in {h.member_key for h in casting.holdings(session, meeting=meeting,
                                                               pseudonym=principal.pseudonym or "")}:
        raise Forbidden("只能对自己房屋的表决提出异议 / only for your own vote", code="not_your_vote")
    if len(text) > 2000:
        raise InvalidInput("异议说明不超过 2000 字 / at most 2000 characters", code="text_too_long")
    assert meeting.id is not None and motion.id is not None
    entry = counted_entry(session, motion=motion, member_key=member_key)
    index = audit_log.append(session, estate_id=meeting.estate_id, type="objection.filed",
                             actor=meetings.actor_of(principal), at=now, motion=motion.public_id, member=member_key,
                             ballot=entry, ground="not-my-vote")
    objection = Objection(motion_id=motion.id, estate_id=meeting.estate_id, member_key=member_key, ballot_entry=entry,
                          text=text.strip(), filed_at=now, filed_by_person=principal.person_id, entry_index=index)
    session.add(objection)
    session.flush()
    assert objection.id is not None
    estate = session.get_one(Estate, meeting.estate_id)
    actor = meetings.actor_of(principal)
    publish(session, ObjectionFiled(
        estate_id=meeting.estate_id, at=now, actor=actor.id, role=actor.role, meeting_id=meeting.id,
        motion_id=motion.id, objection_id=objection.id,
        evidence=f"/estate/{estate.code}/meetings/{meeting.id}/motions/{motion.id}",
        description=f"业主对“{motion.title}”的表决结果提出异议（称该表决不是本人所投）。"))
    return objection


def decide(session: Session, *, meeting: Meeting, motion: Motion, objection_id: int, upheld: bool,
           principal: Principal, now: datetime) -> Objection:
    """Uphold (void the ballot and log the recount) or dismiss an objection; before the result is final."""
    meeting = meetings.lock(session, meeting)
    objection = session.scalars(select(Objection).where(col(Objection.id) == objection_id,
                                                        col(Objection.motion_id) == motion.id)).first()
    if objection is None:
        raise NotFound("没有这项异议 / no such objection", code="objection_not_found")
    if objection.decision is not None or meeting.final_at is not None:
        raise Conflict("这项异议已经处理 / already decided", code="objection_decided")
    actor = meetings.actor_of(principal)
    objection.decision, objection.decided_at, objection.decided_by = ("upheld" if upheld else "dismissed"), now, actor.id
    if upheld:
        audit_log.append(session, estate_id=meeting.estate_id, type="objection.upheld", actor=actor, at=now,
                         motion=motion.public_id, objection=objection.entry_index, voids=objection.ballot_entry)
        recount = recount_without_voided(session, motion=motion)
        motion.result_json = json.dumps(recount, ensure_ascii=False)  # totals and per-unit lines: this recount
        audit_log.append(session, estate_id=meeting.estate_id, type="result.recounted", actor=SYSTEM, at=now,
                         motion=motion.public_id, voided=voided_entries(session, motion=motion),
                         participating=recount["participating"], quorum=recount["quorum"])
    else:
        audit_log.append(session, estate_id=meeting.estate_id, type="objection.dismissed", actor=actor, at=now,
                         motion=motion.public_id, objection=objection.entry_index)
    session.flush()
    assert meeting.id is not None and motion.id is not None and objection.id is not None
    publish(session, ObjectionDecided(estate_id=meeting.estate_id, at=now, actor=actor.id, role=actor.role,
                                      meeting_id=meeting.id, motion_id=motion.id, objection_id=objection.id,
                                      upheld=upheld))
    return objection


def voided_entries(session: Session, *, motion: Motion) -> list[int]:
    return sorted(e for e in session.scalars(select(col(Objection.ballot_entry)).where(
        col(Objection.motion_id) == motion.id, col(Objection.decision) == "upheld")) if e is not None)


def recount_without_voided(session: Session, *, motion: Motion) -> dict:
    """tally() of the motion's tally file without the ballots voided by upheld objections."""
    return tally(counted_document(session, motion=motion)[0])


def objections_of(session: Session, *, motion: Motion) -> list[Objection]:
    return list(session.scalars(select(Objection).where(col(Objection.motion_id) == motion.id)
                                .order_by(col(Objection.id))))


def final_due(session: Session, meeting: Meeting, now: datetime) -> bool:
    ends = period_ends(meeting)  # None before the announcement, so never in the ANNOUNCED state
    if meetings.state(meeting, now) != meetings.ANNOUNCED or ends is None or now < ends:
        return False
    pending = session.scalars(select(col(Objection.id)).join(Motion, col(Motion.id) == col(Objection.motion_id)).where(
        col(Motion.meeting_id) == meeting.id, col(Objection.decision).is_(None))).first()
    return pending is None


def finalize_if_due(session: Session, *, meeting: Meeting, now: datetime) -> bool:
    """After the objection period, with every objection decided: result.final for every motion."""
    if not final_due(session, meeting, now):
        return False
    meeting = meetings.lock(session, meeting)
    if not final_due(session, meeting, now):
        return False
    lines = []
    for motion in meetings.motions_of(session, meeting=meeting):
        result = recount_without_voided(session, motion=motion)
        final = {"totals": result["total"], "participating": result["participating"], "quorum": result["quorum"]}
        if motion.kind == "motion":
            final |= {"agree": result["agree"], "passed": result["passed"]}
            lines.append(f"{motion.title}：{'获得通过' if result['passed'] else '未获通过'}")
        else:
            final["elected"] = [c["id"] for c in result["candidates"] if c["elected"]]
            lines.append(f"{motion.title}：当选 {'、'.join(final['elected']) or '无'}")
        audit_log.append(session, estate_id=meeting.estate_id, type="result.final", actor=SYSTEM, at=now,
                         motion=motion.public_id, voided=voided_entries(session, motion=motion), **final)
        motion.result_json = json.dumps(result, ensure_ascii=False)
    meeting.final_at = now
    session.flush()
    assert meeting.id is not None
    estate = session.get_one(Estate, meeting.estate_id)
    publish(session, ResultFinal(
        estate_id=meeting.estate_id, at=now, meeting_id=meeting.id,
        evidence=f"/estate/{estate.code}/meetings/{meeting.id}",
        description=f"业主大会会议“{meeting.title}”异议期已结束，表决结果：" + "；".join(lines) + "。"
                    + meetings.STILL_CHALLENGEABLE))
    return True


def announced_meetings():
    """The ids of the meetings in their objection period (or past it, not yet marked)."""
    return (select(col(Meeting.id)).where(col(Meeting.announced_at).is_not(None), col(Meeting.final_at).is_(None))
            .order_by(col(Meeting.id)))


def finalize_due_meetings(session: Session, *, now: datetime) -> int:
    ids = session.scalars(announced_meetings()).all()
    return sum(finalize_if_due(session, meeting=session.get_one(Meeting, i), now=now) for i in ids)
