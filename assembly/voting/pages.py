"""Phone pages of meetings and voting (Chinese, one column, every form works without JavaScript):
the committee drafts, publishes and opens; an owner reads a motion, chooses, confirms and keeps the
receipt; everyone of the estate sees live turnout and, after close, the result."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse, RedirectResponse
from starlette.datastructures import FormData

from assembly.errors import AssemblyError, InvalidInput
from assembly.identity import mask_name
from assembly.law.rules import ITEM_NAMES, MAJOR_ITEMS
from assembly.permissions import Action, CurrentPrincipal, Principal, estate_for, require
from assembly.register import voters  # co-owners' voter: the others see the unit, not the form
from assembly.register.models import Estate, Person
from assembly.voting import api, attachments, casting, meetings, objections, posting, views
from assembly.voting.models import Meeting, Motion
from assembly.voting.paper_models import unsettled_entries
from assembly.web.bars import bar_width
from assembly.web.bodies import takes_files
from assembly.web.deps import FormDep
from assembly.web.http import now_for, redirect, zh
from assembly.web.templating import render

IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]  # a row id; larger numbers are refused, not sent to the database
router = APIRouter(include_in_schema=False)
documented = APIRouter()  # the page vote, in the OpenAPI description for programs
MOTION_SLOTS = 3


def page_context(request: Request, session, estate: Estate, meeting: Meeting, principal: Principal) -> dict:
    assert meeting.id is not None
    now = now_for(request)
    stage = meetings.state(meeting, now)
    motions = meetings.motions_of(session, meeting=meeting)
    rows = []
    for motion in motions:
        turnout = meetings.turnout(session, meeting=meeting, motion=motion)
        rows.append({"motion": motion, "turnout": turnout, "outcome": views.outcome(motion),
                     "candidates": json.loads(motion.candidates_json or "[]")})
    return {"estate": estate, "meeting": meeting, "stage": stage, "stage_label": meetings.STATE_LABELS[stage],
            "rows": rows, "principal": principal, "revote_rule": casting.REVOTE_RULES[meeting.revote],
            "earliest_open": meetings.opens_from(session, meeting=meeting),
            "posting": posting.posting_of(session, meeting=meeting) if meeting.published_at else None,
            "problems": meetings.problems_before_open(session, meeting=meeting, now=now)
            if stage in (meetings.DRAFT, meetings.NOTICE) else [],
            "if_published": meetings.open_if_published(now) if stage == meetings.DRAFT else (None, None),
            "pending_sheets": len(unsettled_entries(session, meeting_id=meeting.id)) if meeting.closed_at else 0,
            "item_names": ITEM_NAMES, "major_items": MAJOR_ITEMS, "bar": bar_width,
            "may": principal.may, "Action": Action,
            "attachments": attachments.listed(session, motion_ids=[m.id for m in motions if m.id is not None]),
            "attachment_accept": attachments.ACCEPT}


@router.get("/estate/{code}/meetings")
def meeting_list(request: Request, session: views.SessionDep, principal: CurrentPrincipal,
                 estate: Annotated[Estate, estate_for(Action.MEETING_READ)]):
    now = now_for(request)
    found = meetings.meetings_of(session, estate=estate, published_only=not principal.may(Action.MOTION_DRAFT))
    rows = [{"meeting": m, "stage": meetings.STATE_LABELS[meetings.state(m, now)]} for m in found]
    return render(request, "voting/meetings.html", {"estate": estate, "rows": rows, "may": principal.may,
                                                    "Action": Action})


@router.get("/me/votes")
def my_votes(request: Request, session: views.SessionDep,
             principal: Annotated[Principal, require(Action.OWNER_HOME)]):
    """The owner's way in from the home page: the meetings of their estate."""
    ids = principal.estate_ids
    assert isinstance(ids, frozenset)  # an owner's: their estate, never all of them
    (estate_id,) = sorted(ids)
    estate = session.get_one(Estate, estate_id)
    return RedirectResponse(f"/estate/{estate.code}/meetings", status_code=303)


