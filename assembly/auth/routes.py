"""Staff login (password, then TOTP), logout, "log out everywhere", the account page, and their API.

Thin: the services in accounts.py and sessions.py decide; this module turns forms and JSON into
calls and answers with a page (303 after a POST; HX-Redirect for htmx) or JSON with a stable code.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select, update

from assembly.auth import accounts, events, sessions, totp
from assembly.auth.errors import Unauthenticated
from assembly.auth.models import Account, AuthSession, OwnerCard, SecurityEvent
from assembly.auth.web import begin_session, log_out
from assembly.errors import AssemblyError, Forbidden, InvalidInput, NotFound
from assembly.permissions import (
    ROLE_LABELS,
    Action,
    CurrentPrincipal,
    Principal,
    Role,
    estate_for,
    may_create,
    require,
    scope_to_estates,
)
from assembly.register.estates import CODE as ESTATE_CODE
from assembly.register.models import Estate
from assembly.web.deps import SessionDep
from assembly.web.http import FormText, api_error, client_ip, now_for, redirect, safe_next, zh
from assembly.web.templating import render

router = APIRouter()


def _estates_of(session, principal: Principal) -> list[Estate]:
    return list(session.scalars(scope_to_estates(select(Estate), Estate.id, principal).order_by(Estate.name)).all())


# --- pages -----------------------------------------------------------------------------------------


def _login_page(request: Request, *, next_url: str, username: str = "", error: AssemblyError | None = None):
    context = {"next": next_url, "username": username, "error": zh(error.message) if error else None}
    return render(request, "auth/login.html", context, status_code=error.status if error else 200)


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/account"):
    return _login_page(request, next_url=safe_next(next, "/account"))


@router.post("/login", include_in_schema=False)
def login_submit(request: Request, session: SessionDep, username: FormText = "", password: FormText = "",
                 next: FormText = "/account"):
    now, ip = now_for(request), client_ip(request)
    next_url = safe_next(next, "/account")
    if not username.strip() or not password:
        error = InvalidInput("请填写用户名和密码 / enter your username and password")
        return _login_page(request, next_url=next_url, username=username[:40], error=error)
    attempt = accounts.check_password(session, settings=request.app.state.settings, username=username,
                                      password=password, ip=ip, now=now)
    if not attempt.ok:
        return _login_page(request, next_url=next_url, username=username[:40], error=attempt.error)
    account = attempt.account
    step = accounts.needs_second_factor(account)
    if step is None:
        begin_session(request, session, account_id=account.id, stage=sessions.FULL, now=now)
        accounts.record_login(session, account=account, ip=ip, now=now, method="password")
        return redirect(request, next_url)
    if step == sessions.TOTP_SETUP:
        accounts.begin_totp_setup(session, account=account, settings=request.app.state.settings)
    begin_session(request, session, account_id=account.id, stage=step, now=now)
    return redirect(request, f"/login/totp?next={quote(next_url, safe='/')}")


def _pending_account(request: Request, session) -> tuple[Account, str] | None:
    auth = getattr(request.state, "auth", None)
    if auth is None or auth.stage not in (sessions.TOTP, sessions.TOTP_SETUP) or auth.account_id is None:
        return None
    return session.get(Account, auth.account_id), auth.stage


def _totp_page(request: Request, session, *, account: Account, stage: str, next_url: str, error=None,
               action: str = "/login/totp"):
    context = {"next": next_url, "stage": stage, "error": zh(error.message) if error else None, "action": action}
    if stage == sessions.TOTP_SETUP:
        # Made by the POST that led here (no state change on GET); a reload shows the same secret.
        secret = accounts.totp_secret(account, settings=request.app.state.settings)
        if secret is None:
            return RedirectResponse("/account" if action == "/account/totp" else "/login", status_code=303)
        context["secret"] = totp.secret_base32(secret)
        context["secret_groups"] = " ".join(context["secret"][i : i + 4] for i in range(0, len(context["secret"]), 4))
        context["uri"] = totp.provisioning_uri(secret, account=account.username)
    return render(request, "auth/totp.html", context, status_code=error.status if error else 200)


@router.get("/login/totp", include_in_schema=False)
def totp_page(request: Request, session: SessionDep, next: str = "/account"):
    pending = _pending_account(request, session)
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    return _totp_page(request, session, account=pending[0], stage=pending[1], next_url=safe_next(next, "/account"))


@router.post("/login/totp", include_in_schema=False)
def totp_submit(request: Request, session: SessionDep, code: FormText = "", next: FormText = "/account"):
    now, ip = now_for(request), client_ip(request)
    next_url = safe_next(next, "/account")
    pending = _pending_account(request, session)
    if pending is None:
        return redirect(request, "/login")
    account, stage = pending
    attempt = accounts.check_totp(session, settings=request.app.state.settings, account=account, code=code, ip=ip,
                                  now=now, setup=stage == sessions.TOTP_SETUP)
    if not attempt.ok:
        return _totp_page(request, session, account=account, stage=stage, next_url=next_url, error=attempt.error)
    begin_session(request, session, account_id=account.id, stage=sessions.FULL, now=now)
    accounts.record_login(session, account=account, ip=ip, now=now, method="password+totp")
    return redirect(request, next_url)


def _end_sessions(request: Request, session, principal: Principal, *, everywhere: bool) -> None:
    now, ip = now_for(request), client_ip(request)
    auth = getattr(request.state, "auth", None)
    if everywhere and principal.authenticated:
        if principal.account_id is not None:
            sessions.revoke_all(session, now=now, reason="logout_everywhere", account_id=principal.account_id)
        elif principal.proxy_id is not None:  # a proxy's code login (assembly.proxies.service)
            session.execute(update(AuthSession).where(AuthSession.proxy_login_id == principal.proxy_id,
                                                      AuthSession.revoked_at.is_(None))
                            .values(revoked_at=now, revoked_reason="logout_everywhere"))
        else:
            card_ids = list(session.scalars(select(OwnerCard.id).where(OwnerCard.person_id == principal.person_id)))
            sessions.revoke_all(session, now=now, reason="logout_everywhere", card_ids=card_ids)
    elif auth is not None:
        row = session.get(AuthSession, auth.session_id)
        if row is not None:
            sessions.revoke(session, row, reason="logout", now=now)
    if principal.authenticated:
        estate_ids = principal.estate_ids
        estate_id = next(iter(estate_ids)) if isinstance(estate_ids, frozenset) and len(estate_ids) == 1 else None
        events.record(
            session, events.LOGOUT_EVERYWHERE if everywhere else events.LOGOUT, estate_id=estate_id,
            subject=f"account:{principal.account_id}" if principal.account_id
            else f"proxy:{principal.pseudonym}" if principal.proxy_id else f"card:{principal.card_id}",
            actor_pseudonym=principal.pseudonym, actor_role=principal.role, ip=ip, at=now,
        )
    log_out(request)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, session: SessionDep, principal: CurrentPrincipal):
    kind = principal.kind
    _end_sessions(request, session, principal, everywhere=False)
    return redirect(request, f"/logged-out?who={kind}")


@router.post("/logout/everywhere", include_in_schema=False)
def logout_everywhere(request: Request, session: SessionDep, principal: CurrentPrincipal):
    if not principal.authenticated:
        raise Unauthenticated("请先登录 / please log in")
    kind = principal.kind
    _end_sessions(request, session, principal, everywhere=True)
    return redirect(request, f"/logged-out?who={kind}&everywhere=1")


@router.get("/logged-out", include_in_schema=False)
def logged_out(request: Request, who: str = "", everywhere: str = ""):
    return render(request, "auth/logged_out.html", {"owner": who == "owner", "everywhere": everywhere == "1"})


@router.get("/account", include_in_schema=False)
def account_page(request: Request, session: SessionDep, principal: Annotated[Principal, require(Action.ACCOUNT_SELF)]):
    account = session.get(Account, principal.account_id)
    open_sessions = session.scalars(
        select(AuthSession).where(AuthSession.account_id == account.id, AuthSession.revoked_at.is_(None),
                                  AuthSession.stage == sessions.FULL)
    ).all()
    settings = request.app.state.settings
    now = now_for(request)
    active = [row for row in open_sessions if sessions.inactive_reason(row, settings=settings, now=now) is None]
    failures = session.scalars(
        select(SecurityEvent)
        .where(SecurityEvent.subject == f"account:{account.id}", SecurityEvent.type == events.LOGIN_FAILED)
        .order_by(SecurityEvent.at.desc())
        .limit(5)
    ).all()
    context = {
        "account": account,
        "role_label": ROLE_LABELS[Role(account.role)],
        "estates": _estates_of(session, principal),
        "all_estates": account.role == Role.ADMIN,
        "sessions": len(active),
        "failures": failures,
        "may_read_events": principal.may(Action.SECURITY_EVENTS_READ),
        "notice": request.query_params.get("done"),
    }
    return render(request, "auth/account.html", context)


@router.get("/account/totp", include_in_schema=False)
def account_totp_page(request: Request, session: SessionDep,
                      principal: Annotated[Principal, require(Action.ACCOUNT_SELF)]):
    account = session.get(Account, principal.account_id)
    if account.totp_enabled_at is not None:
        return RedirectResponse("/account", status_code=303)
    return _totp_page(request, session, account=account, stage=sessions.TOTP_SETUP, next_url="/account?done=totp",
                      action="/account/totp")


@router.post("/account/totp/start", include_in_schema=False)
def account_totp_start(request: Request, session: SessionDep,
                       principal: Annotated[Principal, require(Action.ACCOUNT_SELF)]):
    """Make the secret to set up (a POST: the GET page only shows it)."""
    account = session.get(Account, principal.account_id)
    if account.totp_enabled_at is None:
        accounts.begin_totp_setup(session, account=account, settings=request.app.state.settings)
    return redirect(request, "/account/totp")


@router.post("/account/totp", include_in_schema=False)
def account_totp_submit(request: Request, session: SessionDep,
                        principal: Annotated[Principal, require(Action.ACCOUNT_SELF)], code: FormText = ""):
    account = session.get(Account, principal.account_id)
    if account.totp_enabled_at is not None or account.totp_secret is None:  # done already, or not started
        return redirect(request, "/account")
    attempt = accounts.check_totp(session, settings=request.app.state.settings, account=account, code=code,
                                  ip=client_ip(request), now=now_for(request), setup=True)
    if not attempt.ok:
        return _totp_page(request, session, account=account, stage=sessions.TOTP_SETUP,
                          next_url="/account?done=totp", error=attempt.error, action="/account/totp")
    return redirect(request, "/account?done=totp")


@router.get("/account/password", include_in_schema=False)
def password_page(request: Request, principal: Annotated[Principal, require(Action.ACCOUNT_SELF)]):
    return render(request, "auth/password.html", {"errors": {}})


@router.post("/account/password", include_in_schema=False)
def password_submit(request: Request, session: SessionDep,
                    principal: Annotated[Principal, require(Action.ACCOUNT_SELF)],
                    current: FormText = "", new: FormText = "", confirm: FormText = ""):
    account = session.get(Account, principal.account_id)
    if new != confirm:
        errors = {"confirm": "两次输入的新密码不一致"}
        return render(request, "auth/password.html", {"errors": errors}, status_code=422)
    attempt = accounts.change_password(session, settings=request.app.state.settings, account=account, current=current,
                                       new=new, ip=client_ip(request), now=now_for(request),
                                       keep_session_id=principal.session_id)
    if not attempt.ok:
        field = "new" if attempt.error.code == "weak_password" else "current"
        return render(request, "auth/password.html", {"errors": {field: zh(attempt.error.message)}},
                      status_code=attempt.error.status)
    return redirect(request, "/account?done=password")


def _event_rows(session, estate: Estate, limit: int = 200) -> list[SecurityEvent]:
    return list(
        session.scalars(
            select(SecurityEvent).where(SecurityEvent.estate_id == estate.id).order_by(SecurityEvent.at.desc()).limit(limit)
        ).all()
    )


@router.get("/estate/{code}/security", include_in_schema=False)
def security_events_page(request: Request, session: SessionDep,
                         estate: Annotated[Estate, estate_for(Action.SECURITY_EVENTS_READ)]):
    return render(request, "auth/security_events.html", {"estate": estate, "events": _event_rows(session, estate)})


# --- API -------------------------------------------------------------------------------------------


class LoginBody(BaseModel):
    username: str = Field(max_length=200)
    password: str = Field(max_length=1000)
    totp_code: str | None = Field(default=None, max_length=20)


def principal_json(principal: Principal) -> dict:
    return {
        "kind": principal.kind,
        "role": principal.role.value if principal.role else None,
        "pseudonym": principal.pseudonym,
        "display_name": principal.display_name,
    }


@router.get("/api/auth/csrf", tags=["auth"])
def api_csrf(request: Request) -> dict:
    """The CSRF token to send as X-CSRF-Token with the next state-changing request."""
    return {"csrf_token": request.state.csrf_token}


@router.post("/api/auth/login", tags=["auth"])
def api_login(request: Request, session: SessionDep, body: LoginBody):
    """Staff login; accounts with a second factor send `totp_code` in the same request."""
    now, ip = now_for(request), client_ip(request)
    settings = request.app.state.settings
    attempt = accounts.check_password(session, settings=settings, username=body.username, password=body.password,
                                      ip=ip, now=now)
    if not attempt.ok:
        return api_error(request, attempt.error)
    account = attempt.account
    step = accounts.needs_second_factor(account)
    if step == sessions.TOTP_SETUP:  # a session that may only set the factor up (assembly.auth.totp_routes)
        csrf = begin_session(request, session, account_id=account.id, stage=sessions.TOTP_SETUP, now=now)
        return api_error(request, Forbidden(
            "请先设置两步验证 / set up the second factor first: POST /api/auth/totp/setup, then /api/auth/totp/confirm",
            code="totp_setup_required",
            detail={"csrf_token": csrf, "setup": "/api/auth/totp/setup", "confirm": "/api/auth/totp/confirm"}))
    method = "password"
    if step == sessions.TOTP:
        if not body.totp_code:
            return api_error(request, Unauthenticated("请输入两步验证码 / a TOTP code is required", code="totp_required"))
        attempt = accounts.check_totp(session, settings=settings, account=account, code=body.totp_code, ip=ip, now=now)
        if not attempt.ok:
            return api_error(request, attempt.error)
        method = "password+totp"
    csrf = begin_session(request, session, account_id=account.id, stage=sessions.FULL, now=now)
    accounts.record_login(session, account=account, ip=ip, now=now, method=method)
    return {"principal": {"kind": "account", "role": account.role, "pseudonym": account.pseudonym,
                          "display_name": account.display_name}, "csrf_token": csrf}


@router.post("/api/auth/logout", tags=["auth"])
def api_logout(request: Request, session: SessionDep, principal: CurrentPrincipal) -> dict:
    _end_sessions(request, session, principal, everywhere=False)
    return {"ok": True}


@router.post("/api/auth/logout-everywhere", tags=["auth"])
def api_logout_everywhere(request: Request, session: SessionDep, principal: CurrentPrincipal) -> dict:
    if not principal.authenticated:
        raise Unauthenticated("请先登录 / please log in")
    _end_sessions(request, session, principal, everywhere=True)
    return {"ok": True}


# An estate's code as onboarding allows it: anything else (a NUL byte broke PostgreSQL's query) is a 422.
EstateCode = Annotated[str, Field(pattern=ESTATE_CODE.pattern, max_length=40)]


class AccountBody(BaseModel):
    username: str = Field(max_length=40)
    display_name: str = Field(max_length=100)
    role: Role
    estates: list[EstateCode] = Field(default_factory=list, max_length=500)
    street_office_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


class ScopeBody(BaseModel):
    estates: list[EstateCode] = Field(max_length=500)


def _estate_ids(session, codes: list[str]) -> set[int]:
    found = dict(session.execute(select(Estate.code, Estate.id).where(Estate.code.in_(codes))).all())
    missing = sorted(set(codes) - set(found))
    if missing:
        raise InvalidInput(f"没有这些小区：{', '.join(missing)} / unknown estates", code="estate_not_found")
    return set(found.values())


def _account_json(session, account: Account) -> dict:
    estates = sessions.account_estate_ids(session, account)
    codes = (
        sorted(session.scalars(select(Estate.code).where(Estate.id.in_(sorted(estates)))).all())
        if isinstance(estates, frozenset)
        else "all"
    )
    return {"username": account.username, "display_name": account.display_name, "role": account.role,
            "estates": codes, "street_office_id": account.street_office_id,
            "disabled": account.disabled_at is not None, "totp": account.totp_enabled_at is not None}


def _managed_account(session, principal: Principal, username: str) -> Account:
    account = accounts.require_account(session, username)
    estates = sessions.account_estate_ids(session, account)
    # Accounts outside the manager's reach are "not found", not "forbidden": their names stay private.
    if not may_create(principal.role, account.role) or (
        isinstance(estates, frozenset) and estates and not any(e in principal.estate_ids for e in estates)
    ):
        raise NotFound("没有这个账户 / no such account", code="account_not_found")
    return account


@router.post("/api/accounts", tags=["auth"], status_code=201)
def api_create_account(request: Request, session: SessionDep, body: AccountBody,
                       principal: Annotated[Principal, require(Action.ACCOUNT_MANAGE)]):
    """Create an account below one's own role; the generated password is in the answer, once."""
    created = accounts.create_account(
        session, created_by=principal, username=body.username, display_name=body.display_name, role=body.role,
        estate_ids=_estate_ids(session, body.estates), street_office_id=body.street_office_id,
        now=now_for(request), ip=client_ip(request),
    )
    return JSONResponse({**_account_json(session, created.account), "password": created.password}, status_code=201,
                        headers={"Cache-Control": "no-store"})


