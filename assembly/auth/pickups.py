"""Printed documents waiting for their one download (assembly.auth.printing), kept in the database.

Any server process may render a batch and any other hand it over: nothing of it lives in one
process's memory. Each document waits under a random single-use token `dl_…` for at most
PICKUP_LIFETIME, for the session that printed it. The table holds the token's SHA-256 and the
document encrypted with AES-256-GCM under a key derived from the token (another hash of it, with
its own label): the token is shown once to the printer and never stored, so neither a database dump
nor an operator can read the card tokens and activation codes inside.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, func, select
from sqlmodel import Session

from assembly.auth.models import PrintPickup
from assembly.auth.printing import CARDS, PICKUP_LIFETIME, SLIPS, Pickup, PickupGone, PrintBatch

MAX_WAITING = 64  # per estate: the oldest waiting documents go first beyond this
GONE = ("下载已失效：每份文件只能下载一次，且须在打印后 10 分钟内由打印人下载。请重新打印这一批（旧卡会作废）。"
        " / this download is gone: each document is handed over once, within 10 minutes, to whoever printed it")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _key(token: str) -> bytes:
    return hashlib.sha256(b"assembly print pickup key\x00" + token.encode()).digest()


def offer(session: Session, batch: PrintBatch, *, session_id: int | None, now: datetime) -> dict[str, str]:
    """Both documents of a batch, each under its own token: {"cards": token, "slips": token}."""
    purge(session, now=now)
    waiting = session.scalar(select(func.count()).select_from(PrintPickup)
                             .where(PrintPickup.estate_id == batch.estate_id)) or 0
    if waiting + 2 > MAX_WAITING:  # the oldest offers of the estate go first
        oldest = session.scalars(select(PrintPickup.id).where(PrintPickup.estate_id == batch.estate_id)
                                 .order_by(PrintPickup.expires_at, PrintPickup.id).limit(waiting + 2 - MAX_WAITING))
        session.execute(delete(PrintPickup).where(PrintPickup.id.in_(list(oldest))))
    tokens = {}
    for kind, document in ((CARDS, batch.cards_pdf), (SLIPS, batch.slips_pdf)):
        token = "dl_" + secrets.token_urlsafe(32)
        digest, nonce = _hash(token), os.urandom(12)
        sealed = nonce + AESGCM(_key(token)).encrypt(nonce, document, digest.encode())
        session.add(PrintPickup(token_hash=digest, kind=kind, batch=batch.batch, estate_id=batch.estate_id,
                                session_id=session_id, numbers=json.dumps(list(batch.numbers)),
                                reissued=json.dumps(list(batch.reissued)), expires_at=now + PICKUP_LIFETIME,
                                document=sealed))
        tokens[kind] = token
    session.flush()
    return tokens


def take(session: Session, token: str, *, estate_id: int, session_id: int | None, now: datetime) -> Pickup:
    """The document, deleted in the caller's transaction as it is handed over (two downloads at once:
    the row lock lets one have it); PickupGone for anything else (one answer for all)."""
    digest = _hash(token or "")
    row = session.scalars(select(PrintPickup).where(PrintPickup.token_hash == digest).with_for_update()).first()
    if row is None or row.expires_at <= now or row.estate_id != estate_id or row.session_id != session_id:
        raise PickupGone(GONE)
    try:
        document = AESGCM(_key(token)).decrypt(bytes(row.document[:12]), bytes(row.document[12:]), digest.encode())
    except InvalidTag:  # altered in the database: never hand over what was not sealed by us
        raise PickupGone(GONE) from None
    pickup = Pickup(row.kind, row.batch, row.estate_id, row.session_id, tuple(json.loads(row.numbers)),
                    tuple(json.loads(row.reissued)), row.expires_at, document)
    session.delete(row)
    session.flush()
    return pickup


def purge(session: Session, *, now: datetime) -> int:
    """Delete what expired unclaimed (the job runner, every minute); how many rows went."""
    return session.execute(delete(PrintPickup).where(PrintPickup.expires_at <= now)).rowcount or 0


def waiting(session: Session) -> int:
    """How many documents are stored (tests, operators)."""
    return session.scalar(select(func.count()).select_from(PrintPickup)) or 0


__all__ = ["CARDS", "SLIPS", "offer", "purge", "take", "waiting"]
