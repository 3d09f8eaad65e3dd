"""Pages and JSON API of paper ballots 纸质选票: after close and within the grace period one committee
person enters a sheet with its scan, a second confirms it by typing the choice again (never shown
the first entry's); the committee declares entry finished, which counts and announces. Observers
and the residents' committee read every entry, its scan and who entered and checked it, and every
member with both a paper and an electronic ballot (which counts and why; never how anyone voted).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlmodel import col
from starlette.datastructures import FormData, UploadFile

from assembly.auth.models import Account
from assembly.errors import AssemblyError, InvalidInput
from assembly.permissions import Action, CurrentPrincipal, Principal, estate_for
from assembly.register.models import Estate
from assembly.voting import api, casting, closing, meetings, paper, views
from assembly.voting.models import Ballot, Meeting, Motion
from assembly.voting.pages import IdPath
from assembly.voting.paper_models import PaperEntry
from assembly.web.bodies import takes_files
from assembly.web.deps import FormDep, JsonBody
from assembly.web.http import now_for, redirect, zh
from assembly.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/estates/{code}", tags=["paper ballots"])


def _meeting(request: Request, session, estate: Estate, meeting_id: int, principal: Principal) -> Meeting:
    """The meeting, closed (or counted) first if its time has come: every route here, reading or not."""
    found = api.meeting_of(request, session, estate, meeting_id)
    if found.published_at is None and not principal.may(Action.MOTION_DRAFT):
        raise views.draft_hidden()
    return found


def _changing(request: Request, session, estate: Estate, meeting_id: int, principal: Principal) -> Meeting:
    """For a POST: the meeting, closed (or counted) first in the request's own write transaction
    if its time has come (a second transaction would wait for this one's write lock)."""
    found = meetings.get_meeting(session, estate=estate, meeting_id=meeting_id)
    if found.published_at is None and not principal.may(Action.MOTION_DRAFT):
        raise views.draft_hidden()
    closing.close_if_due(session, meeting=found, now=now_for(request))
    return found


def _base(estate: Estate, meeting_id: int) -> str:
    return f"/estate/{estate.code}/meetings/{meeting_id}/paper"


def _scan_bytes(form: FormData) -> bytes:
    """The spooled scan, read in the route's thread (blocking file work stays off the event loop)."""
    upload = form.get("scan")
    if not isinstance(upload, UploadFile):
        return b""
    return upload.file.read(paper.MAX_SCAN_BYTES + 1)  # one byte more than allowed is enough to refuse


def _handed_in(raw: str) -> datetime:
    """A datetime-local value in Beijing time (or an ISO time with its zone)."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput("请填写纸质选票投入票箱的时间（北京时间） / handed_in is required",
                           code="handed_in_required") from None
    return moment.replace(tzinfo=meetings.SHANGHAI) if moment.tzinfo is None else moment


def _choice(form: FormData, motion: Motion) -> str | list[str]:
    if motion.kind == "election":
        return [str(c)[:40] for c in form.getlist("choices")][:50]
    return str(form.get("choice") or "")[:10]


def _entry_json(estate: Estate, entry: PaperEntry) -> dict:
    """An entry as observers see it: never the choice."""
    return {"id": entry.id, "motion": entry.motion_id, "unit": entry.unit, "member": entry.member_key,
            "handed_in_at": entry.handed_in_at.isoformat(), "state": entry.state,
            "entered_by": entry.entered_by, "entered_at": entry.entered_at.isoformat(), "entry": entry.entry_index,
            "checked_by": entry.checked_by, "checked_at": entry.checked_at.isoformat() if entry.checked_at else None,
            "check_entry": entry.check_index, "scan_type": entry.scan_type, "scan_sha256": entry.scan_sha256,
            "scan": f"{_base(estate, entry.meeting_id)}/{entry.id}/scan"}


def _names(session, entries: list[PaperEntry]) -> dict[str, str]:
    """Who entered and who checked, by the committee accounts' names (the log holds their pseudonyms)."""
    ids = {e.entered_by for e in entries} | {e.checked_by for e in entries if e.checked_by}
    if not ids:
        return {}
    query = select(col(Account.pseudonym), col(Account.display_name)).where(col(Account.pseudonym).in_(ids))
    return dict(session.execute(query).all())


def _context(request: Request, session, estate: Estate, meeting: Meeting, principal: Principal) -> dict:
    now = now_for(request)
    stage = meetings.state(meeting, now)
    motions = meetings.motions_of(session, meeting=meeting)
    entries = paper.entries_of(session, meeting=meeting)
    return {"estate": estate, "meeting": meeting, "stage": stage, "stage_label": meetings.STATE_LABELS[stage],
            "motions": motions, "motion_of": {m.id: m for m in motions},
            "entries": entries, "names": _names(session, entries), "pending": paper.pending(session, meeting=meeting),
            "both": paper.both_kinds(session, meeting=meeting), "by_labels": paper.BY_LABELS,
            "state_labels": paper.STATE_LABELS, "paper_ends": meetings.paper_ends(meeting),
            "me": meetings.actor_of(principal).id, "may": principal.may, "Action": Action,
            "choice_labels": casting.CHOICE_LABELS, "candidates": {m.id: json.loads(m.candidates_json or "[]")
                                                                  for m in motions},
            "notice": request.query_params.get("done")}


# --- pages -------------------------------------------------------------------------------------


@router.get("/estate/{code}/meetings/{meeting}/paper")
def paper_page(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
               estate: Annotated[Estate, estate_for(Action.PAPER_BALLOTS_READ)]):
    found = _meeting(request, session, estate, meeting, principal)
    return render(request, "paper/index.html", _context(request, session, estate, found, principal))


@router.post("/estate/{code}/meetings/{meeting}/paper")
@takes_files(1, each=paper.MAX_SCAN_BYTES)
def enter_page(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
               estate: Annotated[Estate, estate_for(Action.PAPER_BALLOT_ENTER)], form: FormDep):
    """One sheet for one motion; a refusal is the page with the reason (nothing stored)."""
    found = _changing(request, session, estate, meeting, principal)
    try:
        motion = meetings.get_motion(session, meeting=found, motion_id=_number(form.get("motion")))
        entry = paper.enter(session, meeting=found, motion=motion, principal=principal,
                            unit=str(form.get("unit") or "")[:60], choice=_choice(form, motion),
                            handed_in_at=_handed_in(str(form.get("handed_in") or "")),
                            scan=_scan_bytes(form), signature_checked=_ticked(form.get("signature_checked")),
                            now=now_for(request))
    except AssemblyError as error:
        context = _context(request, session, estate, found, principal)
        return render(request, "paper/index.html", context | {"error": zh(error.message),
                                                               "error_motion": form.get("motion")},
                      status_code=error.status)
    return redirect(request, f"{_base(estate, meeting)}?done=entered#entry-{entry.id}")


def _ticked(raw) -> bool:
    """A checkbox or API flag: `1`, `true` or `on`; anything else is not ticked."""
    return str(raw or "").strip().lower() in ("1", "true", "on")


def _number(raw) -> int:
    text = str(raw or "").strip()
    if not text.isdigit() or len(text) > 9:
        raise InvalidInput("请选择议题 / choose a motion", code="motion_required")
    return int(text)


@router.get("/estate/{code}/meetings/{meeting}/paper/{entry}")
def entry_page(meeting: IdPath, entry: IdPath, request: Request, session: views.SessionDep,
               principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.PAPER_BALLOTS_READ)]):
    """One entry with its scan; for a second committee person, the form to type the choice again."""
    found = _meeting(request, session, estate, meeting, principal)
    target = paper.get_entry(session, meeting=found, entry_id=entry)
    context = _context(request, session, estate, found, principal)
    return render(request, "paper/entry.html", context | {"entry": target,
                                                          "motion": session.get(Motion, target.motion_id)})