def _form_page(request: Request, estate: Estate, *, error: str | None = None, values: dict | None = None,
               status: int = 200):
    return render(request, "voting/new_meeting.html",
                  {"estate": estate, "error": error, "values": values or {}, "slots": range(1, MOTION_SLOTS + 1),
                   "item_names": ITEM_NAMES, "attachment_accept": attachments.ACCEPT,
                   "if_published": meetings.open_if_published(now_for(request)),
                   "units_allowed": meetings.estate_rules_publish_units(estate)}, status_code=status)


@router.get("/estate/{code}/meetings/new")
def new_meeting(request: Request, estate: Annotated[Estate, estate_for(Action.MOTION_DRAFT)]):
    return _form_page(request, estate)


def _number(form: FormData, name: str, default: int) -> int:
    raw = str(form.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 4:
        raise InvalidInput(f"“{name}”须为整数 / {name} must be a whole number", code="invalid_number")
    return int(raw)


def _drafts(form: FormData) -> list[meetings.MotionDraft]:
    drafts = []
    for slot in range(1, MOTION_SLOTS + 1):
        title = str(form.get(f"m{slot}_title") or "").strip()
        if not title:
            continue
        kind = str(form.get(f"m{slot}_kind") or "motion")
        candidates = tuple(c.strip() for c in str(form.get(f"m{slot}_candidates") or "").replace("，", ",")
                           .replace("\n", ",").split(",") if c.strip())
        drafts.append(meetings.MotionDraft(
            item=_number(form, f"m{slot}_item", 0), title=title[:200], text=str(form.get(f"m{slot}_text") or "")[:20000],
            kind=kind, seats=_number(form, f"m{slot}_seats", 1) if kind == "election" else None, candidates=candidates))
    return drafts


def _closes_at(form: FormData) -> datetime:
    raw = str(form.get("closes_at") or "").strip()
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("请填写投票截止时间（北京时间） / closes_at is required", code="closes_at_required") from None
    return local.replace(tzinfo=meetings.SHANGHAI) if local.tzinfo is None else local


@router.post("/estate/{code}/meetings")
@takes_files(MOTION_SLOTS * attachments.MAX_PER_MOTION, each=attachments.MAX_BYTES)
def create_meeting(request: Request, session: views.SessionDep, principal: CurrentPrincipal,
                   estate: Annotated[Estate, estate_for(Action.MOTION_DRAFT)], form: FormDep):
    values = {key: str(value)[:2000] for key, value in form.items() if isinstance(value, str)}
    try:
        uploads = attachments.form_uploads(form, slots=MOTION_SLOTS)  # checked before anything is written
        meeting = meetings.create_meeting(
            session, estate=estate, principal=principal, title=str(form.get("title") or "")[:300],
            closes_at=_closes_at(form), motions=_drafts(form), now=now_for(request),
            revote=str(form.get("revote") or "last"), objection_days=_number(form, "objection_days", 7),
            proxy_limit=_number(form, "proxy_limit", 3), paper_grace_days=_number(form, "paper_grace_days", 3),
            publish_per_unit_results=form.get("publish_per_unit_results") == "1")
    except AssemblyError as error:
        return _form_page(request, estate, error=zh(error.message), values=values, status=error.status)
    attachments.attach_all(session, meeting=meeting, principal=principal, uploads=uploads, now=now_for(request))
    return redirect(request, f"/estate/{estate.code}/meetings/{meeting.id}")


@router.get("/estate/{code}/meetings/{meeting}")
def meeting_page(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
                 estate: Annotated[Estate, estate_for(Action.MEETING_READ)]):
    found = api.meeting_of(request, session, estate, meeting)
    if found.published_at is None and not principal.may(Action.MOTION_DRAFT):
        raise views.draft_hidden()
    context = page_context(request, session, estate, found, principal)
    context["notice"] = request.query_params.get("done")
    return render(request, "voting/meeting.html", context)


@router.post("/estate/{code}/meetings/{meeting}/publish")
def publish_meeting(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
                    estate: Annotated[Estate, estate_for(Action.MOTION_PUBLISH)]):
    meetings.publish(session, meeting=meetings.get_meeting(session, estate=estate, meeting_id=meeting),
                     estate=estate, principal=principal, now=now_for(request))
    return redirect(request, f"/estate/{estate.code}/meetings/{meeting}?done=published")


@router.post("/estate/{code}/meetings/{meeting}/open")
def open_meeting(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
                 estate: Annotated[Estate, estate_for(Action.MEETING_CONVENE)]):
    found = meetings.get_meeting(session, estate=estate, meeting_id=meeting)
    problems = meetings.problems_before_open(session, meeting=found, now=now_for(request))
    if problems:  # answered as the page with the reasons, not raised: nothing to roll back
        context = page_context(request, session, estate, found, principal) | {"refused": problems}
        return render(request, "voting/meeting.html", context, status_code=409)
    meetings.open_voting(session, meeting=found, estate=estate, principal=principal, now=now_for(request))
    return redirect(request, f"/estate/{estate.code}/meetings/{meeting}?done=opened")


def _motion_context(request: Request, session, estate: Estate, meeting: Meeting, motion: Motion,
                    principal: Principal) -> dict:
    context = page_context(request, session, estate, meeting, principal)
    row = next(r for r in context["rows"] if r["motion"].id == motion.id)
    held = casting.holdings(session, meeting=meeting, pseudonym=principal.pseudonym or "") \
        if principal.may(Action.VOTE) else []
    voted = casting.my_ballots(session, motion=motion, member_keys=[h.member_key for h in held], held=held)
    assert estate.id is not None
    others = {h.member_key: voters.designated_voter(session, estate_id=estate.id, member_key=h.member_key) for h in held}
    other_voter = {key: mask_name(session.get(Person, d.voter_id).name) for key, d in others.items()
                   if d is not None and d.voter_id != principal.person_id}
    lines = views.unit_lines(session, motion=motion) if (principal.may(Action.UNIT_RESULTS_READ) and meeting.publish_per_unit_results) \
        else []
    return context | {"row": row, "motion": motion, "holdings": held, "voted": voted, "lines": lines,
                      "other_voter": other_voter,
                      "request_key": secrets.token_urlsafe(16), "choice_labels": casting.CHOICE_LABELS,
                      "objections": objections.objections_of(session, motion=motion)
                      if principal.may(Action.RESULT_PUBLISH) or principal.may(Action.OBJECTION_FILE) else [],
                      "objection_ends": objections.period_ends(meeting), "now": now_for(request),
                      "notice": request.query_params.get("done")}


@router.get("/estate/{code}/meetings/{meeting}/motions/{motion}")
def motion_page(meeting: IdPath, motion: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
                estate: Annotated[Estate, estate_for(Action.MEETING_READ)]):
    found = api.meeting_of(request, session, estate, meeting)
    if found.published_at is None and not principal.may(Action.MOTION_DRAFT):
        raise views.draft_hidden()
    target = meetings.get_motion(session, meeting=found, motion_id=motion)
    return render(request, "voting/motion.html", _motion_context(request, session, estate, found, target, principal))


@documented.post("/estate/{code}/meetings/{meeting}/motions/{motion}/vote", tags=["meetings"],
                  openapi_extra=views.VOTE_FORM, responses=views.VOTE_ANSWERS)
def vote(meeting: IdPath, motion: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
         estate: Annotated[Estate, estate_for(Action.VOTE)], form: FormDep):
    """Two steps without JavaScript: the choice comes back as a confirmation page; confirming casts."""
    found = meetings.get_meeting(session, estate=estate, meeting_id=meeting)
    target = meetings.get_motion(session, meeting=found, motion_id=motion)
    member, key = str(form.get("member") or "")[:400], str(form.get("request_key") or "")[:64]
    choice: str | list[str] = [str(c)[:40] for c in form.getlist("choices")][:50] if target.kind == "election" \
        else str(form.get("choice") or "")[:10]
    context = _motion_context(request, session, estate, found, target, principal)
    holding = next((h for h in context["holdings"] if h.member_key == member), None)
    if target.kind == "motion" and choice not in casting.CHOICE_LABELS:
        return render(request, "voting/motion.html", context | {"error": "请先选择同意、反对或弃权。",
                                                                "error_member": member}, status_code=422)
    if form.get("confirm") != "1":
        return render(request, "voting/confirm.html", context | {"holding": holding, "member": member,
                                                                 "choice": choice, "key": key})
    try:
        ballot, _created = casting.cast(session, meeting=found, motion=target, principal=principal, member_key=member,
                                        choice=choice, idempotency_key=key, now=now_for(request))
    except AssemblyError as error:
        return render(request, "voting/motion.html", context | {"error": zh(error.message), "error_member": member},
                      status_code=error.status)
    return views.with_ballot_headers(redirect(
        request, f"/estate/{estate.code}/meetings/{meeting}/motions/{motion}/ballots/{ballot.id}?new=1"), ballot)


@router.get("/estate/{code}/meetings/{meeting}/motions/{motion}/ballots/{ballot}")
def receipt_page(meeting: IdPath, motion: IdPath, ballot: IdPath, request: Request, session: views.SessionDep,
                 principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.VOTE)]):
    text = api.receipt_text(request, session, estate, meeting, motion, ballot, principal)
    found = meetings.get_meeting(session, estate=estate, meeting_id=meeting)
    target = meetings.get_motion(session, meeting=found, motion_id=motion)
    mine = session.get(casting.Ballot, ballot)
    return render(request, "voting/receipt.html", {
        "estate": estate, "meeting": found, "motion": target, "ballot": mine, "receipt": text,
        "fresh": request.query_params.get("new") == "1", "revote_rule": casting.REVOTE_RULES[found.revote]})


