"""The outbox 发件箱: work that runs after the commit that decided it, never lost, never done twice
for the receiver.

A subscriber that needs later work (a message to the gateway, a delivery to another system, a
recomputation) calls `enqueue` in its transaction: one row, committed or rolled back with the fact.
The job runner drains due rows per topic: it claims them with a lease (a claimed row is not claimed
again for LEASE; `SKIP LOCKED` on PostgreSQL, so several processes share the work), lets the topic
build what to send in the claiming transaction, sends outside any transaction, and settles each in
a transaction of its own: delivered only when the topic says so, otherwise retried after 1, 2, 4 …
minutes, at most every 6 hours, for as long as it takes. A send whose answer was lost is sent again
with the same key, which the receiver must honour as an idempotency key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from assembly.db import unit_of_work
from assembly.events.models import DELIVERED, PENDING, SKIPPED, OutboxMessage

log = logging.getLogger("assembly.outbox")
LEASE = timedelta(minutes=2)  # a claimed row is not claimed again before this (its send is under way)
MAX_BACKOFF = timedelta(hours=6)
BATCH = 100


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1, 2, 4, 8 … minutes, at most 6 hours."""
    return min(timedelta(minutes=2 ** min(max(attempts - 1, 0), 20)), MAX_BACKOFF)


@dataclass(frozen=True)
class Outgoing:
    """What one claimed row sends: built in the claiming transaction, sent outside any."""

    message_id: int
    topic: str
    key: str
    body: bytes


@dataclass(frozen=True)
class Topic:
    """How rows of one topic are delivered.

    - `ready(settings)`: whether delivery is configured now (rows wait while it is not);
    - `prepare(session, message)`: the bytes to send, or None when there is nothing to send any more
      (the row is settled `skipped`); runs in the claiming transaction;
    - `send(settings, outgoing, now)`: (delivered, what happened — a status, never the body);
    - `settled(session, message, delivered, now)`: optional, in the settling transaction.
    """

    name: str
    ready: Callable[[Any], bool]
    prepare: Callable[[Session, OutboxMessage], bytes | None]
    send: Callable[[Any, Outgoing, datetime], tuple[bool, str]]
    settled: Callable[[Session, OutboxMessage, bool, datetime], None] | None = None


class Topics:
    """The topics the application delivers, registered where it is composed (assembly.wiring)."""

    def __init__(self) -> None:
        self._topics: dict[str, Topic] = {}

    def register(self, topic: Topic) -> None:
        self._topics[topic.name] = topic

    def get(self, name: str) -> Topic | None:
        return self._topics.get(name)

    def ready(self, settings) -> list[str]:
        return [name for name, topic in self._topics.items() if topic.ready(settings)]

    def clear(self) -> None:
        self._topics.clear()


TOPICS = Topics()


def enqueue(session: Session, *, topic: str, key: str, payload: dict, now: datetime,
            estate_id: int | None = None) -> OutboxMessage:
    """Write one row to deliver after this transaction commits (due at once)."""
    message = OutboxMessage(topic=topic, key=key, estate_id=estate_id, created_at=now, next_attempt_at=now,
                            payload=json.dumps(payload, ensure_ascii=False, sort_keys=True))
    session.add(message)
    session.flush()
    return message


def claim_due(session: Session, *, now: datetime, topics: Topics, names: list[str],
              limit: int = BATCH) -> list[Outgoing]:
    """The due rows of the named topics, leased to this caller (their next attempt moved LEASE ahead)."""
    if not names:
        return []
    query = (select(OutboxMessage).where(OutboxMessage.state == PENDING, OutboxMessage.topic.in_(names),
                                         OutboxMessage.next_attempt_at <= now)
             .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    outgoing = []
    for message in session.scalars(query).all():
        message.attempts += 1
        message.next_attempt_at = now + LEASE
        body = topics.get(message.topic).prepare(session, message)
        if body is None:
            message.state, message.next_attempt_at = SKIPPED, None
            continue
        outgoing.append(Outgoing(message.id, message.topic, message.key, body))
    session.flush()
    return outgoing


def settle(session: Session, *, outgoing: Outgoing, delivered: bool, outcome: str, now: datetime,
           topics: Topics) -> None:
    message = session.get(OutboxMessage, outgoing.message_id)
    if message is None or message.state != PENDING:
        return
    if delivered:
        message.state, message.delivered_at, message.next_attempt_at, message.last_error = DELIVERED, now, None, None
    else:
        message.next_attempt_at = now + backoff(message.attempts)
        message.last_error = outcome[:200]
    session.flush()
    topic = topics.get(message.topic)
    if topic is not None and topic.settled is not None:
        topic.settled(session, message, delivered, now)


def drain(engine: Engine, *, settings, now: datetime, topics: Topics = TOPICS) -> int:
    """One round: claim what is due for the configured topics, send, settle. How many were delivered."""
    with unit_of_work(engine) as session:
        outgoing = claim_due(session, now=now, topics=topics, names=topics.ready(settings))
    delivered = 0
    for item in outgoing:
        ok, outcome = topics.get(item.topic).send(settings, item, now)
        with unit_of_work(engine) as session:
            settle(session, outgoing=item, delivered=ok, outcome=outcome, now=now, topics=topics)
        if ok:
            delivered += 1
        else:
            log.warning("outbox %s %s not delivered (%s); retried later", item.topic, item.key, outcome)
    return delivered


def messages_for(session: Session, *, keys: list[str]) -> dict[str, OutboxMessage]:
    """The rows with these keys (a feature showing its items' delivery)."""
    if not keys:
        return {}
    return {m.key: m for m in session.scalars(select(OutboxMessage).where(OutboxMessage.key.in_(keys)))}
