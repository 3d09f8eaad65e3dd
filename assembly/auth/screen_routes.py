"""Scan-to-login pages: the shared screen's side (/screen…) and the phone's side (/s/{token}…).

The screen polls its status with htmx every two seconds; without JavaScript a refresh button does
the same. Picking up the session is a POST (nothing changes on GET), sent by htmx as soon as the
status says the phone confirmed, or by the button.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assembly.auth import cards, screen_login, sessions
from assembly.auth.models import AuthSession
from assembly.auth.web import log_in
from assembly.permissions import Action, CurrentPrincipal, check
from assembly.web.deps import SessionDep
from assembly.web.http import FormText, client_ip, is_https, now_for, redirect, zh
from assembly.web.templating import render

router = APIRouter()


def cookie_name(request: Request) -> str:
    return "__Host-assembly-screen" if is_https(request.app.state.settings) else "assembly_screen"


def _screen_secret(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request))


def _set_cookie(request: Request, response: Response, secret: str | None) -> Response:
    secure = is_https(request.app.state.settings)
    if secret is None:
        response.delete_cookie(cookie_name(request), path="/", secure=secure, httponly=True, samesite="strict")
    else:
        max_age = int((screen_login.QR_LIFETIME + screen_login.CLAIM_WINDOW).total_seconds()) + 60
        response.set_cookie(cookie_name(request), secret, max_age=max_age, path="/", secure=secure, httponly=True,
                            samesite="strict")
    return response


def _status_context(request: Request, session) -> dict:
    now = now_for(request)
    secret = _screen_secret(request)
    row = screen_login.for_screen(session, secret)
    context: dict = {"row": row, "state": screen_login.state(row, now=now) if row else None}
    if row is not None and context["state"] == screen_login.PENDING:
        token = screen_login.qr_token(secret, secret_key=request.app.state.settings.secret_key)
        url = f"{request.app.state.settings.site_url.rstrip('/')}/s/{token}"
        context.update(qr=screen_login.qr_svg(url), seconds_left=max(0, int((row.expires_at - now).total_seconds())))
    return context


@router.get("/screen", include_in_schema=False)
def screen_page(request: Request):
    return render(request, "screen/start.html", {})


@router.post("/screen/start", include_in_schema=False)
def screen_start(request: Request, session: SessionDep, place: FormText = ""):
    started = screen_login.start(session, secret_key=request.app.state.settings.secret_key, now=now_for(request),
                                 ip=client_ip(request), user_agent=request.headers.get("user-agent"), place=place)
    return _set_cookie(request, redirect(request, "/screen/wait"), started.secret)


@router.get("/screen/wait", include_in_schema=False)
def screen_wait(request: Request, session: SessionDep):
    """The QR code and the code to compare, with the status below (polled)."""
    return render(request, "screen/wait.html", _status_context(request, session))


@router.get("/screen/status", include_in_schema=False)
def screen_status(request: Request, session: SessionDep):
    """The status part of the waiting page, for htmx polling."""
    return render(request, "screen/_status.html", _status_context(request, session))


@router.post("/screen/claim", include_in_schema=False)
def screen_claim(request: Request, session: SessionDep):
    """The screen picks up the session its owner confirmed on the phone."""
    now = now_for(request)
    row = screen_login.for_screen(session, _screen_secret(request), lock=True)  # one pick-up, even on a double click
    card = screen_login.claimable(session, row=row, now=now)
    previous = getattr(request.state, "auth", None)  # whatever session this browser had ends (no fixation)
    if previous is not None and (old := session.get(AuthSession, previous.session_id)) is not None:
        sessions.revoke(session, old, reason="replaced", now=now)
    new = sessions.start(session, settings=request.app.state.settings, now=now, stage=sessions.FULL, card_id=card.id,
                         ip=client_ip(request), user_agent=request.headers.get("user-agent"))
    screen_login.finish(session, row=row, session_row=new.row, now=now)
    log_in(request, new)
    cards.record_login(session, card=card, ip=client_ip(request), now=now, method="screen")
    return _set_cookie(request, redirect(request, "/me"), None)


# --- the phone -------------------------------------------------------------------------------------


def _phone_page(request: Request, session, token: str):
    now = now_for(request)
    principal = request.state.principal
    row = screen_login.for_token(session, token)
    current = screen_login.state(row, now=now)
    mine = row.card_id is not None and row.card_id == principal.card_id
    if principal.kind != "owner":
        status = 403 if principal.authenticated else 401  # the page says how to log the phone in first
    elif current == screen_login.PENDING or (mine and current != screen_login.EXPIRED):
        status = 200
    else:
        status = 410
    context = {
        "token": token,
        "row": row,
        "state": current,
        "mine": mine,
        "who": principal.kind,
        "device": screen_login.device(row.user_agent),
        "gone": zh(screen_login.GONE.get(current, "")),
    }
    return render(request, "screen/phone.html", context, status_code=status)


@router.get("/s/{token}", include_in_schema=False)
def phone_page(token: str, request: Request, session: SessionDep):
    """Where the screen's QR code leads: where the screen is, the code to compare, confirm or cancel."""
    return _phone_page(request, session, token)


@router.post("/s/{token}/confirm", include_in_schema=False)
def phone_confirm(token: str, request: Request, session: SessionDep, principal: CurrentPrincipal):
    check(principal, Action.SCREEN_LOGIN_CONFIRM)
    row = screen_login.for_token(session, token, lock=True)
    screen_login.confirm(session, row=row, owner=principal, ip=client_ip(request), now=now_for(request))
    return redirect(request, f"/s/{token}")


@router.post("/s/{token}/cancel", include_in_schema=False)
def phone_cancel(token: str, request: Request, session: SessionDep, principal: CurrentPrincipal):
    check(principal, Action.SCREEN_LOGIN_CONFIRM)
    row = screen_login.for_token(session, token, lock=True)
    screen_login.cancel(session, row=row, owner=principal, ip=client_ip(request), now=now_for(request))
    return redirect(request, f"/s/{token}")
