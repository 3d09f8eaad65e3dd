"""The message gateway 短信网关: owner notices leave the platform here, when the operator configures
ASSEMBLY_SMS_GATEWAY_URL and ASSEMBLY_SMS_GATEWAY_SECRET (docs/security.md says what is sent).

A notice to send is one row of the platform's outbox (assembly.events.outbox), topic
`owner_notice.sms`, key `owner-notice-<id>`: the job runner claims it with a lease, this module builds
the signed JSON in the claiming transaction, POSTs it outside any transaction, and the notice is
marked delivered only on a 2xx answer; anything else is retried with the outbox's backoff (1 min, 2,
4 … at most 6 h), never dropped. A notice is posted again only when its earlier answer was lost or
not 2xx, always with the same idempotency key, so the gateway delivers it to the owner once. The
phone number travels in the body (the gateway needs it) and is never logged or stored here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from assembly.events import outbox
from assembly.events.models import OutboxMessage
from assembly.events.outbox import LEASE, Outgoing, backoff  # noqa: F401 - the gateway's timing, for callers
from assembly.notify.owner_models import DELIVERED, NO_CONTACT, PENDING, OwnerNotice
from assembly.register.models import Estate, Person

log = logging.getLogger("assembly.gateway")
TOPIC_NAME = "owner_notice.sms"
TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Assembly-Signature"
TIMESTAMP_HEADER = "X-Assembly-Timestamp"


def idempotency_key(notice_id: int) -> str:
    return f"owner-notice-{notice_id}"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """hex HMAC-SHA256 over `timestamp.body`: the gateway checks it (and the timestamp's age)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def configured(settings) -> bool:
    return bool(getattr(settings, "sms_gateway_url", None) and getattr(settings, "sms_gateway_secret", None))


def queue(session: Session, *, notice: OwnerNotice, now: datetime) -> OutboxMessage:
    """Put a pending notice into the outbox (the caller's transaction)."""
    return outbox.enqueue(session, topic=TOPIC_NAME, key=idempotency_key(notice.id), payload={"notice": notice.id},
                          estate_id=notice.estate_id, now=now)


def message_body(notice: OwnerNotice, *, phone: str, estate_code: str) -> bytes:
    return json.dumps({
        "idempotency_key": idempotency_key(notice.id),
        "to": phone,
        "text": notice.text,
        "event": notice.event,
        "estate": estate_code,
        "created_at": notice.created_at.isoformat(),
    }, ensure_ascii=False, sort_keys=True).encode()


def _prepare(session: Session, message: OutboxMessage) -> bytes | None:
    notice = session.get(OwnerNotice, json.loads(message.payload)["notice"])
    if notice is None or notice.delivery != PENDING:
        return None
    notice.attempts += 1
    person = session.get(Person, notice.person_id)
    if person is None or not person.phone:  # the phone was removed since: nothing to send it to
        notice.delivery, notice.last_error = NO_CONTACT, "no phone on file"
        return None
    return message_body(notice, phone=person.phone, estate_code=session.get(Estate, notice.estate_id).code)


def post(url: str, secret: str, message: Outgoing, *, now: datetime) -> tuple[bool, str]:
    """One signed POST; (delivered, what happened — a status or an error class, never the body)."""
    timestamp = str(int(now.timestamp()))
    request = urllib.request.Request(url, data=message.body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": message.key,
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


def _send(settings, message: Outgoing, now: datetime) -> tuple[bool, str]:
    return post(settings.sms_gateway_url, settings.sms_gateway_secret, message, now=now)


def _settled(session: Session, message: OutboxMessage, delivered: bool, now: datetime) -> None:
    """The notice shows what the owner's page says of its delivery."""
    notice = session.get(OwnerNotice, json.loads(message.payload)["notice"])
    if notice is None or notice.delivery != PENDING:
        return
    if delivered:
        notice.delivery, notice.delivered_at, notice.last_error = DELIVERED, now, None
    else:
        notice.last_error = message.last_error
    session.flush()


TOPIC = outbox.Topic(TOPIC_NAME, ready=configured, prepare=_prepare, send=_send, settled=_settled)


def _only_notices() -> outbox.Topics:
    topics = outbox.Topics()
    topics.register(TOPIC)
    return topics


def claim_due(session: Session, *, now: datetime, limit: int = outbox.BATCH) -> list[Outgoing]:
    """The owner notices due now, leased to this caller (tools and tests; the job runner drains all topics)."""
    return outbox.claim_due(session, now=now, topics=_only_notices(), names=[TOPIC_NAME], limit=limit)


def deliver_due(engine: Engine, *, settings, now: datetime) -> int:
    """One round for owner notices only: claim, POST, settle. How many were delivered. Without a gateway, nothing."""
    return outbox.drain(engine, settings=settings, now=now, topics=_only_notices())