@router.get("/estate/{code}/meetings/{meeting}/motions/{motion}/ballots/{ballot}/receipt.txt")
def receipt_download(meeting: IdPath, motion: IdPath, ballot: IdPath, request: Request, session: views.SessionDep,
                     principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.VOTE)]):
    text = api.receipt_text(request, session, estate, meeting, motion, ballot, principal)
    return PlainTextResponse(text, headers={"Content-Disposition": f'attachment; filename="receipt-{ballot}.txt"'})


@router.post("/estate/{code}/meetings/{meeting}/motions/{motion}/objections")
def file_objection(meeting: IdPath, motion: IdPath, request: Request, session: views.SessionDep,
                   principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.OBJECTION_FILE)],
                   form: FormDep):
    """An owner says "this is not my vote" about their unit's line, during the objection period."""
    found = meetings.get_meeting(session, estate=estate, meeting_id=meeting)
    target = meetings.get_motion(session, meeting=found, motion_id=motion)
    objections.file_objection(session, meeting=found, motion=target, principal=principal,
                              member_key=str(form.get("member") or "")[:400], text=str(form.get("text") or "")[:2000],
                              now=now_for(request))
    return redirect(request, f"/estate/{estate.code}/meetings/{meeting}/motions/{motion}?done=objected")


@router.post("/estate/{code}/meetings/{meeting}/motions/{motion}/objections/{objection}")
def decide_objection(meeting: IdPath, motion: IdPath, objection: IdPath, request: Request,
                     session: views.SessionDep, principal: CurrentPrincipal,
                     estate: Annotated[Estate, estate_for(Action.RESULT_PUBLISH)], form: FormDep):
    """The committee upholds (the ballot is voided and the motion recounted) or dismisses an objection."""
    found = meetings.get_meeting(session, estate=estate, meeting_id=meeting)
    target = meetings.get_motion(session, meeting=found, motion_id=motion)
    decision = form.get("decision")
    if decision not in ("upheld", "dismissed"):
        raise InvalidInput("请选择成立或不成立 / upheld or dismissed", code="invalid_decision")
    objections.decide(session, meeting=found, motion=target, objection_id=objection, upheld=decision == "upheld",
                      principal=principal, now=now_for(request))
    return redirect(request, f"/estate/{estate.code}/meetings/{meeting}/motions/{motion}?done=decided")
