"""Staff and supervisory accounts: created by the role above, scoped to estates, password + TOTP.

Who creates whom (permissions.CREATES): the operator on the server (`assembly accounts
create-admin`) creates the first administrator; an administrator creates street-office accounts
(and other administrators); a street office creates observers, residents'-committee staff and
committee accounts for estates of its own street office. Roles never change: a new role is a new
account. Scope changes and disabling are recorded as security events.

Login attempts do not raise: they return an `Attempt`, so that the failure, its slow-down and its
security event commit with the request while the person sees the error.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlmodel import Session

from assembly.auth import events, hashing, throttle, tokens, totp
from assembly.auth.errors import BadCredentials, Throttled
from assembly.auth.models import Account, AccountEstate, AuthSession
from assembly.auth.sessions import account_estate_ids, revoke_all
from assembly.config import Settings
from assembly.errors import AssemblyError, Conflict, Forbidden, InvalidInput, NotFound
from assembly.permissions import ALL_ESTATES, COMMITTEE_ROLES, TOTP_REQUIRED, Principal, Role, may_create
from assembly.plaintext import check_visible
from assembly.register.models import Estate, StreetOffice

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
OPERATOR = "operator"  # the actor of what is done on the server's command line


@dataclass(frozen=True)
class CreatedAccount:
    account: Account
    password: str  # shown once, never stored


@dataclass(frozen=True)
class Attempt:
    account: Account | None
    error: AssemblyError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def normalize_username(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw or "").strip().lower()


def get_account(session: Session, username: str) -> Account | None:
    return session.scalars(select(Account).where(Account.username == normalize_username(username))).first()


def _actor(principal: Principal | None) -> dict:
    if principal is None:
        return {"actor_pseudonym": None, "actor_role": OPERATOR}
    return {"actor_pseudonym": principal.pseudonym, "actor_role": principal.role}


def _event_estate(estate_ids) -> int | None:
    """Security events of an account covering exactly one estate go to that estate's log."""
    if isinstance(estate_ids, frozenset | set | list | tuple) and len(estate_ids) == 1:
        return next(iter(estate_ids))
    return None


def _check_scope(session: Session, *, by: Principal | None, role: Role, estate_ids: set[int], street_office_id):
    if role == Role.OWNER:
        raise InvalidInput("业主使用业主一卡通登录，不设账户 / owners log in with their card", code="owner_account")
    if role in (Role.ADMIN, Role.STREET_OFFICE) and estate_ids:
        raise InvalidInput("该角色不按小区授权 / this role is not scoped by estate", code="scope_not_allowed")
    if role == Role.STREET_OFFICE:
        if street_office_id is None or session.get(StreetOffice, street_office_id) is None:
            raise InvalidInput("请指定街道办事处 / a street office is required", code="street_office_required")
    elif street_office_id is not None:
        raise InvalidInput("只有街道办事处账户属于街道办事处 / only street-office accounts", code="scope_not_allowed")
    if role in COMMITTEE_ROLES and len(estate_ids) != 1:
        raise InvalidInput("业主委员会账户只属于一个小区 / a committee account covers exactly one estate",
                           code="one_estate_required")
    if role in (Role.OBSERVER, Role.RESIDENTS_COMMITTEE) and not estate_ids:
        raise InvalidInput("请至少指定一个小区 / at least one estate is required", code="estate_required")
    known = set(session.scalars(select(Estate.id).where(Estate.id.in_(sorted(estate_ids)))).all())
    if known != estate_ids:
        raise InvalidInput("有的小区不存在 / unknown estate", code="estate_not_found")
    if by is not None and not all(estate_id in by.estate_ids for estate_id in estate_ids):
        raise Forbidden("只能为您负责的小区创建账户 / only for estates within your scope", code="estate_forbidden")


