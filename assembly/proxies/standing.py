"""What stands for a proxy's login: the authorisations in force that name it, the principal its
session speaks for, ending its sessions, and the log entries of the proxy feature. Below the
service and the code login, which both use it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from assembly import identity
from assembly.audit import store as audit_log
from assembly.auth.models import AuthSession
from assembly.permissions import Principal, Role
from assembly.proxies.models import ProxyAppointment, ProxyLogin
from assembly.voting import meetings
from assembly.voting.models import Meeting


def log_entry(session: Session, meeting: Meeting, type: str, actor: audit_log.Actor, now: datetime, **fields) -> int:
    return audit_log.append(session, estate_id=meeting.estate_id, type=type, actor=actor, at=now,
                            meeting=meetings.meeting_id(meeting), **fields)


def end_sessions(session: Session, *, login: ProxyLogin, now: datetime, reason: str) -> None:
    session.execute(update(AuthSession).where(AuthSession.proxy_login_id == login.id,
                                              AuthSession.revoked_at.is_(None))
                    .values(revoked_at=now, revoked_reason=reason[:40]))


def in_force(session: Session, *, login: ProxyLogin) -> list[ProxyAppointment]:
    """The confirmed, not withdrawn authorisations naming this proxy: the members they vote for."""
    return list(session.scalars(select(ProxyAppointment).where(
        ProxyAppointment.proxy_login_id == login.id, ProxyAppointment.confirmed_at.is_not(None),
        ProxyAppointment.withdrawn_at.is_(None), ProxyAppointment.rejected_at.is_(None))
        .order_by(ProxyAppointment.appointed_at, ProxyAppointment.id)))


def proxy_principal(session: Session, *, proxy_login_id: int, session_id: int | None = None) -> Principal | None:
    """Who a proxy's session speaks for; None once the code was reissued away or nothing is in force."""
    login = session.get(ProxyLogin, proxy_login_id)
    if login is None or login.code_hash is None or not in_force(session, login=login):
        return None
    return Principal(kind="proxy", role=Role.PROXY, estate_ids=frozenset({login.estate_id}), session_id=session_id,
                     pseudonym=login.pseudonym, display_name=identity.mask_name(login.name), proxy_id=login.id,
                     meeting_id=login.meeting_id)
