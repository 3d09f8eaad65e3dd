"""Public estate pages and the register summary API (aggregates only: no names, no units); the
register import and the street offices an account creation names, for the roles that may."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from assembly.area import format_area
from assembly.audit import service as audit
from assembly.audit import store as audit_log
from assembly.permissions import Action, CurrentPrincipal, Principal, Role, estate_for, require, scope_to_estates
from assembly.register import estates, rolls, service
from assembly.register.importer import parse_register
from assembly.register.models import Community, District, Estate, StreetOffice
from assembly.web.deps import SessionDep
from assembly.web.http import now_for
from assembly.web.templating import render

router = APIRouter()
DEFAULT_REASON = "导入业主名册 / register import"  # as `assembly register import` says


class AncillaryRule(BaseModel):
    """Whether parking spaces and storage rooms with their own registration count (None: undecided)."""

    counted: bool | None
    reason: str
    set_at: str | None


class RegisterSummary(BaseModel):
    estate: str
    name: str
    version: int | None
    units: int
    members: int
    total_area: str
    ancillary_units: int = 0  # parking spaces and storage rooms in the latest version
    ancillary_rule: AncillaryRule | None = None


class AncillaryRuleBody(BaseModel):
    counted: bool
    reason: str = Field(max_length=2000)


def _summary(session, code: str) -> tuple[object, RegisterSummary]:
    estate = service.get_estate(session, code)
    version = service.latest_version(session, estate_id=estate.id)
    return estate, RegisterSummary(
        estate=estate.code,
        name=estate.name,
        version=version.number if version else None,
        units=version.unit_count if version else 0,
        members=version.member_count if version else 0,
        total_area=format_area(version.total_area) if version else "0",
        ancillary_units=rolls.ancillary_units(session, estate=estate),
        ancillary_rule=ancillary_rule(estate),
    )


def ancillary_rule(estate: Estate) -> AncillaryRule:
    return AncillaryRule(counted=estate.ancillary_counted, reason=estate.ancillary_reason,
                         set_at=estate.ancillary_set_at.isoformat() if estate.ancillary_set_at else None)


@router.get("/api/estates/{code}", tags=["register"])
def estate_summary(code: str, session: SessionDep) -> RegisterSummary:
    """The estate's register in aggregate: the denominators of every vote."""
    return _summary(session, code)[1]


@router.get("/estate/{code}", include_in_schema=False)
def estate_page(code: str, request: Request, session: SessionDep):
    estate, summary = _summary(session, code)
    community = session.get(Community, estate.community_id)
    street_office = session.get(StreetOffice, community.street_office_id)
    checkpoint = audit.latest_checkpoint(session, estate_id=estate.id)
    return render(
        request,
        "register/estate.html",
        {
            "estate": estate,
            "summary": summary,
            "community": community,
            "street_office": street_office,
            "log_key": audit.verifier_keys(session, request.app.state.settings, estate)[0],
            "checkpoint": checkpoint,
        },
    )


@router.get("/api/street-offices", tags=["register"])
def street_offices(session: SessionDep, principal: Annotated[Principal, require(Action.ACCOUNT_MANAGE)]) -> dict:
    """The ids an account creation names (`street_office_id`, `estates`): every street office with
    its estates for the platform administrator; its own office and estates for a street office."""
    offices = select(StreetOffice, District.name).join(District, District.id == StreetOffice.district_id)
    if principal.role != Role.ADMIN:
        offices = offices.where(StreetOffice.id == principal.street_office_id)
    estates = scope_to_estates(
        select(Estate.id, Estate.code, Estate.name, Community.street_office_id, Community.name)
        .join(Community, Community.id == Estate.community_id), Estate.id, principal)
    by_office: dict[int, list[dict]] = {}
    for estate_id, code, name, office_id, community in session.execute(estates.order_by(Estate.code)):
        by_office.setdefault(office_id, []).append({"id": estate_id, "code": code, "name": name,
                                                    "community": community})
    return {"street_offices": [{"id": office.id, "name": office.name, "district": district,
                                "estates": by_office.get(office.id, [])}
                               for office, district in session.execute(offices.order_by(StreetOffice.id))]}


@router.post("/api/estates/{code}/register", tags=["register"], status_code=201)
def import_register(request: Request, session: SessionDep,
                    estate: Annotated[Estate, estate_for(Action.REGISTER_KEEP)], principal: CurrentPrincipal,
                    file: Annotated[UploadFile, File(description="CSV 或 XLSX (docs/register-import.md)")],
                    reason: Annotated[str, Form(max_length=500)] = DEFAULT_REASON,
                    evidence: Annotated[str | None, Form(max_length=500)] = None):
    """Import a register file (multipart `file`, optional `reason` and `evidence`), all or nothing as
    `assembly register import` does: 201 with the new version and its diff, 200 `created: false`
    when the file holds the register as it is, 422 `register_invalid` with every problem."""
    limit = request.app.state.settings.upload_max_bytes
    content = file.file.read(limit + 1)
    rows = parse_register(content, max_bytes=limit)
    outcome = service.apply_register(
        session, estate=estate, rows=rows, reason=reason,
        evidence_ref=evidence or f"file:{(file.filename or 'upload')[:200]} sha256:{hashlib.sha256(content).hexdigest()}",
        actor=audit_log.Actor(principal.pseudonym or f"account-{principal.account_id}", str(principal.role.value)),
        id_key=request.app.state.settings.id_hash_key)
    body = {"estate": estate.code, "version": outcome.version.number, "created": outcome.created,
            "register_sha256": outcome.version.content_sha256, "units": outcome.version.unit_count,
            "members": outcome.version.member_count, "total_area": format_area(outcome.version.total_area),
            "diff": outcome.diff.as_dict()}
    return JSONResponse(body, status_code=201 if outcome.created else 200)


@router.put("/api/estates/{code}/ancillary-rule", tags=["register"])
def set_ancillary_rule(request: Request, session: SessionDep, body: AncillaryRuleBody,
                       estate: Annotated[Estate, estate_for(Action.REGISTER_CHECK)],
                       principal: CurrentPrincipal) -> AncillaryRule:
    """The street office records whether parking spaces and storage rooms with their own
    registration count as 专有部分 in the estate's votes, with the reason (SPC Art. 2; courts
    differ): an `estate.ancillary_rule` entry; 409 `meeting_open_for_voting` during a vote."""
    estates.set_ancillary_rule(
        session, estate=estate, counted=body.counted, reason=body.reason, now=now_for(request),
        actor=audit_log.Actor(principal.pseudonym or f"account-{principal.account_id}", str(principal.role.value)))
    return ancillary_rule(estate)