def create_account(
    session: Session,
    *,
    created_by: Principal | None,
    username: str,
    display_name: str,
    role: Role | str,
    now: datetime,
    estate_ids: set[int] | frozenset[int] = frozenset(),
    street_office_id: int | None = None,
    password: str | None = None,
    demo: bool = False,
    ip: str | None = None,
) -> CreatedAccount:
    """A new account; `created_by=None` is the operator on the server (the root of the hierarchy)."""
    role = Role(role)
    if created_by is not None and not may_create(created_by.role, role):
        raise Forbidden("您不能创建该角色的账户 / you may not create accounts of this role", code="role_forbidden")
    username = normalize_username(username)
    if not USERNAME_RE.fullmatch(username):
        raise InvalidInput("用户名为 3–40 位小写字母、数字、点、横线或下划线 / 3-40 of a-z 0-9 . _ -",
                           code="invalid_username")
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 100:
        raise InvalidInput("请填写姓名或单位（最多 100 字） / a display name is required", code="invalid_display_name")
    check_visible(display_name, chinese="姓名或单位", english="the display name", code="hidden_character")
    estate_ids = set(estate_ids)
    _check_scope(session, by=created_by, role=role, estate_ids=estate_ids, street_office_id=street_office_id)
    if get_account(session, username) is not None:
        raise Conflict("该用户名已被使用 / this username is taken", code="username_taken")
    if password is None:
        password = hashing.generate_password()
    else:
        password = hashing.normalize_password(password)
        problem = hashing.password_problem(password, username=username)
        if problem:
            raise InvalidInput(problem, code="weak_password")
    account = Account(
        username=username,
        display_name=display_name,
        role=role.value,
        pseudonym="s" + secrets.token_hex(8),
        password_hash=hashing.hash_secret(password),
        street_office_id=street_office_id,
        demo=demo,
        created_at=now,
        created_by_id=created_by.account_id if created_by else None,
    )
    session.add(account)
    session.flush()
    for estate_id in sorted(estate_ids):
        session.add(AccountEstate(account_id=account.id, estate_id=estate_id, granted_at=now,
                                  granted_by_id=created_by.account_id if created_by else None))
    session.flush()
    events.record(
        session, events.ACCOUNT_CREATED, estate_id=_event_estate(estate_ids), subject=f"account:{account.id}", ip=ip,
        at=now, account=account.pseudonym, role=role.value, estates=sorted(estate_ids),
        street_office_id=street_office_id, **_actor(created_by),
    )
    return CreatedAccount(account, password)


def _manageable(session: Session, *, by: Principal | None, account: Account) -> None:
    if by is None:
        return
    if not may_create(by.role, account.role):
        raise Forbidden("您不能管理该角色的账户 / you may not manage accounts of this role", code="role_forbidden")
    current = account_estate_ids(session, account)
    if isinstance(current, frozenset) and not all(estate_id in by.estate_ids for estate_id in current):
        raise Forbidden("该账户含有您负责范围以外的小区 / the account covers estates outside your scope",
                        code="estate_forbidden")
    if account.role == Role.STREET_OFFICE and by.estate_ids is not ALL_ESTATES:
        raise Forbidden("您不能管理该账户 / you may not manage this account", code="role_forbidden")


def set_scope(
    session: Session, *, by: Principal | None, account: Account, estate_ids: set[int], now: datetime,
    ip: str | None = None,
) -> None:
    """Replace the estates an account covers (takes effect on its next request)."""
    _manageable(session, by=by, account=account)
    estate_ids = set(estate_ids)
    _check_scope(session, by=by, role=Role(account.role), estate_ids=estate_ids, street_office_id=account.street_office_id)
    before = sorted(account_estate_ids(session, account))
    session.execute(delete(AccountEstate).where(AccountEstate.account_id == account.id))
    for estate_id in sorted(estate_ids):
        session.add(AccountEstate(account_id=account.id, estate_id=estate_id, granted_at=now,
                                  granted_by_id=by.account_id if by else None))
    session.flush()
    events.record(
        session, events.ACCOUNT_SCOPE_CHANGED, estate_id=_event_estate(set(before) | estate_ids),
        subject=f"account:{account.id}", ip=ip, at=now, account=account.pseudonym, role=account.role,
        before=before, after=sorted(estate_ids), **_actor(by),
    )


