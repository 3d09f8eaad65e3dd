"""Pages for printing 业主一卡通: the estate's owners of record with checkboxes, the batch page, and
the two single-use downloads (card sheet, sealed slips). Residents' committee and street office only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from assembly.auth import pickups, printing
from assembly.errors import InvalidInput, NotFound
from assembly.permissions import Action, Principal, estate_for
from assembly.register.models import Estate, Person
from assembly.web.deps import SessionDep
from assembly.web.http import FormText, client_ip, now_for
from assembly.web.templating import render

router = APIRouter()  # pages; the owners list below is JSON (in the OpenAPI description)

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


class PrintBody(BaseModel):
    persons: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default_factory=list,
                                                                              max_length=2 * printing.MAX_BATCH)
    mode: Literal["checked", "all_new"] = "checked"
    building: str | None = Field(default=None, max_length=20)


@router.post("/api/estates/{code}/cards/print", tags=["cards"], status_code=201)
def print_api(request: Request, session: SessionDep, estate: CardIssuer, body: PrintBody) -> dict:
    """Print a batch of cards (the owners' pseudonyms, or `all_new`: the next batch of owners without
    a card): the batch, its card numbers, and one single-use pickup token per PDF (card sheet, sealed
    slips) to POST as `pickup` to `/estate/{code}/cards/download` from this same session."""
    principal: Principal = request.state.principal
    persons = _chosen(session, estate, mode=body.mode, pseudonyms=body.persons, building=body.building)
    now = now_for(request)
    batch = printing.print_cards(session, estate=estate, persons=persons, by=principal,
                                 site_url=request.app.state.settings.site_url, now=now, ip=client_ip(request))
    tokens = pickups.offer(session, batch, session_id=principal.session_id, now=now)
    return {"batch": batch.batch, "numbers": list(batch.numbers), "reissued": list(batch.reissued),
            "pickups": tokens, "download": f"/estate/{estate.code}/cards/download",
            "expires_in_seconds": int(printing.PICKUP_LIFETIME.total_seconds())}


@router.post("/estate/{code}/cards/download", tags=["cards"],
             responses={200: {"content": {"application/pdf": {}}, "description": "the card sheet or the slips"}},
             response_class=Response)
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


def card_state(card) -> str:
    """none: no card in force; issued: printed, not yet activated; active: activated with a PIN."""
    if card is None:
        return "none"
    return "active" if card.activated_at is not None else "issued"


@router.get("/api/estates/{code}/owners", tags=["cards"])
def owners_api(session: SessionDep, estate: Annotated[Estate, estate_for(Action.OWNERS_READ)],
               building: Annotated[str | None, Query(max_length=20)] = None) -> dict:
    """The owners of record of the latest register version (optionally of one building), by first
    unit: pseudonym (what card issuing and the log name), units, and the card in force, if any —
    never names or identity numbers. The committee, the residents' committee and the street office."""
    return {"estate": estate.code, "owners": [
        {"pseudonym": row.person.pseudonym, "units": list(row.units), "building": row.building,
         "card": {"number": row.card.number, "state": card_state(row.card)} if row.card else {"state": "none"}}
        for row in printing.owners_of_record(session, estate=estate, building=building or None)]}
