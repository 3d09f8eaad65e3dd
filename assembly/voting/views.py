"""What pages and the API show of a meeting: its state, turnout, and after close the decision with
its legal reasons and the per-unit lines (room, area, choice — never names)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from assembly.area import format_area
from assembly.errors import Conflict, NotFound
from assembly.law.rules import Count, decide_motion, first_area, percent
from assembly.law.tally import roll_of
from assembly.localtime import stamp
from assembly.register.models import Estate
from assembly.voting import closing, meetings, objections
from assembly.voting.models import Meeting, Motion
from assembly.voting.posting_models import NoticePosting
from assembly.web.deps import SessionDep  # noqa: F401 - the routes' alias, re-exported

NOT_VOTED = "未参加表决"


def count_of(share: dict) -> Count:
    return Count(Decimal(share["area"]), int(share["heads"]))


@dataclass(frozen=True)
class Outcome:
    result: dict
    passed: bool | None
    reasons: tuple[str, ...]
    elected: tuple[str, ...]


def outcome(motion: Motion) -> Outcome | None:
    """The announced result and the legal reasons in words (rules.decide_motion on its figures)."""
    result = closing.result_of(motion)
    if result is None:
        return None
    total, participating = count_of(result["total"]), count_of(result["participating"])
    if motion.kind == "motion":
        decision = decide_motion(item=motion.item, total=total, participating=participating,
                                 agree=count_of(result["agree"]))
        return Outcome(result, decision.passed, decision.reasons, ())
    decision = decide_motion(item=3, total=total, participating=participating, agree=participating)
    reasons = decision.reasons[:2] + ((decision.reasons[2],) if not decision.quorum else ())
    elected = tuple(c["id"] for c in result["candidates"] if c["elected"])
    return Outcome(result, None, reasons, elected)


def unit_lines(session: Session, *, motion: Motion) -> list[dict]:
    """Every unit of the roll with its area and the choice its member's counted ballot made, in the
    same recount as the totals: without the ballots voided by upheld objections (under `revote:
    last` a member's earlier ballot counts again when the later one is voided)."""
    if motion.tally_file is None:
        return []
    document, _entries = objections.counted_document(session, motion=motion)
    _members, member_of = roll_of(document["units"])
    said = {}
    for member, index in objections.counted_indexes(document).items():
        ballot = document["ballots"][index]
        if "choice" in ballot:
            said[member] = {"agree": "同意", "oppose": "反对", "abstain": "弃权"}[ballot["choice"]]
        else:
            said[member] = "选：" + ("、".join(ballot["choices"]) or "（空白票）")
    lines = []
    for unit in document["units"]:
        area = first_area({k: Decimal(v) for k, v in unit["area"].items()})[0]
        lines.append({"unit": unit["id"], "area": area, "choice": said.get(member_of[unit["id"]], NOT_VOTED)})
    return lines


def turnout_json(turnout: meetings.Turnout | None) -> dict | None:
    if turnout is None:
        return None
    return {
        "participating": {"area": format_area(turnout.participating.area), "heads": turnout.participating.heads},
        "total": {"area": format_area(turnout.total.area), "heads": turnout.total.heads},
        "area_share": percent(turnout.participating.area, turnout.total.area),
        "heads_share": percent(turnout.participating.heads, turnout.total.heads),
        "area_reaches_two_thirds": turnout.area_reached,
        "heads_reach_two_thirds": turnout.heads_reached,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _posting_json(session: Session, estate: Estate, meeting: Meeting) -> dict | None:
    """The notice's posting in the estate, as recorded (Beijing Art. 35 ¶4)."""
    posted = session.scalars(select(NoticePosting).where(col(NoticePosting.meeting_id) == meeting.id)).first()
    if posted is None:
        return None
    return {"place": posted.place, "posted_at": posted.posted_at.isoformat(), "photo_sha256": posted.sha256,
            "photo": f"/estate/{estate.code}/meetings/{meeting.id}/posting/photo",
            "recorded_at": posted.recorded_at.isoformat(), "entry": posted.entry_index}


def meeting_json(session: Session, *, estate: Estate, meeting: Meeting, now: datetime) -> dict:
    motions = meetings.motions_of(session, meeting=meeting)
    stage = meetings.state(meeting, now)
    listed: list[dict] = []
    body = {
        "id": meeting.id, "estate": estate.code, "title": meeting.title, "state": stage,
        "revote": meeting.revote, "objection_days": meeting.objection_days, "proxy_limit": meeting.proxy_limit,
        "paper_grace_days": meeting.paper_grace_days, "publish_per_unit_results": meeting.publish_per_unit_results,
        "unit_results_rule": meetings.unit_publication_statement(meeting),
        **{name: (getattr(meeting, name).isoformat() if getattr(meeting, name) else None)
           for name in ("created_at", "published_at", "rc_notified_at", "opens_at", "closes_at", "closed_at",
                        "announced_at", "final_at")},
        "earliest_open": _iso(meetings.opens_from(session, meeting=meeting)),
        "held_at": _iso(meeting.held_at),
        "posting": _posting_json(session, estate, meeting),
        "paper_until": meetings.paper_ends(meeting).isoformat() if meeting.paper_grace_days else None,
        "problems_before_open": meetings.problems_before_open(session, meeting=meeting, now=now)
        if stage in (meetings.DRAFT, meetings.NOTICE) else [],
        "motions": listed,
    }
    for motion in motions:
        entry = {"id": motion.id, "log_id": motion.public_id, "position": motion.position, "item": motion.item,
                 "title": motion.title, "text": motion.text, "kind": motion.kind,
                 "turnout": turnout_json(meetings.turnout(session, meeting=meeting, motion=motion))}
        if motion.kind == "election":
            entry |= {"seats": motion.seats, "candidates": json.loads(motion.candidates_json or "[]")}
        decided = outcome(motion)
        if decided is not None:
            entry["result"] = {k: v for k, v in decided.result.items() if k != "rejected"} | {
                "reasons": list(decided.reasons), "tally_sha256": motion.tally_sha256,
                "rejected": rejected_json(session, motion=motion, rejected=decided.result.get("rejected", [])),
                "voided": objections.voided_entries(session, motion=motion),
                "tally_file": f"/api/estates/{estate.code}/meetings/{meeting.id}/motions/{motion.id}/tally"}
        listed.append(entry)
    return body


def rejected_json(session: Session, *, motion: Motion, rejected: list[dict]) -> dict:
    """The ballots the count did not accept (a duplicate under `revote: first`, a proxy's ballot
    after the owner's own, ...): how many, why, and each one's `ballot.cast` entry, so that an owner
    finds their receipt's ballot there. Never a choice."""
    if not rejected:
        return {"count": 0, "ballots": []}
    entries = objections.counted_entries(session, motion=motion)  # the result's own ballot order
    return {"count": len(rejected), "ballots": [{"entry": entries[r["index"]], "reason": r["reason"]}
                                                for r in rejected]}


def published_meetings_for_owner(session: Session, *, estate_id: int) -> list[Meeting]:
    return list(session.scalars(select(Meeting).where(col(Meeting.estate_id) == estate_id,
                                                      col(Meeting.published_at).is_not(None))
                                .order_by(col(Meeting.closes_at).desc())))


def draft_hidden() -> NotFound:
    return NotFound("本小区没有这次会议 / no such meeting in this estate", code="meeting_not_found")


def no_unit_results(meeting: Meeting) -> Conflict:
    if meeting.closed_at is None:
        return Conflict("投票截止后才公布每户的表决情况 / per-unit results come after close", code="not_closed")
    if meeting.publish_per_unit_results and meeting.announced_at is None:  # the paper phase: not counted yet
        until = meetings.paper_ends(meeting)
        return Conflict(f"纸质选票正在录入，尚未计票；计票公告后公布每户的表决情况，预计在 {stamp(until)}"
                        f"（业主委员会宣布录入完毕时更早） / not counted yet: paper ballots are being entered; per-unit "
                        f"results come with the count, planned for {until.isoformat()} (earlier if the committee "
                        f"declares entry finished)",
                        code="unit_results_not_counted_yet", detail={"counted_by": until.isoformat()})
    return Conflict(f"{meetings.UNITS_NOT_PUBLISHED} / per-unit choices are not published to owners: they are "
                    "personal information (Personal Information Protection Law Arts. 13, 25) and the estate's rules "
                    "adopted by the assembly do not provide for publishing them", code="unit_results_not_published")


VOTE_FORM = {  # the page vote, for programs: its form fields and the redirect that names the ballot
    "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["choice", "request_key"],
        "properties": {"member": {"type": "string"}, "choice": {"type": "string"},
                       "choices": {"type": "array", "items": {"type": "string"}},
                       "request_key": {"type": "string", "description": "idempotency key"},
                       "confirm": {"type": "string", "description": "1: cast; absent: the confirmation page"}}}}}},
}
VOTE_ANSWERS: dict[int | str, dict] = {
    200: {"content": {"text/html": {}}, "description": "without `confirm`: the page asking to confirm"},
    303: {"description": "cast: redirect to the receipt page of the ballot",
          "headers": {name: {"schema": {"type": "string"}, "description": text} for name, text in (
              ("X-Ballot-Id", "the ballot's id (also in the Location path)"),
              ("X-Ballot-Entry", "index of its ballot.cast log entry"),
              ("X-Ballot-Commitment", "its commitment, as logged"))}},
}


def tenure_json(holding) -> dict:
    """A member sold or bought during voting: when the sale was registered, and in which version."""
    if holding.sold is not None:
        return {"sold": {"registered_at": holding.sold.registered_at.isoformat(),
                         "register_version": holding.sold.version_number}}
    if holding.acquired is not None:
        return {"acquired": {"registered_at": holding.acquired.registered_at.isoformat(),
                             "register_version": holding.acquired.version_number}}
    return {}


def with_ballot_headers(response, ballot):
    """The redirect after a page vote names the ballot for a program following it: its id (also in
    the receipt's path), its `ballot.cast` entry and its commitment, as the JSON API answers them."""
    response.headers.update({"X-Ballot-Id": str(ballot.id), "X-Ballot-Entry": str(ballot.entry_index),
                             "X-Ballot-Commitment": ballot.commitment})
    return response
