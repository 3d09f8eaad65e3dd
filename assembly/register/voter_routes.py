"""Pages for the co-owners' voter: co-owners propose, agree, refuse (/me/voters); the committee
records a designation from the co-owners' signed form (/estate/{code}/voters). Thin: the rules
are in assembly.register.voters.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request

from assembly.errors import AssemblyError
from assembly.permissions import Action, Principal, estate_for, require
from assembly.register import voters
from assembly.register.models import Estate
from assembly.web.deps import SessionDep
from assembly.web.http import FormText, now_for, redirect, zh
from assembly.web.i18n import N_
from assembly.web.templating import render

IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
router = APIRouter()
# The co-owners' voter: form posts (application/x-www-form-urlencoded), described for programs too.
VOTER_FORM = {303: {"description": "done: redirect to the page that shows it (`?done=...`)"},
              200: {"content": {"text/html": {}}, "description": "refused: the page again, with the reason"}}
DONE = {"proposed": N_("已提出提议，等待其他共有人同意。"), "agreed": N_("已同意。"),
        "withdrawn": N_("提议已撤回。"), "recorded": N_("已登记投票人。")}


def _mine_page(request: Request, session, principal: Principal, *, error: AssemblyError | None = None):
    estate_id = next(iter(principal.estate_ids))
    context = {"members": voters.members(session, estate_id=estate_id, person_id=principal.person_id),
               "me": principal.person_id, "error": zh(error.message) if error else None,
               "done": DONE.get(request.query_params.get("done", ""))}
    return render(request, "voters/mine.html", context, status_code=error.status if error else 200)


@router.get("/me/voters", include_in_schema=False)
def my_voters(request: Request, session: SessionDep,
              principal: Annotated[Principal, require(Action.VOTER_DESIGNATE)]):
    return _mine_page(request, session, principal)


@router.post("/me/voters", tags=["voters"], responses=VOTER_FORM)
def propose_voter(request: Request, session: SessionDep,
                  principal: Annotated[Principal, require(Action.VOTER_DESIGNATE)], unit: FormText = "",
                  voter: FormText = ""):
    try:
        voters.propose(session, principal=principal, unit=unit, voter=voter, now=now_for(request))
    except AssemblyError as error:
        if error.status >= 500:
            raise
        return _mine_page(request, session, principal, error=error)
    return redirect(request, "/me/voters?done=proposed")


@router.post("/me/voters/{designation}/agree", tags=["voters"], responses=VOTER_FORM)
def agree_voter(designation: IdPath, request: Request, session: SessionDep,
                principal: Annotated[Principal, require(Action.VOTER_DESIGNATE)]):
    voters.agree(session, principal=principal, designation_id=designation, now=now_for(request))
    return redirect(request, "/me/voters?done=agreed")


@router.post("/me/voters/{designation}/withdraw", tags=["voters"], responses=VOTER_FORM)
def withdraw_voter(designation: IdPath, request: Request, session: SessionDep,
                   principal: Annotated[Principal, require(Action.VOTER_DESIGNATE)]):
    voters.withdraw(session, principal=principal, designation_id=designation, now=now_for(request))
    return redirect(request, "/me/voters?done=withdrawn")


def _committee_page(request: Request, session, estate: Estate, *, unit: str = "", error: AssemblyError | None = None,
                    form: dict | None = None):
    unit = unit.strip()[:40]
    context = {"estate": estate, "unit": unit,
               "members": voters.members(session, estate_id=estate.id, unit=unit or None, limit=200),
               "error": zh(error.message) if error else None, "form": form or {},
               "done": DONE.get(request.query_params.get("done", ""))}
    return render(request, "voters/committee.html", context, status_code=error.status if error else 200)


@router.get("/estate/{code}/voters", include_in_schema=False)
def committee_voters(request: Request, session: SessionDep,
                     estate: Annotated[Estate, estate_for(Action.REGISTER_KEEP)]):
    return _committee_page(request, session, estate, unit=request.query_params.get("unit", ""))


@router.post("/estate/{code}/voters", tags=["voters"], responses=VOTER_FORM)
def record_voter(request: Request, session: SessionDep, estate: Annotated[Estate, estate_for(Action.REGISTER_KEEP)],
                 unit: FormText = "", voter: FormText = "", evidence_ref: FormText = ""):
    try:
        voters.record_form(session, principal=request.state.principal, estate=estate, unit=unit, voter=voter,
                           evidence_ref=evidence_ref, now=now_for(request))
    except AssemblyError as error:
        if error.status >= 500:
            raise
        return _committee_page(request, session, estate, unit=unit, error=error,
                               form={"voter": voter, "evidence_ref": evidence_ref})
    return redirect(request, f"/estate/{estate.code}/voters?unit={quote(unit.strip())}&done=recorded")
