"""The JSON API of proxies 代理人: owners appoint (multipart, with the signed authorisation) and
withdraw; the committee confirms (the first confirmation answers the proxy's login code, once),
rejects and reissues codes; the committee and auditors read every authorisation, and the deciding
committee person and observers open its scan (each opening logged: assembly.proxies.scans);
a logged-in proxy reads their meeting and votes for the members they represent. Errors are
{error: {code, message}}; the services decide."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import FormData, UploadFile

from assembly.db import unit_of_work
from assembly.errors import Forbidden, InvalidInput, NotFound
from assembly.permissions import Action, CurrentPrincipal, Principal, estate_for, require
from assembly.proxies import ballots as proxy_ballots
from assembly.proxies import login as proxy_login
from assembly.proxies import scans as proxy_scans
from assembly.proxies import service as proxies
from assembly.proxies.models import ProxyAppointment, ProxyLogin
from assembly.register.models import Estate
from assembly.voting import casting, meetings, views
from assembly.voting.api import IdPath, meeting_of, signed_receipt
from assembly.voting.models import Ballot, Meeting
from assembly.web.bodies import takes_files
from assembly.web.deps import FormDep, in_write_turn
from assembly.web.http import now_for
from assembly.web.openapi import files

router = APIRouter(prefix="/api/estates/{code}/meetings/{meeting}", tags=["proxies"])
proxy_router = APIRouter(prefix="/api/proxy", tags=["proxies"])


def read_upload(form: FormData) -> tuple[dict[str, str], bytes]:
    """The appointment form's text fields and the document's bytes (at most 5 MB + 1 byte read from
    the spooled file, in the route's thread): a larger body was refused before it was read, see
    `takes_files` below and web/bodies.py."""
    fields = {key: value[:2000] for key, value in form.items() if isinstance(value, str)}
    upload = form.get("document")
    data = upload.file.read(proxies.MAX_DOCUMENT + 1) if isinstance(upload, UploadFile) else b""
    return fields, data


def appointment_json(session, appointment: ProxyAppointment, *, base: str, full: bool) -> dict:
    login = session.get(ProxyLogin, appointment.proxy_login_id)
    body = {
        "id": appointment.id, "member": appointment.member_key, "units": appointment.units.split(","),
        "area": appointment.area, "status": proxies.status(appointment), "proxy": login.pseudonym,
        "proxy_name": login.name if full else proxies.identity.mask_name(login.name),
        "appointed_at": appointment.appointed_at.isoformat(), "entry": appointment.entry_index,
        "document": {"sha256": appointment.document_sha256, "type": appointment.document_type,
                     "size": appointment.document_size,
                     "erased_at": appointment.document_erased_at.isoformat() if appointment.document_erased_at
                     else None},
        "decided_at": (appointment.confirmed_at or appointment.rejected_at).isoformat()
        if (appointment.confirmed_at or appointment.rejected_at) else None,
        "reject_reason": appointment.reject_reason,
        "withdrawn_at": appointment.withdrawn_at.isoformat() if appointment.withdrawn_at else None,
    }
    if full:
        body["proxy_login"] = login.id
        body["document"]["url"] = f"{base}/proxies/{appointment.id}/document"
    return body


def _base(estate: Estate, meeting: Meeting) -> str:
    return f"/api/estates/{estate.code}/meetings/{meeting.id}"


def published_meeting(request: Request, session, estate: Estate, meeting_id: int) -> Meeting:
    found = meeting_of(request, session, estate, meeting_id)
    if found.published_at is None:
        raise views.draft_hidden()
    return found


# --- the owner ----------------------------------------------------------------------------------


@router.get("/proxies/mine")
def my_proxies(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
               estate: Annotated[Estate, estate_for(Action.PROXY_APPOINT)]) -> dict:
    """The owner's members in this meeting and the authorisations given for each."""
    found = published_meeting(request, session, estate, meeting)
    held = proxies.owner_holdings(session, meeting=found, pseudonym=principal.pseudonym or "")
    given = proxies.appointments_of(session, meeting=found, member_keys=[h.member_key for h in held])
    return {"proxy_limit": found.proxy_limit,
            "members": [{"member": h.member_key, "units": list(h.units), "area": views.format_area(h.area)}
                        for h in held],
            "appointments": [appointment_json(session, a, base=_base(estate, found), full=False) for a in given]}


@router.post("/proxies", status_code=201)
@takes_files(1, each=proxies.MAX_DOCUMENT)
def appoint(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
            estate: Annotated[Estate, estate_for(Action.PROXY_APPOINT)], form: FormDep):
    """multipart/form-data: member, proxy_name, proxy_id_number, document (PDF/JPEG/PNG, ≤ 5 MB)."""
    found = published_meeting(request, session, estate, meeting)
    fields, data = read_upload(form)
    appointment = proxies.appoint(
        session, meeting=found, principal=principal, member_key=fields.get("member", ""),
        proxy_name=fields.get("proxy_name", ""), proxy_id_number=fields.get("proxy_id_number", ""), document=data,
        id_key=request.app.state.settings.id_hash_key, now=now_for(request))
    return JSONResponse(appointment_json(session, appointment, base=_base(estate, found), full=False), status_code=201)


@router.post("/proxies/{appointment}/withdraw")
def withdraw(meeting: IdPath, appointment: IdPath, request: Request, session: views.SessionDep,
             principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.PROXY_APPOINT)]) -> dict:
    found = published_meeting(request, session, estate, meeting)
    target = proxies.get_appointment(session, meeting=found, appointment_id=appointment)
    done = proxies.withdraw(session, meeting=found, appointment=target, principal=principal, now=now_for(request))
    return appointment_json(session, done, base=_base(estate, found), full=False)


