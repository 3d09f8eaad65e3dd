"""The owner's side: the card page a QR code opens (activate, set a PIN, or enter it), the owner's
home, PIN change, and the card-issuing API for residents'-committee and street-office staff.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from assembly.area import format_area
from assembly.auth import cards, hashing, sessions
from assembly.auth.errors import Unauthenticated
from assembly.auth.models import OwnerCard
from assembly.auth.routes import principal_json
from assembly.auth.web import begin_session
from assembly.errors import AssemblyError, InvalidInput, NotFound
from assembly.identity import mask_name
from assembly.notify import owners as owner_notices
from assembly.permissions import Action, CurrentPrincipal, Principal, estate_for, require, scope_to_estates
from assembly.register import voters
from assembly.register.models import Community, Estate, Person
from assembly.voting.card_ends import waiting_for
from assembly.web.deps import SessionDep
from assembly.web.http import FormText, api_error, client_ip, now_for, redirect, zh
from assembly.web.templating import render

router = APIRouter()


def _pending_pin(request: Request, card: OwnerCard) -> bool:
    auth = getattr(request.state, "auth", None)
    return auth is not None and auth.stage == sessions.SET_PIN and auth.card_id == card.id


def _card_page(request: Request, session, *, token: str, card: OwnerCard, error: AssemblyError | None = None,
               error_field: str | None = None):
    if card.activated_at is None:
        step = "set_pin" if _pending_pin(request, card) else "activate"
    else:
        step = "pin"
    estate = session.get(Estate, card.estate_id)
    context = {
        "token": token,
        "card": card,
        "number": cards.format_number(card.number),
        "estate": estate,
        "step": step,
        "error": zh(error.message) if error else None,
        "error_field": error_field,
    }
    return render(request, "auth/card.html", context, status_code=error.status if error else 200)


@router.get("/c/{token}", include_in_schema=False)
def card_page(token: str, request: Request, session: SessionDep):
    """Where the QR code leads: the right step for this card, or the owner's home if already in."""
    card = cards.card_by_token(session, token)
    principal = request.state.principal
    if principal.card_id == card.id:
        return RedirectResponse("/me", status_code=303)
    return _card_page(request, session, token=token, card=card)


@router.post("/c/{token}/activate", include_in_schema=False)
def card_activate(token: str, request: Request, session: SessionDep, activation_code: FormText = "",
                  id_tail: FormText = ""):
    card = cards.card_by_token(session, token)
    now, ip = now_for(request), client_ip(request)
    if not activation_code.strip() or not id_tail.strip():
        field = "activation_code" if not activation_code.strip() else "id_tail"
        error = InvalidInput("请填写激活码和身份证号后四位 / enter both")
        return _card_page(request, session, token=token, card=card, error=error, error_field=field)
    attempt = cards.check_activation(session, settings=request.app.state.settings, card=card,
                                     activation_code=activation_code, id_tail=id_tail, ip=ip, now=now)
    if not attempt.ok:
        return _card_page(request, session, token=token, card=card, error=attempt.error,
                          error_field="activation_code")
    begin_session(request, session, card_id=card.id, stage=sessions.SET_PIN, now=now)
    return redirect(request, f"/c/{token}")


@router.post("/c/{token}/pin", include_in_schema=False)
def card_set_pin(token: str, request: Request, session: SessionDep, pin: FormText = "", pin_confirm: FormText = ""):
    card = cards.card_by_token(session, token)
    now, ip = now_for(request), client_ip(request)
    if card.activated_at is not None or not _pending_pin(request, card):
        return redirect(request, f"/c/{token}")
    if pin != pin_confirm:
        error = InvalidInput("两次输入的 PIN 不一致 / the two PINs differ")
        return _card_page(request, session, token=token, card=card, error=error, error_field="pin_confirm")
    attempt = cards.set_first_pin(session, card=card, pin=pin, ip=ip, now=now)
    if not attempt.ok:
        return _card_page(request, session, token=token, card=card, error=attempt.error, error_field="pin")
    begin_session(request, session, card_id=card.id, stage=sessions.FULL, now=now)
    cards.record_login(session, card=card, ip=ip, now=now, method="activation")
    return redirect(request, "/me?welcome=1")


@router.post("/c/{token}/login", include_in_schema=False)
def card_login(token: str, request: Request, session: SessionDep, pin: FormText = ""):
    card = cards.card_by_token(session, token)
    now, ip = now_for(request), client_ip(request)
    if not pin.strip():
        error = InvalidInput("请输入 PIN / enter your PIN")
        return _card_page(request, session, token=token, card=card, error=error, error_field="pin")
    attempt = cards.check_pin(session, card=card, pin=pin, ip=ip, now=now)
    if not attempt.ok:
        return _card_page(request, session, token=token, card=card, error=attempt.error, error_field="pin")
    begin_session(request, session, card_id=card.id, stage=sessions.FULL, now=now)
    cards.record_login(session, card=card, ip=ip, now=now, method="pin")
    return redirect(request, "/me")


