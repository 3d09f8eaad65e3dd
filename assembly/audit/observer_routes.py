"""The audit log for those who audit 审计: observers, residents' committee staff, the street office.

Read-only API (entries, inclusion and consistency proofs, receipts, the export for observers) and
pages (the log browsable by type, days and actor role; "verify now"). permissions.py decides who
(Action.AUDIT_READ / AUDIT_VERIFY / AUDIT_EXPORT) and over which estates; assembly.audit.observer
does the work. Handlers that may sign a checkpoint or stream the whole log first end the request's
own transaction (`_release`): that work opens short transactions of its own, and must not wait
behind — or hold — a lock for as long as it takes.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from sqlalchemy import select
from starlette.background import BackgroundTask

from assembly.audit import observer
from assembly.audit.report import TITLES
from assembly.errors import AssemblyError
from assembly.permissions import ROLE_LABELS, Action, CurrentPrincipal, Principal, estate_for, require, scope_to_estates
from assembly.register.models import Estate
from assembly.web.deps import SessionDep, in_write_turn
from assembly.web.openapi import bounds, files
from assembly.web.templating import render

router = APIRouter()

ReadableEstate = Annotated[Estate, estate_for(Action.AUDIT_READ)]
VerifiableEstate = Annotated[Estate, estate_for(Action.AUDIT_VERIFY)]
ExportableEstate = Annotated[Estate, estate_for(Action.AUDIT_EXPORT)]

# Chinese names of the entry types and actor roles for the pages (docs/audit-entries.md lists them all).
TYPE_LABELS = {
    "register.version": "业主名册新版本",
    "roll.frozen": "冻结表决名册",
    "roll.transferred": "表决权随房屋转让移转",
    "estate.ancillary_rule": "车位、储藏室是否计入",
    "ballot.cast": "投票",
    "ballots.opened": "公开选票承诺",
    "motion.closed": "议题表决结束",
    "result.announced": "公布结果",
    "result.final": "异议期结束时的结果",
    "objection.filed": "提出异议",
    "objection.upheld": "异议成立",
    "objection.dismissed": "异议驳回",
    "login.succeeded": "工作人员登录",
    "login.failed": "登录失败",
    "login.throttled": "登录限速",
    "card.issued": "发放业主一卡通",
    "card.reissued": "补办业主一卡通",
    "card.revoked": "注销业主一卡通",
    "card.activated": "激活业主一卡通",
    "card.pin_changed": "修改 PIN",
    "account.created": "创建账户",
    "account.scope_changed": "变更账户负责的小区",
    "account.disabled": "停用账户",
    "account.password_changed": "修改密码",
    "account.totp_enabled": "启用两步验证",
}
ROLE_NAMES = {**{role.value: label for role, label in ROLE_LABELS.items()},
              "operator": "服务器操作员", "system": "系统", "anonymous": "未登录者"}


def _release(session) -> None:
    """End the request's transaction now (it only read the estate): what follows opens its own."""
    session.commit()


# --- API -------------------------------------------------------------------------------------


@router.get("/api/estates/{code}/audit/entries", tags=["audit"])
def api_entries(session: SessionDep, estate: ReadableEstate,
                start: Annotated[int, Query(json_schema_extra=bounds(minimum=0))] = 0,
                limit: Annotated[int, Query(json_schema_extra=bounds(minimum=1, maximum=observer.API_LIMIT))] = 100,
                type: str | None = None, role: str | None = None) -> dict:
    """Entries from index `start` on, in order: index, type, time, actor role and the entry's exact text
    (line `index` of an export's entries.jsonl). `next` is the start of the following page."""
    filters = observer.Filters(type=type or None, role=role or None)
    size, rows = observer.entries_from(session, estate=estate, start=start, limit=limit, filters=filters)
    following = rows[-1].index + 1 if len(rows) == limit and rows[-1].index + 1 < size else None
    return {"estate": estate.code, "size": size, "start": start, "next": following,
            "entries": [row.as_json() for row in rows]}


@router.get("/api/estates/{code}/audit/proof/inclusion", tags=["audit"])
def api_inclusion_proof(session: SessionDep, estate: ReadableEstate,
                        index: Annotated[int, Query(json_schema_extra=bounds(minimum=0))],
                        size: Annotated[int | None, Query(json_schema_extra=bounds(minimum=1))] = None) -> dict:
    """The RFC 6962 audit path of entry `index` in the tree of `size` entries (default: the whole log),
    base64 hashes, leaf's sibling first; check it with RFC 9162 2.1.3.2 against a signed checkpoint."""
    return {"estate": estate.code, **observer.inclusion(session, estate=estate, index=index, size=size)}


@router.get("/api/estates/{code}/audit/proof/consistency", tags=["audit"])
def api_consistency_proof(session: SessionDep, estate: ReadableEstate,
                          old: Annotated[int, Query(json_schema_extra=bounds(minimum=1))],
                          new: Annotated[int, Query(json_schema_extra=bounds(minimum=1))]) -> dict:
    """The RFC 6962 consistency proof from the tree of `old` entries to the tree of `new` entries."""
    return {"estate": estate.code, **observer.consistency(session, estate=estate, old=old, new=new)}


