"""The JSON API of meetings and voting: committee drafts, publishes and opens; owners cast ballots
and fetch receipts; everyone in the estate reads turnout and, after close, results. Thin: the
services decide, errors are {error: {code, message}}."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from assembly.audit import observer
from assembly.errors import InvalidInput
from assembly.permissions import Action, CurrentPrincipal, estate_for
from assembly.register.models import Estate
from assembly.voting import casting, meetings, objections, views
from assembly.voting.models import Ballot
from assembly.web.deps import in_write_turn
from assembly.web.http import now_for

IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]  # a row id; larger numbers are refused, not sent to the database
router = APIRouter(prefix="/api/estates/{code}", tags=["meetings"])


class MotionBody(BaseModel):
    item: int = Field(ge=1, le=9)
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=20000)
    kind: Literal["motion", "election"] = "motion"
    seats: int | None = Field(default=None, ge=1, le=50)
    candidates: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default_factory=list, max_length=50)


class MeetingBody(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    closes_at: datetime
    revote: Literal["last", "first"] = "last"
    objection_days: int = Field(default=7, ge=1, le=60)
    proxy_limit: int = Field(default=3, ge=1, le=10)
    paper_grace_days: int = Field(default=3, ge=0, le=30)
    publish_per_unit_results: bool = False
    motions: list[MotionBody] = Field(min_length=1, max_length=30)


class BallotBody(BaseModel):
    member: str = Field(min_length=1, max_length=400)
    choice: str | None = Field(default=None, max_length=10)
    choices: list[Annotated[str, Field(max_length=40)]] | None = Field(default=None, max_length=50)
    idempotency_key: str = Field(min_length=1, max_length=64)


def meeting_of(request: Request, session, estate: Estate, meeting_id: int):
    """The meeting as stored: a page view never closes or counts it (the job runner does, assembly.jobs;
    until then its state reads "closing")."""
    return meetings.get_meeting(session, estate=estate, meeting_id=meeting_id)


@router.get("/meetings")
def list_meetings(request: Request, session: views.SessionDep,
                  estate: Annotated[Estate, estate_for(Action.MEETING_READ)], principal: CurrentPrincipal) -> dict:
    drafts = principal.may(Action.MOTION_DRAFT)
    now = now_for(request)
    return {"meetings": [{"id": m.id, "title": m.title, "state": meetings.state(m, now),
                          "closes_at": m.closes_at.isoformat()}
                         for m in meetings.meetings_of(session, estate=estate, published_only=not drafts)]}


@router.post("/meetings", status_code=201)
def create_meeting(request: Request, session: views.SessionDep, body: MeetingBody,
                   estate: Annotated[Estate, estate_for(Action.MOTION_DRAFT)], principal: CurrentPrincipal):
    if body.closes_at.tzinfo is None:
        raise InvalidInput("截止时间须带时区 / closes_at needs a time zone", code="naive_time")
    drafts = [meetings.MotionDraft(item=m.item, title=m.title, text=m.text, kind=m.kind, seats=m.seats,
                                   candidates=tuple(m.candidates)) for m in body.motions]
    now = now_for(request)
    meeting = meetings.create_meeting(
        session, estate=estate, principal=principal, title=body.title, closes_at=body.closes_at, motions=drafts,
        now=now, revote=body.revote, objection_days=body.objection_days, proxy_limit=body.proxy_limit,
        paper_grace_days=body.paper_grace_days, publish_per_unit_results=body.publish_per_unit_results)
    return JSONResponse(views.meeting_json(session, estate=estate, meeting=meeting, now=now), status_code=201)


@router.get("/meetings/{meeting}")
def show_meeting(meeting: IdPath, request: Request, session: views.SessionDep,
                 estate: Annotated[Estate, estate_for(Action.MEETING_READ)], principal: CurrentPrincipal) -> dict:
    found = meeting_of(request, session, estate, meeting)
    if found.published_at is None and not principal.may(Action.MOTION_DRAFT):
        raise views.draft_hidden()
    return views.meeting_json(session, estate=estate, meeting=found, now=now_for(request))


@router.post("/meetings/{meeting}/publish")
def publish_meeting(meeting: IdPath, request: Request, session: views.SessionDep,
                    estate: Annotated[Estate, estate_for(Action.MOTION_PUBLISH)], principal: CurrentPrincipal) -> dict:
    now = now_for(request)
    found = meetings.publish(session, meeting=meetings.get_meeting(session, estate=estate, meeting_id=meeting),
                             estate=estate, principal=principal, now=now)
    return views.meeting_json(session, estate=estate, meeting=found, now=now)


@router.post("/meetings/{meeting}/open")
def open_meeting(meeting: IdPath, request: Request, session: views.SessionDep,
                 estate: Annotated[Estate, estate_for(Action.MEETING_CONVENE)], principal: CurrentPrincipal) -> dict:
    now = now_for(request)
    found = meetings.open_voting(session, meeting=meetings.get_meeting(session, estate=estate, meeting_id=meeting),
                                 estate=estate, principal=principal, now=now)
    return views.meeting_json(session, estate=estate, meeting=found, now=now)


@router.get("/meetings/{meeting}/mine")
def my_ballots(meeting: IdPath, request: Request, session: views.SessionDep,
               estate: Annotated[Estate, estate_for(Action.VOTE)], principal: CurrentPrincipal) -> dict:
    """The owner's voting members on this meeting's roll, and per motion whether each has voted."""
    found = meeting_of(request, session, estate, meeting)
    held = casting.holdings(session, meeting=found, pseudonym=principal.pseudonym or "")
    keys = [h.member_key for h in held]
    return {
        "revote": found.revote, "revote_rule": casting.REVOTE_RULES[found.revote],
        "members": [{"member": h.member_key, "units": list(h.units), "area": views.format_area(h.area),
                     **views.tenure_json(h)} for h in held],
        "motions": [{"id": motion.id, "voted": {key: ballot.id for key, ballot in casting.my_ballots(
            session, motion=motion, member_keys=keys, held=held).items()}}
                    for motion in meetings.motions_of(session, meeting=found)],
    }


@router.post("/meetings/{meeting}/motions/{motion}/ballots")
def cast_ballot(meeting: IdPath, motion: IdPath, request: Request, session: views.SessionDep, body: BallotBody,
                estate: Annotated[Estate, estate_for(Action.VOTE)], principal: CurrentPrincipal):
    found = meetings.get_meeting(session, estate=estate, meeting_id=meeting)
    target = meetings.get_motion(session, meeting=found, motion_id=motion)
    choice = body.choices if target.kind == "election" else body.choice
    if choice is None:
        raise InvalidInput("请选择 / a choice is required", code="choice_required")
    ballot, created = casting.cast(session, meeting=found, motion=target, principal=principal, member_key=body.member,
                                   choice=choice, idempotency_key=body.idempotency_key, now=now_for(request))
    assert found.id is not None and target.id is not None
    return JSONResponse(_ballot_json(estate, found.id, target.id, ballot), status_code=201 if created else 200)


def _ballot_json(estate: Estate, meeting_id: int, motion_id: int, ballot: Ballot) -> dict:
    base = f"/api/estates/{estate.code}/meetings/{meeting_id}/motions/{motion_id}/ballots/{ballot.id}"
    return {"ballot": ballot.id, "member": ballot.member_key, "entry": ballot.entry_index,
            "commitment": ballot.commitment, "cast_at": ballot.cast_at.isoformat(), "receipt": base + "/receipt"}


@router.get("/meetings/{meeting}/motions/{motion}/ballots/{ballot}/receipt", response_class=PlainTextResponse)
def ballot_receipt(meeting: IdPath, motion: IdPath, ballot: IdPath, request: Request, session: views.SessionDep,
                   estate: Annotated[Estate, estate_for(Action.VOTE)], principal: CurrentPrincipal):
    """The ballot's tlog-proof receipt (check it with `assembly audit verify-receipt`)."""
    text = receipt_text(request, session, estate, meeting, motion, ballot, principal)
    return PlainTextResponse(text, headers={"Content-Disposition": f'attachment; filename="receipt-{ballot}.txt"'})


