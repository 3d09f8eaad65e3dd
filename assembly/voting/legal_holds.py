"""Legal holds 案件保全: the committee or the street office records that a case about a meeting is open
— a suit to revoke its decision (法释〔2009〕7号第十二条), a revocation request before the street
office (北京市物业管理条例第八条、第五十一条) — and releases it when the case ends. While a hold is in
force the proxy scans (assembly.proxies.scans) and the former owners' names
(assembly.privacy.service) the case may need are kept. Keyword-only, `now` passed in, never commits.
The reason is typed by a person: it stays in `legal_hold`, never in the log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from assembly.audit import store as audit_log
from assembly.errors import Conflict, InvalidInput, NotFound
from assembly.permissions import Action, Principal, check
from assembly.plaintext import check_visible
from assembly.voting import meetings
from assembly.voting.legal_hold_models import LegalHold
from assembly.voting.models import Meeting


def _reason(raw: str) -> str:
    reason = (raw or "").strip()
    if not reason or len(reason) > 500:
        raise InvalidInput("请写明案件情况（如法院案号或撤销申请），不超过 500 字 / describe the case (a court case "
                           "number or the revocation request), at most 500 characters", code="hold_reason_required")
    check_visible(reason, chinese="案件情况", english="the case", code="hidden_character", multiline=True)
    return reason


def in_force(session: Session, *, meeting_id: int) -> list[LegalHold]:
    return list(session.scalars(select(LegalHold).where(col(LegalHold.meeting_id) == meeting_id,
                                                        col(LegalHold.released_at).is_(None))
                                .order_by(col(LegalHold.id))))


def held_meeting_ids(session: Session, *, estate_id: int) -> frozenset[int]:
    """The estate's meetings with a hold in force."""
    return frozenset(session.scalars(select(col(LegalHold.meeting_id)).where(col(LegalHold.estate_id) == estate_id,
                                                                             col(LegalHold.released_at).is_(None))))


def holds_of(session: Session, *, meeting: Meeting) -> list[LegalHold]:
    return list(session.scalars(select(LegalHold).where(col(LegalHold.meeting_id) == meeting.id)
                                .order_by(col(LegalHold.id))))


def record(session: Session, *, meeting: Meeting, principal: Principal, reason: str, now: datetime) -> LegalHold:
    """A case about a published meeting is open: logged `legal_hold.recorded`."""
    check(principal, Action.LEGAL_HOLD_RECORD, estate_id=meeting.estate_id)
    if meeting.published_at is None:
        raise Conflict("草稿会议没有可保全的内容 / a draft meeting has nothing to hold", code="meeting_draft")
    text = _reason(reason)
    actor = meetings.actor_of(principal)
    index = audit_log.append(session, estate_id=meeting.estate_id, type="legal_hold.recorded", actor=actor, at=now,
                             meeting=meetings.meeting_id(meeting))
    assert meeting.id is not None
    hold = LegalHold(estate_id=meeting.estate_id, meeting_id=meeting.id, reason=text, recorded_by=actor.id,
                     recorded_at=now, entry_index=index)
    session.add(hold)
    session.flush()
    return hold


def release(session: Session, *, meeting: Meeting, hold_id: int, principal: Principal, reason: str,
            now: datetime) -> LegalHold:
    """The case has ended: logged `legal_hold.released` with the recorded hold's entry."""
    check(principal, Action.LEGAL_HOLD_RECORD, estate_id=meeting.estate_id)
    hold = session.get(LegalHold, hold_id)
    if hold is None or hold.meeting_id != meeting.id:
        raise NotFound("本次会议没有这项案件保全 / no such hold on this meeting", code="hold_not_found")
    if hold.released_at is not None:
        raise Conflict("这项案件保全已经解除 / this hold was already released", code="hold_released")
    text = _reason(reason)
    actor = meetings.actor_of(principal)
    audit_log.append(session, estate_id=meeting.estate_id, type="legal_hold.released", actor=actor, at=now,
                     meeting=meetings.meeting_id(meeting), hold=hold.entry_index)
    hold.released_at, hold.released_by, hold.release_reason = now, actor.id, text
    session.flush()
    return hold
