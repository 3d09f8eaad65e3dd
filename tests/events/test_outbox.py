"""The outbox: rows written in a transaction, delivered after commit with a lease and backoff, never
dropped, settled once; a topic that is not configured waits."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from assembly.db import unit_of_work
from assembly.events import outbox
from assembly.events.models import DELIVERED, PENDING, SKIPPED, OutboxMessage
from tests.events.conftest import T0, make_estate


class Receiver:
    """A topic whose sends answer from a script: True delivers, False fails."""

    def __init__(self, answers, *, ready=True):
        self.answers, self.sent, self.settled, self.is_ready = list(answers), [], [], ready

    def topic(self, name="test.topic") -> outbox.Topic:
        return outbox.Topic(name, ready=lambda settings: self.is_ready, prepare=self.prepare, send=self.send,
                            settled=lambda session, message, ok, now: self.settled.append((message.key, ok)))

    @staticmethod
    def prepare(session, message):
        payload = json.loads(message.payload)
        return None if payload.get("gone") else json.dumps(payload).encode()

    def send(self, settings, item, now):
        self.sent.append((item.key, item.body))
        ok = self.answers.pop(0)
        return ok, "HTTP 200" if ok else "HTTP 503"


def _topics(receiver, name="test.topic") -> outbox.Topics:
    topics = outbox.Topics()
    topics.register(receiver.topic(name))
    return topics


def _row(engine, key) -> OutboxMessage:
    with unit_of_work(engine) as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def test_a_failed_send_is_retried_with_backoff_and_a_delivered_one_never_again(engine_copy):
    receiver = Receiver([False, True])
    topics = _topics(receiver)
    with unit_of_work(engine_copy) as session:
        estate_id = make_estate(session).id
        outbox.enqueue(session, topic="test.topic", key="k-1", payload={"n": 1}, estate_id=estate_id, now=T0)
    assert outbox.drain(engine_copy, settings=None, now=T0, topics=topics) == 0
    failed = _row(engine_copy, "k-1")
    assert (failed.state, failed.attempts, failed.last_error) == (PENDING, 1, "HTTP 503")
    assert failed.next_attempt_at == T0 + timedelta(minutes=1)
    assert outbox.drain(engine_copy, settings=None, now=T0 + timedelta(seconds=59), topics=topics) == 0
    assert outbox.drain(engine_copy, settings=None, now=T0 + timedelta(minutes=1), topics=topics) == 1
    assert outbox.drain(engine_copy, settings=None, now=T0 + timedelta(days=1), topics=topics) == 0
    done = _row(engine_copy, "k-1")
    assert (done.state, done.attempts, done.delivered_at) == (DELIVERED, 2, T0 + timedelta(minutes=1))
    assert [key for key, _ in receiver.sent] == ["k-1", "k-1"] and receiver.sent[0][1] == receiver.sent[1][1]
    assert receiver.settled == [("k-1", False), ("k-1", True)]


def test_a_row_rolled_back_with_its_fact_is_never_sent(engine_copy):
    receiver = Receiver([True])
    with pytest.raises(RuntimeError), unit_of_work(engine_copy) as session:
        outbox.enqueue(session, topic="test.topic", key="k-lost", payload={}, now=T0)
        raise RuntimeError("the fact fails")
    assert outbox.drain(engine_copy, settings=None, now=T0, topics=_topics(receiver)) == 0
    assert receiver.sent == []


def test_nothing_left_to_send_is_skipped_and_an_unconfigured_topic_waits(engine_copy):
    receiver, idle = Receiver([]), Receiver([True], ready=False)
    topics = _topics(receiver)
    topics.register(idle.topic("idle.topic"))
    with unit_of_work(engine_copy) as session:
        outbox.enqueue(session, topic="test.topic", key="k-gone", payload={"gone": True}, now=T0)
        outbox.enqueue(session, topic="idle.topic", key="k-idle", payload={}, now=T0)
    assert outbox.drain(engine_copy, settings=None, now=T0, topics=topics) == 0
    assert _row(engine_copy, "k-gone").state == SKIPPED and receiver.sent == []
    assert _row(engine_copy, "k-idle").state == PENDING and _row(engine_copy, "k-idle").attempts == 0
    idle.is_ready = True
    assert outbox.drain(engine_copy, settings=None, now=T0 + timedelta(hours=1), topics=topics) == 1


def test_a_claimed_row_is_leased_and_sent_again_with_the_same_key_after_the_lease(engine_copy):
    receiver = Receiver([True])
    topics = _topics(receiver)
    with unit_of_work(engine_copy) as session:
        outbox.enqueue(session, topic="test.topic", key="k-lease", payload={}, now=T0)
    with unit_of_work(engine_copy) as session:  # claimed, then the process died before sending
        (claimed,) = outbox.claim_due(session, now=T0, topics=topics, names=["test.topic"])
    assert claimed.key == "k-lease"
    assert outbox.drain(engine_copy, settings=None, now=T0 + timedelta(minutes=1), topics=topics) == 0  # leased
    assert outbox.drain(engine_copy, settings=None, now=T0 + outbox.LEASE, topics=topics) == 1
    assert _row(engine_copy, "k-lease").attempts == 2


def test_backoff_doubles_up_to_six_hours():
    assert [outbox.backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert outbox.backoff(10) == outbox.backoff(500) == timedelta(hours=6)