def disable_account(session: Session, *, by: Principal | None, account: Account, now: datetime,
                    ip: str | None = None) -> None:
    """Stop an account from logging in and end its sessions at once."""
    _manageable(session, by=by, account=account)
    if account.disabled_at is None:
        account.disabled_at = now
        revoke_all(session, now=now, reason="account_disabled", account_id=account.id)
        session.flush()
        events.record(
            session, events.ACCOUNT_DISABLED, estate_id=_event_estate(account_estate_ids(session, account)),
            subject=f"account:{account.id}", ip=ip, at=now, account=account.pseudonym, role=account.role,
            **_actor(by),
        )


# --- logging in ------------------------------------------------------------------------------------

BAD_LOGIN = "用户名或密码不正确 / wrong username or password"
BAD_CODE = "验证码不正确或已使用过 / wrong or already used code"


def _throttle_keys(settings: Settings, username: str, ip: str | None) -> list[tuple[str, str]]:
    return [
        (throttle.ACCOUNT, tokens.subject_key(settings.secret_key, username)),
        (throttle.IP, throttle.ip_key(ip)),
    ]


def _throttled(session: Session, keys, now: datetime) -> Throttled | None:
    wait = max(throttle.wait_seconds(session, kind, key, now=now) for kind, key in keys)
    return Throttled(throttle.wait_message(wait), retry_after=wait) if wait else None


def _fail(session: Session, keys, *, now, ip, reason, account: Account | None, message: str,
          error=BadCredentials) -> Attempt:
    delay = 0
    for kind, key in keys:
        count, seconds = throttle.register_failure(session, kind, key, now=now)
        if seconds:
            events.record(
                session, events.LOGIN_THROTTLED, subject=f"account:{account.id}" if account and kind != throttle.IP else None,
                ip=ip, reason=kind, at=now, failures=count, delay_seconds=seconds,
                actor_pseudonym=account.pseudonym if account else None, actor_role=account.role if account else None,
            )
        delay = max(delay, seconds)
    events.record(
        session, events.LOGIN_FAILED, estate_id=_event_estate(account_estate_ids(session, account)) if account else None,
        subject=f"account:{account.id}" if account else None, ip=ip, reason=reason, at=now, method="password",
        actor_pseudonym=account.pseudonym if account else None, actor_role=account.role if account else None,
    )
    if delay:
        message = throttle.with_wait(message, delay)
    return Attempt(account, error(message))


def check_password(session: Session, *, settings: Settings, username: str, password: str, ip: str | None,
                   now: datetime) -> Attempt:
    """The first step of a staff login; failures are counted, slowed down and recorded."""
    username = normalize_username(username)
    keys = _throttle_keys(settings, username, ip)
    refused = _throttled(session, keys, now)
    if refused:
        return Attempt(None, refused)
    account = get_account(session, username) if USERNAME_RE.fullmatch(username) else None
    if account is None:
        hashing.spend_dummy_verification()
        return _fail(session, keys, now=now, ip=ip, reason="unknown_account", account=None, message=BAD_LOGIN)
    if not hashing.verify_secret(account.password_hash, hashing.normalize_password(password or "")):
        return _fail(session, keys, now=now, ip=ip, reason="bad_password", account=account, message=BAD_LOGIN)
    if account.disabled_at is not None:
        return _fail(session, keys, now=now, ip=ip, reason="disabled", account=account,
                     message="该账户已停用，请联系创建它的单位 / this account is disabled")
    if hashing.needs_rehash(account.password_hash):
        account.password_hash = hashing.hash_secret(hashing.normalize_password(password))
    if needs_second_factor(account) is None:
        # Only a full login clears the account's count: with a second factor outstanding, the
        # wrong codes that follow a right password must still add up (issue #22).
        throttle.clear(session, throttle.ACCOUNT, keys[0][1])
    return Attempt(account)


def needs_second_factor(account: Account) -> str | None:
    """'totp' when a code must be entered, 'totp_setup' when it must first be set up, else None."""
    if account.totp_enabled_at is not None:
        return "totp"
    if Role(account.role) in TOTP_REQUIRED:
        return "totp_setup"
    return None


