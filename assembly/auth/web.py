"""Sessions and CSRF on the web: the cookie middleware and the application-wide `authenticate` dependency.

- The session cookie is `__Host-assembly` (Secure, Path=/) whenever the site is served over HTTPS,
  `assembly_session` otherwise; HttpOnly and SameSite=Lax either way.
- Every state-changing request (POST, PUT, PATCH, DELETE) carries a CSRF token — in the form field
  `csrf_token` or the `X-CSRF-Token` header (htmx sends it through `hx-headers` on <body>). The
  token is an HMAC of the session id, or before login of a random per-browser value kept in its own
  cookie, so the login form is protected too.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assembly.auth import sessions, tokens
from assembly.auth.errors import CsrfFailed, Throttled, Unauthenticated
from assembly.auth.models import AuthSession
from assembly.config import Settings
from assembly.db import read_only, unit_of_work
from assembly.permissions import ANONYMOUS, Principal
from assembly.web.bodies import FORM_TYPES, BodyLimits
from assembly.web.deps import connection_slot, write_gate
from assembly.web.errors import error_response, wants_json
from assembly.web.http import client_ip, is_https, now_for

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def session_cookie_name(settings: Settings) -> str:
    return "__Host-assembly" if is_https(settings) else "assembly_session"


def nonce_cookie_name(settings: Settings) -> str:
    return "__Host-assembly-csrf" if is_https(settings) else "assembly_csrf"


def _cookie(name: str, value: str, *, secure: bool, max_age: int | None = None) -> bytes:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


class AuthCookies:
    """Pure ASGI middleware: reads the two cookies into the request state, writes what a handler asked for.

    Handlers never format cookies: they set `request.state.new_session_token` (after a login) or
    `request.state.clear_session` (logout, or a cookie naming a dead session).
    """

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.secure = is_https(settings)
        self.session_name = session_cookie_name(settings)
        self.nonce_name = nonce_cookie_name(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = b"; ".join(value for name, value in scope.get("headers", []) if name == b"cookie")
        cookies = cookie_parser(raw.decode("latin-1"))
        state = scope.setdefault("state", {})
        nonce = cookies.get(self.nonce_name, "")
        fresh_nonce = not _NONCE_RE.fullmatch(nonce)
        if fresh_nonce:
            nonce = secrets.token_urlsafe(32)
        state["browser_nonce"] = nonce
        state["session_cookie"] = cookies.get(self.session_name)

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if fresh_nonce:
                    headers.append((b"set-cookie", _cookie(self.nonce_name, nonce, secure=self.secure)))
                if state.get("new_session_token"):
                    headers.append((b"set-cookie", _cookie(self.session_name, state["new_session_token"], secure=self.secure)))
                elif state.get("clear_session"):
                    headers.append((b"set-cookie", _cookie(self.session_name, "", secure=self.secure, max_age=0)))
                personal = state.get("new_session_token") or state.get("clear_session") or state.get("principal_kind")
                if personal and not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))  # pages of a logged-in person: never cached
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookies)


@dataclass(frozen=True)
class AuthState:
    """The session a request came with (any stage), for logout and the login steps."""

    session_id: int
    sid: str
    stage: str
    account_id: int | None
    card_id: int | None


def _resolve(engine, settings: Settings, token: str | None, now: datetime):
    """(auth, principal, whether last_seen_at is due a write); reads only."""
    if not token:
        return None, None, False
    with Session(read_only(engine)) as db:
        active = sessions.resolve(db, token=token, settings=settings, now=now)
        if active is None:
            return None, None, False
        row = active.row
        auth = AuthState(row.id, active.sid, row.stage, row.account_id, row.card_id)
        principal = sessions.principal_for(db, row) if row.stage == sessions.FULL else None
        if row.stage == sessions.FULL and principal is None:
            return None, None, False  # the account was disabled or the card revoked
    return auth, principal, active.needs_touch


def _touch(engine, session_id: int, now: datetime) -> None:
    with unit_of_work(engine) as db:
        sessions.touch(db, session_id=session_id, now=now)


async def authenticate(request: Request) -> None:
    """Application-wide dependency: who is asking (request.state.principal) and the CSRF check."""
    settings: Settings = request.app.state.settings
    state = request.state
    token = getattr(state, "session_cookie", None)
    engine, now = request.app.state.engine, now_for(request)
    async with connection_slot(engine):  # never wait for a connection in a pool thread (web/deps.py)
        auth, principal, needs_touch = await run_in_threadpool(_resolve, engine, settings, token, now)
    if needs_touch:  # a write: its turn at the write gate first
        async with write_gate(engine), connection_slot(engine):
            await run_in_threadpool(_touch, engine, auth.session_id, now)
    if token and auth is None:
        state.clear_session = True
    state.auth = auth
    state.principal = principal or ANONYMOUS
    state.principal_kind = state.principal.kind if principal else None
    nonce = getattr(state, "browser_nonce", None) or request.cookies.get(nonce_cookie_name(settings), "")
    expected = (
        tokens.csrf_for_session(auth.sid, secret_key=settings.secret_key)
        if auth
        else tokens.csrf_for_anonymous(nonce, secret_key=settings.secret_key)
    )
    state.csrf_token = expected
    if request.method in UNSAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        content_type = request.headers.get("content-type", "")
        if not sent and content_type.startswith(FORM_TYPES):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise csrf_failed()


def csrf_failed() -> CsrfFailed:
    return CsrfFailed("页面已过期或来源不明，请返回上一页刷新后重试 / the form expired or came from elsewhere; reload and retry")


_EPOCH = datetime.fromtimestamp(0, UTC)


def csrf_refused_early(scope: Scope, *, settings: Settings) -> CsrfFailed | None:
    """Whether a request is certain to fail `authenticate`'s CSRF check, judged from its headers and
    cookies alone, so that its body need not be read (assembly.web.bodies asks before reading).
    It refuses only what `authenticate` would refuse: a state-changing request without a token
    outside a form's body, or with a header token matching neither the session the cookie names
    (whatever the database says of it) nor the browser's nonce. `authenticate` still decides."""
    if scope.get("method") not in UNSAFE_METHODS:
        return None
    headers = Headers(scope=scope)
    sent = headers.get(CSRF_HEADER)
    if not sent:  # only a form's body can hold the token then
        return None if headers.get("content-type", "").startswith(FORM_TYPES) else csrf_failed()
    state = scope.get("state", {})
    accepted = [tokens.csrf_for_anonymous(state.get("browser_nonce") or "", secret_key=settings.secret_key)]
    # Expiry is not judged here (no clock): an expired session's token only passes on to `authenticate`.
    sid = tokens.decode_session_token(state.get("session_cookie") or "", secret_key=settings.secret_key, now=_EPOCH)
    if sid:
        accepted.append(tokens.csrf_for_session(sid, secret_key=settings.secret_key))
    return None if any(hmac.compare_digest(sent.encode(), token.encode()) for token in accepted) else csrf_failed()


