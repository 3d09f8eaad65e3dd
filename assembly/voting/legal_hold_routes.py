"""The JSON API of legal holds 案件保全: the committee (chair, members) or the street office records a
case open about a meeting and releases it when the case ends (assembly.voting.legal_holds)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from assembly.permissions import Action, CurrentPrincipal, estate_for
from assembly.register.models import Estate
from assembly.voting import legal_holds, meetings, views
from assembly.voting.pages import IdPath
from assembly.web.http import now_for

router = APIRouter(include_in_schema=False)  # no pages yet: the API below
api_router = APIRouter(prefix="/api/estates/{code}/meetings/{meeting}/legal-holds", tags=["meetings"])


class HoldBody(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def _hold_json(hold) -> dict:
    return {"id": hold.id, "meeting": hold.meeting_id, "reason": hold.reason, "recorded_at": hold.recorded_at.isoformat(),
            "entry": hold.entry_index, "released_at": hold.released_at.isoformat() if hold.released_at else None,
            "release_reason": hold.release_reason}


@api_router.post("", status_code=201)
def record(meeting: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal, body: HoldBody,
           estate: Annotated[Estate, estate_for(Action.LEGAL_HOLD_RECORD)]) -> dict:
    """A case about the meeting is open (a suit, a revocation request): logged `legal_hold.recorded`;
    the meeting's proxy scans are kept until every hold is released."""
    found = meetings.get_meeting(session, estate=estate, meeting_id=meeting)
    return _hold_json(legal_holds.record(session, meeting=found, principal=principal, reason=body.reason,
                                         now=now_for(request)))


@api_router.post("/{hold}/release")
def release(meeting: IdPath, hold: IdPath, request: Request, session: views.SessionDep, principal: CurrentPrincipal,
            body: HoldBody, estate: Annotated[Estate, estate_for(Action.LEGAL_HOLD_RECORD)]) -> dict:
    """The case has ended (the reason says how): logged `legal_hold.released`."""
    found = meetings.get_meeting(session, estate=estate, meeting_id=meeting)
    return _hold_json(legal_holds.release(session, meeting=found, hold_id=hold, principal=principal,
                                          reason=body.reason, now=now_for(request)))
