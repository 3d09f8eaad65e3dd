"""Many requests at once never stall the server: a request waits for its connection slot (and, on
SQLite, for the write gate) on the event loop, never inside a pool thread (assembly/web/deps.py).

The thread pool is cut to 3 threads so that a few dozen requests reproduce what hundreds of
owners did to the real server: every thread waiting for a connection (or for SQLite's write lock)
while the requests holding them waited for a thread — all stalled for 30 s, then failed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import anyio
import httpx
from fastapi import APIRouter
from sqlalchemy import func, select, text

from assembly.db import unit_of_work
from assembly.voting import meetings
from assembly.voting.models import Ballot
from assembly.web.deps import SessionDep
from tests.voting.meeting_world import open_meeting
from tests.voting.web_world import make_voting_web

REQUESTS = 48  # more than the thread pool (3) and the SQLite pool (15) together


async def _together(app, method: str, path: str, *, cookies=None, headers=None, bodies=None) -> list[int]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = 3  # this event loop only
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=cookies,
                                 headers=headers, timeout=120) as client:
        answers = await asyncio.gather(*(client.request(method, path, json=body)
                                         for body in (bodies or [None] * REQUESTS)))
    return [answer.status_code for answer in answers]


def test_more_requests_than_threads_and_connections_all_answer(engine_copy):
    site = make_voting_web(engine_copy, owners=("single",))
    statuses = asyncio.run(_together(site.app, "GET", "/healthz"))
    assert statuses == [200] * REQUESTS


def test_concurrent_ballots_of_one_owner_all_count(engine_copy):
    site = make_voting_web(engine_copy, owners=("single",))
    with unit_of_work(engine_copy) as session:
        meeting, opened = open_meeting(session, site.world, now=site.clock.now, revote="last")
        (motion,) = meetings.motions_of(session, meeting=meeting)
        ids = meeting.id, motion.id
    site.clock.now = opened + timedelta(hours=1)
    owner = site.owner("single")
    (member,) = owner.get(f"/api/estates/alpha/meetings/{ids[0]}/mine").json()["members"]
    bodies = [{"member": member["member"], "choice": "agree", "idempotency_key": f"k{i}"} for i in range(REQUESTS)]
    statuses = asyncio.run(_together(
        site.app, "POST", f"/api/estates/alpha/meetings/{ids[0]}/motions/{ids[1]}/ballots",
        cookies=dict(owner.cookies), headers={"X-CSRF-Token": owner.headers["X-CSRF-Token"]}, bodies=bodies))
    assert statuses == [201] * REQUESTS
    with unit_of_work(engine_copy) as session:
        assert session.scalar(select(func.count()).select_from(Ballot).where(Ballot.motion_id == ids[1])) == REQUESTS


def test_a_failed_request_rolls_back_and_frees_its_turn(engine_copy):
    """An error answer (a refused ballot) ends its transaction and lets the next writer in."""
    site = make_voting_web(engine_copy, owners=("single",))
    with unit_of_work(engine_copy) as session:
        meeting, opened = open_meeting(session, site.world, now=site.clock.now, revote="last")
        (motion,) = meetings.motions_of(session, meeting=meeting)
        ids = meeting.id, motion.id
    site.clock.now = opened + timedelta(hours=1)
    owner = site.owner("single")
    path = f"/api/estates/alpha/meetings/{ids[0]}/motions/{ids[1]}/ballots"
    bodies = [{"member": "owners:nobody", "choice": "agree", "idempotency_key": f"bad{i}"} for i in range(REQUESTS)]
    statuses = asyncio.run(_together(site.app, "POST", path, cookies=dict(owner.cookies),
                                     headers={"X-CSRF-Token": owner.headers["X-CSRF-Token"]}, bodies=bodies))
    assert statuses == [403] * REQUESTS
    with unit_of_work(engine_copy) as session:
        assert session.scalar(select(func.count()).select_from(Ballot).where(Ballot.motion_id == ids[1])) == 0


def test_a_commit_that_fails_is_an_error_answer_and_stores_nothing(engine_copy):
    """The request's transaction commits before the answer: a commit refused by the database is a
    500, never a success, and the connection goes back to the pool all the same."""
    site = make_voting_web(engine_copy, owners=())
    with unit_of_work(engine_copy) as session:
        session.execute(text("CREATE TABLE commit_probe (id integer PRIMARY KEY, other integer REFERENCES "
                             "commit_probe (id) DEFERRABLE INITIALLY DEFERRED)"))
    router = APIRouter()

    @router.post("/probe")
    def probe(session: SessionDep) -> dict:
        session.execute(text("INSERT INTO commit_probe (id, other) VALUES (1, 99)"))  # fails at commit only
        return {"ok": True}

    site.app.include_router(router)
    client = site.client()
    csrf = client.get("/api/auth/csrf").json()["csrf_token"]
    for _ in range(20):  # more than the pool's connections: each failed request gave its own back
        assert client.post("/probe", headers={"X-CSRF-Token": csrf}).status_code == 500
    with unit_of_work(engine_copy) as session:
        assert session.scalar(text("SELECT count(*) FROM commit_probe")) == 0
