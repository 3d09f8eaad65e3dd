"""Create notification records in the caller's transaction, list a residents' committee's inbox,
mark records read and acknowledged. Every record and every acknowledgement is an audit entry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from assembly.audit import store as audit_log
from assembly.errors import Conflict, NotFound  # noqa: F401 - NotFound for the routes
from assembly.notify.models import NotificationRecord
from assembly.permissions import Action, Principal, check, scope_to_estates
from assembly.register.models import Estate

EVENTS = {
    "meeting.convened": "业主大会会议通知",
    "voting.opened": "投票开始",
    "voting.closed": "投票结束",
    "result.announced": "表决结果公告",
    "result.held": "表决结果暂缓公告（纸质选票待复核）",
    "objection.filed": "业主提出异议",
    "result.final": "异议期已结束",
}


def notify(session: Session, *, estate: Estate, event: str, what: str, evidence: str, actor: audit_log.Actor,
           now: datetime) -> NotificationRecord:
    """Record a notification for the estate's residents' committee, and log it (same transaction)."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    record = NotificationRecord(estate_id=estate.id, community_id=estate.community_id, event=event, what=what,
                                actor=actor.id, evidence=evidence, created_at=now)
    session.add(record)
    session.flush()
    record.audit_index = audit_log.append(session, estate_id=estate.id, type="notification.created", actor=actor,
                                          at=now, notification=record.id, event=event, evidence=evidence)
    return record


def inbox(session: Session, *, principal: Principal, limit: int = 200) -> list[NotificationRecord]:
    """The records of the estates the principal receives notifications for, newest first."""
    check(principal, Action.NOTIFICATION_RECEIVE)
    query = select(NotificationRecord).order_by(NotificationRecord.created_at.desc(), NotificationRecord.id.desc())
    return list(session.scalars(scope_to_estates(query, NotificationRecord.estate_id, principal).limit(limit)))


def get_record(session: Session, *, principal: Principal, record_id: int) -> NotificationRecord:
    check(principal, Action.NOTIFICATION_RECEIVE)
    query = scope_to_estates(select(NotificationRecord).where(NotificationRecord.id == record_id),
                             NotificationRecord.estate_id, principal)
    record = session.scalars(query).first()
    if record is None:
        raise NotFound("没有这条通知 / no such notification", code="notification_not_found")
    return record


def mark_read(session: Session, *, record: NotificationRecord, now: datetime) -> None:
    if record.read_at is None:
        record.read_at = now
        session.flush()


def acknowledge(session: Session, *, principal: Principal, record_id: int, now: datetime) -> NotificationRecord:
    """The residents' committee confirms it has received the record (签收), once."""
    record = get_record(session, principal=principal, record_id=record_id)
    if record.acknowledged_at is not None:
        raise Conflict("这条通知已经签收 / already acknowledged", code="already_acknowledged")
    actor = audit_log.Actor(principal.pseudonym or f"account-{principal.account_id}", str(principal.role))
    record.read_at = record.read_at or now
    record.acknowledged_at = now
    record.acknowledged_by = actor.id
    session.flush()
    audit_log.append(session, estate_id=record.estate_id, type="notification.acknowledged", actor=actor, at=now,
                     notification=record.id)
    return record
