"""Phone pages of proxies 代理人 (Chinese, every form without JavaScript): the owner appoints a proxy
with the signed authorisation and withdraws it; the committee looks at each document and confirms
(the first confirmation shows the proxy's login slip, once) or rejects it; observers and the
residents' committee read the same list; the proxy sees the members they represent and votes."""

from __future__ import annotations

import json
import secrets
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assembly.errors import AssemblyError, InvalidInput
from assembly.identity import mask_name
from assembly.permissions import Action, CurrentPrincipal, Principal, estate_for, require
from assembly.proxies import api as proxy_api
from assembly.proxies import ballots as proxy_ballots
from assembly.proxies import login as proxy_login
from assembly.proxies import scans as proxy_scans
from assembly.proxies import service as proxies
from assembly.proxies.models import ProxyLogin
from assembly.proxies.slip import slip_pdf as render_slip
from assembly.register.models import Estate
from assembly.voting import casting, meetings, views
from assembly.voting.api import IdPath
from assembly.voting.models import Meeting
from assembly.web.bodies import takes_files
from assembly.web.deps import FormDep
from assembly.web.http import now_for, redirect, zh
from assembly.web.templating import render

router = APIRouter(include_in_schema=False)
documented = APIRouter()  # the page vote, in the OpenAPI description for programs


def _owner_page(request: Request, session, estate: Estate, meeting: Meeting, principal: Principal, *,
                error: str | None = None, values: dict | None = None, status: int = 200):
    held = proxies.owner_holdings(session, meeting=meeting, pseudonym=principal.pseudonym or "")
    given = proxies.appointments_of(session, meeting=meeting, member_keys=[h.member_key for h in held])
    voted = {a.id: proxies.proxy_voted(session, meeting=meeting, member_key=a.member_key) for a in given}
    logins = {a.id: session.get(ProxyLogin, a.proxy_login_id) for a in given}
    return render(request, "proxy/owner.html", {
        "estate": estate, "meeting": meeting, "holdings": held, "given": given, "voted": voted, "logins": logins,
        "status": proxies.status, "labels": proxies.STATUS_LABELS, "stage": meetings.state(meeting, now_for(request)),
        "appointable": proxies.APPOINTABLE, "error": error, "values": values or {},
        "notice": request.query_params.get("done")}, status_code=status)


@router.get("/estate/{code}/meetings/{meeting}/proxy")
def owner_page(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
               estate: Annotated[Estate, estate_for(Action.PROXY_APPOINT)]):
    return _owner_page(request, session, estate, proxy_api.published_meeting(request, session, estate, meeting), principal)


@router.post("/estate/{code}/meetings/{meeting}/proxy")
@takes_files(1, each=proxies.MAX_DOCUMENT)
def appoint(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
            estate: Annotated[Estate, estate_for(Action.PROXY_APPOINT)], form: FormDep):
    found = proxy_api.published_meeting(request, session, estate, meeting)
    values: dict = {}
    try:
        values, data = proxy_api.read_upload(form)
        proxies.appoint(session, meeting=found, principal=principal, member_key=values.get("member", ""),
                        proxy_name=values.get("proxy_name", ""), proxy_id_number=values.get("proxy_id_number", ""),
                        document=data, id_key=request.app.state.settings.id_hash_key, now=now_for(request))
    except AssemblyError as error:  # nothing was stored: the page again, with the reason
        values.pop("proxy_id_number", None)  # never echoed back into a page
        return _owner_page(request, session, estate, found, principal, error=zh(error.message), values=values,
                           status=error.status)
    return redirect(request, f"/estate/{estate.code}/meetings/{meeting}/proxy?done=appointed")


@router.post("/estate/{code}/meetings/{meeting}/proxy/{appointment}/withdraw")
def withdraw(meeting: IdPath, appointment: IdPath, request: Request, session: views.SessionDep,
             principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.PROXY_APPOINT)]):
    found = proxy_api.published_meeting(request, session, estate, meeting)
    target = proxies.get_appointment(session, meeting=found, appointment_id=appointment)
    try:
        proxies.withdraw(session, meeting=found, appointment=target, principal=principal, now=now_for(request))
    except AssemblyError as error:
        return _owner_page(request, session, estate, found, principal, error=zh(error.message), status=error.status)
    return redirect(request, f"/estate/{estate.code}/meetings/{meeting}/proxy?done=withdrawn")


# --- the committee, observers and the residents' committee ----------------------------------------


