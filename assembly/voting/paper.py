"""Paper ballots 纸质选票 (rules.md): handed into a sealed box while voting is open, entered only after
close and within the meeting's grace period by one committee person with the scanned sheet, and
confirmed by a second, different person who types the choice again from the scan without seeing
the first entry's. A mismatch blocks the sheet (recorded and logged) until it is entered again
and confirmed. Only a confirmed entry becomes a ballot: a Ballot with by="paper", cast at the
handed-in time, with its `ballot.cast` entry whose commitment is opened at the count like every
other ballot. Keyword-only, `now` passed in, never commits.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from assembly.audit import store as audit_log
from assembly.audit.entries import ballot_commitment, format_time
from assembly.errors import Conflict, Forbidden, InvalidInput, NotFound
from assembly.law.ballots import CHOICES, Cast, choices_defect, resolve_ballots
from assembly.localtime import stamp
from assembly.permissions import Principal
from assembly.register.models import Estate, RollMember, RollMemberUnit, Unit
from assembly.voting import closing, meetings
from assembly.voting.models import Ballot, Meeting, Motion
from assembly.voting.paper_models import CONFIRMED, ENTERED, MISMATCH, PaperEntry, unsettled_entries

MAX_SCAN_BYTES = 5 * 1024 * 1024
SCAN_TYPES = {  # magic bytes -> the type we store and serve; nothing else is accepted
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
STATE_LABELS = {ENTERED: "已录入，待复核", CONFIRMED: "已复核，计入选票", MISMATCH: "复核不一致，未计入"}


def scan_type(data: bytes) -> str:
    """The scanned sheet's type from its first bytes; InvalidInput for anything else, empty or too big."""
    if not data:
        raise InvalidInput("请上传纸质选票的扫描件 / the scanned sheet is required", code="scan_required")
    if len(data) > MAX_SCAN_BYTES:
        raise InvalidInput(f"扫描件不能超过 {MAX_SCAN_BYTES // (1024 * 1024)} MB / the scan is too large",
                           code="scan_too_large")
    for magic, kind in SCAN_TYPES.items():
        if data.startswith(magic):
            return kind
    raise InvalidInput("扫描件只能是 PDF、JPEG 或 PNG 文件 / the scan must be a PDF, JPEG or PNG file",
                       code="scan_type")


def normalized_choice(motion: Motion, choice: str | list[str]) -> str:
    """The choice as a Ballot stores it (agree/oppose/abstain, or a JSON list of candidates in the
    motion's candidate order, so that two entries of the same sheet compare equal)."""
    if motion.kind == "election":
        chosen = [choice] if isinstance(choice, str) and choice else [] if isinstance(choice, str) else list(choice)
        candidates = json.loads(motion.candidates_json or "[]")
        if choices_defect(chosen, candidates=frozenset(candidates), seats=motion.seats or 0):
            raise InvalidInput(f"最多选 {motion.seats} 人，且只能选候选人名单中的人 / invalid choices",
                               code="invalid_choices")
        return json.dumps([c for c in candidates if c in chosen], ensure_ascii=False)
    if choice not in CHOICES:
        raise InvalidInput("请选择同意、反对或弃权 / choose agree, oppose or abstain", code="invalid_choice")
    return str(choice)


SIGNATURE_BASIS = "《业主大会和业主委员会指导规则》第二十二条"


def _require_phase(meeting: Meeting, now: datetime, *, settling: bool = False) -> None:
    """Entry and checks happen in the paper phase; once the result is held for unsettled sheets,
    only those sheets may still be settled (`settling`)."""
    stage = meetings.state(meeting, now)
    if stage == meetings.PAPER or (settling and stage == meetings.HELD):
        return
    if stage in (meetings.DRAFT, meetings.NOTICE, meetings.OPEN):
        raise Conflict("纸质选票只能在投票截止后录入 / paper ballots are entered after close", code="paper_not_yet")
    raise Conflict(f"纸质选票录入期已结束（投票截止后 {meeting.paper_grace_days} 日） / the paper-entry period is over",
                   code="paper_period_over")