def totp_secret(account: Account, *, settings: Settings) -> bytes | None:
    return totp.unseal(account.totp_secret, secret_key=settings.secret_key) if account.totp_secret else None


def begin_totp_setup(session: Session, *, account: Account, settings: Settings) -> bytes:
    """The secret to show while setting up (kept until confirmed, so a reload shows the same one)."""
    if account.totp_enabled_at is not None:
        raise Conflict("两步验证已启用 / the second factor is already set up", code="totp_enabled")
    secret = totp_secret(account, settings=settings)
    if secret is None:
        secret = totp.new_secret()
        account.totp_secret = totp.seal(secret, secret_key=settings.secret_key)
        session.flush()
    return secret


def check_totp(session: Session, *, settings: Settings, account: Account, code: str, ip: str | None,
               now: datetime, setup: bool = False) -> Attempt:
    """The second step: a current code, not used before; on set-up, it also enables the factor."""
    keys = _throttle_keys(settings, account.username, ip)
    refused = _throttled(session, keys, now)
    if refused:
        return Attempt(account, refused)
    secret = totp_secret(account, settings=settings)
    step = totp.matching_step(secret, code, now, after_step=account.totp_last_step) if secret else None
    if step is None:
        return _fail(session, keys, now=now, ip=ip, reason="bad_totp", account=account, message=BAD_CODE)
    account.totp_last_step = step
    if setup and account.totp_enabled_at is None:
        account.totp_enabled_at = now
        events.record(
            session, events.ACCOUNT_TOTP_ENABLED, estate_id=_event_estate(account_estate_ids(session, account)),
            subject=f"account:{account.id}", ip=ip, at=now, actor_pseudonym=account.pseudonym, actor_role=account.role,
        )
    throttle.clear(session, throttle.ACCOUNT, keys[0][1])
    session.flush()
    return Attempt(account)


def record_login(session: Session, *, account: Account, ip: str | None, now: datetime, method: str) -> None:
    account.last_login_at = now
    events.record(
        session, events.LOGIN_SUCCEEDED, estate_id=_event_estate(account_estate_ids(session, account)),
        subject=f"account:{account.id}", ip=ip, at=now, method=method,
        actor_pseudonym=account.pseudonym, actor_role=account.role,
    )


def change_password(session: Session, *, settings: Settings, account: Account, current: str, new: str,
                    ip: str | None, now: datetime, keep_session_id: int | None = None) -> Attempt:
    """A new password after the current one is confirmed; every other session of the account ends."""
    keys = _throttle_keys(settings, account.username, ip)
    refused = _throttled(session, keys, now)
    if refused:
        return Attempt(account, refused)
    if not hashing.verify_secret(account.password_hash, hashing.normalize_password(current or "")):
        return _fail(session, keys, now=now, ip=ip, reason="bad_password", account=account,
                     message="当前密码不正确 / the current password is wrong")
    new = hashing.normalize_password(new or "")
    problem = hashing.password_problem(new, username=account.username)
    if problem:
        return Attempt(account, InvalidInput(problem, code="weak_password"))
    account.password_hash = hashing.hash_secret(new)
    account.password_changed_at = now
    session.execute(
        update(AuthSession)
        .where(AuthSession.account_id == account.id, AuthSession.revoked_at.is_(None), AuthSession.id != (keep_session_id or -1))
        .values(revoked_at=now, revoked_reason="password_changed")
    )
    events.record(
        session, events.ACCOUNT_PASSWORD_CHANGED, estate_id=_event_estate(account_estate_ids(session, account)),
        subject=f"account:{account.id}", ip=ip, at=now, actor_pseudonym=account.pseudonym, actor_role=account.role,
    )
    session.flush()
    return Attempt(account)


def require_account(session: Session, username: str) -> Account:
    account = get_account(session, username)
    if account is None:
        raise NotFound("没有这个账户 / no such account", code="account_not_found")
    return account