def _list_page(request: Request, session, estate: Estate, meeting: Meeting, principal: Principal, *,
               error: str | None = None, status: int = 200):
    rows = [{"a": a, "login": session.get(ProxyLogin, a.proxy_login_id),
             "owner": mask_name(proxies.owner_name(session, a))}
            for a in proxies.appointments_of(session, meeting=meeting)]
    return render(request, "proxy/list.html", {
        "estate": estate, "meeting": meeting, "rows": rows, "status": proxies.status, "labels": proxies.STATUS_LABELS,
        "may_confirm": principal.may(Action.PROXY_CONFIRM), "error": error,
        "may_open": lambda appointment: proxy_scans.may_open(principal, appointment),
        "notice": request.query_params.get("done")}, status_code=status)


@router.get("/estate/{code}/meetings/{meeting}/proxies")
def list_page(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
              estate: Annotated[Estate, estate_for(Action.PROXY_READ)]):
    return _list_page(request, session, estate, proxy_api.published_meeting(request, session, estate, meeting), principal)


@router.get("/estate/{code}/meetings/{meeting}/proxies/{appointment}/document")
def document(meeting: IdPath, appointment: IdPath, request: Request, session: views.SessionDep,
             principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.PROXY_READ)]):
    return proxy_api.open_document(request, session, estate, principal, meeting_id=meeting, appointment_id=appointment)


def _slip(request: Request, estate: Estate, meeting: Meeting, login: ProxyLogin, code: str):
    return render(request, "proxy/slip.html", {
        "estate": estate, "meeting": meeting, "login": login, "code": proxy_login.format_code(code),
        "login_url": request.app.state.settings.site_url.rstrip("/") + "/proxy/login"})


@router.post("/estate/{code}/meetings/{meeting}/proxies/{appointment}/confirm")
def confirm(meeting: IdPath, appointment: IdPath, request: Request, session: views.SessionDep,
            principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.PROXY_CONFIRM)]):
    """Confirmed after looking at the document; the proxy's first confirmation answers with their login slip."""
    found = proxy_api.published_meeting(request, session, estate, meeting)
    target = proxies.get_appointment(session, meeting=found, appointment_id=appointment)
    try:
        decision = proxies.confirm(session, meeting=found, appointment=target, principal=principal,
                                   now=now_for(request))
    except AssemblyError as error:
        return _list_page(request, session, estate, found, principal, error=zh(error.message), status=error.status)
    if decision.code:  # shown once, on this answer to a POST: never in a URL, never again
        return _slip(request, estate, found, session.get(ProxyLogin, target.proxy_login_id), decision.code)
    return redirect(request, f"/estate/{estate.code}/meetings/{meeting}/proxies?done=confirmed")


@router.post("/estate/{code}/meetings/{meeting}/proxies/{appointment}/reject")
def reject(meeting: IdPath, appointment: IdPath, request: Request, session: views.SessionDep,
           principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.PROXY_CONFIRM)], form: FormDep):
    found = proxy_api.published_meeting(request, session, estate, meeting)
    target = proxies.get_appointment(session, meeting=found, appointment_id=appointment)
    try:
        proxies.reject(session, meeting=found, appointment=target, principal=principal,
                       reason=str(form.get("reason") or "")[:600], now=now_for(request))
    except AssemblyError as error:
        return _list_page(request, session, estate, found, principal, error=zh(error.message), status=error.status)
    return redirect(request, f"/estate/{estate.code}/meetings/{meeting}/proxies?done=rejected")


@router.post("/estate/{code}/meetings/{meeting}/proxy-logins/{login}/reissue")
def reissue(meeting: IdPath, login: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
            estate: Annotated[Estate, estate_for(Action.PROXY_CONFIRM)]):
    found = proxy_api.published_meeting(request, session, estate, meeting)
    target = proxies.get_login(session, meeting=found, login_id=login)
    try:
        code = proxy_login.issue_code(session, meeting=found, login=target, principal=principal, now=now_for(request))
    except AssemblyError as error:
        return _list_page(request, session, estate, found, principal, error=zh(error.message), status=error.status)
    return _slip(request, estate, found, target, code)


@router.post("/estate/{code}/meetings/{meeting}/proxy-logins/{login}/slip.pdf")
def slip_pdf(meeting: IdPath, login: IdPath, request: Request, session: views.SessionDep,
             estate: Annotated[Estate, estate_for(Action.PROXY_CONFIRM)], form: FormDep):
    """The slip as a PDF, from the code the slip page showed (posted back; checked against its hash)."""
    found = proxy_api.published_meeting(request, session, estate, meeting)
    target = proxies.get_login(session, meeting=found, login_id=login)
    code = str(form.get("code") or "")[:40]
    if not proxy_login.code_matches(target, code):
        raise InvalidInput("登录码已失效或不正确，请补发新的登录码 / not the proxy's current code; reissue it",
                           code="proxy_code_mismatch")
    data = render_slip(estate=estate.name, meeting=found.title, proxy_name=target.name,
                       code=proxy_login.format_code(proxy_login.normalize_code(code)),
                       login_url=request.app.state.settings.site_url.rstrip("/") + "/proxy/login",
                       issued=target.code_issued_at.astimezone(meetings.SHANGHAI).strftime("%Y-%m-%d %H:%M"))
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="proxy-slip-{target.id}.pdf"', "Cache-Control": "no-store"})


