"""Who a person should call when a page cannot help them: the committee's contact (Estate.committee_contact)
of the estate the page is about, or of the owner's own estate. Used by the error page; never raises."""

from __future__ import annotations

import logging
import re

from fastapi import Request
from sqlalchemy import select
from sqlmodel import Session

from assembly.db import read_only
from assembly.register.models import Estate

log = logging.getLogger("assembly.web")
_ESTATE_PATH = re.compile(r"^/estate/([A-Za-z0-9_-]{1,40})(?:/|$)")


def estate_of_request(request: Request):
    """The estate named by the path (/estate/{code}/…) or, failing that, the one estate of the person
    asking; None when there is none, or when the database cannot say (an error page must still render)."""
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        return None
    found = _ESTATE_PATH.match(request.url.path)
    principal = getattr(request.state, "principal", None)
    estate_ids = getattr(principal, "estate_ids", None)
    try:
        with Session(read_only(engine)) as session:
            if found:
                return session.scalars(select(Estate).where(Estate.code == found.group(1))).first()
            if isinstance(estate_ids, frozenset) and len(estate_ids) == 1:
                return session.get(Estate, next(iter(estate_ids)))
    except Exception:  # the error page is the last resort: it must not fail in turn
        log.warning("no estate contact for the error page of %s", request.url.path, exc_info=True)
    return None
