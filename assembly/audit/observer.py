"""What observers 观察员, residents' committee staff and the street office do with an estate's log on
the platform: browse entries, fetch proofs and receipts, download the export, "verify now".

Reads run in the request's read-only transaction. A checkpoint is signed only when one is asked
for and the latest does not cover what is needed (audit-log.md: "signed whenever one is asked
for"), in a short unit of work of its own (`ensure_checkpoint`), so a reader never holds the
write lock while it streams a large log. Bad sizes and indexes are InvalidInput (422) with a code
a program can match; nothing here lets a number reach the database unchecked.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from assembly.audit import service, store
from assembly.audit.entries import format_time
from assembly.audit.export import write_export
from assembly.audit.merkle import leaf_hash
from assembly.audit.models import AuditCheckpoint, AuditEntry
from assembly.audit.verify import VerifyReport, verify_export
from assembly.config import Settings
from assembly.db import read_only, unit_of_work
from assembly.errors import InvalidInput
from assembly.register.models import Estate

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 50  # entries per page on the browsing page
API_LIMIT = 1000  # at most this many entries per API answer
VERIFY_LIMIT = 200_000  # "verify now" on the server up to this size; beyond, the CLI on your machine


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _bad(code: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(f"{zh} / {en}", code=code)


# --- entries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryRow:
    index: int
    type: str
    at: datetime
    actor_role: str
    text: str  # the entry's exact bytes, as UTF-8 text (canonical JSON, one line)

    def as_json(self) -> dict:
        return {"index": self.index, "type": self.type, "at": format_time(self.at), "actor_role": self.actor_role,
                "entry": self.text}


@dataclass(frozen=True)
class Filters:
    """What the browsing page narrows by: an entry type, an actor role, a range of days (Asia/Shanghai)."""

    type: str | None = None
    role: str | None = None
    since: date | None = None  # first day included
    until: date | None = None  # last day included

    def where(self, estate_id: int) -> list:
        clauses = [AuditEntry.estate_id == estate_id]
        if self.type:
            clauses.append(AuditEntry.type == self.type)
        if self.role:
            clauses.append(AuditEntry.actor_role == self.role)
        if self.since:
            clauses.append(AuditEntry.at >= _day_start(self.since))
        if self.until:
            clauses.append(AuditEntry.at < _day_start(self.until + timedelta(days=1)))
        return clauses

    @property
    def active(self) -> bool:
        return any((self.type, self.role, self.since, self.until))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI).astimezone(UTC)


def parse_day(text: str | None, field: str) -> date | None:
    """A YYYY-MM-DD day from a form or a query; InvalidInput naming the field otherwise."""
    if not text or not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 9000:  # the ends of the calendar overflow in UTC arithmetic
        raise _bad(f"invalid_{field}", f"日期格式应为 年-月-日（如 2026-11-23）：{text[:20]}",
                   f"{field} must be a date YYYY-MM-DD")
    return day


def _rows(result) -> list[EntryRow]:
    return [EntryRow(index, kind, at, role, bytes(body).decode("utf-8")) for index, kind, at, role, body in result]


_COLUMNS = (col(AuditEntry.idx), col(AuditEntry.type), col(AuditEntry.at), col(AuditEntry.actor_role),
            col(AuditEntry.body))


def entries_from(session: Session, *, estate: Estate, start: int, limit: int,
                 filters: Filters = Filters()) -> tuple[int, list[EntryRow]]:
    """Entries with index >= start, in order (the API): (log size, rows)."""
    assert estate.id is not None
    size = store.size(session, estate_id=estate.id)
    if start < 0 or start > size:
        raise _bad("start_out_of_range", f"起始编号应在 0 到 {size} 之间", f"start must be between 0 and {size}")
    if not 1 <= limit <= API_LIMIT:
        raise _bad("limit_out_of_range", f"每次最多 {API_LIMIT} 条", f"limit must be between 1 and {API_LIMIT}")
    query = (select(*_COLUMNS).where(*filters.where(estate.id), col(AuditEntry.idx) >= start,
                                     col(AuditEntry.idx) < size)
             .order_by(col(AuditEntry.idx)).limit(limit))
    return size, _rows(session.execute(query))


@dataclass(frozen=True)
class Page:
    size: int  # entries in the log
    rows: list[EntryRow]  # newest first
    older: int | None  # `before` for the next (older) page, None at the start of the log


def browse(session: Session, *, estate: Estate, filters: Filters, before: int | None = None,
           page_size: int | None = None) -> Page:
    """A page of the log, newest first, entries below `before` (keyset paging: any depth costs the same)."""
    assert estate.id is not None
    page_size = page_size or PAGE_SIZE
    size = store.size(session, estate_id=estate.id)
    if before is None or before > size:
        before = size
    if before < 0:
        raise _bad("before_out_of_range", "编号不能为负数", "before must not be negative")
    query = (select(*_COLUMNS).where(*filters.where(estate.id), col(AuditEntry.idx) < before)
             .order_by(col(AuditEntry.idx).desc()).limit(page_size + 1))
    rows = _rows(session.execute(query))
    older = rows[page_size - 1].index if len(rows) > page_size else None
    return Page(size, rows[:page_size], older)


def entry_types(session: Session, *, estate: Estate) -> list[str]:
    assert estate.id is not None
    return list(session.scalars(select(col(AuditEntry.type)).where(col(AuditEntry.estate_id) == estate.id)
                                .group_by(col(AuditEntry.type)).order_by(col(AuditEntry.type))))


def actor_roles(session: Session, *, estate: Estate) -> list[str]:
    assert estate.id is not None
    return list(session.scalars(select(col(AuditEntry.actor_role)).where(col(AuditEntry.estate_id) == estate.id)
                                .group_by(col(AuditEntry.actor_role)).order_by(col(AuditEntry.actor_role))))


def count(session: Session, *, estate: Estate, filters: Filters) -> int:
    assert estate.id is not None
    return session.scalar(select(func.count()).select_from(AuditEntry).where(*filters.where(estate.id))) or 0


# --- proofs ----------------------------------------------------------------------------------


def inclusion(session: Session, *, estate: Estate, index: int, size: int | None) -> dict:
    """The audit path of entry `index` in the tree of `size` entries (default: the whole log)."""
    assert estate.id is not None
    log_size = store.size(session, estate_id=estate.id)
    size = log_size if size is None else size
    if not 1 <= size <= log_size:
        raise _bad("size_out_of_range", f"树的大小应在 1 到 {log_size} 之间", f"size must be between 1 and {log_size}")
    if not 0 <= index < size:
        raise _bad("index_out_of_range", f"条目编号应在 0 到 {size - 1} 之间",
                   f"index must be between 0 and {size - 1} (below size)")
    body = next(store.entry_bodies(session, estate_id=estate.id, start=index, stop=index + 1))[1]
    proof = store.inclusion_proof(session, estate_id=estate.id, index=index, tree_size=size)
    return {
        "index": index,
        "size": size,
        "leaf_hash": b64(leaf_hash(body)),
        "proof": [b64(digest) for digest in proof],
        "root": b64(store.tree_hash(session, estate_id=estate.id, tree_size=size)),
        "entry": body.decode("utf-8"),
    }


def consistency(session: Session, *, estate: Estate, old: int, new: int) -> dict:
    """The proof that the tree of `new` entries extends the tree of `old` entries (RFC 6962 2.1.2)."""
    assert estate.id is not None
    log_size = store.size(session, estate_id=estate.id)
    if not 0 <= new <= log_size:
        raise _bad("new_out_of_range", f"新的大小应在 1 到 {log_size} 之间", f"new must be between 1 and {log_size}")
    if not 1 <= old <= new:
        raise _bad("old_out_of_range", f"旧的大小应在 1 到 {new} 之间（不超过新的大小）",
                   f"old must be between 1 and new ({new})")
    proof = store.consistency_proof(session, estate_id=estate.id, old_size=old, new_size=new)
    return {
        "old": old,
        "new": new,
        "proof": [b64(digest) for digest in proof],
        "old_root": b64(store.tree_hash(session, estate_id=estate.id, tree_size=old)),
        "new_root": b64(store.tree_hash(session, estate_id=estate.id, tree_size=new)),
    }


# --- checkpoints, receipts, exports ------------------------------------------------------------


@dataclass(frozen=True)
class SignedView:
    """A signed checkpoint to export or verify against: its note and how many entries it covers."""

    size: int
    note: str


def ensure_checkpoint(engine: Engine, *, settings: Settings, estate_id: int) -> SignedView:
    """The latest checkpoint, signed now (in a short transaction of its own) if the log outgrew it."""
    with unit_of_work(engine) as session:
        estate = session.get(Estate, estate_id)
        assert estate is not None
        latest = service.latest_checkpoint(session, estate_id=estate_id)
        if latest is None or latest.size < store.size(session, estate_id=estate_id):
            latest = service.sign(session, settings=settings, estate=estate)
        return SignedView(latest.size, latest.note)


def receipt(engine: Engine, *, settings: Settings, estate_id: int, index: int) -> str:
    """Entry `index`'s receipt (C2SP tlog-proof) under a checkpoint including it (signed if need be)."""
    with unit_of_work(engine) as session:
        size = store.size(session, estate_id=estate_id)
        if not 0 <= index < size:
            raise _bad("index_out_of_range", f"条目编号应在 0 到 {size - 1} 之间" if size else "日志还是空的",
                       f"index must be between 0 and {size - 1}" if size else "the log is empty")
        estate = session.get(Estate, estate_id)
        assert estate is not None
        return service.receipt(session, settings=settings, estate=estate, index=index).text


