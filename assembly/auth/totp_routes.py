"""Second-factor set-up through the API (the pages' /login/totp and /account/totp as JSON): a
program logging in to an account that must set up TOTP first, or an account adding it, starts the
set-up (the otpauth URI and the secret, once per set-up) and confirms it with a current code."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from assembly.auth import accounts, sessions, totp
from assembly.auth.errors import Unauthenticated
from assembly.auth.models import Account
from assembly.auth.web import begin_session
from assembly.errors import Conflict, Forbidden
from assembly.permissions import Action, CurrentPrincipal
from assembly.web.deps import SessionDep
from assembly.web.http import api_error, client_ip, now_for

router = APIRouter(prefix="/api/auth/totp", tags=["auth"])
NO_STORE = {"Cache-Control": "no-store"}


class CodeBody(BaseModel):
    code: str = Field(min_length=1, max_length=20)


def _setting_up(request: Request, session, principal) -> tuple[Account, bool]:
    """The account whose second factor is being set up, and whether a login waits for it (the
    session `POST /api/auth/login` started when it answered `totp_setup_required`)."""
    if principal.kind == "account" and principal.may(Action.ACCOUNT_SELF):
        return session.get(Account, principal.account_id), False
    if principal.authenticated:  # an owner's card or a proxy's code has no second factor
        raise Forbidden("只有工作人员账户设置两步验证 / only staff accounts have a second factor", code="role_forbidden")
    auth = getattr(request.state, "auth", None)
    if auth is not None and auth.stage == sessions.TOTP_SETUP and auth.account_id is not None:
        return session.get(Account, auth.account_id), True
    raise Unauthenticated("请先登录 / please log in")


@router.post("/setup")
def start_setup(request: Request, session: SessionDep, principal: CurrentPrincipal):
    """Start (or show again, until confirmed) the set-up: the secret and its otpauth:// URI for an
    authenticator app. Confirm with `POST /api/auth/totp/confirm`."""
    account, _pending = _setting_up(request, session, principal)
    if account.totp_enabled_at is not None:
        raise Conflict("两步验证已启用 / the second factor is already set up", code="totp_enabled")
    secret = accounts.begin_totp_setup(session, account=account, settings=request.app.state.settings)
    return JSONResponse({"secret": totp.secret_base32(secret),
                         "otpauth_uri": totp.provisioning_uri(secret, account=account.username),
                         "confirm": "/api/auth/totp/confirm"}, headers=NO_STORE)


@router.post("/confirm")
def confirm_setup(request: Request, session: SessionDep, body: CodeBody, principal: CurrentPrincipal):
    """Enable the second factor with a current code; a login waiting for it is then complete (the
    answer carries the session's new CSRF token, as `POST /api/auth/login` does)."""
    account, pending = _setting_up(request, session, principal)
    if account.totp_enabled_at is not None:
        raise Conflict("两步验证已启用 / the second factor is already set up", code="totp_enabled")
    if account.totp_secret is None:
        raise Conflict("请先开始设置 / start the set-up first", code="totp_not_started")
    now, ip = now_for(request), client_ip(request)
    attempt = accounts.check_totp(session, settings=request.app.state.settings, account=account, code=body.code,
                                  ip=ip, now=now, setup=True)
    if not attempt.ok:
        return api_error(request, attempt.error)  # the failure's throttle records still commit
    if not pending:
        return {"enabled": True}
    csrf = begin_session(request, session, account_id=account.id, stage=sessions.FULL, now=now)
    accounts.record_login(session, account=account, ip=ip, now=now, method="password+totp")
    return {"enabled": True, "principal": {"kind": "account", "role": account.role, "pseudonym": account.pseudonym,
                                           "display_name": account.display_name}, "csrf_token": csrf}
