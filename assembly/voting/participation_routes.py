"""Which units have voted, never how — for the committee, observers, the residents' committee and the
street office: a list page (who to remind), the estate map, a CSV and the JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from assembly.permissions import Action, CurrentPrincipal, Principal, estate_for
from assembly.register.models import Estate
from assembly.spreadsheet import csv_text
from assembly.voting import api, meetings, participation, views
from assembly.voting.pages import IdPath
from assembly.web.http import now_for
from assembly.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/estates/{code}", tags=["meetings"])
WHOLE_MAP_UNITS = 5000  # above this many units the map shows one building at a time


def _load(request: Request, session, estate: Estate, meeting_id: int, motion_id: int, principal: Principal):
    meeting = api.meeting_of(request, session, estate, meeting_id)
    if meeting.published_at is None and not principal.may(Action.MOTION_DRAFT):
        raise views.draft_hidden()
    motion = meetings.get_motion(session, meeting=meeting, motion_id=motion_id)
    return meeting, motion, participation.participation(session, meeting=meeting, motion=motion)


def _context(request: Request, session, estate: Estate, meeting, motion, found, building: str | None) -> dict:
    stage = meetings.state(meeting, now_for(request))
    context = {"estate": estate, "meeting": meeting, "motion": motion, "found": found, "stage": stage,
               "stage_label": meetings.STATE_LABELS[stage], "now": now_for(request),
               "motions": meetings.motions_of(session, meeting=meeting), "building": None, "buildings": []}
    if found is None:
        return context
    estate_map = participation.estate_map(found.units)
    context["buildings"] = estate_map.buildings
    shown = estate_map.buildings
    if len(found.units) > WHOLE_MAP_UNITS and shown:  # 100,000 units: one building per page
        chosen = next((b for b in shown if b.name == building), shown[0])
        shown, context["building"] = [chosen], chosen.name
    unplaced = estate_map.unplaced[:WHOLE_MAP_UNITS]  # usually few; listed on every page (all of them in the CSV)
    return context | {"map": estate_map, "shown": shown, "unplaced": unplaced,
                      "unplaced_more": len(estate_map.unplaced) - len(unplaced),
                      "lists": participation.by_building(shown, unplaced)}


@router.get("/estate/{code}/meetings/{meeting}/motions/{motion}/voted")
def voted_page(meeting: IdPath, motion: IdPath, request: Request, session: views.SessionDep,
               principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.VOTED_UNITS_READ)],
               building: Annotated[str | None, Query(max_length=40)] = None):
    """The units that have not voted yet (to remind them) and those that have, building by building."""
    found_meeting, target, found = _load(request, session, estate, meeting, motion, principal)
    return render(request, "voting/voted.html",
                  _context(request, session, estate, found_meeting, target, found, building))


@router.get("/estate/{code}/meetings/{meeting}/motions/{motion}/map")
def map_page(meeting: IdPath, motion: IdPath, request: Request, session: views.SessionDep,
             principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.VOTED_UNITS_READ)],
             building: Annotated[str | None, Query(max_length=40)] = None):
    """The estate map: every unit, voted or not (a word and a mark, not colour alone); live while voting."""
    found_meeting, target, found = _load(request, session, estate, meeting, motion, principal)
    return render(request, "voting/map.html", _context(request, session, estate, found_meeting, target, found, building))


@router.get("/estate/{code}/meetings/{meeting}/motions/{motion}/voted.csv")
def voted_csv(meeting: IdPath, motion: IdPath, request: Request, session: views.SessionDep,
              principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.VOTED_UNITS_READ)]):
    _meeting, target, found = _load(request, session, estate, meeting, motion, principal)
    rows: list[list[object]] = [["房号", "楼栋", "单元", "楼层", "是否已投票"]]
    for unit in found.units if found else ():
        where = participation.place(unit.unit)
        building, entrance, floor = (where[0], where[1], where[2]) if where else ("", "", "")
        rows.append([unit.unit, building, entrance, floor, "已投票" if unit.voted else "未投票"])
    return Response(csv_text(rows), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{estate.code}-meeting-{meeting}-motion-{motion}-voted.csv"',
        "X-Content-Type-Options": "nosniff"})


@api_router.get("/meetings/{meeting}/motions/{motion}/voted")
def voted_api(meeting: IdPath, motion: IdPath, request: Request, session: views.SessionDep,
              principal: CurrentPrincipal, estate: Annotated[Estate, estate_for(Action.VOTED_UNITS_READ)]) -> dict:
    """{voted: [unit codes], not_voted: [unit codes]} — never a choice, a name or a partial result."""
    found_meeting, target, found = _load(request, session, estate, meeting, motion, principal)
    body = {"meeting": found_meeting.id, "motion": target.id, "state": meetings.state(found_meeting, now_for(request)),
            "as_of": now_for(request).isoformat(), "opened": found is not None}
    if found is None:
        return body | {"units": 0, "voted": [], "not_voted": []}
    return body | {"units": len(found.units), "voted": found.voted, "not_voted": found.not_voted}
