"""The residents' committee's inbox: its notification records, read and acknowledged (签收)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from assembly.notify import service
from assembly.notify.models import NotificationRecord
from assembly.permissions import Action, CurrentPrincipal, estate_for
from assembly.register.models import Estate
from assembly.web.deps import SessionDep
from assembly.web.http import now_for, redirect
from assembly.web.templating import render

IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]  # a row id; larger numbers are refused, not sent to the database
router = APIRouter()


def _estate_records(session, principal, estate: Estate) -> list[NotificationRecord]:
    return [r for r in service.inbox(session, principal=principal) if r.estate_id == estate.id]


def _json(record: NotificationRecord) -> dict:
    return {"id": record.id, "event": record.event, "label": service.EVENTS[record.event], "what": record.what,
            "actor": record.actor, "evidence": record.evidence, "audit_entry": record.audit_index,
            **{name: (getattr(record, name).isoformat() if getattr(record, name) else None)
               for name in ("created_at", "read_at", "acknowledged_at")}}


@router.get("/api/estates/{code}/notifications", tags=["notifications"])
def api_inbox(session: SessionDep, principal: CurrentPrincipal,
              estate: Annotated[Estate, estate_for(Action.NOTIFICATION_RECEIVE)]) -> dict:
    return {"notifications": [_json(r) for r in _estate_records(session, principal, estate)]}


@router.post("/api/estates/{code}/notifications/{record}/acknowledge", tags=["notifications"])
def api_acknowledge(record: IdPath, request: Request, session: SessionDep, principal: CurrentPrincipal,
                    estate: Annotated[Estate, estate_for(Action.NOTIFICATION_RECEIVE)]) -> dict:
    found = service.get_record(session, principal=principal, record_id=record)
    if found.estate_id != estate.id:
        raise service.NotFound("没有这条通知 / no such notification", code="notification_not_found")
    return _json(service.acknowledge(session, principal=principal, record_id=record, now=now_for(request)))


@router.get("/estate/{code}/notifications", include_in_schema=False)
def inbox_page(request: Request, session: SessionDep, principal: CurrentPrincipal,
               estate: Annotated[Estate, estate_for(Action.NOTIFICATION_RECEIVE)]):
    records = _estate_records(session, principal, estate)
    return render(request, "notify/inbox.html", {"estate": estate, "records": records, "labels": service.EVENTS,
                                                 "notice": request.query_params.get("done")})


@router.post("/estate/{code}/notifications/{record}/acknowledge", include_in_schema=False)
def acknowledge_page(record: IdPath, request: Request, session: SessionDep, principal: CurrentPrincipal,
                     estate: Annotated[Estate, estate_for(Action.NOTIFICATION_RECEIVE)]):
    found = service.get_record(session, principal=principal, record_id=record)
    if found.estate_id != estate.id:
        raise service.NotFound("没有这条通知 / no such notification", code="notification_not_found")
    if found.acknowledged_at is None:
        service.acknowledge(session, principal=principal, record_id=record, now=now_for(request))
    return redirect(request, f"/estate/{estate.code}/notifications?done=acknowledged")
