"""The language switch: a small form in the header posts here; the choice is kept in the `lang` cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from assembly.errors import InvalidInput
from assembly.web import i18n
from assembly.web.http import is_https, redirect, safe_next

router = APIRouter()
ONE_YEAR = 365 * 24 * 3600


@router.post("/lang", include_in_schema=False)
def switch_language(
    request: Request,
    lang: Annotated[str, Form(max_length=20)],
    next_url: Annotated[str, Form(alias="next", max_length=1000)] = "/",
):
    """Keep the chosen language for a year and go back to the page the visitor was on (CSRF checked as for any POST)."""
    locale = i18n.from_tag(lang)
    if locale is None:
        raise InvalidInput("不支持该语言 / unsupported language", code="unsupported_language")
    response = redirect(request, safe_next(next_url))
    response.set_cookie(
        i18n.COOKIE, i18n.TAGS[locale], max_age=ONE_YEAR, path="/", httponly=True, samesite="lax",
        secure=is_https(request.app.state.settings),
    )
    return response