def member_of_unit(session: Session, *, meeting: Meeting, unit: str) -> str:
    """The voting member of the meeting's frozen roll that holds `unit`; refused with the reason."""
    key = session.scalars(
        select(col(RollMember.member_key))
        .join(RollMemberUnit, col(RollMemberUnit.member_id) == col(RollMember.id))
        .join(Unit, col(Unit.id) == col(RollMemberUnit.unit_id))
        .where(col(RollMember.snapshot_id) == meeting.roll_snapshot_id, col(Unit.code) == unit)
    ).first()
    if key is None:
        raise InvalidInput(f"房屋“{unit}”不在本次会议冻结的业主名册中，这张纸质选票不能计入"
                           f" / unit {unit} is not on the meeting's frozen roll", code="not_on_roll")
    return key


def enter(session: Session, *, meeting: Meeting, motion: Motion, principal: Principal, unit: str,
          choice: str | list[str], handed_in_at: datetime, scan: bytes, signature_checked: bool,
          now: datetime) -> PaperEntry:
    """The first person's entry of one sheet for one motion, with its scan, after checking the
    owner's signature on it against the register; logged `paper.entered` (without the choice,
    which stays sealed until the count). While the result is held, only a sheet whose entry
    mismatched may be entered again."""
    meeting = meetings.lock(session, meeting)
    _require_phase(meeting, now, settling=True)
    if motion.meeting_id != meeting.id:
        raise NotFound("本次会议没有这个议题 / no such motion", code="motion_not_found")
    if signature_checked is not True:
        raise InvalidInput(f"请先核对选票上的业主签名与业主名册一致，并勾选确认（{SIGNATURE_BASIS}）；"
                           f"签名不符的选票不能录入 / check the owner's signature against the register first",
                           code="signature_not_checked")
    unit = unit.strip()
    if not unit or len(unit) > 40:
        raise InvalidInput("请填写纸质选票上的房号 / the unit is required", code="unit_required")
    member = member_of_unit(session, meeting=meeting, unit=unit)
    if meetings.state(meeting, now) == meetings.HELD and not any(
            e.motion_id == motion.id and e.member_key == member and e.state == MISMATCH
            for e in pending(session, meeting=meeting)):
        raise Conflict("纸质选票录入期已结束：结果暂缓公告期间只能重新录入复核不一致的选票"
                       " / only mismatched sheets may be entered again while the result is held",
                       code="paper_period_over")
    stored = normalized_choice(motion, choice)
    if handed_in_at.tzinfo is None:
        raise InvalidInput("投递时间须带时区 / handed_in needs a time zone", code="naive_time")
    assert meeting.opens_at is not None  # entries are taken once voting has opened (_require_phase)
    if not meeting.opens_at <= handed_in_at < meeting.closes_at:
        raise InvalidInput(f"投递时间须在投票期间内（{stamp(meeting.opens_at)} 至 "
                           f"{stamp(meeting.closes_at)}） / handed in outside the voting window",
                           code="handed_in_outside_window")
    kind = scan_type(scan)
    digest = hashlib.sha256(scan).hexdigest()
    earlier = session.scalars(select(PaperEntry).where(
        col(PaperEntry.motion_id) == motion.id, col(PaperEntry.state) != MISMATCH,
        (col(PaperEntry.member_key) == member) | (col(PaperEntry.scan_sha256) == digest))).first()
    if earlier is not None:
        same_sheet = earlier.scan_sha256 == digest
        raise Conflict(("这张扫描件已经录入过本议题" if same_sheet else f"房屋“{unit}”所属表决权的纸质选票已经录入过本议题")
                       + f"（第 {earlier.id} 号录入，{STATE_LABELS[earlier.state]}） / already entered",
                       code="paper_already_entered")
    actor = meetings.actor_of(principal)
    assert motion.id is not None
    entry = PaperEntry(meeting_id=meeting.id, motion_id=motion.id, estate_id=meeting.estate_id, member_key=member,
                       unit=unit, handed_in_at=handed_in_at, choice=stored, scan=scan, scan_type=kind,
                       scan_sha256=digest, entered_by=actor.id, entered_at=now, entry_index=-1,
                       signature_checked=True)
    session.add(entry)
    session.flush()
    entry.entry_index = audit_log.append(
        session, estate_id=meeting.estate_id, type="paper.entered", actor=actor, at=now,
        meeting=meetings.meeting_id(meeting), motion=motion.public_id, paper=entry.id, member=member, unit=unit,
        handed_in=format_time(handed_in_at), scan_sha256=digest, signature_checked=True)
    session.flush()
    return entry


