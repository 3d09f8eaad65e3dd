"""A meeting's frozen roll and a closed motion's tally file over the API: what a district's system
or an observer's script needs to recount a meeting itself (rules.md; tally-format.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlmodel import col

from assembly.area import format_area
from assembly.errors import Conflict, Forbidden
from assembly.permissions import Action, CurrentPrincipal, estate_for
from assembly.register.models import Estate, RollMember, RollMemberUnit, RollSnapshot, Unit
from assembly.voting import api, meetings, objections, views

router = APIRouter(prefix="/api/estates/{code}", tags=["meetings"])
TALLY_CONTENT: dict[int | str, dict] = {
    200: {"content": {"application/json": {}},
          "description": "the assembly-tally/1 file, byte for byte as its SHA-256 was logged"}}


@router.get("/meetings/{meeting}/roll")
def frozen_roll(meeting: api.IdPath, request: Request, session: views.SessionDep,
                estate: Annotated[Estate, estate_for(Action.VOTED_UNITS_READ)]) -> dict:
    """The roll frozen when voting opened: each voting member (owners as pseudonyms, or the
    developer), its units, area and heads, and the totals every vote of the meeting is counted
    against. The committee, observers, the residents' committee and the street office."""
    found = api.meeting_of(request, session, estate, meeting)
    if found.roll_snapshot_id is None:
        raise Conflict("投票开始时才冻结名册 / the roll is frozen when voting opens", code="roll_not_frozen")
    snapshot = session.get_one(RollSnapshot, found.roll_snapshot_id)
    units: dict[int, list[str]] = {}
    for member_id, code in session.execute(
            select(col(RollMemberUnit.member_id), col(Unit.code))
            .join(Unit, col(Unit.id) == col(RollMemberUnit.unit_id))
            .join(RollMember, col(RollMember.id) == col(RollMemberUnit.member_id))
            .where(col(RollMember.snapshot_id) == snapshot.id).order_by(col(Unit.code))):
        units.setdefault(member_id, []).append(code)
    members = session.execute(select(col(RollMember.id), col(RollMember.member_key), col(RollMember.area),
                                     col(RollMember.heads))
                              .where(col(RollMember.snapshot_id) == snapshot.id).order_by(col(RollMember.member_key)))
    return {"meeting": found.id, "register_version_id": snapshot.version_id,
            "frozen_at": snapshot.frozen_at.isoformat(),
            "total": {"area": format_area(snapshot.total_area), "heads": snapshot.total_heads},
            # whether parking spaces and storage rooms count, as the estate decided (issue #24 item 7)
            "ancillary_rule": {"counted": estate.ancillary_counted, "reason": estate.ancillary_reason},
            "members": [{"member": key, "units": units.get(member_id, []), "area": format_area(area), "heads": heads}
                        for member_id, key, area, heads in members]}


@router.get("/meetings/{meeting}/motions/{motion}/tally", responses=TALLY_CONTENT, response_class=Response)
def tally_file(meeting: api.IdPath, motion: api.IdPath, request: Request, session: views.SessionDep,
               estate: Annotated[Estate, estate_for(Action.MEETING_READ)], principal: CurrentPrincipal):
    """The motion's tally file after the count (it holds each unit's choice): for observers, and
    for those who may read per-unit results where the meeting publishes them. Headers:
    `X-Tally-SHA256` (as `motion.closed` logged it) and `X-Voided-Entries` (the `ballot.cast`
    entries upheld objections voided; recount without them, as `result.recounted` did)."""
    found = api.meeting_of(request, session, estate, meeting)
    target = meetings.get_motion(session, meeting=found, motion_id=motion)
    observer = principal.may(Action.AUDIT_EXPORT)
    if not observer and not principal.may(Action.UNIT_RESULTS_READ):
        raise Forbidden("您的角色不能下载计票文件 / your role may not download tally files", code="role_forbidden")
    if not observer and not found.publish_per_unit_results:
        raise views.no_unit_results(found)
    if target.tally_file is None:
        if not observer:
            raise views.no_unit_results(found)  # not closed, or not counted yet (and when)
        raise Conflict("开票计票后才有计票文件 / the tally file is written by the count", code="not_counted_yet")
    assert target.tally_sha256 is not None  # logged with the tally file, at the count
    voided = objections.voided_entries(session, motion=target)
    return Response(bytes(target.tally_file), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{estate.code}-{target.public_id}-tally.json"',
        "X-Tally-SHA256": target.tally_sha256, "X-Voided-Entries": ",".join(map(str, voided)),
        "X-Content-Type-Options": "nosniff"})
