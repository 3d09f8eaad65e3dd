"""The server's clock-driven duties, once a minute: sign the checkpoints that are due.

Duties: close the meetings whose voting ended (assembly.voting.closing), end sellers' cards that
waited for a meeting (assembly.auth.card_ends), send owner notices (assembly.notify.gateway), sign
due checkpoints. Each duty runs in its own transaction; a failure is logged and retried at the next
tick.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from assembly.config import Settings
from assembly.db import unit_of_work

log = logging.getLogger("assembly.ticker")
INTERVAL_SECONDS = 60


def tick(engine: Engine, settings: Settings, now=None) -> None:
    from assembly.audit.service import sign_due_checkpoints
    from assembly.auth.card_ends import end_former_owners
    from assembly.notify.gateway import deliver_due
    from assembly.models import utcnow
    from assembly.voting.closing import close_due_meetings
    from assembly.voting.objections import finalize_due_meetings

    # end electronic voting when it is due (and count at once without a paper phase); count and
    # announce the meetings whose paper phase has run (assembly.voting.closing)
    with unit_of_work(engine) as session:
        closed = close_due_meetings(session, now=now or utcnow())
    with unit_of_work(engine) as session:  # results whose objection period has run become final
        final = finalize_due_meetings(session, now=now or utcnow())
    if closed or final:
        log.info("closed %d meeting(s), made %d result(s) final", closed, final)
    with unit_of_work(engine) as session:  # sellers' cards that waited for a meeting end; notices go out
        ended = len(end_former_owners(session, now=now or utcnow()))
    delivered = deliver_due(engine, settings=settings, now=now or utcnow())
    if ended or delivered:
        log.info("ended %d seller card(s), delivered %d owner notice(s)", ended, delivered)
    with unit_of_work(engine) as session:
        signed = sign_due_checkpoints(session, settings=settings)
    if signed:
        log.info("signed %d checkpoint(s)", signed)


async def run_forever(engine: Engine, settings: Settings) -> None:
    while True:
        await asyncio.sleep(INTERVAL_SECONDS)
        try:
            await run_in_threadpool(tick, engine, settings)
        except Exception:  # noqa: BLE001 - logged; the next tick retries
            log.exception("ticker duty failed")


class Ticker:
    """Started and stopped by the application's lifespan (only when serving, not in tests)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(run_forever(self.engine, self.settings))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with suppress(asyncio.CancelledError):
                await self.task