def log_in(request: Request, new: sessions.NewSession) -> str:
    """Make the response carry the new session's cookie; returns its CSRF token."""
    request.state.new_session_token = new.token
    token = tokens.csrf_for_session(new.sid, secret_key=request.app.state.settings.secret_key)
    request.state.csrf_token = token
    return token


def log_out(request: Request) -> None:
    request.state.clear_session = True
    request.state.new_session_token = None


def begin_session(request: Request, session, *, stage: str, now: datetime, account_id: int | None = None,
                  card_id: int | None = None) -> str:
    """Log in: end whatever session this browser had, start a new one, set its cookie; its CSRF token."""
    auth = getattr(request.state, "auth", None)
    if auth is not None:
        row = session.get(AuthSession, auth.session_id)
        if row is not None:
            sessions.revoke(session, row, reason="replaced", now=now)
    new = sessions.start(
        session, settings=request.app.state.settings, now=now, stage=stage, account_id=account_id, card_id=card_id,
        ip=client_ip(request), user_agent=request.headers.get("user-agent"),
    )
    return log_in(request, new)


def install(app: FastAPI) -> None:
    """The cookie middleware and the handlers that turn 401 into a login page for people."""
    settings = app.state.settings
    # Inside the cookie middleware: the early CSRF check reads the cookies it put in the scope.
    app.add_middleware(BodyLimits, settings=settings, csrf_refused=lambda scope: csrf_refused_early(scope, settings=settings))
    app.add_middleware(AuthCookies, settings=settings)

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(request: Request, error: Unauthenticated):
        if request.method == "GET" and not wants_json(request):
            expired = "&expired=1" if getattr(request.state, "clear_session", False) else ""  # a cookie that no longer works
            return RedirectResponse(f"/login?next={quote(request.url.path)}{expired}", status_code=303)
        return error_response(request, error.status, error.code, error.message, error.detail)

    @app.exception_handler(Throttled)
    async def _throttled(request: Request, error: Throttled):
        response = error_response(request, error.status, error.code, error.message, error.detail)
        response.headers["Retry-After"] = str(error.retry_after)
        return response


def principal_of(request: Request) -> Principal:
    return getattr(request.state, "principal", ANONYMOUS)
