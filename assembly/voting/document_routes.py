"""Downloads of an announced meeting: the results and the minutes as PDF, the totals as CSV (the
estate's owners, committee, observers, residents' committee and street office), and the per-unit
lines as CSV (as the unit-results rule says: the estate's owners, where the meeting publishes them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assembly.permissions import Action, estate_for
from assembly.register.models import Estate
from assembly.voting import api, document_pdf, documents, views
from assembly.voting.pages import IdPath
from assembly.web.http import now_for

router = APIRouter(tags=["documents"])  # downloads, described in the OpenAPI with their content types
PDF: dict[int | str, dict] = {200: {"content": {"application/pdf": {}}, "description": "a PDF (A4, Chinese)"}}
CSV: dict[int | str, dict] = {200: {"content": {"text/csv": {}},
                                    "description": "UTF-8 CSV with a BOM (opens in Excel)"}}


def _record(request: Request, session, estate: Estate, meeting_id: int) -> documents.MeetingRecord:
    meeting = api.meeting_of(request, session, estate, meeting_id)  # a first look after closes_at closes it
    if meeting.published_at is None:
        raise views.draft_hidden()
    return documents.meeting_record(session, estate=estate, meeting=meeting, now=now_for(request))


def _download(body: bytes | str, media_type: str, name: str) -> Response:
    data = body.encode() if isinstance(body, str) else body
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff"})


@router.get("/estate/{code}/meetings/{meeting}/results.pdf", responses=PDF, response_class=Response)
def results_pdf(meeting: IdPath, request: Request, session: views.SessionDep,
                estate: Annotated[Estate, estate_for(Action.RESULTS_READ)]):
    record = _record(request, session, estate, meeting)
    return _download(document_pdf.results_pdf(record), "application/pdf", documents.filename(record, "results", "pdf"))


@router.get("/estate/{code}/meetings/{meeting}/minutes.pdf", responses=PDF, response_class=Response)
def minutes_pdf(meeting: IdPath, request: Request, session: views.SessionDep,
                estate: Annotated[Estate, estate_for(Action.RESULTS_READ)]):
    record = _record(request, session, estate, meeting)
    return _download(document_pdf.minutes_pdf(record), "application/pdf", documents.filename(record, "minutes", "pdf"))


@router.get("/estate/{code}/meetings/{meeting}/results.csv", responses=CSV, response_class=Response)
def totals_csv(meeting: IdPath, request: Request, session: views.SessionDep,
               estate: Annotated[Estate, estate_for(Action.RESULTS_READ)]):
    record = _record(request, session, estate, meeting)
    return _download(documents.totals_csv(record), "text/csv; charset=utf-8",
                     documents.filename(record, "results", "csv"))


@router.get("/estate/{code}/meetings/{meeting}/units.csv", responses=CSV, response_class=Response)
def units_csv(meeting: IdPath, request: Request, session: views.SessionDep,
              estate: Annotated[Estate, estate_for(Action.UNIT_RESULTS_READ)]):
    found = api.meeting_of(request, session, estate, meeting)
    if found.published_at is not None and (not found.publish_per_unit_results or found.announced_at is None):
        raise views.no_unit_results(found)  # not published by this meeting, or not counted yet (and when)
    record = _record(request, session, estate, meeting)
    return _download(documents.units_csv(session, record), "text/csv; charset=utf-8",
                     documents.filename(record, "units", "csv"))
