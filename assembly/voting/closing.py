"""Close 截止, count and announce 公告: open every commitment, write the tally file, decide with the
same `tally()` that `assembly tally` runs, log the result and notify the residents' committee.

The sequence (docs/decisions.md, "Paper ballots"): at `closes_at` electronic voting ends (the
state derives from the clock). Without a paper phase (`paper_grace_days` 0) the close counts and
announces at once. Otherwise the close only ends electronic voting — `voting.closed` in the log
and a residents'-committee record — and paper ballots are entered (assembly.voting.paper) until
the committee declares entry finished or the grace period ends; then the count and the
announcement happen together. Each step is one transaction, run by the minute ticker, by whoever
looks first, or (finishing paper entry) by the committee: a result never exists without its log
entries and notification records.
"""

from __future__ import annotations

import gc
import hashlib
import json
from bisect import bisect_right
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter
from typing import cast

from sqlalchemy import BigInteger, Row, func, select, type_coerce
from sqlmodel import Session, col

from assembly.audit import store as audit_log
from assembly.audit.entries import format_time
from assembly.events.bus import publish
from assembly.events.catalog import MeetingEvent, ResultAnnounced, ResultHeld, VotingClosed
from assembly.law.rules import AREA_SOURCES
from assembly.law.tally import FORMAT, tally
from assembly.localtime import stamp
from assembly.register.models import Estate, RollMember, RollMemberUnit, RollSnapshot, Unit, UnitRecord
from assembly.voting import meetings, transfers
from assembly.voting.models import Ballot, Meeting, Motion
from assembly.voting.paper_models import CONFIRMED, PaperEntry, unsettled_entries
from assembly.voting.pending import PendingSheet, could_change

SYSTEM = audit_log.SYSTEM


def _area_text(value) -> str:
    return format(value.normalize(), "f")


def _units_text(units: int) -> str:
    """An area held as ten-thousandths of a m² (assembly.area.ExactArea), as _area_text writes it."""
    whole, part = divmod(units, 10_000)
    return f"{whole}.{part:04d}".rstrip("0") if part else str(whole)


class _AreaTexts(dict):
    """Stored area integers -> their text, each distinct value written once."""

    def __missing__(self, units: int) -> str:
        text = self[units] = _units_text(int(units))
        return text


# code, unit id, developer, then one stored area (or None) per AREA_SOURCES: registry, survey, contract
_UnitRow = tuple[str, int, bool, int | None, int | None, int | None]
# entry index, member key, salt, unit, choice, by, cast at: a ballot as _ballot_rows reads it
_BallotRow = Row[int, str, bytes, str, str, str, datetime]


def roll_units(session: Session, *, snapshot: RollSnapshot) -> list[dict]:
    """The tally file's `units`, from the frozen roll itself: each unit of a member with the owners
    its member key names (pseudonyms) and every area source its register version records."""
    connection = session.connection()  # Core rows: no ORM loading layer over 100,000 of them
    members = dict(connection.execute(  # unit id -> member key (two plain queries: SQLite plans a
        select(col(RollMemberUnit.unit_id), col(RollMember.member_key))  # four-table join over 100,000 units badly)
        .join(RollMember, col(RollMember.id) == col(RollMemberUnit.member_id))
        .where(col(RollMember.snapshot_id) == snapshot.id)
    ).all())
    # areas as their stored integers: no Decimal per value (100,000 units)
    records = cast(Sequence[_UnitRow], connection.execute(
        select(col(Unit.code), col(UnitRecord.unit_id), col(UnitRecord.developer),
               *(type_coerce(getattr(UnitRecord, f"area_{source}"), BigInteger) for source in AREA_SOURCES))
        # (the loop below unpacks them in AREA_SOURCES order: registry, survey, contract)
        .join(Unit, col(Unit.id) == col(UnitRecord.unit_id))
        .where(col(UnitRecord.version_id) == snapshot.version_id)
    ).all())
    rows = sorted((row for row in records if row[1] in members), key=itemgetter(0))  # codes are unique
    texts = _AreaTexts()
    owners_of: dict[str, list[str]] = {}
    units: list[dict] = []
    append = units.append
    for code, unit_id, developer, registry, survey, contract in rows:  # AREA_SOURCES order
        area = {}
        if registry is not None:
            area["registry"] = texts[registry]
        if survey is not None:
            area["survey"] = texts[survey]
        if contract is not None:
            area["contract"] = texts[contract]
        if developer:
            append({"id": code, "developer": True, "area": area})
            continue
        key = members[unit_id]
        owners = owners_of.get(key)
        if owners is None:
            owners = owners_of[key] = key.removeprefix("owners:").split("+")
        append({"id": code, "owners": owners.copy(), "area": area})
    return units


