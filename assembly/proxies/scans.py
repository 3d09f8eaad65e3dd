"""The scans of proxies' signed authorisations 授权委托书: they show the owner's and the proxy's identity
numbers in clear, which the platform otherwise keeps only as keyed hashes. Who may open one, the log
of every opening, and the erasure of a meeting's scans a year after its announcement when no case
about it is open (the year in which owners may sue, assembly.law.challenge).

Openers: the committee people who decide on authorisations (chair and members, `proxy.confirm`) while
one is undecided, then only the one who decided it; and observers, always. Everyone else — the
committee's staff, the residents' committee, the street office — reads the list and each document's
SHA-256, not the scan. Keyword-only, `now` passed in, never commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlmodel import Session

from assembly.audit import store as audit_log
from assembly.audit.entries import format_time
from assembly.errors import Forbidden, Gone
from assembly.law.challenge import challenge_year_ends
from assembly.localtime import stamp
from assembly.permissions import Action, Principal
from assembly.proxies.models import ProxyAppointment, ProxyLogin
from assembly.voting import legal_holds, meetings
from assembly.voting.models import Meeting, Motion, Objection

SYSTEM = audit_log.SYSTEM
NOT_AN_OPENER = ("授权委托书扫描件上有业主和代理人的身份证号码，只有核对并确认委托的业主委员会主任、委员和观察员可以查看；"
                 "您可以查看委托列表和每份文件的 SHA-256 / the signed authorisation shows identity numbers in clear: "
                 "only the committee chair or member who decides on it and observers may open it; you may read the "
                 "list and each document's SHA-256")
NOT_THE_DECIDER = ("这份授权委托书已由另一位业主委员会成员核对并作出决定，扫描件上有身份证号码，只有作出决定的委员和观察员"
                   "可以查看 / another committee member decided on this authorisation: only they and observers may "
                   "open the scan, which shows identity numbers in clear")


def may_open(principal: Principal, appointment: ProxyAppointment) -> bool:
    """Whether `principal` may open this scan (the list pages show the link only then)."""
    if principal.may(Action.PROXY_DOCUMENT_OPEN) and not principal.may(Action.PROXY_CONFIRM):
        return True  # observers
    if not principal.may(Action.PROXY_CONFIRM):
        return False
    return appointment.decided_by is None or appointment.decided_by == meetings.actor_of(principal).id


def check_opener(principal: Principal) -> None:
    """403 for a role that opens no scan at all (checked before the appointment is looked up)."""
    if not principal.may(Action.PROXY_DOCUMENT_OPEN):
        raise Forbidden(NOT_AN_OPENER, code="proxy_document_forbidden")


def check_may_open(principal: Principal, appointment: ProxyAppointment) -> None:
    check_opener(principal)
    if not may_open(principal, appointment):
        raise Forbidden(NOT_THE_DECIDER, code="proxy_document_forbidden")


def erased_answer(appointment: ProxyAppointment) -> Gone:
    erased = appointment.document_erased_at
    return Gone(f"这份授权委托书的扫描件已于 {stamp(erased)} 删除：表决结果公告已满一年（业主请求人民法院撤销决定"
                f"的期间，法释〔2009〕7号第十二条），且本次会议没有未处理的异议或登记的案件。文件的 SHA-256 "
                f"{appointment.document_sha256} 仍记录在审计日志中 / the scan was erased on {erased.isoformat()}: a year "
                f"had passed since the result was announced (the year in which owners may sue, SPC Interpretation "
                f"2009 No. 7 Art. 12) with no objection or case open on the meeting; its SHA-256 stays in the log",
                code="proxy_document_erased", detail={"erased_at": erased.isoformat()})


def log_opening(session: Session, *, meeting: Meeting, appointment: ProxyAppointment, principal: Principal,
                now: datetime) -> int:
    """`proxy.document_opened`: who opened which authorisation's scan (by its `proxy.appointed` entry)."""
    login = session.get(ProxyLogin, appointment.proxy_login_id)
    return audit_log.append(session, estate_id=meeting.estate_id, type="proxy.document_opened",
                            actor=meetings.actor_of(principal), at=now, meeting=meetings.meeting_id(meeting),
                            member=appointment.member_key, proxy=login.pseudonym,
                            appointment=appointment.entry_index, document_sha256=appointment.document_sha256)


# --- erasure --------------------------------------------------------------------------------


def open_cases(session: Session, *, meeting: Meeting) -> list[str]:
    """Why the meeting's scans are kept beyond the year: objections not decided, holds in force."""
    reasons = []
    undecided = session.scalar(select(exists().where(Objection.motion_id == Motion.id, Motion.meeting_id == meeting.id,
                                                     Objection.decision.is_(None))))
    if undecided:
        reasons.append("objection")
    if legal_holds.in_force(session, meeting_id=meeting.id):
        reasons.append("legal_hold")
    return reasons


def erasable_from(meeting: Meeting) -> datetime | None:
    return challenge_year_ends(meeting.announced_at) if meeting.announced_at else None


def meetings_with_scans(now: datetime):
    """Announced at least a year ago (a cheap bound; erase_if_due counts the year exactly), with a scan left."""
    return (select(Meeting.id).where(Meeting.announced_at.is_not(None), Meeting.announced_at <= now - timedelta(days=365),
                                     exists().where(ProxyAppointment.meeting_id == Meeting.id,
                                                    ProxyAppointment.document_erased_at.is_(None)))
            .order_by(Meeting.id))


def erase_if_due(session: Session, *, meeting: Meeting, now: datetime) -> bool:
    """Erase the meeting's scans once the year has run and no case is open: `proxy.documents_erased`."""
    ends = erasable_from(meeting)
    if ends is None or now < ends or open_cases(session, meeting=meeting):
        return False
    meeting = meetings.lock(session, meeting)
    if open_cases(session, meeting=meeting):
        return False
    scans = list(session.scalars(select(ProxyAppointment).where(ProxyAppointment.meeting_id == meeting.id,
                                                                ProxyAppointment.document_erased_at.is_(None))
                                 .order_by(ProxyAppointment.id)))
    if not scans:
        return False
    for appointment in scans:
        appointment.document, appointment.document_erased_at = b"", now
    audit_log.append(session, estate_id=meeting.estate_id, type="proxy.documents_erased", actor=SYSTEM, at=now,
                     meeting=meetings.meeting_id(meeting), appointments=[a.entry_index for a in scans],
                     announced_at=format_time(meeting.announced_at), kept_until=format_time(ends))
    session.flush()
    return True
