"""What the audit log does for the rest of the platform: record, checkpoint, prove, export.

Checkpoints are signed on demand (a receipt needs one covering its entry; one signed in the last
`BATCH_WINDOW` that covers it is reused, so an estate signs at most a few per second), after every
register version and result (callers ask), and every minute in which entries were added
(`sign_due_checkpoints`, run by the server's ticker and by `assembly audit checkpoint`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session, col

from assembly.audit import store
from assembly.audit.checkpoint import Checkpoint, estate_origin, sign_checkpoint
from assembly.audit.export import write_export
from assembly.audit.keys import log_signer
from assembly.audit.models import AuditCheckpoint, AuditKey, AuditLog
from assembly.audit.note import Ed25519Verifier
from assembly.audit.receipt import make_receipt
from assembly.config import Settings
from assembly.errors import InvalidInput, NotFound
from assembly.models import utcnow
from assembly.register.models import Estate
from assembly.voting.models import Motion

BATCH_WINDOW = timedelta(milliseconds=250)
SCHEDULE = timedelta(minutes=1)


def origin(settings: Settings, estate: Estate) -> str:
    return estate_origin(settings.site_url, estate.code)


def _register_key(session: Session, public_key: bytes, now: datetime) -> None:
    """Remember the verifier key that signs now; a new key retires the previous one (rotation)."""
    current = session.scalars(select(AuditKey).where(col(AuditKey.retired_at).is_(None))).all()
    if any(bytes(key.public_key) == public_key for key in current):
        return
    known = session.scalars(select(AuditKey).where(col(AuditKey.public_key) == public_key)).first()
    for key in current:
        key.retired_at = now
    if known is not None:
        known.retired_at = None
    else:
        session.add(AuditKey(public_key=public_key, active_from=now))
    session.flush()


def verifier_keys(session: Session, settings: Settings, estate: Estate) -> list[str]:
    """Every verifier key of the estate's log, the current one first (as written to `keys`)."""
    name = origin(settings, estate)
    current = log_signer(settings, name).verifier.vkey
    others = [
        Ed25519Verifier(name, bytes(key.public_key)).vkey
        for key in session.scalars(select(AuditKey).order_by(col(AuditKey.active_from).desc()))
    ]
    return [current] + [vkey for vkey in others if vkey != current]


def latest_checkpoint(session: Session, *, estate_id: int) -> AuditCheckpoint | None:
    query = (
        select(AuditCheckpoint)
        .where(col(AuditCheckpoint.estate_id) == estate_id)
        .order_by(col(AuditCheckpoint.size).desc(), col(AuditCheckpoint.id).desc())
        .limit(1)
    )
    return session.scalars(query).first()


def sign(session: Session, *, settings: Settings, estate: Estate, now: datetime | None = None) -> AuditCheckpoint:
    """Sign a checkpoint of the log as it stands in this transaction."""
    assert estate.id is not None
    now = now or utcnow()
    size = store.size(session, estate_id=estate.id)
    root = store.tree_hash(session, estate_id=estate.id, tree_size=size)
    signer = log_signer(settings, origin(settings, estate))
    _register_key(session, signer.verifier.public_key, now)
    note = sign_checkpoint(Checkpoint(origin(settings, estate), size, root), signer)
    checkpoint = AuditCheckpoint(estate_id=estate.id, size=size, root=root, signed_at=now, note=note)
    session.add(checkpoint)
    session.flush()
    return checkpoint


def checkpoint_covering(
    session: Session, *, settings: Settings, estate: Estate, index: int, now: datetime | None = None
) -> AuditCheckpoint:
    """A signed checkpoint that includes entry `index`: a recent one if it does, else a new one."""
    assert estate.id is not None
    now = now or utcnow()
    latest = latest_checkpoint(session, estate_id=estate.id)
    if latest is not None and latest.size > index and now - latest.signed_at <= BATCH_WINDOW:
        return latest
    if latest is not None and latest.size == store.size(session, estate_id=estate.id) and latest.size > index:
        return latest
    return sign(session, settings=settings, estate=estate, now=now)


def sign_due_checkpoints(session: Session, *, settings: Settings, now: datetime | None = None) -> int:
    """The minute schedule: sign for every estate whose log grew since its latest checkpoint."""
    now = now or utcnow()
    signed = 0
    for log in session.scalars(select(AuditLog).where(col(AuditLog.size) > 0)).all():
        latest = latest_checkpoint(session, estate_id=log.estate_id)
        if latest is None or (latest.size < log.size and now - latest.signed_at >= SCHEDULE):
            estate = session.get(Estate, log.estate_id)
            assert estate is not None
            sign(session, settings=settings, estate=estate, now=now)
            signed += 1
    return signed


@dataclass(frozen=True)
class ReceiptText:
    index: int
    tree_size: int
    text: str


def receipt(session: Session, *, settings: Settings, estate: Estate, index: int) -> ReceiptText:
    """The C2SP tlog-proof receipt of entry `index`, under a checkpoint that includes it."""
    assert estate.id is not None
    size = store.size(session, estate_id=estate.id)
    if not 0 <= index < size:
        raise NotFound(f"日志中没有第 {index} 条记录 / the log has no entry {index}", code="entry_not_found")
    checkpoint = checkpoint_covering(session, settings=settings, estate=estate, index=index)
    body = next(store.entry_bodies(session, estate_id=estate.id, start=index, stop=index + 1))[1]
    text = make_receipt(index, checkpoint.size, store.HashReader(session, estate.id), checkpoint.note, body)
    return ReceiptText(index, checkpoint.size, text)


def export(session: Session, *, settings: Settings, estate: Estate, out: Path) -> int:
    """Write the export directory audit-log.md describes; returns the number of entries."""
    assert estate.id is not None
    if out.exists() and any(out.iterdir()):
        raise InvalidInput(f"导出目录 {out} 不是空的 / the export directory {out} is not empty", code="export_not_empty")
    size = store.size(session, estate_id=estate.id)
    latest = latest_checkpoint(session, estate_id=estate.id)
    if latest is None or latest.size != size:
        latest = sign(session, settings=settings, estate=estate)
    entries = (body for _index, body in store.entry_bodies(session, estate_id=estate.id, stop=size))
    return write_export(
        out,
        entries=entries,
        checkpoint_note=latest.note,
        keys=verifier_keys(session, settings, estate),
        tally_files=tally_files(session, estate=estate),
    )


def tally_files(session: Session, *, estate: Estate) -> dict[str, bytes]:
    """The tally file of every closed motion, as opened at close, by the motion's log id."""
    assert estate.id is not None
    rows = session.execute(
        select(col(Motion.id), col(Motion.tally_file)).where(col(Motion.estate_id) == estate.id,
                                                             col(Motion.tally_file).is_not(None))
    )
    return {f"motion-{motion_id}": bytes(data) for motion_id, data in rows}