@router.put("/api/accounts/{username}/estates", tags=["auth"])
def api_account_scope(request: Request, session: SessionDep, username: str, body: ScopeBody,
                      principal: Annotated[Principal, require(Action.ACCOUNT_MANAGE)]) -> dict:
    account = _managed_account(session, principal, username)
    accounts.set_scope(session, by=principal, account=account, estate_ids=_estate_ids(session, body.estates),
                       now=now_for(request), ip=client_ip(request))
    return _account_json(session, account)


@router.post("/api/accounts/{username}/disable", tags=["auth"])
def api_account_disable(request: Request, session: SessionDep, username: str,
                        principal: Annotated[Principal, require(Action.ACCOUNT_MANAGE)]) -> dict:
    account = _managed_account(session, principal, username)
    accounts.disable_account(session, by=principal, account=account, now=now_for(request), ip=client_ip(request))
    return _account_json(session, account)


@router.get("/api/estates/{code}/security-events", tags=["auth"])
def api_security_events(session: SessionDep, estate: Annotated[Estate, estate_for(Action.SECURITY_EVENTS_READ)]):
    """The estate's security events in their audit-entry form (observers see repeated failures here)."""
    return {"estate": estate.code, "events": [events.as_audit_entry(event) for event in _event_rows(session, estate)]}