def get_entry(session: Session, *, meeting: Meeting, entry_id: int) -> PaperEntry:
    entry = session.scalars(select(PaperEntry).where(col(PaperEntry.id) == entry_id,
                                                     col(PaperEntry.meeting_id) == meeting.id)).first()
    if entry is None:
        raise NotFound("本次会议没有这条纸质选票录入 / no such paper entry", code="paper_not_found")
    return entry


def confirm(session: Session, *, meeting: Meeting, entry_id: int, principal: Principal, choice: str | list[str],
            now: datetime) -> PaperEntry:
    """The second person types the choice again from the scan. Equal: the entry is confirmed and
    becomes a paper ballot. Different: it is marked `mismatch` (logged) and never counts; the sheet
    must be entered again. Returns the entry either way (the caller commits both outcomes)."""
    meeting = meetings.lock(session, meeting)
    _require_phase(meeting, now, settling=True)
    entry = get_entry(session, meeting=meeting, entry_id=entry_id)
    if entry.state != ENTERED:
        raise Conflict(f"这条录入已经复核过（{STATE_LABELS[entry.state]}） / already checked", code="paper_checked")
    actor = meetings.actor_of(principal)
    if actor.id == entry.entered_by:
        raise Forbidden("录入人不能复核自己录入的纸质选票，请由另一位业主委员会成员复核"
                        " / the person who entered a sheet cannot confirm it", code="same_person")
    motion = session.get_one(Motion, entry.motion_id)
    assert motion.id is not None
    typed = normalized_choice(motion, choice)
    entry.checked_by, entry.checked_at, entry.checked_choice = actor.id, now, typed
    if typed != entry.choice:
        entry.state = MISMATCH
        entry.check_index = audit_log.append(session, estate_id=meeting.estate_id, type="paper.mismatch",
                                             actor=actor, at=now, motion=motion.public_id, paper=entry.id,
                                             entered=entry.entry_index)
        session.flush()
        return entry
    salt = secrets.token_bytes(32)
    body = {"unit": entry.unit, "choices": json.loads(typed), "by": "paper"} if motion.kind == "election" else \
        {"unit": entry.unit, "choice": typed, "by": "paper"}
    commitment = ballot_commitment(salt, body)
    cast_index = audit_log.append(session, estate_id=meeting.estate_id, type="ballot.cast", actor=actor, at=now,
                                  motion=motion.public_id, member=entry.member_key, by="paper",
                                  commitment=commitment, time=format_time(entry.handed_in_at))
    ballot = Ballot(motion_id=motion.id, estate_id=meeting.estate_id, member_key=entry.member_key, unit=entry.unit,
                    by="paper", choice=typed, salt=salt, commitment=commitment, cast_at=entry.handed_in_at,
                    cast_by_person=principal.person_id, entry_index=cast_index, idempotency_key=f"paper-{entry.id}")
    session.add(ballot)
    session.flush()
    entry.state, entry.ballot_id = CONFIRMED, ballot.id
    entry.check_index = audit_log.append(session, estate_id=meeting.estate_id, type="paper.confirmed", actor=actor,
                                         at=now, motion=motion.public_id, paper=entry.id, entered=entry.entry_index,
                                         ballot=cast_index)
    session.flush()
    if meetings.state(meeting, now) == meetings.HELD and not pending(session, meeting=meeting):
        # the last sheet the result waited for is settled: the count runs now, in this transaction
        closing.finish_paper_phase(session, meeting=meeting, estate=session.get_one(Estate, meeting.estate_id),
                                   actor=audit_log.SYSTEM, by="settled", now=now)
    return entry