def write_export_at(engine: Engine, *, settings: Settings, estate_id: int, out: Path) -> SignedView:
    """The export directory of the log as its latest checkpoint (signed now if behind) covers it."""
    view = ensure_checkpoint(engine, settings=settings, estate_id=estate_id)
    with Session(read_only(engine)) as session:  # a fresh snapshot: it holds every entry the view covers
        estate = session.get(Estate, estate_id)
        assert estate is not None
        write_export(
            out,
            entries=(body for _index, body in store.entry_bodies(session, estate_id=estate_id, stop=view.size)),
            checkpoint_note=view.note,
            keys=service.verifier_keys(session, settings, estate),
            tally_files=service.tally_files(session, estate=estate),
        )
        session.rollback()
    return view


def export_zip(engine: Engine, *, settings: Settings, estate: Estate) -> tuple[Path, str]:
    """A zip of the export directory in a temporary file: (path, download name). The caller deletes it."""
    assert estate.id is not None
    work = Path(tempfile.mkdtemp(prefix="assembly-export-"))
    try:
        folder = work / "export"
        view = write_export_at(engine, settings=settings, estate_id=estate.id, out=folder)
        name = f"audit-{estate.code}-{view.size}"
        archive = work / f"{name}.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(folder.rglob("*")):
                zipped.write(path, f"{name}/{path.relative_to(folder).as_posix()}")
        shutil.rmtree(folder)
        return archive, f"{name}.zip"
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def remove_export(archive: Path) -> None:
    shutil.rmtree(archive.parent, ignore_errors=True)


@dataclass(frozen=True)
class VerifyNow:
    report: VerifyReport | None
    size: int
    refused: bool = False  # above VERIFY_LIMIT: use the CLI


def verify_now(engine: Engine, *, settings: Settings, estate: Estate, since: str | None = None,
               limit: int | None = None) -> VerifyNow:
    """Export the log into a temporary directory and run the same verify_export as `assembly audit verify`."""
    assert estate.id is not None
    limit = VERIFY_LIMIT if limit is None else limit
    with Session(read_only(engine)) as session:
        size = store.size(session, estate_id=estate.id)
        session.rollback()
    if size > limit:
        return VerifyNow(None, size, refused=True)
    with tempfile.TemporaryDirectory(prefix="assembly-verify-") as work:
        out = Path(work) / "export"
        view = write_export_at(engine, settings=settings, estate_id=estate.id, out=out)
        report = verify_export(out, since.strip() + "\n" if since and since.strip() else None)
    return VerifyNow(report, view.size)


def latest(session: Session, *, estate: Estate) -> AuditCheckpoint | None:
    assert estate.id is not None
    return service.latest_checkpoint(session, estate_id=estate.id)