# --- the proxy ----------------------------------------------------------------------------------


def _proxy_context(request: Request, session, principal: Principal) -> dict:
    meeting, estate, login = proxy_api.proxy_meeting(request, session, principal)
    represented = proxies.in_force(session, login=login)
    return {"estate": estate, "meeting": meeting, "login": login, "represented": represented,
            "owners": {a.id: mask_name(proxies.owner_name(session, a)) for a in represented},
            "stage": meetings.state(meeting, now_for(request)), "revote_rule": casting.REVOTE_RULES[meeting.revote],
            "choice_labels": casting.CHOICE_LABELS}


@router.get("/proxy")
def proxy_home(request: Request, session: views.SessionDep,
               principal: Annotated[Principal, require(Action.PROXY_MEETING_READ)]):
    context = _proxy_context(request, session, principal)
    motions = meetings.motions_of(session, meeting=context["meeting"])
    return render(request, "proxy/home.html", context | {"motions": motions})


def _motion_context(request: Request, session, principal: Principal, motion_id: int) -> dict:
    context = _proxy_context(request, session, principal)
    motion = meetings.motions_of(session, meeting=context["meeting"])
    target = next((m for m in motion if m.id == motion_id), None)
    if target is None:
        meetings.get_motion(session, meeting=context["meeting"], motion_id=motion_id)  # raises NotFound
    keys = [a.member_key for a in context["represented"]]
    return context | {"motion": target, "voted": casting.my_ballots(session, motion=target, member_keys=keys),
                      "turnout": meetings.turnout(session, meeting=context["meeting"], motion=target),
                      "candidates": json.loads(target.candidates_json or "[]"),
                      "request_key": secrets.token_urlsafe(16)}


@router.get("/proxy/motions/{motion}")
def proxy_motion(motion: IdPath, request: Request, session: views.SessionDep,
                 principal: Annotated[Principal, require(Action.PROXY_MEETING_READ)]):
    return render(request, "proxy/motion.html", _motion_context(request, session, principal, motion))


@documented.post("/proxy/motions/{motion}/vote", tags=["proxies"], openapi_extra=views.VOTE_FORM,
                  responses=views.VOTE_ANSWERS)
def proxy_vote(motion: IdPath, request: Request, session: views.SessionDep,
               principal: Annotated[Principal, require(Action.PROXY_VOTE)], form: FormDep):
    """Two steps without JavaScript, as for owners: the choice comes back to confirm; confirming casts."""
    context = _motion_context(request, session, principal, motion)
    target = context["motion"]
    member, key = str(form.get("member") or "")[:400], str(form.get("request_key") or "")[:64]
    choice: str | list[str] = [str(c)[:40] for c in form.getlist("choices")][:50] if target.kind == "election" \
        else str(form.get("choice") or "")[:10]
    appointment = next((a for a in context["represented"] if a.member_key == member), None)
    try:
        if appointment is None:
            raise InvalidInput("请选择您代理的表决权 / choose a member you represent", code="not_represented")
        if target.kind == "motion" and choice not in casting.CHOICE_LABELS:
            raise InvalidInput("请先选择同意、反对或弃权。 / choose agree, oppose or abstain", code="invalid_choice")
        if form.get("confirm") != "1":
            return render(request, "proxy/confirm.html", context | {"appointment": appointment, "member": member,
                                                                    "choice": choice, "key": key})
        ballot, _created = proxy_ballots.cast_as_proxy(session, meeting=context["meeting"], motion=target,
                                                 principal=principal, member_key=member, choice=choice,
                                                 idempotency_key=key, now=now_for(request))
    except AssemblyError as error:
        return render(request, "proxy/motion.html", context | {"error": zh(error.message), "error_member": member},
                      status_code=error.status)
    return views.with_ballot_headers(redirect(request, f"/proxy/motions/{motion}/ballots/{ballot.id}?new=1"),
                                       ballot)


@router.get("/proxy/motions/{motion}/ballots/{ballot}")
def proxy_receipt(motion: IdPath, ballot: IdPath, request: Request, session: views.SessionDep,
                  principal: Annotated[Principal, require(Action.PROXY_RECEIPT_READ)]):
    text = proxy_api.proxy_receipt(request, session, principal, motion, ballot)
    context = _motion_context(request, session, principal, motion)
    mine = session.get(casting.Ballot, ballot)
    return render(request, "proxy/receipt.html", context | {"ballot": mine, "receipt": text,
                                                            "fresh": request.query_params.get("new") == "1"})