def tally_bytes(document: dict) -> bytes:
    return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


# --- the sequence ------------------------------------------------------------------------------


def due(meeting: Meeting, now: datetime) -> bool:
    """Something for the ticker or the first look to do: close electronic voting, or count."""
    return meetings.state(meeting, now) == meetings.CLOSING


def close_if_due(session: Session, *, meeting: Meeting, now: datetime) -> bool:
    """Close electronic voting if it has ended, and count and announce when no paper phase follows
    (or it is over); True when this call changed the meeting."""
    if not due(meeting, now):
        return False
    meeting = meetings.lock(session, meeting)
    if not due(meeting, now):  # someone else closed it meanwhile
        return False
    estate = session.get_one(Estate, meeting.estate_id)
    paper_until = meetings.paper_ends(meeting)
    if meeting.closed_at is None:
        meeting.closed_at = now
        session.flush()
        if meeting.paper_grace_days == 0:  # no paper phase: exactly the close of before
            count_and_announce(session, meeting=meeting, estate=estate, now=now, closed_note=(
                f"业主大会会议“{meeting.title}”投票于 {stamp(meeting.closes_at)} 截止，已开票计票。"))
            return True
        audit_log.append(session, estate_id=meeting.estate_id, type="voting.closed", actor=SYSTEM, at=now,
                         meeting=meetings.meeting_id(meeting), closes_at=format_time(meeting.closes_at),
                         paper_until=format_time(paper_until))
        if now < paper_until:
            _tell(session, estate, meeting, VotingClosed, now,
                    f"业主大会会议“{meeting.title}”网上投票于 {stamp(meeting.closes_at)} 截止。"
                    f"纸质选票由业主委员会两人录入、复核，观察员可在平台上查看录入记录和扫描件，录入期至 {stamp(paper_until)}，"
                    f"届时（或业主委员会宣布录入完毕时）开票计票并公告。")
            return True
        _tell(session, estate, meeting, VotingClosed, now,  # nobody looked until the paper phase was over
                f"业主大会会议“{meeting.title}”投票于 {stamp(meeting.closes_at)} 截止，"
                f"纸质选票录入期已于 {stamp(paper_until)} 届满，已开票计票。")
    if _hold_for_pending_sheets(session, meeting=meeting, estate=estate, now=now):
        return True
    finish_paper_phase(session, meeting=meeting, estate=estate, actor=SYSTEM, by="grace-ended", now=now)
    return True


def _hold_for_pending_sheets(session: Session, *, meeting: Meeting, estate: Estate, now: datetime) -> bool:
    """At the end of the grace period: when sheets are still unsettled and, counted any way, they
    could change an outcome, hold the result (`result.held`) instead of counting; True if held.
    Sheets that cannot change any outcome let the count go on (the result says how many)."""
    assert meeting.id is not None
    sheets = unsettled_entries(session, meeting_id=meeting.id)
    if not sheets:
        return False
    changing = undecided_motions(session, meeting=meeting, sheets=sheets)
    if not changing:
        return False
    meeting.held_at = now
    session.flush()
    audit_log.append(session, estate_id=meeting.estate_id, type="result.held", actor=SYSTEM, at=now,
                     meeting=meetings.meeting_id(meeting), pending=len(sheets), papers=[e.id for e in sheets],
                     motions=[m.public_id for m in changing])
    _tell(session, estate, meeting, ResultHeld, now,
            f"业主大会会议“{meeting.title}”纸质选票录入期已于 {stamp(meetings.paper_ends(meeting))} 届满，"
            f"尚有 {len(sheets)} 张按时投入票箱的纸质选票未完成复核，可能改变表决结果；"
            f"结果暂缓公告，待业主委员会复核完毕后自动开票计票并公告。")
    return True


