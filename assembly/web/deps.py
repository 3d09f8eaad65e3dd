"""Dependencies shared by routes: the database session of a request (one transaction).

On SQLite one writer at a time holds the database, from BEGIN IMMEDIATE to COMMIT. A request that
may write (POST, PUT, PATCH, DELETE) therefore waits for its turn at an asyncio gate of this process
*before* its transaction begins, not inside SQLite's busy handler:

- a request's transaction spans several thread-pool hops (its dependencies, then the route). Waiting
  for the lock inside a pool thread held that thread; with 40 requests waiting (the pool's size),
  the request holding the lock had no thread left for its next hop, and every request stalled until
  busy_timeout (30 s). Waiting on the event loop holds no thread;
- SQLite's busy handler polls with sleeps of up to 100 ms, so the next writer started late; the
  gate hands over at once, first come first served.

Other processes (a CLI, a second server worker) still queue on the busy timeout. PostgreSQL needs no
gate: row locks serialise what must be (a meeting's casts, an estate's log).

On both databases a request holds its pool connection from its first query to its commit, across
hops that each need a pool thread (dependencies, route, response validation). With more requests
than connections, threads waiting for a connection could hold the whole thread pool while the
holders of every connection waited for a thread: all stalled until the pool's timeout (30 s), then
failed. So a request takes one of the pool's connections as a *slot* on the event loop first, and
never waits for a connection inside a thread.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool
from sqlmodel import Session
from starlette.datastructures import FormData

from assembly.db import STATEMENT_TIMEOUT_MS, is_sqlite, lock_timeout_seconds, read_only
from assembly.errors import Busy

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SPARE_CONNECTIONS = 2  # left outside the slots: a route may open a unit of work of its own (a receipt)


@dataclass
class _Turns:
    write: AbstractAsyncContextManager
    slots: AbstractAsyncContextManager


_TURNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> {engine: _Turns}


def _turns(engine: Engine) -> _Turns:
    base = getattr(engine, "engine", engine)  # an engine with execution options → the engine itself
    per_loop = _TURNS.setdefault(asyncio.get_running_loop(), weakref.WeakKeyDictionary())
    turns = per_loop.get(base)
    if turns is None:
        pool = base.pool
        bounded = isinstance(pool, QueuePool) and pool._max_overflow >= 0
        capacity = pool.size() + pool._max_overflow if bounded else 0
        turns = per_loop[base] = _Turns(
            write=anyio.Lock() if is_sqlite(base) else nullcontext(),
            slots=anyio.Semaphore(max(1, capacity - SPARE_CONNECTIONS)) if bounded else nullcontext(),
        )
    return turns


@asynccontextmanager
async def _waited(turn: AbstractAsyncContextManager, seconds: float) -> AsyncIterator[None]:
    """Enter `turn` waiting at most `seconds` (then Busy: nothing was done yet), leave it as usual."""
    try:
        with anyio.fail_after(seconds):
            await turn.__aenter__()
    except TimeoutError:
        raise Busy() from None
    try:
        yield
    finally:
        await turn.__aexit__(None, None, None)


def write_gate(engine: Engine) -> AbstractAsyncContextManager:
    """This process's turn to write to the engine's database: a FIFO lock on SQLite (one per engine
    and event loop), waited for at most the lock timeout (then 503), nothing on PostgreSQL. Never
    taken twice by one request (it is not re-entrant)."""
    turns = _turns(engine)
    if isinstance(turns.write, nullcontext):
        return turns.write
    return _waited(turns.write, lock_timeout_seconds(engine))


_T = TypeVar("_T")


def in_write_turn(engine: Engine, call: Callable[[], _T]) -> _T:
    """From a route's worker thread: run `call` (a short write of its own that a read needs, such as
    signing the checkpoint a receipt's proof needs) in this process's write turn, so it queues with
    the other writers instead of in SQLite's busy handler. Outside the server (CLI, tests calling
    services) there is no gate: `call` just runs."""
    try:
        anyio.from_thread.check_cancelled()  # RuntimeError outside an event loop's worker thread
    except RuntimeError:
        return call()

    async def in_turn() -> _T:
        async with write_gate(engine):
            return await anyio.to_thread.run_sync(call, limiter=anyio.CapacityLimiter(1))

    return anyio.from_thread.run(in_turn)


def connection_slot(engine: Engine) -> AbstractAsyncContextManager:
    """One of the engine's pool connections, for as long as a request may hold one (see above),
    waited for at most a statement's timeout (then 503: never a hang). Taken after the write gate,
    never the other way round; not re-entrant."""
    turns = _turns(engine)
    if isinstance(turns.slots, nullcontext):
        return turns.slots
    return _waited(turns.slots, STATEMENT_TIMEOUT_MS / 1000)


async def off_loop(call: Callable[[], object]) -> object:
    """Run a blocking call in a worker thread that needs no pool capacity and survives cancellation
    (ending a transaction must never wait for, or be lost to, anything else)."""
    with anyio.CancelScope(shield=True):
        return await anyio.to_thread.run_sync(call, limiter=anyio.CapacityLimiter(1))


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed once at the end, rolled back on any error.

    Safe methods get a deferred transaction on SQLite (readers never wait for the write lock);
    the others wait for this process's write gate first; all take a connection slot (see above).
    """
    engine = request.app.state.engine
    reads_only = request.method in SAFE_METHODS
    if reads_only:
        engine = read_only(engine)
    async with nullcontext() if reads_only else write_gate(engine), connection_slot(engine):
        session = Session(engine, expire_on_commit=False)
        try:
            yield session
        except BaseException:
            await off_loop(lambda: _end(session, commit=False))
            raise
        await off_loop(lambda: _end(session, commit=True))


def _end(session: Session, *, commit: bool) -> None:
    """Commit (or roll back), then give the connection back — one thread hop, not two."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


# scope="function": commit before the response is sent, so a failed commit is never a false success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# --- the event loop's rule: routes that touch the session are plain `def` ----------------------
# FastAPI runs a plain `def` route in the thread pool. Reading the request's body is async, so these
# async dependencies read it on the event loop first; the route then gets it as a value. A test
# (tests/web/test_route_discipline.py) walks every route and fails on one that breaks the rule.


async def read_form(request: Request) -> FormData:
    """The request's form (urlencoded or multipart; files are spooled by Starlette, read with
    `part.file.read(n)` in the route). Parsed once per request: the CSRF check shares it."""
    return await request.form()


async def read_json(request: Request) -> object:
    """The request's JSON body, or None when it is not valid JSON (the route says what it needs)."""
    try:
        return await request.json()
    except ValueError:
        return None


FormDep = Annotated[FormData, Depends(read_form)]
JsonBody = Annotated[object, Depends(read_json)]