def receipt_text(request: Request, session, estate: Estate, meeting: int, motion: int, ballot: int, principal) -> str:
    found = meetings.get_meeting(session, estate=estate, meeting_id=meeting)
    target = meetings.get_motion(session, meeting=found, motion_id=motion)
    held = casting.holdings(session, meeting=found, pseudonym=principal.pseudonym or "")
    mine = casting.ballot_for_receipt(session, motion=target, ballot_id=ballot, member_keys=[h.member_key for h in held],
                                      held=held)
    assert estate.id is not None
    return signed_receipt(request, estate_id=estate.id, index=mine.entry_index)


def signed_receipt(request: Request, *, estate_id: int, index: int) -> str:
    """Entry `index`'s receipt (audit.observer.receipt): it may sign a checkpoint, a short write of its
    own, so it runs in the process's write turn (web/deps.py in_write_turn)."""
    engine, settings = request.app.state.engine, request.app.state.settings
    return in_write_turn(engine, lambda: observer.receipt(engine, settings=settings, estate_id=estate_id, index=index))


@router.get("/meetings/{meeting}/motions/{motion}/units")
def unit_results(meeting: IdPath, motion: IdPath, request: Request, session: views.SessionDep,
                 estate: Annotated[Estate, estate_for(Action.UNIT_RESULTS_READ)]) -> dict:
    """After close, where the meeting's rules say so: per unit the room, area and choice (no names)."""
    found = meeting_of(request, session, estate, meeting)
    target = meetings.get_motion(session, meeting=found, motion_id=motion)
    if not found.publish_per_unit_results or target.tally_file is None:
        raise views.no_unit_results(found)
    return {"units": [{"unit": line["unit"], "area": views.format_area(line["area"]), "choice": line["choice"]}
                      for line in views.unit_lines(session, motion=target)]}