def undecided_motions(session: Session, *, meeting: Meeting, sheets: list[PaperEntry]) -> list[Motion]:
    """The motions whose outcome the unsettled sheets could still change (assembly.voting.pending)."""
    by_motion: dict[int, dict[str, PaperEntry]] = {}
    for entry in sheets:  # one sheet per member and motion: a re-entry replaces a mismatched one
        by_motion.setdefault(entry.motion_id, {})[entry.member_key] = entry
    if not by_motion:
        return []
    units = roll_units(session, snapshot=session.get_one(RollSnapshot, meeting.roll_snapshot_id))
    changing = []
    for motion in meetings.motions_of(session, meeting=meeting):
        if motion.id not in by_motion:
            continue
        rows = _ballot_rows(session, motion)
        times = [cast_at for *_rest, cast_at in rows]
        document = _document(meeting, motion, units, _ballot_objects(motion, rows))
        # a sheet confirmed later is logged after every ballot there is: it stands after those of its time
        pending = [PendingSheet(e.unit, bisect_right(times, e.handed_in_at)) for e in by_motion[motion.id].values()]
        if could_change(document, pending):
            changing.append(motion)
    return changing


def finish_paper_phase(session: Session, *, meeting: Meeting, estate: Estate, actor: audit_log.Actor, by: str,
                       now: datetime) -> None:
    """`paper.finished` (by the committee, or because the grace period ended), then the count. The
    caller holds the meeting's lock and has checked the state."""
    states = dict(session.execute(
        select(col(PaperEntry.state), func.count()).where(col(PaperEntry.meeting_id) == meeting.id)
        .group_by(col(PaperEntry.state))
    ).all())
    confirmed = states.get(CONFIRMED, 0)
    audit_log.append(session, estate_id=meeting.estate_id, type="paper.finished", actor=actor, at=now,
                     meeting=meetings.meeting_id(meeting), by=by, confirmed=confirmed,
                     unconfirmed=sum(states.values()) - confirmed)
    count_and_announce(session, meeting=meeting, estate=estate, now=now)


def count_and_announce(session: Session, *, meeting: Meeting, estate: Estate, now: datetime,
                       closed_note: str | None = None) -> None:
    """Open, count, decide and announce every motion of a closed meeting (one transaction);
    `closed_note`: the "voting closed" record, when the close itself happens now."""
    snapshot = session.get_one(RollSnapshot, meeting.roll_snapshot_id)
    lines = []
    with _cyclic_gc_paused():
        units = roll_units(session, snapshot=snapshot)
        results = [(motion, _close_motion(session, meeting=meeting, motion=motion, units=units, now=now))
                   for motion in meetings.motions_of(session, meeting=meeting)]
        del units  # freed before the collector runs again, not walked by it
    for motion, result in results:
        outcome = ("获得通过" if result["passed"] else "未获通过") if motion.kind == "motion" else \
            "当选：" + ("、".join(c["id"] for c in result["candidates"] if c["elected"]) or "无")
        lines.append(f"{motion.position}. {motion.title}：{outcome}")
    meeting.announced_at = now
    session.flush()
    if closed_note:
        _tell(session, estate, meeting, VotingClosed, now, closed_note)
    _tell(session, estate, meeting, ResultAnnounced, now,
            f"业主大会会议“{meeting.title}”表决结果已公告：" + "；".join(lines) + f"。异议期 {meeting.objection_days} 日。")


