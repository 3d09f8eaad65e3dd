"""The message gateway 短信网关: owner notices leave the platform here, when the operator configures
ASSEMBLY_SMS_GATEWAY_URL and ASSEMBLY_SMS_GATEWAY_SECRET (docs/security.md says what is sent).

The owner_notice table is the outbox. The minute ticker claims due notices (a lease: another
ticker skips them), POSTs each as signed JSON outside any transaction, and marks it delivered only
on a 2xx answer; anything else is retried with exponential backoff (1 min, 2, 4 … at most 6 h),
never dropped. A notice is posted again only when its earlier answer was lost or not 2xx, always
with the same idempotency key (`owner-notice-<id>`), so the gateway delivers it to the owner once.
The phone number travels in the body (the gateway needs it) and is never logged or stored here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session

from assembly.db import unit_of_work
from assembly.notify.owner_models import DELIVERED, PENDING, OwnerNotice
from assembly.register.models import Estate, Person

log = logging.getLogger("assembly.gateway")
LEASE = timedelta(minutes=2)  # a claimed notice is not claimed again before this (its POST is under way)
MAX_BACKOFF = timedelta(hours=6)
BATCH = 100
TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Assembly-Signature"
TIMESTAMP_HEADER = "X-Assembly-Timestamp"


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1, 2, 4, 8 … minutes, at most 6 hours."""
    return min(timedelta(minutes=2 ** min(max(attempts - 1, 0), 20)), MAX_BACKOFF)


def idempotency_key(notice_id: int) -> str:
    return f"owner-notice-{notice_id}"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """hex HMAC-SHA256 over `timestamp.body`: the gateway checks it (and the timestamp's age)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Outgoing:
    notice_id: int
    body: bytes


def message_body(notice: OwnerNotice, *, phone: str, estate_code: str) -> bytes:
    return json.dumps({
        "idempotency_key": idempotency_key(notice.id),
        "to": phone,
        "text": notice.text,
        "event": notice.event,
        "estate": estate_code,
        "created_at": notice.created_at.isoformat(),
    }, ensure_ascii=False, sort_keys=True).encode()


def claim_due(session: Session, *, now: datetime, limit: int = BATCH) -> list[Outgoing]:
    """The notices due now, leased to this caller (their next attempt moved LEASE ahead)."""
    query = (select(OwnerNotice).where(OwnerNotice.delivery == PENDING, OwnerNotice.next_attempt_at <= now)
             .order_by(OwnerNotice.next_attempt_at, OwnerNotice.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = list(session.scalars(query))
    outgoing = []
    codes: dict[int, str] = {}
    for notice in due:
        person = session.get(Person, notice.person_id)
        notice.attempts += 1
        notice.next_attempt_at = now + LEASE
        if person is None or not person.phone:  # the phone was removed since: nothing to send it to
            notice.delivery, notice.next_attempt_at, notice.last_error = "no_contact", None, "no phone on file"
            continue
        if notice.estate_id not in codes:
            codes[notice.estate_id] = session.get(Estate, notice.estate_id).code
        body = message_body(notice, phone=person.phone, estate_code=codes[notice.estate_id])
        outgoing.append(Outgoing(notice.id, body))
    session.flush()
    return outgoing


def post(url: str, secret: str, message: Outgoing, *, now: datetime) -> tuple[bool, str]:
    """One signed POST; (delivered, what happened — a status or an error class, never the body)."""
    timestamp = str(int(now.timestamp()))
    request = urllib.request.Request(url, data=message.body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": idempotency_key(message.notice_id),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: f"sha256={sign(secret, timestamp, message.body)}",
    })
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - operator's URL
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError, ValueError) as error:
        return False, type(error).__name__
    return 200 <= status < 300, f"HTTP {status}"


def settle(session: Session, *, notice_id: int, delivered: bool, outcome: str, now: datetime) -> None:
    notice = session.get(OwnerNotice, notice_id)
    if notice is None or notice.delivery != PENDING:
        return
    if delivered:
        notice.delivery, notice.delivered_at, notice.next_attempt_at, notice.last_error = DELIVERED, now, None, None
    else:
        notice.next_attempt_at = now + backoff(notice.attempts)
        notice.last_error = outcome[:200]
    session.flush()


def deliver_due(engine: Engine, *, settings, now: datetime) -> int:
    """One ticker round: claim, POST, settle. Returns how many were delivered. Without a gateway, nothing."""
    url, secret = getattr(settings, "sms_gateway_url", None), getattr(settings, "sms_gateway_secret", None)
    if not url or not secret:
        return 0
    with unit_of_work(engine) as session:
        outgoing = claim_due(session, now=now)
    delivered = 0
    for message in outgoing:
        ok, outcome = post(url, secret, message, now=now)
        with unit_of_work(engine) as session:
            settle(session, notice_id=message.notice_id, delivered=ok, outcome=outcome, now=now)
        if ok:
            delivered += 1
        else:
            log.warning("owner notice %d not delivered (%s); retried later", message.notice_id, outcome)
    return delivered