# --- the committee and those who audit ------------------------------------------------------------


@router.get("/proxies")
def all_proxies(meeting: IdPath, request: Request, session: views.SessionDep,
                estate: Annotated[Estate, estate_for(Action.PROXY_READ)]) -> dict:
    found = published_meeting(request, session, estate, meeting)
    return {"proxy_limit": found.proxy_limit,
            "appointments": [appointment_json(session, a, base=_base(estate, found), full=True)
                             for a in proxies.appointments_of(session, meeting=found)]}


@router.get("/proxies/{appointment}/document", response_class=Response,
            responses=files("the signed authorisation, with the type its bytes proved",
                            *proxies.DOCUMENT_TYPES.values()))
def document(meeting: IdPath, appointment: IdPath, request: Request, session: views.SessionDep,
             principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.PROXY_READ)]):
    """The scan, for the committee person deciding on it and observers (403 for others, 410 once erased)."""
    return open_document(request, session, estate, principal, meeting_id=meeting, appointment_id=appointment)


def open_document(request: Request, session, estate: Estate, principal: Principal, *, meeting_id: int,
                  appointment_id: int) -> Response:
    """Check who opens it, answer 410 for an erased scan, log the opening, then send it. The log
    entry is a short write of its own in the process's write turn (the request's transaction is a
    read: web/deps.py in_write_turn), committed before a byte of the scan leaves."""
    proxy_scans.check_opener(principal)
    found = published_meeting(request, session, estate, meeting_id)
    target = proxies.get_appointment(session, meeting=found, appointment_id=appointment_id)
    proxy_scans.check_may_open(principal, target)
    if target.document_erased_at is not None:
        raise proxy_scans.erased_answer(target)
    engine, now = request.app.state.engine, now_for(request)

    def log() -> None:
        with unit_of_work(engine) as writing:
            proxy_scans.log_opening(writing, meeting=writing.get(Meeting, found.id),
                                    appointment=writing.get(ProxyAppointment, target.id), principal=principal, now=now)

    in_write_turn(engine, log)
    return document_response(target)


def document_response(appointment: ProxyAppointment) -> Response:
    """The signed document with the type its bytes proved; never rendered inline as anything else."""
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[appointment.document_type]
    return Response(bytes(appointment.document), media_type=appointment.document_type, headers={
        "Content-Disposition": f'inline; filename="authorisation-{appointment.id}.{extension}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


class DecisionBody(BaseModel):
    decision: Literal["confirmed", "rejected"]
    reason: str = Field(default="", max_length=500)


@router.post("/proxies/{appointment}/decision")
def decide(meeting: IdPath, appointment: IdPath, request: Request, session: views.SessionDep, body: DecisionBody,
           principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.PROXY_CONFIRM)]):
    """Confirm (answers the proxy's login code once, on their first confirmed authorisation) or reject."""
    found = published_meeting(request, session, estate, meeting)
    target = proxies.get_appointment(session, meeting=found, appointment_id=appointment)
    code = None
    if body.decision == "confirmed":
        code = proxies.confirm(session, meeting=found, appointment=target, principal=principal,
                               now=now_for(request)).code
    else:
        proxies.reject(session, meeting=found, appointment=target, principal=principal, reason=body.reason,
                       now=now_for(request))
    answer = appointment_json(session, target, base=_base(estate, found), full=True)
    answer["code"] = proxy_login.format_code(code) if code else None
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.post("/proxy-logins/{login}/reissue")
def reissue(meeting: IdPath, login: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
            estate: Annotated[Estate, estate_for(Action.PROXY_CONFIRM)]):
    """A new code for a proxy who lost theirs: the old one stops working at once."""
    found = published_meeting(request, session, estate, meeting)
    target = proxies.get_login(session, meeting=found, login_id=login)
    code = proxy_login.issue_code(session, meeting=found, login=target, principal=principal, now=now_for(request))
    return JSONResponse({"proxy_login": target.id, "serial": target.code_serial, "code": proxy_login.format_code(code)},
                        headers={"Cache-Control": "no-store"})


