"""Scan-to-login for a shared screen 扫码登录 (the committee office PC, a kiosk): the screen shows a QR
code, an owner logged in on their phone scans it, compares the short code, confirms, and the screen's
session starts.

- The QR code names the request by a random token (only its SHA-256 is stored) and is good for
  QR_LIFETIME (2 minutes) and one confirmation.
- It is bound to the screen that asked: the screen holds a second secret in an HttpOnly cookie, and
  only the browser presenting that secret can pick up the session. A QR code relayed to another
  browser (or photographed off the screen) is worthless there. The QR token is derived from the
  screen secret with a server key, so the screen can show it again after a reload without the
  database keeping it.
- The phone shows where the screen is — its address as the server sees it, its browser, the place it
  says it is, when it asked — and a 4-digit code the screen shows too; the owner confirms only if
  they match (a QR code shown by someone else's screen shows someone else's code and address).
- The screen's session is the owner's, shortened to SCREEN_SESSION (30 minutes at most).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Field, Session, SQLModel

from assembly.auth import events
from assembly.auth.errors import Throttled
from assembly.auth.models import OwnerCard
from assembly.errors import AssemblyError
from assembly.models import UTCDateTime
from assembly.permissions import Action, Principal, check
from assembly.qr import dark_runs
from assembly.register.models import Person

QR_LIFETIME = timedelta(minutes=2)  # from showing the code to the owner's confirmation
CLAIM_WINDOW = timedelta(seconds=60)  # from the confirmation to the screen picking up its session
SCREEN_SESSION = timedelta(minutes=30)  # a shared screen's session lasts at most this long
KEEP_FOR = timedelta(days=1)  # finished requests are deleted after this (the events stay)
OPEN_PER_IP = 10  # unfinished requests one address may hold at once
TOKEN_PREFIX = "sl_"
TOKEN_RE = re.compile(r"^sl_[A-Za-z0-9_-]{43}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")

# security event types
CONFIRMED = "screen_login.confirmed"
CANCELLED = "screen_login.cancelled"

PENDING, EXPIRED, CONFIRMED_STATE, CANCELLED_STATE, DONE = "pending", "expired", "confirmed", "cancelled", "done"


class ScreenLogin(SQLModel, table=True):
    """One request of a screen to be logged in by a phone."""

    __tablename__ = "screen_login"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 of the QR code's token
    screen_hash: str = Field(max_length=64, unique=True)  # SHA-256 of the screen's cookie secret
    code: str = Field(max_length=8)  # shown on both screen and phone: compared, never typed
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ip: str | None = Field(default=None, max_length=64, index=True)
    user_agent: str | None = Field(default=None, max_length=200)
    place: str = Field(default="", max_length=40)  # what the screen says it is ("业委会办公室")
    card_id: int | None = Field(default=None, foreign_key="owner_card.id", index=True)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consumed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    session_id: int | None = Field(default=None, foreign_key="auth_session.id")


class ScreenLoginError(AssemblyError):
    status = 410
    code = "screen_login_gone"


class ScreenLoginPending(ScreenLoginError):
    status = 409
    code = "screen_login_pending"


class ScreenLoginNotFound(ScreenLoginError):
    status = 404
    code = "screen_login_not_found"


@dataclass(frozen=True)
class Started:
    row: ScreenLogin
    secret: str  # for the screen's cookie, never stored
    token: str  # for the QR code, never stored


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def qr_token(secret: str, *, secret_key: str) -> str:
    """The QR code's token, derived from the screen's secret (one-way: the phone never learns the secret)."""
    key = hmac.new(secret_key.encode(), b"assembly/screen-qr", hashlib.sha256).digest()
    digest = hmac.new(key, secret.encode(), hashlib.sha256).digest()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def state(row: ScreenLogin, *, now: datetime) -> str:
    if row.consumed_at is not None:
        return DONE
    if row.cancelled_at is not None:
        return CANCELLED_STATE
    if row.confirmed_at is not None:
        return CONFIRMED_STATE if now < row.confirmed_at + CLAIM_WINDOW else EXPIRED
    return PENDING if now < row.expires_at else EXPIRED


def start(session: Session, *, secret_key: str, now: datetime, ip: str | None, user_agent: str | None,
          place: str = "") -> Started:
    """A new request for this screen (a new QR code, a new code)."""
    session.execute(delete(ScreenLogin).where(ScreenLogin.expires_at < now - KEEP_FOR))
    open_here = session.scalar(
        select(func.count()).select_from(ScreenLogin).where(
            ScreenLogin.ip == ip, ScreenLogin.expires_at > now, ScreenLogin.confirmed_at.is_(None),
            ScreenLogin.cancelled_at.is_(None))
    )
    if ip is not None and open_here >= OPEN_PER_IP:
        raise Throttled("这个网络地址同时打开的扫码登录太多，请 2 分钟后再试 / too many open screen logins, try again in 2 minutes",
                        retry_after=int(QR_LIFETIME.total_seconds()))
    secret = secrets.token_urlsafe(32)
    token = qr_token(secret, secret_key=secret_key)
    row = ScreenLogin(
        token_hash=_sha(token), screen_hash=_sha(secret), code=f"{secrets.randbelow(10_000):04d}", created_at=now,
        expires_at=now + QR_LIFETIME, ip=ip, user_agent=(user_agent or "")[:200] or None,
        place=re.sub(r"\s+", " ", place or "").strip()[:40],
    )
    session.add(row)
    session.flush()
    return Started(row, secret, token)


def _locked(session: Session, query, lock: bool):
    """Changes of one request are serialised: SELECT … FOR UPDATE on PostgreSQL (SQLite's write
    transactions already hold the database's lock from BEGIN IMMEDIATE)."""
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).first()