@router.get("/api/estates/{code}/audit/receipt/{index}", tags=["audit"], response_class=PlainTextResponse)
def api_receipt(request: Request, session: SessionDep, estate: ReadableEstate,
                index: Annotated[int, Path(json_schema_extra=bounds(minimum=0))]) -> PlainTextResponse:
    """Entry `index`'s receipt (C2SP tlog-proof): check it with `assembly audit verify-receipt`. A checkpoint
    that includes the entry is signed if none is recent (audit-log.md: signed whenever one is asked for)."""
    estate_id = estate.id
    assert estate_id is not None
    _release(session)
    engine, settings = request.app.state.engine, request.app.state.settings
    text = in_write_turn(engine, lambda: observer.receipt(engine, settings=settings, estate_id=estate_id, index=index))
    return PlainTextResponse(text, media_type="text/plain; charset=utf-8")


@router.get("/api/estates/{code}/audit/export", tags=["audit"], response_class=Response,
            responses=files("the export directory as a zip", "application/zip"))
def api_export(request: Request, session: SessionDep, estate: ExportableEstate) -> FileResponse:
    """The export directory (entries.jsonl, checkpoint, keys, tally/, README.txt) as a zip, for observers:
    it identifies owners through units and choices — keep it under the confidentiality terms."""
    _release(session)
    archive, name = observer.export_zip(request.app.state.engine, settings=request.app.state.settings, estate=estate)
    return FileResponse(archive, media_type="application/zip", filename=name,
                        headers={"Cache-Control": "no-store"}, background=BackgroundTask(observer.remove_export, archive))


# --- pages -----------------------------------------------------------------------------------


@router.get("/audit", include_in_schema=False)
def audit_index(request: Request, session: SessionDep,
                principal: Annotated[Principal, require(Action.AUDIT_READ)]):
    estates = session.scalars(scope_to_estates(select(Estate), Estate.id, principal).order_by(Estate.name)).all()
    return render(request, "audit/index.html", {"estates": estates})


def _filters_from(type: str, role: str, since: str, until: str) -> tuple[observer.Filters, str | None]:
    """The page's filters; a mistyped day is dropped and reported (the page still shows the log)."""
    problem = None
    days = {}
    for name, text in (("since", since), ("until", until)):
        try:
            days[name] = observer.parse_day(text, name)
        except AssemblyError as error:
            days[name], problem = None, error.message.split(" / ")[0]
    return observer.Filters(type=type.strip() or None, role=role.strip() or None, **days), problem


@router.get("/estate/{code}/audit", include_in_schema=False)
def audit_log_page(request: Request, session: SessionDep, estate: ReadableEstate, principal: CurrentPrincipal,
                   type: str = "", role: str = "", since: str = "", until: str = "", before: int | None = None):
    filters, problem = _filters_from(type, role, since, until)
    page = observer.browse(session, estate=estate, filters=filters, before=before)
    query = {"type": type, "role": role, "since": since, "until": until}
    context = {
        "estate": estate,
        "page": page,
        "filters": filters,
        "query": query,
        "query_string": urlencode({key: value for key, value in query.items() if value}),
        "problem": problem,
        "types": observer.entry_types(session, estate=estate),
        "roles": observer.actor_roles(session, estate=estate),
        "type_labels": TYPE_LABELS,
        "role_names": ROLE_NAMES,
        "matching": observer.count(session, estate=estate, filters=filters) if filters.active else page.size,
        "checkpoint": observer.latest(session, estate=estate),
        "may_export": principal.may(Action.AUDIT_EXPORT),
        "may_verify": principal.may(Action.AUDIT_VERIFY),
    }
    if request.headers.get("HX-Request") == "true" and before is not None:
        return render(request, "audit/_entries.html", context)  # the next page of rows, for "较早的记录"
    return render(request, "audit/log.html", context, status_code=422 if problem else 200)


def _verify_page(request: Request, estate: Estate, *, outcome=None, since: str = ""):
    """The form, and after a run its report (a failed check is still a successful request: 200)."""
    context = {"estate": estate, "outcome": outcome, "since": since, "limit": observer.VERIFY_LIMIT, "titles": TITLES}
    return render(request, "audit/verify.html", context)


@router.get("/estate/{code}/audit/verify", include_in_schema=False)
def audit_verify_page(request: Request, estate: VerifiableEstate):
    return _verify_page(request, estate)


@router.post("/estate/{code}/audit/verify", include_in_schema=False)
def audit_verify_run(request: Request, session: SessionDep, estate: VerifiableEstate,
                     since: Annotated[str, Form(max_length=20_000)] = ""):
    """Build the export in a temporary directory and run the same checks as `assembly audit verify`."""
    _release(session)
    outcome = observer.verify_now(request.app.state.engine, settings=request.app.state.settings, estate=estate,
                                  since=since.replace("\r\n", "\n"))
    return _verify_page(request, estate, outcome=outcome, since=since)
