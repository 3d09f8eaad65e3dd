"""Owners casting at once against a running server, through the phone page's form and the JSON API,
while the meeting's close races them (the concurrency issue's test; on PostgreSQL today's code before
it hung the whole server: an `async def` page route waited for a row lock on the event loop).

The server is `assembly serve` in a subprocess on a database of the test's own; 24 owners each send
ballots from their own thread and connection, alternating the form POST of
/estate/…/motions/{n}/vote and the API's POST …/ballots, until a second after the close. Then:
the server still answers; every ballot answered 201 (API) or 303 (page) is stored exactly once with
its ballot.cast entry; nothing else is stored; nothing was cast at or after the close; no answer was
a 5xx other than a 503 "busy" (which must have stored nothing); the job runner closed and counted
the meeting, and its count equals the members whose ballots were stored.

Bounded: at most 40 requests per owner, a quarter second apart, only until a second after the close.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from assembly.audit.models import AuditEntry
from assembly.auth.web import CSRF_FIELD, session_cookie_name
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.models import utcnow
from assembly.voting.models import Ballot, Meeting, Motion
from tests.concurrency.server import ServerProcess

OWNERS = 24
MAX_REQUESTS = 40
WINDOW = 15  # seconds from drafting the meeting to its close (setup takes a few under load)
PAUSE = 0.3  # between one owner's requests
BALLOT_PATH = re.compile(r"/ballots/(\d+)\?new=1$")


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _cast_until(server, world, owner: dict, index: int, closes_at, start: threading.Barrier, answers: list) -> None:
    cookie = {session_cookie_name(get_settings()): owner["session"]}
    meeting, motion = world.meeting_id, world.motion_id
    with httpx.Client(base_url=server.base, cookies=cookie, timeout=30, follow_redirects=False) as client:
        start.wait()
        for turn in range(MAX_REQUESTS):
            if utcnow() > closes_at() + timedelta(seconds=1):
                break
            if turn:
                time.sleep(PAUSE)  # spread each owner's ballots over the window around the close
            choice = ("agree", "oppose", "abstain")[(index + turn) % 3]
            key = f"o{index}-t{turn}"
            try:
                if (index + turn) % 2 == 0:  # the JSON API
                    answer = client.post(f"/api/estates/bench/meetings/{meeting}/motions/{motion}/ballots",
                                         json={"member": owner["member"], "choice": choice, "idempotency_key": key},
                                         headers={"X-CSRF-Token": owner["csrf"]})
                    ballot = answer.json().get("ballot") if answer.status_code == 201 else None
                    answers.append(("api", answer.status_code, ballot, answer.headers.get("retry-after")))
                else:  # the phone page's confirm form
                    answer = client.post(f"/estate/bench/meetings/{meeting}/motions/{motion}/vote", data={
                        "member": owner["member"], "choice": choice, "confirm": "1", "request_key": key,
                        CSRF_FIELD: owner["csrf"]})
                    found = BALLOT_PATH.search(answer.headers.get("location", "")) if answer.status_code == 303 else None
                    answers.append(("page", answer.status_code, int(found.group(1)) if found else None,
                                    answer.headers.get("retry-after")))
            except httpx.TimeoutException:
                answers.append(("timeout", None, None, None))
                return


def test_owners_casting_at_once_through_page_and_api_while_the_meeting_closes(engine_copy, tmp_path):
    import bench.http_world as http_world

    with ServerProcess(_url(engine_copy), tmp_path) as server:
        drafted = []

        def closes_at():  # a few seconds after the meeting is drafted, whatever setup took
            if not drafted:
                drafted.append(utcnow().replace(microsecond=0) + timedelta(seconds=WINDOW))
            return drafted[0]

        world = http_world.build(engine_copy, units=OWNERS, secret_key=get_settings().secret_key,
                                 closes_at=closes_at, paper_grace_days=0)
        assert len(world.clients) == OWNERS
        answers: list = []
        start = threading.Barrier(OWNERS)
        threads = [threading.Thread(target=_cast_until, args=(server, world, owner, i, closes_at, start, answers))
                   for i, owner in enumerate(world.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not any(thread.is_alive() for thread in threads), "clients still waiting: the server hangs"
        statuses = Counter((kind, status) for kind, status, _b, _r in answers)
        assert ("timeout", None) not in statuses, f"requests timed out (the server hung): {statuses}\n{server.output()}"
        assert server.answers(timeout=10), "the server stopped answering"
        assert not [s for (_k, s) in statuses if s is not None and s >= 500 and s != 503], \
            f"server errors: {statuses}\n{server.output()}"
        assert all(retry for _k, status, _b, retry in answers if status == 503), "a 503 without Retry-After"
        accepted = [ballot for kind, status, ballot, _r in answers if (kind, status) in (("api", 201), ("page", 303))]
        assert accepted, f"no ballot was accepted: {statuses}"
        assert all(ballot is not None for ballot in accepted), "an acceptance that names no ballot"
        assert len(set(accepted)) == len(accepted), "one ballot answered twice"
        # the job runner closes and counts the meeting (bounded wait: the runner runs every 0.5 s)
        for _ in range(120):
            with unit_of_work(engine_copy) as session:
                if session.get(Meeting, world.meeting_id).announced_at is not None:
                    break
            time.sleep(0.5)
        assert server.answers(timeout=10)

    with unit_of_work(engine_copy) as session:
        stored = session.execute(select(Ballot.id, Ballot.member_key, Ballot.cast_at, Ballot.entry_index)
                                 .where(Ballot.motion_id == world.motion_id)).all()
        assert sorted(row.id for row in stored) == sorted(accepted), "stored ballots differ from the accepted"
        assert all(row.cast_at < closes_at() for row in stored), "a ballot cast at or after the close"
        entries = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.type == "ballot.cast"))
        linked = session.scalar(select(func.count()).select_from(Ballot).join(
            AuditEntry, (AuditEntry.estate_id == Ballot.estate_id) & (AuditEntry.idx == Ballot.entry_index))
            .where(AuditEntry.type == "ballot.cast", Ballot.motion_id == world.motion_id))
        assert entries == linked == len(stored), "each ballot has exactly its one ballot.cast entry"
        meeting = session.get(Meeting, world.meeting_id)
        assert meeting.closed_at is not None and meeting.announced_at is not None, "the runner did not close it"
        result = json.loads(session.get(Motion, world.motion_id).result_json)
        assert result["participating"]["heads"] == len({row.member_key for row in stored})
