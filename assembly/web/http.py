"""What every page and API route needs from the request and for its answer, whatever the feature:
the request's time (a test may move it) and address, a redirect after a POST (htmx or not), an error
answered without raising, a form field's type, a next-path that cannot leave the site, and the half of
a bilingual message for the reader's language."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from assembly.config import Settings
from assembly.errors import AssemblyError
from assembly.models import utcnow
from assembly.web.errors import error_response
from assembly.web.i18n import pick


def is_https(settings: Settings) -> bool:
    return settings.site_url.startswith("https://")

def now_for(request: Request) -> datetime:
    """The time of the request; tests may set `app.state.clock` to move it (no sleeping)."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock else utcnow()

def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None

def redirect(request: Request, url: str) -> Response:
    """After a POST: 303 for a plain form, HX-Redirect for htmx."""
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)

def api_error(request: Request, error: AssemblyError) -> Response:
    """An error answered without raising (so that a failure's records still commit)."""
    response = error_response(request, error.status, error.code, error.message, error.detail)
    if getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response

FormText = Annotated[str, Form(max_length=1000)]

def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site (no open redirect). Browsers drop tabs and line breaks from URLs
    (`/\t/evil.example` is read as `//evil.example`) and a line break cannot go into a header, so
    any control, format (bidi) or space character refuses the target too."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and len(target) < 500 and target.isprintable() and not any(char.isspace() for char in target)):
        return target
    return default

def zh(message: str) -> str:
    """The half of a bilingual "中文 / english" message for the page's language (Chinese first)."""
    return pick(message)