@router.get("/estate/{code}/meetings/{meeting}/paper/{entry}/scan")
def scan(meeting: IdPath, entry: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
         estate: Annotated[Estate, estate_for(Action.PAPER_BALLOTS_READ)]):
    found = _meeting(request, session, estate, meeting, principal)
    target = paper.get_entry(session, meeting=found, entry_id=entry)
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[target.scan_type]
    return Response(bytes(target.scan), media_type=target.scan_type, headers={
        "Content-Disposition": f'inline; filename="paper-{target.id}.{extension}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@router.post("/estate/{code}/meetings/{meeting}/paper/{entry}/confirm")
def confirm_page(meeting: IdPath, entry: IdPath, request: Request, session: views.SessionDep,
                 principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.PAPER_BALLOT_ENTER)],
                 form: FormDep):
    """Confirmed or a mismatch: both are kept (a mismatch is recorded, not raised)."""
    found = _changing(request, session, estate, meeting, principal)
    target = paper.get_entry(session, meeting=found, entry_id=entry)
    assert target.id is not None
    try:
        checked = paper.confirm(session, meeting=found, entry_id=target.id, principal=principal,
                                choice=_choice(form, session.get_one(Motion, target.motion_id)), now=now_for(request))
    except AssemblyError as error:
        context = _context(request, session, estate, found, principal)
        return render(request, "paper/entry.html", context | {
            "entry": target, "motion": session.get(Motion, target.motion_id), "error": zh(error.message)},
            status_code=error.status)
    return redirect(request, f"{_base(estate, meeting)}?done={checked.state}#entry-{checked.id}")


