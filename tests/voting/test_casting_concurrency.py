"""Concurrent requests for one member: exactly one ballot counts, on both databases (the meeting row
lock on PostgreSQL, BEGIN IMMEDIATE on SQLite, and the unique request key underneath)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from assembly.db import unit_of_work
from assembly.errors import Conflict
from assembly.voting import casting, meetings
from assembly.voting.models import Ballot, Meeting, Motion

from .meeting_world import build_estate, open_meeting, start_time

THREADS = 8


def _race(engine, meeting_id: int, motion_id: int, owner, member: str, keys: list[str], when) -> list[object]:
    outcomes: list[object] = []
    barrier = threading.Barrier(len(keys))

    def attempt(key: str) -> None:
        barrier.wait()
        try:
            with unit_of_work(engine) as session:
                meeting = session.get(Meeting, meeting_id)
                motion = session.get(Motion, motion_id)
                ballot, created = casting.cast(session, meeting=meeting, motion=motion, principal=owner,
                                               member_key=member, choice="agree", idempotency_key=key, now=when)
                outcomes.append((ballot.id, created))
        except Conflict as refusal:
            outcomes.append(refusal.code)

    threads = [threading.Thread(target=attempt, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.parametrize("same_key", [True, False], ids=["double-click", "two-phones"])
def test_concurrent_casts_for_one_member_leave_one_ballot(engine_copy, same_key):
    with unit_of_work(engine_copy) as session:
        world = build_estate(session)
        meeting, opened = open_meeting(session, world, now=start_time(), revote="first")
        (motion,) = meetings.motions_of(session, meeting=meeting)
        owner = world.owner("single")
        (held,) = casting.holdings(session, meeting=meeting, pseudonym=owner.pseudonym)
        ids = meeting.id, motion.id
    keys = ["same"] * THREADS if same_key else [f"k{i}" for i in range(THREADS)]
    outcomes = _race(engine_copy, *ids, owner, held.member_key, keys, opened)
    with unit_of_work(engine_copy) as session:
        count = session.scalar(select(func.count()).select_from(Ballot).where(Ballot.motion_id == ids[1]))
    assert count == 1
    created = [o for o in outcomes if isinstance(o, tuple) and o[1]]
    assert len(created) == 1
    if same_key:
        assert all(isinstance(o, tuple) and o[0] == created[0][0] for o in outcomes)
    else:
        assert sorted(o for o in outcomes if isinstance(o, str)) == ["already_voted"] * (THREADS - 1)