# --- the proxy ----------------------------------------------------------------------------------


def proxy_meeting(request: Request, session, principal: Principal) -> tuple[Meeting, Estate, ProxyLogin]:
    """The one meeting of the proxy's login (as stored: the job runner closes it, never a look)."""
    login = session.get(ProxyLogin, principal.proxy_id) if principal.proxy_id else None
    if login is None:
        raise Forbidden("只有代理人可以使用此页面 / proxies only", code="role_forbidden")
    meeting = session.get(Meeting, login.meeting_id)
    return meeting, session.get(Estate, meeting.estate_id), session.get(ProxyLogin, login.id)


@proxy_router.get("/me")
def proxy_me(request: Request, session: views.SessionDep,
             principal: Annotated[Principal, require(Action.PROXY_MEETING_READ)]) -> dict:
    """The proxy's meeting, the members they represent (units and area; owners' names masked) and,
    per motion, whether each has voted (by the proxy, or by the owner, whose ballot counts)."""
    meeting, estate, login = proxy_meeting(request, session, principal)
    represented = proxies.in_force(session, login=login)
    keys = [a.member_key for a in represented]
    motions = []
    for motion in meetings.motions_of(session, meeting=meeting):
        latest = casting.my_ballots(session, motion=motion, member_keys=keys)
        motions.append({"id": motion.id, "title": motion.title, "kind": motion.kind,
                        "voted": {key: {"by": b.by, "ballot": b.id if b.by == "proxy" else None}
                                  for key, b in latest.items()}})
    return {"estate": estate.code, "meeting": {"id": meeting.id, "title": meeting.title,
                                               "state": meetings.state(meeting, now_for(request)),
                                               "closes_at": meeting.closes_at.isoformat(), "revote": meeting.revote},
            "members": [{"member": a.member_key, "units": a.units.split(","), "area": a.area,
                         "owner": proxies.identity.mask_name(proxies.owner_name(session, a))} for a in represented],
            "motions": motions}


class ProxyBallotBody(BaseModel):
    member: str = Field(min_length=1, max_length=400)
    choice: str | None = Field(default=None, max_length=10)
    choices: list[Annotated[str, Field(max_length=40)]] | None = Field(default=None, max_length=50)
    idempotency_key: str = Field(min_length=1, max_length=64)


@proxy_router.post("/motions/{motion}/ballots")
def proxy_cast(motion: IdPath, request: Request, session: views.SessionDep, body: ProxyBallotBody,
               principal: Annotated[Principal, require(Action.PROXY_VOTE)]):
    meeting, estate, _login = proxy_meeting(request, session, principal)
    target = meetings.get_motion(session, meeting=meeting, motion_id=motion)
    choice = body.choices if target.kind == "election" else body.choice
    if choice is None:
        raise InvalidInput("请选择 / a choice is required", code="choice_required")
    ballot, created = proxy_ballots.cast_as_proxy(session, meeting=meeting, motion=target, principal=principal,
                                            member_key=body.member, choice=choice,
                                            idempotency_key=body.idempotency_key, now=now_for(request))
    return JSONResponse({"ballot": ballot.id, "member": ballot.member_key, "by": ballot.by,
                         "entry": ballot.entry_index, "commitment": ballot.commitment,
                         "cast_at": ballot.cast_at.isoformat(),
                         "receipt": f"/api/proxy/motions/{target.id}/ballots/{ballot.id}/receipt"},
                        status_code=201 if created else 200)


def proxy_receipt(request: Request, session, principal: Principal, motion_id: int, ballot_id: int) -> str:
    """The receipt of a ballot this proxy cast (any proxy ballot for a member they represent)."""
    meeting, estate, login = proxy_meeting(request, session, principal)
    target = meetings.get_motion(session, meeting=meeting, motion_id=motion_id)
    keys = [a.member_key for a in proxies.appointments_of(session, meeting=meeting, login=login)
            if a.confirmed_at is not None]
    ballot = session.get(Ballot, ballot_id)
    if ballot is None or ballot.motion_id != target.id or ballot.by != "proxy" or ballot.member_key not in keys:
        raise NotFound("没有找到您代投的这张选票 / no such ballot of yours", code="ballot_not_found")
    return signed_receipt(request, estate_id=estate.id, index=ballot.entry_index)


@proxy_router.get("/motions/{motion}/ballots/{ballot}/receipt", response_class=PlainTextResponse)
def proxy_receipt_download(motion: IdPath, ballot: IdPath, request: Request, session: views.SessionDep,
                           principal: Annotated[Principal, require(Action.PROXY_RECEIPT_READ)]):
    text = proxy_receipt(request, session, principal, motion, ballot)
    return PlainTextResponse(text, headers={"Content-Disposition": f'attachment; filename="receipt-{ballot}.txt"'})
