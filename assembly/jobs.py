"""The job runner: the work the clock causes, never a page view (a GET changes no domain state).

Jobs, each run once a minute by the server (`assembly serve`) and by `run_due` in tests and tools:

- `close`     end electronic voting of every meeting whose `closes_at` passed; count and announce
              those without a paper phase, or whose paper phase is over (assembly.voting.closing);
- `finalize`  end the objection period of every announced meeting whose period ran, with every
              objection decided (assembly.voting.objections);
- `scans`     erase the proxy authorisations' scans of every meeting announced a year ago (the year
              owners may sue in) with no objection undecided and no legal hold (assembly.proxies.scans);
- `card_ends` end the cards of sellers once no open meeting froze them (assembly.voting.card_ends);
- `checkpoints` sign a checkpoint for every estate whose log grew (assembly.audit.service);
- `pickups`   delete printed documents nobody downloaded in time (assembly.auth.pickups);
- `duties`    mark duties whose deadline passed as missed and raise DutyMissed (assembly.events.duties);
- `deliver`   drain the outbox: owner notices to the message gateway and every other topic
              (assembly.events.outbox): on a loop of its own, so a slow receiver never delays a close.

Every meeting's close, finalisation and erasure is a transaction of its own: one failing meeting is logged and
retried at the next run, never blocking the others. On PostgreSQL each job takes an advisory lock
for its run, so with several server processes one runs it at a time and the others skip it. All jobs
read one clock: the application's (`app.state.clock`, which tests move by hand).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from assembly.audit import service as audit_service
from assembly.auth import pickups
from assembly.config import Settings
from assembly.db import is_sqlite, unit_of_work
from assembly.events import duties, outbox
from assembly.events.bus import publish
from assembly.proxies import scans as proxy_scans
from assembly.voting import card_ends, closing, objections
from assembly.voting.models import Meeting

log = logging.getLogger("assembly.jobs")
INTERVAL_SECONDS = 60
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Engine, Settings, datetime], int]  # returns how many things it did


def _each_meeting(engine: Engine, *, job: str, query, action, now: datetime) -> int:
    """Run `action` for every meeting the query finds, each in its own transaction."""
    with unit_of_work(engine) as session:
        ids = list(session.scalars(query).all())
    done = 0
    for meeting_id in ids:
        try:
            with unit_of_work(engine) as session:
                done += bool(action(session, meeting=session.get(Meeting, meeting_id), now=now))
        except Exception:  # noqa: BLE001 - one meeting's failure never blocks the others; retried next run
            log.exception("job %s failed for meeting %s; retried at the next run", job, meeting_id)
    return done


def close_meetings(engine: Engine, _settings: Settings, now: datetime) -> int:
    return _each_meeting(engine, job="close", query=closing.due_meetings(now), action=closing.close_if_due, now=now)


def finalize_results(engine: Engine, _settings: Settings, now: datetime) -> int:
    return _each_meeting(engine, job="finalize", query=objections.announced_meetings(),
                         action=objections.finalize_if_due, now=now)


def erase_proxy_scans(engine: Engine, _settings: Settings, now: datetime) -> int:
    return _each_meeting(engine, job="scans", query=proxy_scans.meetings_with_scans(now),
                         action=proxy_scans.erase_if_due, now=now)


def end_seller_cards(engine: Engine, _settings: Settings, now: datetime) -> int:
    with unit_of_work(engine) as session:
        return len(card_ends.end_former_owners(session, now=now))


def sign_checkpoints(engine: Engine, settings: Settings, now: datetime) -> int:
    with unit_of_work(engine) as session:
        return audit_service.sign_due_checkpoints(session, settings=settings, now=now)


def purge_pickups(engine: Engine, _settings: Settings, now: datetime) -> int:
    with unit_of_work(engine) as session:
        return pickups.purge(session, now=now)


def sweep_duties(engine: Engine, _settings: Settings, now: datetime) -> int:
    with unit_of_work(engine) as session:
        return len(duties.sweep_missed(session, now=now, publish=publish))


def drain_outbox(engine: Engine, settings: Settings, now: datetime) -> int:
    return outbox.drain(engine, settings=settings, now=now)


# Order matters within one run: a close announces, then the seller cards it held may end, duties the
# close did not settle are missed, then the log's growth is signed.
JOBS = (Job("close", close_meetings), Job("finalize", finalize_results), Job("scans", erase_proxy_scans),
        Job("card_ends", end_seller_cards), Job("duties", sweep_duties), Job("checkpoints", sign_checkpoints),
        Job("pickups", purge_pickups))
DELIVERY = (Job("deliver", drain_outbox),)
MEETING_JOBS = JOBS[:3]  # what a moved clock makes due for meetings: close, finalize, scans (tests run these)

_LOCAL = threading.Lock()  # one run of a job at a time within this process (SQLite has one process)
_RUNNING: set[str] = set()


def _lock_key(name: str) -> int:
    """A stable 64-bit advisory lock key per job name."""
    return int.from_bytes(hashlib.sha256(f"assembly.job.{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[bool]:
    """True when this process may run the job now: nobody else in this process runs it and, on
    PostgreSQL, no other process holds its advisory lock (a session lock, freed if we die)."""
    with _LOCAL:
        if name in _RUNNING:
            yield False
            return
        _RUNNING.add(name)
    try:
        if is_sqlite(engine):
            yield True
            return
        key = _lock_key(name)
        with engine.connect() as connection:
            got = connection.execute(text("select pg_try_advisory_lock(:key)"), {"key": key}).scalar()
            connection.commit()
            try:
                yield bool(got)
            finally:
                if got:
                    connection.execute(text("select pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()
    finally:
        with _LOCAL:
            _RUNNING.discard(name)


def run_due(engine: Engine, settings: Settings, now: datetime, *, jobs=JOBS) -> dict[str, int]:
    """Run each job once at `now` (skipping one another process runs); what each did. A job that
    fails is logged and retried at the next run; the others still run."""
    done: dict[str, int] = {}
    for job in jobs:
        with exclusive(engine, job.name) as mine:
            if not mine:
                continue
            try:
                done[job.name] = job.run(engine, settings, now)
            except Exception:  # noqa: BLE001 - logged; the next run retries
                log.exception("job %s failed; retried at the next run", job.name)
    if any(done.values()):
        log.info("jobs: %s", ", ".join(f"{name} {count}" for name, count in done.items() if count))
    return done


def run_all_due(engine: Engine, settings: Settings, now: datetime) -> dict[str, int]:
    """Every job, deliveries included (tests, `assembly jobs run`)."""
    return run_due(engine, settings, now, jobs=JOBS + DELIVERY)


class JobRunner:
    """Started and stopped by the application's lifespan when serving (tests call run_due)."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock, *, interval: float = INTERVAL_SECONDS) -> None:
        self.engine, self.settings, self.clock, self.interval = engine, settings, clock, interval
        self.tasks: list[asyncio.Task] = []

    async def _loop(self, jobs) -> None:
        while True:
            # one interval first: a round at start-up competed with the first requests (measured: the
            # ballot benchmark on PostgreSQL, bench/README.md); a restart catches up within a minute
            await asyncio.sleep(self.interval)
            try:
                await run_in_threadpool(run_due, self.engine, self.settings, self.clock(), jobs=jobs)
            except Exception:  # noqa: BLE001 - logged; the next round retries
                log.exception("job round failed")

    async def start(self) -> None:
        self.tasks = [asyncio.create_task(self._loop(JOBS)), asyncio.create_task(self._loop(DELIVERY))]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with suppress(asyncio.CancelledError):
                await task

