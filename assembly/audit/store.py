"""The database-backed log: one sequencer per estate, entries and stored hashes in one transaction.

`append` runs inside the caller's unit of work, so the entry, its hashes and the state change it
records commit together or not at all. Appends to one estate are serialised by locking its
`audit_log` row (SELECT … FOR UPDATE on PostgreSQL; on SQLite every write transaction already
holds the database's write lock from BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session, col

from assembly.audit import merkle
from assembly.audit.entries import make_entry
from assembly.audit.models import AuditEntry, AuditHash, AuditLog
from assembly.models import utcnow


@dataclass(frozen=True)
class Actor:
    """Who did it, pseudonymously: a person's pseudonym or an account id, and the role acted in."""

    id: str
    role: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "role": self.role}


SYSTEM = Actor("system", "system")
OPERATOR = Actor("cli", "operator")


@dataclass(frozen=True)
class PendingEntry:
    type: str
    actor: Actor
    fields: Mapping[str, object]
    at: datetime | None = None


class HashReader:
    """Reads stored hashes of one estate by index, one query per call, remembering what it read."""

    def __init__(self, session: Session, estate_id: int) -> None:
        self.session = session
        self.estate_id = estate_id
        self.known: dict[int, bytes] = {}

    def __call__(self, indexes: list[int]) -> list[bytes]:
        missing = [index for index in indexes if index not in self.known]
        if missing:
            rows = self.session.execute(
                select(col(AuditHash.hash_index), col(AuditHash.hash)).where(
                    col(AuditHash.estate_id) == self.estate_id, col(AuditHash.hash_index).in_(missing)
                )
            )
            for index, digest in rows:
                self.known[index] = bytes(digest)
        try:
            return [self.known[index] for index in indexes]
        except KeyError as error:
            raise LookupError(f"stored hash {error.args[0]} of estate {self.estate_id} is missing") from None


def _lock(session: Session, estate_id: int) -> tuple[AuditLog, datetime | None]:
    """The estate's sequencer row, locked for this transaction (created on first use), and the time
    of its last entry — one query (a ballot's append is on the hot path of casting)."""
    last_at = (
        select(col(AuditEntry.at))
        .where(col(AuditEntry.estate_id) == col(AuditLog.estate_id), col(AuditEntry.idx) == col(AuditLog.size) - 1)
        .correlate(AuditLog)
        .scalar_subquery()
    )
    query = (select(AuditLog, last_at).where(col(AuditLog.estate_id) == estate_id)
             .execution_options(populate_existing=True))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=AuditLog)
    row = session.execute(query).first()
    if row is None:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(pg_insert(AuditLog).values(estate_id=estate_id, size=0).on_conflict_do_nothing())
        else:
            session.execute(insert(AuditLog).values(estate_id=estate_id, size=0))
        row = session.execute(query).one()
    return row[0], row[1]


def append_many(session: Session, *, estate_id: int, pending: Sequence[PendingEntry]) -> list[int]:
    """Append entries in order; returns their indexes. Nothing is committed here."""
    if not pending:
        return []
    log, latest = _lock(session, estate_id)
    reader = HashReader(session, estate_id)
    start = log.size
    # Times never go backwards in a log (the verifier checks it): an entry whose caller's clock
    # lags the last entry's (concurrent requests, a test clock) is logged at the last entry's time.
    entry_rows, hash_rows = [], []
    for offset, item in enumerate(pending):
        index = start + offset
        at = item.at or utcnow()
        if latest is not None and at < latest:
            at = latest
        latest = at
        body = make_entry(item.type, at, item.actor.as_dict(), index=index, **item.fields)
        hashes = merkle.stored_hashes_for_record(index, merkle.leaf_hash(body), reader)
        first = merkle.stored_hash_index(0, index)
        for position, digest in enumerate(hashes):
            reader.known[first + position] = digest
            hash_rows.append({"estate_id": estate_id, "hash_index": first + position, "hash": digest})
        entry_rows.append(
            {"estate_id": estate_id, "idx": index, "type": item.type, "at": at, "actor_role": item.actor.role, "body": body}
        )
    session.execute(insert(AuditEntry), entry_rows)
    session.execute(insert(AuditHash), hash_rows)
    session.execute(
        update(AuditLog).where(col(AuditLog.estate_id) == estate_id).values(size=start + len(pending))
    )
    log.size = start + len(pending)
    return list(range(start, start + len(pending)))


def append(session: Session, *, estate_id: int, type: str, actor: Actor, at: datetime | None = None, **fields) -> int:
    """Append one entry; returns its index."""
    return append_many(session, estate_id=estate_id, pending=[PendingEntry(type, actor, fields, at)])[0]


def size(session: Session, *, estate_id: int) -> int:
    return session.scalar(select(col(AuditLog.size)).where(col(AuditLog.estate_id) == estate_id)) or 0


def tree_hash(session: Session, *, estate_id: int, tree_size: int) -> bytes:
    return merkle.tree_hash(tree_size, HashReader(session, estate_id))


def inclusion_proof(session: Session, *, estate_id: int, index: int, tree_size: int) -> list[bytes]:
    return merkle.prove_record(tree_size, index, HashReader(session, estate_id))


def consistency_proof(session: Session, *, estate_id: int, old_size: int, new_size: int) -> list[bytes]:
    return merkle.prove_tree(new_size, old_size, HashReader(session, estate_id))


def entry_bodies(session: Session, *, estate_id: int, start: int = 0, stop: int | None = None, batch: int = 5000):
    """The entries' exact bytes in index order, streamed in batches (exports of a million rows)."""
    position = start
    while stop is None or position < stop:
        limit = batch if stop is None else min(batch, stop - position)
        rows = session.execute(
            select(col(AuditEntry.idx), col(AuditEntry.body))
            .where(col(AuditEntry.estate_id) == estate_id, col(AuditEntry.idx) >= position)
            .order_by(col(AuditEntry.idx))
            .limit(limit)
        ).all()
        if not rows:
            return
        for index, body in rows:
            yield index, bytes(body)
        position = rows[-1][0] + 1
