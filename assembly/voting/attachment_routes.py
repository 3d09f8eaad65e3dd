"""Routes of motion attachments: the committee uploads and removes files on a draft (page and API);
everyone who reads the meeting downloads them, with the type their bytes proved."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from assembly.errors import AssemblyError, InvalidInput
from assembly.permissions import Action, CurrentPrincipal, Principal, estate_for
from assembly.register.models import Estate
from assembly.voting import attachments, meetings, pages, views
from assembly.voting.pages import IdPath
from assembly.web.bodies import takes_files
from assembly.web.deps import FormDep
from assembly.web.http import now_for, redirect, zh
from assembly.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/estates/{code}", tags=["meetings"])


def _visible(session, estate: Estate, meeting_id: int, motion_id: int, principal: Principal):
    meeting = meetings.get_meeting(session, estate=estate, meeting_id=meeting_id)
    if meeting.published_at is None and not principal.may(Action.MOTION_DRAFT):
        raise views.draft_hidden()  # a draft and its files are the committee's
    return meeting, meetings.get_motion(session, meeting=meeting, motion_id=motion_id)


def _file_url(estate: Estate, meeting_id: int, motion_id: int, attachment_id: int) -> str:
    return f"/estate/{estate.code}/meetings/{meeting_id}/motions/{motion_id}/attachments/{attachment_id}"


def _one_upload(form: FormData) -> attachments.Upload:
    upload = attachments.read_upload(form.get("file"))
    if upload is None:
        raise InvalidInput("请选择要上传的文件 / choose a file", code="attachment_missing")
    return upload


@router.post("/estate/{code}/meetings/{meeting}/motions/{motion}/attachments")
@takes_files(1, each=attachments.MAX_BYTES)
def upload_page(meeting: IdPath, motion: IdPath, request: Request, session: views.SessionDep,
                principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.MOTION_DRAFT)], form: FormDep):
    """A file added from the draft's page; a refusal comes back as the page with the reason (nothing stored)."""
    found, target = _visible(session, estate, meeting, motion, principal)
    try:
        upload = _one_upload(form)
        attachments.add(session, meeting=found, motion=target, principal=principal, upload=upload,
                        now=now_for(request))
    except AssemblyError as error:
        context = pages.page_context(request, session, estate, found, principal)
        return render(request, "voting/meeting.html", context | {
            "attachment_error": zh(error.message), "attachment_motion": target.id}, status_code=error.status)
    return redirect(request, f"/estate/{estate.code}/meetings/{meeting}?done=attached#attachments-{motion}")


@router.post("/estate/{code}/meetings/{meeting}/motions/{motion}/attachments/{attachment}/remove")
def remove_page(meeting: IdPath, motion: IdPath, attachment: IdPath, request: Request, session: views.SessionDep,
                principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.MOTION_DRAFT)]):
    found, target = _visible(session, estate, meeting, motion, principal)
    attachments.remove(session, meeting=found, motion=target, attachment_id=attachment, principal=principal,
                       now=now_for(request))
    return redirect(request, f"/estate/{estate.code}/meetings/{meeting}?done=detached#attachments-{motion}")


@router.get("/estate/{code}/meetings/{meeting}/motions/{motion}/attachments/{attachment}")
def download(meeting: IdPath, motion: IdPath, attachment: IdPath, session: views.SessionDep,
             principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.MEETING_READ)]):
    _found, target = _visible(session, estate, meeting, motion, principal)
    stored = attachments.get(session, motion=target, attachment_id=attachment)
    return Response(bytes(stored.content), media_type=stored.media_type,
                    headers=attachments.download_headers(stored))


# --- JSON API ---------------------------------------------------------------------------------


@api_router.get("/meetings/{meeting}/motions/{motion}/attachments")
def list_api(meeting: IdPath, motion: IdPath, session: views.SessionDep, principal: CurrentPrincipal,
             estate: Annotated[Estate, estate_for(Action.MEETING_READ)]) -> dict:
    found, target = _visible(session, estate, meeting, motion, principal)
    items = attachments.listed(session, motion_ids=[target.id])[target.id]
    return {"frozen": found.published_at is not None,
            "attachments": [attachments.listed_json(item, url=_file_url(estate, meeting, motion, item.id))
                            for item in items]}


@api_router.post("/meetings/{meeting}/motions/{motion}/attachments", status_code=201)
@takes_files(1, each=attachments.MAX_BYTES)
def upload_api(meeting: IdPath, motion: IdPath, request: Request, session: views.SessionDep,
               principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.MOTION_DRAFT)], form: FormDep):
    """multipart/form-data with one `file`: 201 with its SHA-256 and the index of its attachment.added entry."""
    found, target = _visible(session, estate, meeting, motion, principal)
    upload = _one_upload(form)
    stored = attachments.add(session, meeting=found, motion=target, principal=principal, upload=upload,
                             now=now_for(request))
    (item,) = [i for i in attachments.listed(session, motion_ids=[target.id])[target.id] if i.id == stored.id]
    return JSONResponse(attachments.listed_json(item, url=_file_url(estate, meeting, motion, item.id)),
                        status_code=201)


@api_router.delete("/meetings/{meeting}/motions/{motion}/attachments/{attachment}")
def remove_api(meeting: IdPath, motion: IdPath, attachment: IdPath, request: Request, session: views.SessionDep,
               principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.MOTION_DRAFT)]) -> dict:
    found, target = _visible(session, estate, meeting, motion, principal)
    attachments.remove(session, meeting=found, motion=target, attachment_id=attachment, principal=principal,
                       now=now_for(request))
    return {"removed": attachment}
