"""The proxy's login 代理人登录: a page and an API call taking the code from the slip the committee
handed over and the last four characters of the proxy's identity number; success starts a
server-side session for the one meeting of the code."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from assembly.auth import sessions
from assembly.auth.models import AuthSession
from assembly.auth.web import log_in
from assembly.proxies import login as proxy_login
from assembly.web.deps import FormDep, SessionDep
from assembly.web.http import api_error, client_ip, now_for, redirect, zh
from assembly.web.templating import render

router = APIRouter()


def _start(request: Request, session, login, now) -> str:
    """End whatever session this browser had, start the proxy's, set its cookie; its CSRF token."""
    auth = getattr(request.state, "auth", None)
    if auth is not None:
        row = session.get(AuthSession, auth.session_id)
        if row is not None:
            sessions.revoke(session, row, reason="replaced", now=now)
    new = sessions.start(session, settings=request.app.state.settings, now=now, proxy_login_id=login.id,
                         ip=client_ip(request), user_agent=request.headers.get("user-agent"))
    return log_in(request, new)


def _attempt(request: Request, session, code: str, id_tail: str) -> proxy_login.Attempt:
    return proxy_login.check_login(session, id_key=request.app.state.settings.id_hash_key, code=code, id_tail=id_tail,
                                   ip=client_ip(request), now=now_for(request))


@router.get("/proxy/login", include_in_schema=False)
def login_page(request: Request):
    return render(request, "proxy/login.html", {})


@router.post("/proxy/login", include_in_schema=False)
def login_form(request: Request, session: SessionDep, form: FormDep):
    code, tail = str(form.get("code") or "")[:40], str(form.get("id_tail") or "")[:8]
    attempt = _attempt(request, session, code, tail)
    if not attempt.ok:  # answered, not raised: the failure and its slow-down must commit
        return render(request, "proxy/login.html", {"error": zh(attempt.error.message)},
                      status_code=attempt.error.status)
    _start(request, session, attempt.login, now_for(request))
    return redirect(request, "/proxy")


class ProxyLoginBody(BaseModel):
    code: str = Field(max_length=40)
    id_tail: str = Field(max_length=8)


@router.post("/api/proxy/login", tags=["proxies"])
def api_login(request: Request, session: SessionDep, body: ProxyLoginBody):
    attempt = _attempt(request, session, body.code, body.id_tail)
    if not attempt.ok:
        return api_error(request, attempt.error)
    csrf = _start(request, session, attempt.login, now_for(request))
    return {"meeting": attempt.login.meeting_id, "proxy": attempt.login.pseudonym, "csrf_token": csrf}
