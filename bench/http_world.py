"""The world of the HTTP ballot benchmark: an estate of N single-owner units, an open meeting with one
motion, one owner card per owner and one logged-in session per owner made by the real session code
(assembly.auth.sessions.start), so every simulated client carries a real cookie and CSRF token.

Setup only (not timed). Cards are inserted in bulk (issuing 10,000 cards one by one through
assembly.auth.cards would hash 10,000 activation codes); the sessions are the real thing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

ESTATE_CODE = "bench"


@dataclass(frozen=True)
class World:
    meeting_id: int
    motion_id: int
    clients: list[dict]  # per owner: {"member", "session", "csrf"}
    roll_size: int


def build(engine, *, units: int, secret_key: str, logins: int | None = None, closes_at=None,
          paper_grace_days: int = 3) -> World:
    """The world; `logins`: how many owners get a session (all by default); `closes_at`: tomorrow
    by default, or a function giving it when the meeting is drafted (the concurrency tests close it
    seconds after the world is built)."""
    from sqlalchemy import insert, select

    from assembly.auth import sessions, tokens
    from assembly.auth.models import OwnerCard
    from assembly.config import get_settings
    from assembly.db import unit_of_work
    from assembly.models import utcnow
    from assembly.register.models import Person
    from bench.meeting_world import open_meeting, register_rows

    settings = get_settings()
    rows = register_rows(units)
    now = utcnow().replace(microsecond=0)
    # Published 25 days ago and opened yesterday (the notice ran its 15 days), closing tomorrow: the
    # server's real clock finds the meeting open. Entry times are raised to the register's (later)
    # time by the log, as for any lagging clock.
    published, opened = now - timedelta(days=25), now - timedelta(days=1)  # 15 days and any holiday after
    with unit_of_work(engine) as session:
        world = open_meeting(session, rows=rows, published=published, opened=opened,
                             closes_at=closes_at or (lambda: now + timedelta(days=1)), code=ESTATE_CODE,
                             paper_grace_days=paper_grace_days)
        estate, meeting, motion, roll = world.estate, world.meeting, world.motion, world.roll
        people = session.execute(select(Person.id, Person.pseudonym).where(Person.estate_id == estate.id)).all()
        prefix = f"{estate.id % 10_000:04d}"
        session.execute(insert(OwnerCard), [
            {"estate_id": estate.id, "person_id": person_id, "number": f"{prefix}{number:08d}",
             "token_hash": tokens.sha256_hex(secrets.token_urlsafe(24)), "pin_hash": "bench-no-pin",
             "issued_at": now, "activated_at": now}
            for number, (person_id, _) in enumerate(people)])
        cards = dict(session.execute(select(OwnerCard.person_id, OwnerCard.id)
                                     .where(OwnerCard.estate_id == estate.id)).all())
        members = {key.split(":", 1)[1]: key for key in roll if key.startswith("owners:") and "+" not in key}
        clients = []
        for person_id, pseudonym in people[:len(people) if logins is None else logins]:
            if pseudonym not in members:
                continue
            new = sessions.start(session, settings=settings, now=utcnow(), card_id=cards[person_id],
                                 user_agent="bench")
            clients.append({"member": members[pseudonym], "session": new.token,
                            "csrf": tokens.csrf_for_session(new.sid, secret_key=secret_key)})
        world = World(meeting.id, motion.id, clients, len(roll))
    return world


def counts(engine, *, meeting_id: int) -> dict[str, int]:
    """Ballot rows of the meeting's motion and ballot.cast entries of the bench estate (the check that
    every success the load generator saw is one ballot with its entry, and nothing more)."""
    from sqlalchemy import func, select

    from assembly.audit.models import AuditEntry
    from assembly.db import unit_of_work
    from assembly.register.models import Estate
    from assembly.voting.models import Ballot, Motion

    with unit_of_work(engine) as session:
        estate_id = session.scalar(select(Estate.id).where(Estate.code == ESTATE_CODE))
        ballots = session.scalar(select(func.count()).select_from(Ballot).join(Motion, Motion.id == Ballot.motion_id)
                                 .where(Motion.meeting_id == meeting_id))
        entries = session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.estate_id == estate_id, AuditEntry.type == "ballot.cast"))
        linked = session.scalar(select(func.count()).select_from(Ballot).join(
            AuditEntry, (AuditEntry.estate_id == Ballot.estate_id) & (AuditEntry.idx == Ballot.entry_index))
            .where(AuditEntry.type == "ballot.cast", Ballot.estate_id == estate_id))
    return {"ballots": ballots or 0, "entries": entries or 0, "linked": linked or 0}


def seen_just_now(url: str) -> None:
    """Every owner's session was last seen now, as after opening the meeting's page: a ballot within
    the next minute does not write last_seen_at (sessions.TOUCH_EVERY). Without this the cells
    would differ by how long ago setup ended (one touch transaction per ballot, or none)."""
    from sqlalchemy import update

    from assembly.auth.models import AuthSession
    from assembly.db import make_engine, unit_of_work
    from assembly.models import utcnow

    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            session.execute(update(AuthSession).values(last_seen_at=utcnow()))
    finally:
        engine.dispose()