def for_screen(session: Session, secret: str | None, *, lock: bool = False) -> ScreenLogin | None:
    """The request of the screen holding `secret` (its cookie), or None."""
    if not secret or not SECRET_RE.fullmatch(secret):
        return None
    return _locked(session, select(ScreenLogin).where(ScreenLogin.screen_hash == _sha(secret)), lock)


def for_token(session: Session, token: str, *, lock: bool = False) -> ScreenLogin:
    """The request a scanned QR code names; ScreenLoginNotFound for anything unknown or malformed."""
    if not TOKEN_RE.fullmatch(token or ""):
        raise ScreenLoginNotFound("二维码无效：找不到这个登录请求 / unknown screen login")
    row = _locked(session, select(ScreenLogin).where(ScreenLogin.token_hash == _sha(token)), lock)
    if row is None:
        raise ScreenLoginNotFound("二维码无效：找不到这个登录请求 / unknown screen login")
    return row


GONE = {
    EXPIRED: "二维码已过期（2 分钟内有效）。请在电脑上重新显示二维码。 / this QR code has expired",
    DONE: "这个二维码已经用过了，每个二维码只能登录一次。 / this QR code has been used",
    CANCELLED_STATE: "这个登录请求已取消。 / this screen login was cancelled",
    CONFIRMED_STATE: "这个二维码已经确认过了，每个二维码只能确认一次。 / this QR code was already confirmed",
}


def _pending(row: ScreenLogin, *, now: datetime) -> None:
    current = state(row, now=now)
    if current != PENDING:
        raise ScreenLoginError(GONE[current], code=f"screen_login_{current}")


def _event(session: Session, type_: str, row: ScreenLogin, card: OwnerCard, *, ip: str | None, now: datetime) -> None:
    person = session.get(Person, card.person_id)
    events.record(session, type_, estate_id=card.estate_id, subject=f"card:{card.id}", ip=ip, at=now,
                  actor_pseudonym=person.pseudonym if person else None, actor_role="owner",
                  screen_ip=row.ip, screen_place=row.place or None, request=row.id)


def confirm(session: Session, *, row: ScreenLogin, owner: Principal, ip: str | None, now: datetime) -> None:
    """The owner, on their phone, says: log that screen in as me."""
    check(owner, Action.SCREEN_LOGIN_CONFIRM)
    _pending(row, now=now)
    card = session.get(OwnerCard, owner.card_id)
    row.confirmed_at = now
    row.card_id = card.id
    _event(session, CONFIRMED, row, card, ip=ip, now=now)
    session.flush()


def cancel(session: Session, *, row: ScreenLogin, owner: Principal, ip: str | None, now: datetime) -> None:
    """The codes did not match, or the owner changed their mind: nobody can confirm this request now."""
    check(owner, Action.SCREEN_LOGIN_CONFIRM)
    _pending(row, now=now)
    row.cancelled_at = now
    row.card_id = owner.card_id  # who cancelled (the request can never be claimed)
    _event(session, CANCELLED, row, session.get(OwnerCard, owner.card_id), ip=ip, now=now)
    session.flush()


def claimable(session: Session, *, row: ScreenLogin | None, now: datetime) -> OwnerCard:
    """The card whose session the screen may now start; an error saying why not otherwise."""
    if row is None:
        raise ScreenLoginNotFound(
            "这台电脑没有等待确认的扫码登录。请重新显示二维码。 / this browser has no screen login waiting",
        )
    current = state(row, now=now)
    if current == PENDING:
        raise ScreenLoginPending("还没有在手机上确认。 / not confirmed on the phone yet")
    if current != CONFIRMED_STATE:
        raise ScreenLoginError(GONE[current], code=f"screen_login_{current}")
    card = session.get(OwnerCard, row.card_id)
    if card is None or card.revoked_at is not None:
        raise ScreenLoginError("这张业主一卡通已作废。 / the card was revoked", code="screen_login_card_revoked")
    return card


def finish(session: Session, *, row: ScreenLogin, session_row, now: datetime) -> None:
    """The screen's session has started: the request is used up; the session is kept short."""
    row.consumed_at = now
    row.session_id = session_row.id
    session_row.expires_at = min(session_row.expires_at, now + SCREEN_SESSION)
    session.flush()


def device(user_agent: str | None) -> str:
    """A short, readable description of a browser for the owner to recognise ("Windows 电脑上的 Edge")."""
    ua = user_agent or ""
    system = next((label for key, label in (("Windows", "Windows 电脑"), ("Android", "安卓设备"), ("iPhone", "iPhone"),
                                            ("iPad", "iPad"), ("Mac OS", "苹果电脑"), ("CrOS", "Chromebook"),
                                            ("Linux", "Linux 电脑")) if key in ua), "未知设备")
    browser = next((label for key, label in (("Edg/", "Edge"), ("MicroMessenger", "微信"), ("Firefox/", "Firefox"),
                                             ("Chrome/", "Chrome"), ("Safari/", "Safari")) if key in ua), "浏览器")
    return f"{system}上的 {browser}"


def qr_svg(content: str, *, size: int = 280) -> str:
    """The QR code as inline SVG (no script, no style: allowed by the site's CSP)."""
    modules, runs = dark_runs(content)
    quiet = 4
    parts = [f"M{start + quiet} {row + quiet}h{length}v1h-{length}z" for row, start, length in runs]
    total = modules + 2 * quiet
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total} {total}" width="{size}" height="{size}" '
        f'role="img" aria-label="扫码登录二维码" shape-rendering="crispEdges">'
        f'<rect width="{total}" height="{total}" fill="#fff"/><path fill="#000" d="{"".join(parts)}"/></svg>'
    )