def pending(session: Session, *, meeting: Meeting) -> list[PaperEntry]:
    """Sheets not settled: entries awaiting their check, and mismatched sheets not yet entered again."""
    assert meeting.id is not None
    return unsettled_entries(session, meeting_id=meeting.id)


def finish(session: Session, *, meeting: Meeting, principal: Principal, now: datetime) -> Meeting:
    """The committee declares paper entry finished: `paper.finished`, then the count and the
    announcement in the same transaction. Refused while a sheet is unsettled (the grace period's
    end counts without it)."""
    meeting = meetings.lock(session, meeting)
    _require_phase(meeting, now)
    open_sheets = pending(session, meeting=meeting)
    if open_sheets:
        numbers = "、".join(f"第 {e.id} 号" for e in open_sheets[:10])
        raise Conflict(f"还有 {len(open_sheets)} 张纸质选票未完成复核（{numbers}），请先复核或重新录入"
                       " / some paper entries are not settled", code="paper_pending",
                       detail=[e.id for e in open_sheets])
    estate = session.get_one(Estate, meeting.estate_id)
    closing.finish_paper_phase(session, meeting=meeting, estate=estate, actor=meetings.actor_of(principal),
                               by="committee", now=now)
    return meeting


def entries_of(session: Session, *, meeting: Meeting) -> list[PaperEntry]:
    return list(session.scalars(select(PaperEntry).where(col(PaperEntry.meeting_id) == meeting.id)
                                .order_by(col(PaperEntry.motion_id), col(PaperEntry.id))))


# --- members with both a paper and an electronic ballot ----------------------------------------

BY_LABELS = {"paper": "纸质票", "owner": "网上投票（业主本人）", "proxy": "代理人投票"}


@dataclass(frozen=True)
class BothKinds:
    """A member with a paper and an electronic ballot on a motion: every ballot (never its choice)
    in the tally's order, which one counts, and why (the same resolve_ballots the tally runs)."""

    motion: Motion
    member_key: str
    ballots: tuple[tuple[str, datetime], ...]  # (by, cast_at)
    counted: int | None  # index into `ballots`
    reason: str


def both_kinds(session: Session, *, meeting: Meeting) -> list[BothKinds]:
    cases = []
    for motion in meetings.motions_of(session, meeting=meeting):
        with_paper = select(col(Ballot.member_key)).where(col(Ballot.motion_id) == motion.id, col(Ballot.by) == "paper")
        rows = session.execute(
            select(col(Ballot.member_key), col(Ballot.by), col(Ballot.cast_at))
            .where(col(Ballot.motion_id) == motion.id, col(Ballot.member_key).in_(with_paper))
            .order_by(col(Ballot.member_key), col(Ballot.cast_at), col(Ballot.entry_index))).all()
        grouped: dict[str, list[tuple[str, datetime]]] = {}
        for key, by, cast_at in rows:
            grouped.setdefault(key, []).append((by, cast_at))
        for key, ballots in grouped.items():
            if all(by == "paper" for by, _ in ballots):
                continue
            counted = resolve_ballots([Cast(key, by) for by, _ in ballots], revote=meeting.revote).counted.get(key)
            cases.append(BothKinds(motion, key, tuple(ballots), counted, _why(ballots, counted, meeting.revote)))
    return cases


def _why(ballots: list[tuple[str, datetime]], counted: int | None, revote: str) -> str:
    if counted is None:
        return "没有一张计入。"
    by, when = ballots[counted]
    beaten = [b for i, (b, _) in enumerate(ballots) if i != counted]
    if by in ("paper", "owner") and "proxy" in beaten and all(b == "proxy" for b in beaten):
        return f"计入{BY_LABELS[by]}：业主本人的投票（含纸质票）优先于代理人的投票，不论先后。"
    rule = "以最后一次投票为准，计入时间最晚的一张" if revote == "last" else "以第一次投票为准，计入时间最早的一张"
    proxy = "；代理人的投票不计（业主本人的投票优先）" if by != "proxy" and "proxy" in beaten else ""
    return f"计入{BY_LABELS[by]}（{stamp(when)}）：本次会议{rule}（纸质票以投入票箱的时间计）{proxy}。"
