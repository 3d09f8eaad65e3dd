"""Server-side sessions: created on every login, named by a signed cookie, ended by logout for real.

A session is active while it is not revoked, younger than its absolute lifetime and used within the
idle timeout. `now` is always a parameter: tests move the clock instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

import assembly.proxies.models  # noqa: F401 - auth_session.proxy_login_id names its table
from assembly.auth import tokens
from assembly.auth.models import Account, AccountEstate, AuthSession, OwnerCard
from assembly.config import Settings
from assembly.identity import mask_name
from assembly.permissions import ALL_ESTATES, Principal, Role
from assembly.register.models import Community, Estate, Person

FULL = "full"
TOTP = "totp"  # password accepted, code outstanding
TOTP_SETUP = "totp_setup"  # password accepted, second factor must be set up first
SET_PIN = "set_pin"  # card activated, PIN not chosen yet
PENDING_LIFETIME = timedelta(minutes=10)
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most once a minute


@dataclass(frozen=True)
class NewSession:
    row: AuthSession
    sid: str
    token: str  # the cookie value


@dataclass(frozen=True)
class ActiveSession:
    row: AuthSession
    sid: str
    needs_touch: bool  # last_seen_at is older than TOUCH_EVERY
    # The card, person or account read with the row: held here so that they stay in the session's
    # (weak) identity map for principal_for.
    with_row: tuple = field(default=(), repr=False, compare=False)


def start(
    session: Session,
    *,
    settings: Settings,
    now: datetime,
    stage: str = FULL,
    account_id: int | None = None,
    card_id: int | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    proxy_login_id: int | None = None,
) -> NewSession:
    """A new session (never a reused one: a login always gets a fresh id)."""
    if sum(owner is not None for owner in (account_id, card_id, proxy_login_id)) != 1:
        raise ValueError("a session belongs to exactly one account, one card or one proxy login")
    lifetime = timedelta(hours=settings.session_absolute_hours) if stage == FULL else PENDING_LIFETIME
    sid = tokens.new_session_id()
    row = AuthSession(
        sid_hash=tokens.sha256_hex(sid),
        stage=stage,
        account_id=account_id,
        card_id=card_id,
        proxy_login_id=proxy_login_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        ip=ip,
        user_agent=(user_agent or "")[:200] or None,
    )
    session.add(row)
    session.flush()
    token = tokens.encode_session_token(sid, secret_key=settings.secret_key, issued_at=now, expires_at=row.expires_at)
    return NewSession(row, sid, token)


def inactive_reason(row: AuthSession, *, settings: Settings, now: datetime) -> str | None:
    """Why a session no longer counts (revoked, expired, idle), or None while it is active."""
    if row.revoked_at is not None:
        return "revoked"
    if now >= row.expires_at:
        return "expired"
    if now - row.last_seen_at >= timedelta(minutes=settings.session_idle_minutes):
        return "idle"
    return None


def resolve(session: Session, *, token: str | None, settings: Settings, now: datetime) -> ActiveSession | None:
    """The active session a cookie names, or None (forged, expired, revoked, idle, unknown)."""
    sid = tokens.decode_session_token(token or "", secret_key=settings.secret_key, now=now)
    if sid is None:
        return None
    # The card and its owner (or the account) come in the same statement: principal_for then finds
    # them in the session's identity map instead of asking twice more on every request.
    found = session.execute(
        select(AuthSession, OwnerCard, Person, Account)
        .outerjoin(OwnerCard, OwnerCard.id == AuthSession.card_id)
        .outerjoin(Person, Person.id == OwnerCard.person_id)
        .outerjoin(Account, Account.id == AuthSession.account_id)
        .where(AuthSession.sid_hash == tokens.sha256_hex(sid))
    ).first()
    row = found[0] if found else None
    if row is None or inactive_reason(row, settings=settings, now=now) is not None:
        return None
    return ActiveSession(row, sid, now - row.last_seen_at >= TOUCH_EVERY, tuple(found[1:]))


def touch(session: Session, *, session_id: int, now: datetime) -> None:
    session.execute(update(AuthSession).where(AuthSession.id == session_id).values(last_seen_at=now))


def revoke(session: Session, row: AuthSession, *, reason: str, now: datetime) -> None:
    if row.revoked_at is None:
        row.revoked_at = now
        row.revoked_reason = reason
        session.flush()


def revoke_all(
    session: Session, *, now: datetime, reason: str, account_id: int | None = None, card_ids: list[int] | None = None
) -> int:
    """End every open session of an account, or of a set of cards; returns how many."""
    query = update(AuthSession).where(AuthSession.revoked_at.is_(None))
    if account_id is not None:
        query = query.where(AuthSession.account_id == account_id)
    elif card_ids:
        query = query.where(AuthSession.card_id.in_(card_ids))
    else:
        return 0
    result = session.execute(query.values(revoked_at=now, revoked_reason=reason))
    return result.rowcount or 0


def account_estate_ids(session: Session, account: Account):
    if account.role == Role.ADMIN:
        return ALL_ESTATES
    if account.role == Role.STREET_OFFICE:
        query = select(Estate.id).join(Community, Community.id == Estate.community_id).where(
            Community.street_office_id == account.street_office_id
        )
    else:
        query = select(AccountEstate.estate_id).where(AccountEstate.account_id == account.id)
    return frozenset(session.scalars(query).all())


def account_principal(session: Session, account: Account, *, session_id: int | None = None) -> Principal:
    """What an account may see and do (also used where no session exists: the demo, the CLI)."""
    return Principal(
        kind="account",
        role=Role(account.role),
        estate_ids=account_estate_ids(session, account),
        account_id=account.id,
        session_id=session_id,
        pseudonym=account.pseudonym,
        display_name=account.display_name,
        street_office_id=account.street_office_id,
    )


# Who a proxy's session speaks for is the proxies feature's to say: it installs its reader where the
# application is composed (assembly.wiring), so auth never imports the feature built on it.
ProxyPrincipal = Callable[..., Principal | None]
_PROXY_PRINCIPAL: list[ProxyPrincipal] = []


def install_proxy_principal(reader: ProxyPrincipal) -> None:
    _PROXY_PRINCIPAL[:] = [reader]


def principal_for(session: Session, row: AuthSession) -> Principal | None:
    """Who a full session speaks for; None when the account is disabled or the card revoked."""
    if row.stage != FULL:
        return None
    if row.account_id is not None:
        account = session.get(Account, row.account_id)
        if account is None or account.disabled_at is not None:
            return None
        return account_principal(session, account, session_id=row.id)
    if row.proxy_login_id is not None:
        return _PROXY_PRINCIPAL[0](session, proxy_login_id=row.proxy_login_id, session_id=row.id) \
            if _PROXY_PRINCIPAL else None
    card = session.get(OwnerCard, row.card_id)
    if card is None or card.revoked_at is not None:
        return None
    person = session.get(Person, card.person_id)
    return Principal(
        kind="owner",
        role=Role.OWNER,
        estate_ids=frozenset({card.estate_id}),
        card_id=card.id,
        person_id=person.id,
        session_id=row.id,
        pseudonym=person.pseudonym,
        display_name=mask_name(person.name),
    )