def _owner_context(request: Request, session, principal: Principal) -> dict:
    card = session.get(OwnerCard, principal.card_id)
    person = session.get(Person, principal.person_id)
    estate = session.get(Estate, card.estate_id)
    community = session.get(Community, estate.community_id)
    return {
        "card": card,
        "number": cards.format_number(card.number),
        "person": person,
        "estate": estate,
        "community": community,
        "units": cards.owner_units(session, person=person),
        "failures": cards.recent_failures(session, card=card, now=now_for(request)),
    }


def _home_extras(session, person: Person, now) -> dict:
    """What the home page adds: the owner's notices, their co-owned units' voters, and — for a
    former owner — the open meetings their card still works for."""
    notices = owner_notices.notices_of(session, person_id=person.id)
    return {
        "notices": [(notice, owner_notices.EVENTS[notice.event], owner_notices.delivery(notice, person))
                    for notice in notices],
        "voters": _voters_by_unit(session, person),
        "waiting_meetings": waiting_for(session, person=person, now=now),
    }


def _voters_by_unit(session, person: Person) -> dict:
    """Unit code → its co-owned member (with the voter in force, if any), for the owner's units."""
    members = voters.members(session, estate_id=person.estate_id, person_id=person.id)
    return {code: member for member in members for code in member.units}


@router.get("/me", include_in_schema=False)
def owner_home(request: Request, session: SessionDep, principal: Annotated[Principal, require(Action.OWNER_HOME)]):
    context = _owner_context(request, session, principal)
    context.update(_home_extras(session, context["person"], now_for(request)))
    context["welcome"] = request.query_params.get("welcome") == "1"
    context["notice"] = request.query_params.get("done")
    return render(request, "auth/owner_home.html", context)


@router.get("/me/pin", include_in_schema=False)
def pin_page(request: Request, principal: Annotated[Principal, require(Action.OWNER_HOME)]):
    return render(request, "auth/pin.html", {"error": None, "error_field": None})


@router.post("/me/pin", include_in_schema=False)
def pin_submit(request: Request, session: SessionDep, principal: Annotated[Principal, require(Action.OWNER_HOME)],
               current: FormText = "", new: FormText = "", confirm: FormText = ""):
    card = session.get(OwnerCard, principal.card_id)
    if new != confirm:
        return render(request, "auth/pin.html", {"error": "两次输入的新 PIN 不一致", "error_field": "confirm"}, status_code=422)
    attempt = cards.change_pin(session, card=card, current=current, new=new, ip=client_ip(request),
                               now=now_for(request))
    if not attempt.ok:
        field = "new" if attempt.error.code == "weak_pin" else "current"
        return render(request, "auth/pin.html", {"error": zh(attempt.error.message), "error_field": field},
                      status_code=attempt.error.status)
    return redirect(request, "/me?done=pin")


# --- API -------------------------------------------------------------------------------------------


class ActivateBody(BaseModel):
    activation_code: str = Field(min_length=1, max_length=40)
    id_tail: str = Field(min_length=1, max_length=20)
    pin: str = Field(min_length=1, max_length=40)


class PinBody(BaseModel):
    pin: str = Field(min_length=1, max_length=40)


class IssueBody(BaseModel):
    person: str = Field(max_length=24, description="the owner's pseudonym")


class ReasonBody(BaseModel):
    reason: str = Field(default="lost", max_length=40)


@router.get("/api/me", tags=["auth"])
def api_me(request: Request, session: SessionDep, principal: CurrentPrincipal) -> dict:
    """Who is logged in; for an owner also their estate, card and units (as on the home page)."""
    if not principal.authenticated:
        raise Unauthenticated("请先登录 / please log in")
    body = principal_json(principal)
    if principal.kind == "owner":
        context = _owner_context(request, session, principal)
        body.update(estate=context["estate"].code, card=context["card"].number,
                    units=_units_json(context["units"], _voters_by_unit(session, context["person"])),
                    recent_failures=len(context["failures"]))
    else:
        estates = session.scalars(scope_to_estates(select(Estate.code), Estate.id, principal).order_by(Estate.code))
        body["estates"] = list(estates)
    return body


@router.get("/api/me/notices", tags=["auth"])
def api_my_notices(session: SessionDep, principal: Annotated[Principal, require(Action.OWNER_HOME)]) -> dict:
    """The owner's notices (activation, PIN change, ballots, voter designation, card ended), newest first."""
    return {"notices": [owner_notices.as_json(notice)
                        for notice in owner_notices.notices_of(session, person_id=principal.person_id)]}


