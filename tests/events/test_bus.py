"""The event bus: subscribers run in the raiser's transaction, in order; a failing one fails the fact."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest
from sqlalchemy import func, select

from assembly.db import unit_of_work
from assembly.events.catalog import BallotCast, Event, MeetingEvent, VotingOpened
from assembly.register.models import Estate
from tests.events.conftest import T0, make_estate


def opened(estate_id: int) -> VotingOpened:
    return VotingOpened(estate_id=estate_id, at=T0, meeting_id=7, description="开始投票", evidence="/estate/ev/meetings/7")


def test_subscribers_run_in_order_and_base_class_subscribers_hear_subclasses(session, bus):
    heard = []
    bus.subscribe(VotingOpened, lambda s, e: heard.append(("opened", e.meeting_id)))
    bus.subscribe(MeetingEvent, lambda s, e: heard.append(("meeting", type(e).__name__)))
    bus.subscribe(Event, lambda s, e: heard.append(("any", s is session)))
    bus.publish(session, opened(1))
    bus.publish(session, BallotCast(estate_id=1, at=T0, meeting_id=7, motion_id=1, ballot_id=3))
    assert heard == [("opened", 7), ("meeting", "VotingOpened"), ("any", True), ("any", True)]


def test_subscribing_twice_subscribes_once_and_only_events_can_be_subscribed(session, bus):
    heard = []

    def hear(s, e):
        heard.append(e)

    bus.subscribe(VotingOpened, hear)
    bus.subscribe(VotingOpened, hear)
    bus.publish(session, opened(1))
    assert len(heard) == 1
    with pytest.raises(TypeError):
        bus.subscribe(dict, hear)


def test_events_are_frozen():
    with pytest.raises(FrozenInstanceError):
        opened(1).meeting_id = 8


def test_what_a_subscriber_writes_commits_with_the_fact_and_a_failing_subscriber_fails_it(engine_copy, bus):
    def write_estate(session, event):
        make_estate(session, code=f"sub{event.meeting_id}")

    def refuse(session, event):
        if event.meeting_id == 2:
            raise RuntimeError("the subscriber refuses")

    bus.subscribe(VotingOpened, write_estate)
    bus.subscribe(VotingOpened, refuse)
    with unit_of_work(engine_copy) as session:
        bus.publish(session, opened(1))
    with pytest.raises(RuntimeError), unit_of_work(engine_copy) as session:
        make_estate(session, code="fact")  # the fact itself
        bus.publish(session, VotingOpened(estate_id=1, at=T0, meeting_id=2, description="", evidence=""))
    with unit_of_work(engine_copy) as session:
        codes = set(session.scalars(select(Estate.code)))
        assert "sub7" in codes and "sub2" not in codes and "fact" not in codes
        assert session.scalar(select(func.count()).select_from(Estate)) == len(codes)
