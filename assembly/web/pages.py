"""Site-wide pages: the front page (list of estates) and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select, text

from assembly.register.models import Estate
from assembly.web.deps import SessionDep
from assembly.web.templating import render

router = APIRouter()


@router.get("/", include_in_schema=False)
def front_page(request: Request, session: SessionDep):
    estates = session.scalars(select(Estate).order_by(Estate.name)).all()
    return render(request, "pages/front.html", {"estates": estates})


@router.get("/healthz", tags=["ops"])
def health(session: SessionDep) -> dict:
    """Liveness and database reachability, for load balancers and `make run`'s wait."""
    session.execute(text("select 1"))
    return {"status": "ok"}
