"""Exponential slow-down after wrong passwords, PINs and codes — per card/account and per IP address.

Kept in the database (table `throttle`), so it holds across processes and restarts. The delay is
capped: a stranger holding a photo of a card can delay its owner, never lock them out. IP limits
are looser than card limits because many phones share one carrier address (CGNAT).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from assembly.auth.models import Throttle


@dataclass(frozen=True)
class Policy:
    free: int  # failures before any delay
    base_seconds: int  # the first delay; each further failure doubles it
    cap_seconds: int  # never longer than this
    forget_after: timedelta  # a quiet period after which failures are forgotten

    def delay_after(self, failures: int) -> int:
        if failures <= self.free:
            return 0
        return min(self.cap_seconds, self.base_seconds * 2 ** min(failures - self.free - 1, 30))


CARD = "card"
ACCOUNT = "account"
IP = "ip"
POLICIES = {
    CARD: Policy(free=3, base_seconds=30, cap_seconds=15 * 60, forget_after=timedelta(hours=24)),
    ACCOUNT: Policy(free=5, base_seconds=30, cap_seconds=15 * 60, forget_after=timedelta(hours=24)),
    IP: Policy(free=20, base_seconds=30, cap_seconds=15 * 60, forget_after=timedelta(hours=6)),
}


def ip_key(address: str | None) -> str:
    """IPv4 as is; IPv6 by its /64 (one subscriber usually holds a whole /64)."""
    if not address:
        return "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _row(session: Session, kind: str, key: str, *, lock: bool = False) -> Throttle | None:
    query = select(Throttle).where(Throttle.kind == kind, Throttle.key == key)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def wait_seconds(session: Session, kind: str, key: str, *, now: datetime) -> int:
    """Seconds until the next attempt is allowed (0: now)."""
    row = _row(session, kind, key)
    if row is None or row.next_allowed_at is None or row.next_allowed_at <= now:
        return 0
    return max(1, int((row.next_allowed_at - now).total_seconds() + 0.999))


def register_failure(session: Session, kind: str, key: str, *, now: datetime) -> tuple[int, int]:
    """Count one failure; returns (failures so far, seconds of delay it imposes)."""
    policy = POLICIES[kind]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(Throttle).values(kind=kind, key=key, failures=0).on_conflict_do_nothing(index_elements=["kind", "key"])
    )
    row = _row(session, kind, key, lock=True)
    if row.last_failure_at is not None and now - row.last_failure_at > policy.forget_after:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    delay = policy.delay_after(row.failures)
    row.next_allowed_at = now + timedelta(seconds=delay) if delay else None
    session.flush()
    return row.failures, delay


def clear(session: Session, kind: str, key: str) -> None:
    row = _row(session, kind, key)
    if row is not None:
        row.failures = 0
        row.next_allowed_at = None
        session.flush()


def failures(session: Session, kind: str, key: str) -> int:
    row = _row(session, kind, key)
    return row.failures if row else 0


def wait_message(seconds: int) -> str:
    """请在 X 分 Y 秒后再试 — when the next attempt is allowed, in words."""
    minutes, rest = divmod(max(1, seconds), 60)
    if minutes:
        chinese = f"{minutes} 分 {rest} 秒" if rest else f"{minutes} 分钟"
        english = f"{minutes} min {rest} s" if rest else f"{minutes} min"
    else:
        chinese, english = f"{rest} 秒", f"{rest} s"
    return f"尝试次数过多，请在 {chinese}后再试 / too many attempts; try again in {english}"


def with_wait(message: str, seconds: int) -> str:
    """A failure message followed by when to try again, Chinese half and English half kept apart."""
    chinese, _, english = message.partition(" / ")
    wait_chinese, _, wait_english = wait_message(seconds).partition(" / ")
    return f"{chinese}。{wait_chinese} / {english}; {wait_english}" if english else f"{chinese}。{wait_chinese}"
