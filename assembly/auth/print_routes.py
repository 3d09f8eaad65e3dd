"""Pages for printing 业主一卡通: the estate's owners of record with checkboxes, the batch page, and
the two single-use downloads (card sheet, sealed slips). Residents' committee and street office only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from assembly.auth import pickups, printing
from assembly.auth.permissions import Action, Principal, estate_for
from assembly.auth.web import FormText, client_ip, now_for
from assembly.errors import InvalidInput, NotFound
from assembly.register.models import Estate, Person
from assembly.web.deps import SessionDep
from assembly.web.templating import render

router = APIRouter()

SHOWN = 300  # rows on one print page; larger estates are filtered by building
CardIssuer = Annotated[Estate, estate_for(Action.CARD_ISSUE)]


def _page(request: Request, session, estate: Estate, *, building: str | None, error: str | None = None,
          status_code: int = 200):
    codes = printing.buildings(session, estate=estate)
    if building not in codes:
        building = None
    everyone = printing.owners_of_record(session, estate=estate, building=building)
    if building is None and len(everyone) > SHOWN and codes:
        building = codes[0]  # a large estate: one building at a time
        everyone = [row for row in everyone if row.building == building]
    context = {
        "estate": estate,
        "owners": everyone[:SHOWN],
        "total": len(everyone),
        "without_card": sum(1 for row in everyone if row.card is None),
        "buildings": codes,
        "building": building,
        "max_batch": printing.MAX_BATCH,
        "error": error,
    }
    return render(request, "cards/print.html", context, status_code=status_code)


@router.get("/estate/{code}/cards", include_in_schema=False)
def print_page(request: Request, session: SessionDep, estate: CardIssuer, building: str | None = None):
    return _page(request, session, estate, building=(building or "")[:20] or None)


def _chosen(session, estate: Estate, *, mode: str, pseudonyms: list[str], building: str | None) -> list[Person]:
    if mode == "all_new":
        rows = printing.owners_of_record(session, estate=estate, building=building or None)
        return [row.person for row in rows if row.card is None][: printing.MAX_BATCH]  # the next batch, in unit order
    wanted = list(dict.fromkeys(p.strip() for p in pseudonyms if p.strip()))
    if len(wanted) > printing.MAX_BATCH:
        raise InvalidInput(f"一次最多打印 {printing.MAX_BATCH} 张，请分批打印 / at most {printing.MAX_BATCH} per batch",
                           code="batch_too_large")
    if not wanted:
        return []
    found = {
        person.pseudonym: person
        for person in session.scalars(select(Person).where(Person.estate_id == estate.id, Person.pseudonym.in_(wanted)))
    }
    missing = [p for p in wanted if p not in found]
    if missing:
        raise NotFound("所选业主不在本小区名册中，请刷新页面后重选 / an owner chosen is not in this estate",
                       code="person_not_found")
    return [found[p] for p in wanted]


@router.post("/estate/{code}/cards/print", include_in_schema=False)
def print_batch(request: Request, session: SessionDep, estate: CardIssuer,
                person: Annotated[list[str], Form(max_length=2 * printing.MAX_BATCH)] = [],  # noqa: B006
                mode: FormText = "checked", building: FormText = ""):
    principal: Principal = request.state.principal
    building = building[:20] or None
    try:
        persons = _chosen(session, estate, mode=mode, pseudonyms=[p[:40] for p in person],
                          building=building)
        now = now_for(request)
        batch = printing.print_cards(session, estate=estate, persons=persons, by=principal,
                                     site_url=request.app.state.settings.site_url, now=now, ip=client_ip(request))
    except (InvalidInput, NotFound) as error:
        session.rollback()
        return _page(request, session, estate, building=building, error=error.message.split(" / ")[0],
                     status_code=error.status)
    tokens = pickups.offer(session, batch, session_id=principal.session_id, now=now)
    context = {"estate": estate, "batch": batch, "tokens": tokens, "minutes": int(printing.PICKUP_LIFETIME.seconds / 60)}
    return render(request, "cards/batch.html", context)


@router.post("/estate/{code}/cards/download", include_in_schema=False)
def download(request: Request, session: SessionDep, estate: CardIssuer, pickup: FormText = ""):
    """Hand over one document of a batch, once; the handover is an audit entry."""
    principal: Principal = request.state.principal
    now = now_for(request)
    taken = pickups.take(session, pickup.strip(), estate_id=estate.id, session_id=principal.session_id, now=now)
    printing.record_printed(session, estate_id=estate.id, kind=taken.kind, batch=taken.batch, numbers=taken.numbers,
                            reissued=taken.reissued, by=principal, now=now)
    return Response(
        taken.document,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{taken.filename}"', "Cache-Control": "no-store"},
    )