@contextmanager
def _cyclic_gc_paused():
    """The count builds millions of small dicts, lists and strings that form no cycles; the cyclic
    collector would walk the growing heap again and again (about 40 % of the close's CPU with
    90,000 ballots). Paused for the count only — reference counting still frees everything —
    and restored as it was, whatever happens."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _tell(session: Session, estate: Estate, meeting: Meeting, event: type[MeetingEvent], now: datetime,
          what: str) -> None:
    """Raise the meeting event (the residents' committee's record subscribes to it)."""
    assert estate.id is not None and meeting.id is not None
    publish(session, event(estate_id=estate.id, at=now, meeting_id=meeting.id, description=what,
                           evidence=f"/estate/{estate.code}/meetings/{meeting.id}"))


def _ballot_rows(session: Session, motion: Motion) -> Sequence[_BallotRow]:
    """The motion's ballots in tally-file order (time, then entry index), as Core rows: 90,000 at close."""
    return session.connection().execute(
        select(col(Ballot.entry_index), col(Ballot.member_key), col(Ballot.salt), col(Ballot.unit), col(Ballot.choice),
               col(Ballot.by), col(Ballot.cast_at))
        .where(col(Ballot.motion_id) == motion.id).order_by(col(Ballot.cast_at), col(Ballot.entry_index))
    ).all()


def _ballot_objects(motion: Motion, rows: Sequence[_BallotRow]) -> list[dict]:
    """Each ballot object built once: the tally file's, and the opening's."""
    if motion.kind == "election":
        return [{"unit": unit, "choices": json.loads(choice), "by": by} for _e, _m, _s, unit, choice, by, _t in rows]
    return [{"unit": unit, "choice": choice, "by": by} for _e, _m, _s, unit, choice, by, _t in rows]


def _document(meeting: Meeting, motion: Motion, units: list[dict], ballots: list[dict]) -> dict:
    document = {"format": FORMAT, "item": motion.item, "kind": motion.kind, "revote": meeting.revote, "units": units}
    if motion.kind == "election":
        document["seats"] = motion.seats
        document["candidates"] = json.loads(motion.candidates_json or "[]")
    document["ballots"] = ballots
    return document


def _close_motion(session: Session, *, meeting: Meeting, motion: Motion, units: list[dict], now: datetime) -> dict:
    rows = _ballot_rows(session, motion)
    ballots = _ballot_objects(motion, rows)
    openings = sorted(({"entry": entry, "member": member, "salt": salt.hex(), "ballot": ballot}
                       for (entry, member, salt, *_rest), ballot in zip(rows, ballots, strict=True)), key=itemgetter("entry"))
    # Every ballot is opened; a seller's ballot a buyer's replaced (a sale registered during voting)
    # is not in the tally file (transfers.py; the verifier applies the same rule from the log).
    aside = transfers.superseded_entries(session, motion=motion)
    counted = [ballot for (entry, *_rest), ballot in zip(rows, ballots, strict=True) if entry not in aside] if aside else ballots
    document = _document(meeting, motion, units, counted)
    data = tally_bytes(document)
    digest = hashlib.sha256(data).hexdigest()
    # The very function `assembly tally FILE` runs, on the document those bytes hold (json.loads of
    # tally_bytes(document) gives back an equal document: strings, integers, booleans and lists).
    result = tally(document)
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


def due_meetings(now: datetime):
    """The ids of the meetings the close job looks at: voting ended, not yet announced."""
    return select(col(Meeting.id)).where(col(Meeting.opens_at).is_not(None), col(Meeting.announced_at).is_(None),
                                         col(Meeting.closes_at) <= now).order_by(col(Meeting.id))


def close_due_meetings(session: Session, *, now: datetime) -> int:
    """Close every meeting whose voting has ended, and count every meeting whose paper phase is
    over, in the caller's one transaction (the job runner, assembly.jobs, gives each its own).
    Returns how many it changed."""
    ids = session.scalars(due_meetings(now)).all()
    return sum(close_if_due(session, meeting=session.get_one(Meeting, i), now=now) for i in ids)


def result_of(motion: Motion) -> dict | None:
    return json.loads(motion.result_json) if motion.result_json else None
