"""A request that cannot get its lock in time answers 503 with Retry-After and a message a person can
act on — a page for the phone form, JSON with a code for the API — and changes nothing.

Another connection holds what the ballot needs (on PostgreSQL the meeting's row, as a close or
another cast would; on SQLite the database's write lock, as another process would) for longer than
the lock timeout, which this application's engine sets to 300 ms.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from assembly.db import is_sqlite, make_engine, unit_of_work
from assembly.errors import BUSY_MESSAGE
from assembly.voting import meetings
from assembly.voting.models import Ballot
from tests.voting.meeting_world import open_meeting
from tests.voting.web_world import make_voting_web


def _held(engine, meeting_id: int):
    """A connection that holds the meeting's lock (PostgreSQL) or the write lock (SQLite)."""
    connection = engine.connect()
    if is_sqlite(engine):
        connection.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE (db.py): the write lock is taken
    else:
        connection.execute(text("SELECT id FROM meeting WHERE id = :id FOR UPDATE"), {"id": meeting_id})
    return connection


def test_a_ballot_that_cannot_get_its_lock_answers_503_and_changes_nothing(engine_copy):
    impatient = make_engine(engine_copy.url.render_as_string(hide_password=False), lock_timeout_ms=300)
    try:
        site = make_voting_web(impatient, owners=("single",))
        with unit_of_work(impatient) as session:
            meeting, opened = open_meeting(session, site.world, now=site.clock.now)
            (motion,) = meetings.motions_of(session, meeting=meeting)
            ids = meeting.id, motion.id
        site.clock.now = opened + timedelta(hours=1)
        owner = site.owner("single")
        (member,) = owner.get(f"/api/estates/alpha/meetings/{ids[0]}/mine").json()["members"]
        other = make_engine(engine_copy.url.render_as_string(hide_password=False))
        holder = _held(other, ids[0])
        try:
            api = owner.post(f"/api/estates/alpha/meetings/{ids[0]}/motions/{ids[1]}/ballots",
                             json={"member": member["member"], "choice": "agree", "idempotency_key": "busy-1"})
            page = owner.post(f"/estate/alpha/meetings/{ids[0]}/motions/{ids[1]}/vote",
                              data={"member": member["member"], "choice": "agree", "confirm": "1",
                                    "request_key": "busy-2"}, headers={"Accept": "text/html"})
        finally:
            holder.rollback()
            holder.close()
            other.dispose()
        assert api.status_code == 503, api.text
        assert api.headers["retry-after"] == "2"
        assert api.json()["error"]["code"] == "busy"
        assert page.status_code == 503, page.text[:300]
        assert page.headers["retry-after"] == "2"
        assert page.headers["content-type"].startswith("text/html")
        assert BUSY_MESSAGE.split(" / ")[0] in page.text  # the reader's language (Chinese by default)
        with unit_of_work(impatient) as session:
            assert session.scalar(select(func.count()).select_from(Ballot)) == 0
        # once the lock is free the same ballot goes through
        again = owner.post(f"/api/estates/alpha/meetings/{ids[0]}/motions/{ids[1]}/ballots",
                           json={"member": member["member"], "choice": "agree", "idempotency_key": "busy-1"})
        assert again.status_code == 201, again.text
    finally:
        impatient.dispose()