@router.post("/estate/{code}/meetings/{meeting}/paper/finish")
def finish_page(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
                estate: Annotated[Estate, estate_for(Action.RESULT_PUBLISH)]):
    found = _changing(request, session, estate, meeting, principal)
    try:
        paper.finish(session, meeting=found, principal=principal, now=now_for(request))
    except AssemblyError as error:
        context = _context(request, session, estate, found, principal)
        return render(request, "paper/index.html", context | {"finish_error": zh(error.message)},
                      status_code=error.status)
    return redirect(request, f"/estate/{estate.code}/meetings/{meeting}?done=counted")


# --- JSON API ----------------------------------------------------------------------------------


@api_router.get("/meetings/{meeting}/paper")
def paper_api(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
              estate: Annotated[Estate, estate_for(Action.PAPER_BALLOTS_READ)]) -> dict:
    found = _meeting(request, session, estate, meeting, principal)
    now = now_for(request)
    return {
        "state": meetings.state(found, now), "paper_grace_days": found.paper_grace_days,
        "paper_until": meetings.paper_ends(found).isoformat(),
        "entries": [_entry_json(estate, e) for e in paper.entries_of(session, meeting=found)],
        "pending": [e.id for e in paper.pending(session, meeting=found)],
        "both": [{"motion": case.motion.id, "member": case.member_key,
                  "ballots": [{"by": by, "cast_at": when.isoformat()} for by, when in case.ballots],
                  "counted": case.counted, "reason": case.reason} for case in paper.both_kinds(session, meeting=found)],
    }


@api_router.post("/meetings/{meeting}/paper", status_code=201)
@takes_files(1, each=paper.MAX_SCAN_BYTES)
def enter_api(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
              estate: Annotated[Estate, estate_for(Action.PAPER_BALLOT_ENTER)], form: FormDep):
    """multipart/form-data: motion, unit, choice (or choices, repeated), handed_in (ISO 8601), scan, and
    signature_checked (`true` or `1`: the owner's signature was checked against the register)."""
    found = _changing(request, session, estate, meeting, principal)
    motion = meetings.get_motion(session, meeting=found, motion_id=_number(form.get("motion")))
    entry = paper.enter(session, meeting=found, motion=motion, principal=principal,
                        unit=str(form.get("unit") or "")[:60], choice=_choice(form, motion),
                        handed_in_at=_handed_in(str(form.get("handed_in") or "")), scan=_scan_bytes(form),
                        signature_checked=_ticked(form.get("signature_checked")), now=now_for(request))
    return JSONResponse(_entry_json(estate, entry), status_code=201)


@api_router.post("/meetings/{meeting}/paper/{entry}/confirm")
def confirm_api(meeting: IdPath, entry: IdPath, request: Request, session: views.SessionDep,
                principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.PAPER_BALLOT_ENTER)],
                body: JsonBody):
    """JSON {choice} or {choices}; answers the entry, `state` confirmed or mismatch (200 either way)."""
    found = _changing(request, session, estate, meeting, principal)
    target = paper.get_entry(session, meeting=found, entry_id=entry)
    assert target.id is not None
    if not isinstance(body, dict):
        raise InvalidInput("请求须为 JSON 对象 / a JSON object is required", code="invalid_body")
    motion = session.get_one(Motion, target.motion_id)
    raw = body.get("choices") if motion.kind == "election" else body.get("choice")
    if not (isinstance(raw, str) or (isinstance(raw, list) and all(isinstance(c, str) for c in raw))):
        raise InvalidInput("请选择 / a choice is required", code="choice_required")
    checked = paper.confirm(session, meeting=found, entry_id=target.id, principal=principal, choice=raw,
                            now=now_for(request))
    return _entry_json(estate, checked) | _ballot_made(session, checked)


def _ballot_made(session, entry: PaperEntry) -> dict:
    """A confirmed sheet's ballot: its id, its `ballot.cast` entry and commitment (the `entry` and
    `check_entry` above are the `paper.entered` and `paper.confirmed` entries); null on a mismatch."""
    ballot = session.get(Ballot, entry.ballot_id) if entry.ballot_id else None
    return {"ballot": {"id": ballot.id, "entry": ballot.entry_index, "commitment": ballot.commitment}
            if ballot else None}


@api_router.post("/meetings/{meeting}/paper/finish")
def finish_api(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
               estate: Annotated[Estate, estate_for(Action.RESULT_PUBLISH)]) -> dict:
    """Paper entry is finished: count and announce now."""
    found = paper.finish(session, meeting=_changing(request, session, estate, meeting, principal),
                         principal=principal, now=now_for(request))
    return views.meeting_json(session, estate=estate, meeting=found, now=now_for(request))
