"""Duties: opened by an event, closed by a later one, missed when the deadline passes (DutyMissed, once)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from assembly.db import unit_of_work
from assembly.events import duties
from assembly.events.catalog import DutyMissed, ResultAnnounced, ResultHeld
from assembly.events.models import Duty
from tests.events.conftest import T0, make_estate

RULE = duties.DutyRule(kind="paper.settle", holder="committee", opened_by=ResultHeld, closed_by=(ResultAnnounced,),
                       subject=lambda e: f"meeting:{e.meeting_id}", deadline=lambda e: e.at + timedelta(days=3))


def held(estate_id: int, meeting_id: int, at=T0) -> ResultHeld:
    return ResultHeld(estate_id=estate_id, at=at, meeting_id=meeting_id, description="暂缓公告", evidence="")


def announced(estate_id: int, meeting_id: int, at) -> ResultAnnounced:
    return ResultAnnounced(estate_id=estate_id, at=at, meeting_id=meeting_id, description="公告", evidence="")


def test_a_duty_opens_with_its_event_and_closes_in_time_with_the_later_one(session, bus):
    duties.install(bus, [RULE])
    estate = make_estate(session)
    bus.publish(session, held(estate.id, 1))
    bus.publish(session, held(estate.id, 1))  # raised again: still one duty
    (duty,) = duties.open_duties(session, estate_id=estate.id)
    assert (duty.kind, duty.subject, duty.holder, duty.deadline) == ("paper.settle", "meeting:1", "committee",
                                                                   T0 + timedelta(days=3))
    bus.publish(session, announced(estate.id, 1, T0 + timedelta(days=2)))
    assert duties.open_duties(session, estate_id=estate.id) == []
    assert duty.closed_at == T0 + timedelta(days=2) and duty.missed_at is None
    raised = []
    assert duties.sweep_missed(session, now=T0 + timedelta(days=30), publish=lambda s, e: raised.append(e)) == []
    assert raised == []


def test_an_announcement_with_no_duty_open_closes_nothing(session, bus):
    duties.install(bus, [RULE])
    estate = make_estate(session)
    bus.publish(session, announced(estate.id, 5, T0))
    assert session.scalars(select(Duty)).all() == []


def test_a_passed_deadline_is_missed_once_and_raises_duty_missed(engine_copy, bus):
    duties.install(bus, [RULE])
    heard = []
    bus.subscribe(DutyMissed, lambda s, e: heard.append(e))
    with unit_of_work(engine_copy) as session:
        estate_id = make_estate(session).id
        bus.publish(session, held(estate_id, 1))
        bus.publish(session, held(estate_id, 2, at=T0 + timedelta(days=1)))
    deadline = T0 + timedelta(days=3)
    with unit_of_work(engine_copy) as session:  # at the deadline itself the duty is still in time
        assert duties.sweep_missed(session, now=deadline, publish=bus.publish) == []
    with unit_of_work(engine_copy) as session:
        missed = duties.sweep_missed(session, now=deadline + timedelta(minutes=1), publish=bus.publish)
        assert [d.subject for d in missed] == ["meeting:1"]
    with unit_of_work(engine_copy) as session:  # swept again: raised once only
        assert duties.sweep_missed(session, now=deadline + timedelta(hours=1), publish=bus.publish) == []
    (event,) = heard
    assert (event.kind, event.subject, event.deadline, event.estate_id) == ("paper.settle", "meeting:1", deadline,
                                                                           estate_id)
    with unit_of_work(engine_copy) as session:  # closed late: closed, and still missed
        bus.publish(session, announced(estate_id, 1, deadline + timedelta(days=1)))
        late = session.scalars(select(Duty).where(Duty.subject == "meeting:1")).one()
        assert late.closed_at == deadline + timedelta(days=1) and late.missed_at == deadline + timedelta(minutes=1)
        assert [d.subject for d in duties.open_duties(session, estate_id=estate_id)] == ["meeting:2"]


def test_the_job_runner_sweeps_duties_through_the_applications_bus(engine_copy):
    from assembly.config import get_settings
    from assembly.events.bus import BUS
    from assembly.jobs import run_due

    heard = []

    def hear(session, event):
        heard.append(event.subject)

    BUS.subscribe(DutyMissed, hear)
    try:
        with unit_of_work(engine_copy) as session:
            estate_id = make_estate(session).id
            BUS.publish(session, held(estate_id, 9))  # the application's rule (assembly.wiring) opens it
        done = run_due(engine_copy, get_settings(), T0 + timedelta(days=4))
        assert done["duties"] == 1 and heard == ["meeting:9"]
    finally:
        BUS.unsubscribe(DutyMissed, hear)