def _units_json(units: list[dict], voters: dict) -> list[dict]:
    """The owner's units; a co-owned one also says who votes for it (masked; null: any co-owner)."""
    found = []
    for u in units:
        line = {"unit": u["code"], "area": format_area(u["area"]), "area_source": u["area_source"],
                "owners": u["owners"]}
        if u["owners"] > 1:
            member = voters.get(u["code"])
            line["voter"] = mask_name(member.voter.name) if member and member.voter else None
        found.append(line)
    return found


@router.post("/api/cards/{token}/activate", tags=["cards"])
def api_card_activate(token: str, request: Request, session: SessionDep, body: ActivateBody):
    """First use of a card: activation code, identity-number ending and the new PIN in one request."""
    card = cards.card_by_token(session, token)
    now, ip = now_for(request), client_ip(request)
    problem = hashing.pin_problem(hashing.normalize_digits(body.pin))
    if problem:  # the PIN is checked first: a refused PIN must not spend an activation attempt
        return api_error(request, InvalidInput(problem, code="weak_pin"))
    attempt = cards.check_activation(session, settings=request.app.state.settings, card=card,
                                     activation_code=body.activation_code, id_tail=body.id_tail, ip=ip, now=now)
    if attempt.ok:
        attempt = cards.set_first_pin(session, card=card, pin=body.pin, ip=ip, now=now)
    if not attempt.ok:
        return api_error(request, attempt.error)
    csrf = begin_session(request, session, card_id=card.id, stage=sessions.FULL, now=now)
    cards.record_login(session, card=card, ip=ip, now=now, method="activation")
    return {"card": card.number, "csrf_token": csrf}


@router.post("/api/cards/{token}/login", tags=["cards"])
def api_card_login(token: str, request: Request, session: SessionDep, body: PinBody):
    card = cards.card_by_token(session, token)
    now, ip = now_for(request), client_ip(request)
    attempt = cards.check_pin(session, card=card, pin=body.pin, ip=ip, now=now)
    if not attempt.ok:
        return api_error(request, attempt.error)
    csrf = begin_session(request, session, card_id=card.id, stage=sessions.FULL, now=now)
    cards.record_login(session, card=card, ip=ip, now=now, method="pin")
    return {"card": card.number, "csrf_token": csrf}


def _person(session, estate: Estate, pseudonym: str) -> Person:
    person = session.scalars(select(Person).where(Person.pseudonym == pseudonym, Person.estate_id == estate.id)).first()
    if person is None:
        raise NotFound("该小区没有这位业主 / no such owner in this estate", code="person_not_found")
    return person


def _issued_json(request: Request, issued: cards.IssuedCard) -> JSONResponse:
    body = {
        "number": issued.card.number,
        "url": issued.url(request.app.state.settings.site_url),
        "token": issued.token,
        "activation_code": issued.activation_code,
    }
    return JSONResponse(body, status_code=201, headers={"Cache-Control": "no-store"})


@router.post("/api/estates/{code}/cards", tags=["cards"], status_code=201)
def api_issue_card(request: Request, session: SessionDep, body: IssueBody,
                   estate: Annotated[Estate, estate_for(Action.CARD_ISSUE)]):
    """Issue an owner's first card; the token and activation code are in this answer only (for printing)."""
    issued = cards.issue_card(session, person=_person(session, estate, body.person), issued_by=request.state.principal,
                              now=now_for(request), ip=client_ip(request))
    return _issued_json(request, issued)


@router.post("/api/estates/{code}/cards/{number}/reissue", tags=["cards"], status_code=201)
def api_reissue_card(number: str, request: Request, session: SessionDep, body: ReasonBody,
                     estate: Annotated[Estate, estate_for(Action.CARD_ISSUE)]):
    card = cards.card_by_number(session, estate=estate, number=number)
    issued = cards.reissue_card(session, card=card, issued_by=request.state.principal, reason=body.reason,
                                now=now_for(request), ip=client_ip(request))
    return _issued_json(request, issued)


@router.post("/api/estates/{code}/cards/{number}/revoke", tags=["cards"])
def api_revoke_card(number: str, request: Request, session: SessionDep, body: ReasonBody,
                    estate: Annotated[Estate, estate_for(Action.CARD_ISSUE)]) -> dict:
    card = cards.card_by_number(session, estate=estate, number=number)
    cards.revoke_card(session, card=card, by=request.state.principal, reason=body.reason, now=now_for(request),
                      ip=client_ip(request))
    return {"number": card.number, "revoked": True}

