"""Two server processes on one PostgreSQL database, as behind a load balancer: nothing a request
leaves for the next lives in one process's memory. A staff member logs in on one process, prints a
card sheet there and downloads it from the other; owners vote through both (each process runs its
job runner beside them: tests/voting/test_jobs.py checks that one runs a job at a time)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select

from assembly.audit.models import AuditEntry
from assembly.auth import accounts
from assembly.auth.web import session_cookie_name
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.models import utcnow
from assembly.permissions import Role
from assembly.register.models import Estate, Person
from assembly.voting.models import Ballot
from tests.concurrency.server import ServerProcess

PASSWORD = "correct-horse-battery-staple"
VOTERS = 12


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _staff_login(server, username: str) -> httpx.Client:
    client = httpx.Client(base_url=server.base, timeout=30, follow_redirects=False)
    csrf = client.get("/api/auth/csrf").json()["csrf_token"]
    answer = client.post("/api/auth/login", json={"username": username, "password": PASSWORD},
                         headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def test_two_processes_share_logins_downloads_votes_and_jobs(engine_copy, db_backend, tmp_path):
    if db_backend != "postgresql":
        pytest.skip("several server processes are for PostgreSQL (SQLite is served by one: docs/operators.md)")
    import bench.http_world as http_world

    world = http_world.build(engine_copy, units=VOTERS + 2, secret_key=get_settings().secret_key, logins=VOTERS)
    voters = {client["member"].removeprefix("owners:") for client in world.clients}
    with unit_of_work(engine_copy) as session:
        estate = session.scalar(select(Estate).where(Estate.code == http_world.ESTATE_CODE))
        unprinted = [p for p in session.scalars(select(Person.pseudonym).where(Person.estate_id == estate.id))
                     if p not in voters]
        accounts.create_account(session, created_by=None, username="rc-two", display_name="居委会两进程",
                                role=Role.RESIDENTS_COMMITTEE, now=utcnow(), estate_ids={estate.id},
                                password=PASSWORD)

    with ServerProcess(_url(engine_copy), tmp_path, name="a") as a, ServerProcess(_url(engine_copy), tmp_path,
                                                                                  name="b") as b:
        staff_on_a = _staff_login(a, "rc-two")
        printed = staff_on_a.post("/estate/bench/cards/print", data={"person": unprinted[:1], "mode": "checked"})
        assert printed.status_code == 200, printed.text[:300]
        tokens = re.findall(r'name="pickup" value="([^"]+)"', printed.text)
        assert len(tokens) == 2
        # the same login, its cookie and CSRF token, on the other process
        staff_on_b = httpx.Client(base_url=b.base, timeout=30, follow_redirects=False,
                                  cookies=staff_on_a.cookies, headers={"X-CSRF-Token": staff_on_a.headers["X-CSRF-Token"]})
        sheet = staff_on_b.post("/estate/bench/cards/download", data={"pickup": tokens[0]})
        assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF"), sheet.text[:300]
        again = staff_on_a.post("/estate/bench/cards/download", data={"pickup": tokens[0]})
        assert again.status_code == 410  # handed over once, whichever process is asked
        slips = staff_on_a.post("/estate/bench/cards/download", data={"pickup": tokens[1]})
        assert slips.status_code == 200 and slips.content.startswith(b"%PDF")

        accepted = []
        for index, owner in enumerate(world.clients):
            server = (a, b)[index % 2]
            with httpx.Client(base_url=server.base, timeout=30,
                              cookies={session_cookie_name(get_settings()): owner["session"]}) as client:
                answer = client.post(
                    f"/api/estates/bench/meetings/{world.meeting_id}/motions/{world.motion_id}/ballots",
                    json={"member": owner["member"], "choice": "agree", "idempotency_key": f"two-{index}"},
                    headers={"X-CSRF-Token": owner["csrf"]})
                assert answer.status_code == 201, answer.text
                accepted.append(answer.json()["ballot"])
        assert a.answers() and b.answers()

    with unit_of_work(engine_copy) as session:
        stored = session.scalars(select(Ballot.id).where(Ballot.motion_id == world.motion_id)).all()
        assert sorted(stored) == sorted(accepted)
        for kind in ("cards.printed", "slips.printed"):  # each handed over once
            count = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.type == kind))
            assert count == 1, f"{kind}: {count}"
