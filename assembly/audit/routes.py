"""Public audit endpoints: an estate's latest signed checkpoint and its verifier keys.

The public sees checkpoints and aggregates (audit-log.md); entries, proofs and exports are for
observers and residents' committee staff (their routes check the role).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from assembly.audit import service
from assembly.errors import NotFound
from assembly.register.service import get_estate
from assembly.web.deps import SessionDep

router = APIRouter(tags=["audit"])


@router.get("/api/estates/{code}/checkpoint", response_class=PlainTextResponse)
def latest_checkpoint(code: str, session: SessionDep) -> PlainTextResponse:
    """The latest signed checkpoint note of the estate's log (C2SP tlog-checkpoint), as text."""
    estate = get_estate(session, code)
    assert estate.id is not None
    checkpoint = service.latest_checkpoint(session, estate_id=estate.id)
    if checkpoint is None:
        raise NotFound("该小区的审计日志还没有检查点 / the estate's log has no checkpoint yet", code="no_checkpoint")
    return PlainTextResponse(checkpoint.note, media_type="text/plain; charset=utf-8")


@router.get("/api/estates/{code}/keys", response_class=PlainTextResponse)
def verifier_keys(code: str, request: Request, session: SessionDep) -> PlainTextResponse:
    """The log's verifier keys, one per line, the current first (the `keys` file of an export)."""
    estate = get_estate(session, code)
    keys = service.verifier_keys(session, request.app.state.settings, estate)
    return PlainTextResponse("".join(key + "\n" for key in keys), media_type="text/plain; charset=utf-8")
