"""Engine and sessions: SQLite (embedded default) or PostgreSQL; one transaction per unit of work.

SQLite runs through the `pysqlite3` wheel, which bundles a current SQLite (3.53 at the time of
writing). The SQLite that CPython links on Debian 12 is 3.40.1, which has the WAL-reset corruption
race fixed in 3.51.3 (sqlite.org/wal.html#walresetbug). We keep WAL only when the linked library
is fixed; otherwise we fall back to the rollback journal (no WAL, no race) and say so at start.
Writes take the lock up front (`BEGIN IMMEDIATE`) so concurrent writers queue on busy_timeout
instead of failing with "database is locked" half-way through a transaction.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

log = logging.getLogger(__name__)

FIXED_SQLITE = (3, 51, 3)
# How long one statement may wait for a lock (PostgreSQL lock_timeout, SQLite's busy timeout), and
# how long one statement may run (PostgreSQL statement_timeout). Settings: ASSEMBLY_DB_LOCK_TIMEOUT_MS,
# ASSEMBLY_DB_STATEMENT_TIMEOUT_MS (docs/operators.md). A request that runs out answers 503.
LOCK_TIMEOUT_MS = 5_000
STATEMENT_TIMEOUT_MS = 30_000
# PostgreSQL's codes for "could not get the lock in time" and "cancelled by statement_timeout";
# SQLite says "database is locked" (SQLITE_BUSY) when its busy timeout ran out.
_LOCK_TIMEOUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # an engine's pool -> its lock timeout
_BUSY_SQLSTATES = {"55P03", "57014", "40P01"}  # lock_not_available, query_canceled, deadlock_detected


def sqlite_module():
    """The DB-API module for SQLite: pysqlite3 (bundled, fixed SQLite) or the standard library."""
    try:
        import pysqlite3.dbapi2 as module
    except ImportError:  # pragma: no cover - the lock file always installs pysqlite3
        import sqlite3 as module
    return module


def sqlite_uses_wal(module=None) -> bool:
    module = module or sqlite_module()
    return tuple(module.sqlite_version_info) >= FIXED_SQLITE


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def make_engine(url: str, *, echo: bool = False, lock_timeout_ms: int = LOCK_TIMEOUT_MS,
                statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> Engine:
    """An engine for `url`, set up for a server (pool, pragmas, locking, timeouts)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        options = f"-c lock_timeout={int(lock_timeout_ms)} -c statement_timeout={int(statement_timeout_ms)}"
        engine = create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20,
                               connect_args={"options": options, "connect_timeout": 10})
        _LOCK_TIMEOUTS[engine.pool] = int(lock_timeout_ms)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    module = sqlite_module()
    engine = create_engine(
        url,
        echo=echo,
        module=module,
        connect_args={"check_same_thread": False, "timeout": lock_timeout_ms / 1000},
    )
    _LOCK_TIMEOUTS[engine.pool] = int(lock_timeout_ms)
    journal = "wal" if sqlite_uses_wal(module) else "delete"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" event below issues BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA journal_mode={journal}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL" if journal == "wal" else "PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def lock_timeout_seconds(engine: Engine) -> float:
    """How long this engine's statements wait for a lock (the write gate waits as long)."""
    return _LOCK_TIMEOUTS.get(engine.pool, LOCK_TIMEOUT_MS) / 1000


def is_busy(error: BaseException) -> bool:
    """A database error that means "someone else holds what this needs; try again shortly": a lock
    not granted within the lock timeout, a statement cancelled by its timeout, a deadlock victim,
    or SQLite's busy timeout run out."""
    original = getattr(error, "orig", error)
    if getattr(original, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    text = str(original).lower()
    return "database is locked" in text or "database table is locked" in text


def database_version(engine: Engine) -> str:
    """A one-line description of the database server, logged at start."""
    if is_sqlite(engine):
        module = sqlite_module()
        mode = "WAL" if sqlite_uses_wal(module) else "rollback journal (linked SQLite has the WAL-reset bug)"
        return f"SQLite {module.sqlite_version} via {module.__name__}, {mode}"
    with engine.connect() as connection:
        return str(connection.exec_driver_sql("select version()").scalar())


def read_only(engine: Engine) -> Engine:
    """The same engine, beginning deferred transactions on SQLite (readers never block writers)."""
    if is_sqlite(engine):
        return engine.execution_options(sqlite_begin="DEFERRED")
    return engine


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction: commit once at the end, roll back on any error. Services never commit."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
