"""Routes of the notice's posting in the estate 张贴会议通知: the committee records where, when and a
photo (page and API); everyone who reads the meeting sees the record and the photo."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from assembly.errors import AssemblyError, InvalidInput
from assembly.permissions import Action, CurrentPrincipal, estate_for
from assembly.register.models import Estate
from assembly.voting import attachments, meetings, pages, posting, views
from assembly.voting.pages import IdPath
from assembly.web.deps import FormDep
from assembly.web.http import now_for, redirect, zh
from assembly.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/estates/{code}", tags=["meetings"])


def _posted_at(raw: str) -> datetime:
    try:
        local = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput("请填写张贴时间（北京时间） / posted_at is required", code="posted_at_required") from None
    return local.replace(tzinfo=meetings.SHANGHAI) if local.tzinfo is None else local


def _record(request: Request, session, estate: Estate, meeting_id: int, principal, form: FormData):
    """multipart/form-data: place, posted_at (ISO 8601; without a zone, Beijing time), photo (read
    here, in the route's thread: blocking file work stays off the event loop)."""
    found = meetings.get_meeting(session, estate=estate, meeting_id=meeting_id)
    return found, posting.record(session, meeting=found, principal=principal, place=str(form.get("place") or "")[:400],
                                 posted_at=_posted_at(str(form.get("posted_at") or "")),
                                 photo=attachments.read_upload(form.get("photo")), now=now_for(request))


@router.post("/estate/{code}/meetings/{meeting}/posting")
def record_page(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
                estate: Annotated[Estate, estate_for(Action.MOTION_PUBLISH)], form: FormDep):
    """The posting recorded from the meeting's page; a refusal is the page with the reason (nothing stored)."""
    try:
        _record(request, session, estate, meeting, principal, form)
    except AssemblyError as error:
        found = meetings.get_meeting(session, estate=estate, meeting_id=meeting)
        context = pages.page_context(request, session, estate, found, principal) | {
            "posting_error": zh(error.message), "posting_values": {"place": str(form.get("place") or "")[:200]}}
        return render(request, "voting/meeting.html", context, status_code=error.status)
    return redirect(request, f"/estate/{estate.code}/meetings/{meeting}?done=posted#posting")


@router.get("/estate/{code}/meetings/{meeting}/posting/photo")
def photo(meeting: IdPath, session: views.SessionDep, principal: CurrentPrincipal,
          estate: Annotated[Estate, estate_for(Action.MEETING_READ)]):
    found = meetings.get_meeting(session, estate=estate, meeting_id=meeting)
    if found.published_at is None and not principal.may(Action.MOTION_DRAFT):
        raise views.draft_hidden()
    stored = posting.photo_of(session, meeting=found)
    disposition = "attachment" if stored.media_type == "application/pdf" else "inline"
    extension = attachments.EXTENSIONS[stored.media_type]
    return Response(bytes(stored.photo), media_type=stored.media_type, headers={
        "Content-Disposition": f'{disposition}; filename="posting-{found.id}.{extension}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        "Cache-Control": "private, no-store"})


@api_router.post("/meetings/{meeting}/posting", status_code=201)
def record_api(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
               estate: Annotated[Estate, estate_for(Action.MOTION_PUBLISH)], form: FormDep):
    """multipart/form-data: place, posted_at (ISO 8601), photo (JPEG, PNG or PDF, at most 5 MB)."""
    found, _recorded = _record(request, session, estate, meeting, principal, form)
    return JSONResponse(views.meeting_json(session, estate=estate, meeting=found, now=now_for(request)),
                        status_code=201)