class ObjectionBody(BaseModel):
    member: str = Field(min_length=1, max_length=400)
    text: str = Field(default="", max_length=2000)


class DecisionBody(BaseModel):
    decision: Literal["upheld", "dismissed"]


def _objection_json(objection) -> dict:
    return {"id": objection.id, "member": objection.member_key, "ballot_entry": objection.ballot_entry,
            "entry": objection.entry_index, "filed_at": objection.filed_at.isoformat(),
            "decision": objection.decision,
            "decided_at": objection.decided_at.isoformat() if objection.decided_at else None}


@router.post("/meetings/{meeting}/motions/{motion}/objections", status_code=201)
def file_objection(meeting: IdPath, motion: IdPath, request: Request, session: views.SessionDep, body: ObjectionBody,
                   estate: Annotated[Estate, estate_for(Action.OBJECTION_FILE)], principal: CurrentPrincipal) -> dict:
    """An owner objects to their own member's line during the objection period."""
    found = meeting_of(request, session, estate, meeting)
    target = meetings.get_motion(session, meeting=found, motion_id=motion)
    return _objection_json(objections.file_objection(session, meeting=found, motion=target, principal=principal,
                                                     member_key=body.member, text=body.text, now=now_for(request)))


@router.post("/meetings/{meeting}/motions/{motion}/objections/{objection}/decision")
def decide_objection(meeting: IdPath, motion: IdPath, objection: IdPath, request: Request, session: views.SessionDep,
                     body: DecisionBody, estate: Annotated[Estate, estate_for(Action.RESULT_PUBLISH)],
                     principal: CurrentPrincipal) -> dict:
    """Uphold (the ballot is voided and the motion recounted) or dismiss, before the result is final."""
    found = meetings.get_meeting(session, estate=estate, meeting_id=meeting)
    target = meetings.get_motion(session, meeting=found, motion_id=motion)
    return _objection_json(objections.decide(session, meeting=found, motion=target, objection_id=objection,
                                             upheld=body.decision == "upheld", principal=principal,
                                             now=now_for(request)))
