"""Jinja2 templates from web/templates, with the filters pages need (areas, masks, dates) in the request's language."""

from __future__ import annotations

from functools import lru_cache

from fastapi import Request
from fastapi.templating import Jinja2Templates

from assembly.identity import mask_name, mask_phone
from assembly.resources import web_dir
from assembly.web import (
    bars,  # the turnout and result pictures (voting/_turnout.html, _result.html)
    i18n,
)


@lru_cache
def templates() -> Jinja2Templates:
    engine = Jinja2Templates(directory=str(web_dir() / "templates"))
    engine.env.add_extension("jinja2.ext.i18n")
    # `_()` in every template, in the language of the request being rendered (see render()).
    engine.env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    engine.env.filters.update(
        area=i18n.format_area, local_time=i18n.format_datetime, local_date=i18n.format_date,
        number=i18n.format_number, wan=i18n.format_wan, in_locale=i18n.pick,
        translate=i18n.gettext,  # labels from Python tables: plain text, escaped (never `_(data)`: that is Markup)
        mask_name=mask_name, mask_phone=mask_phone,
    )
    engine.env.globals.update(turnout_bars=bars.turnout_bars, result_bars=bars.result_bars)
    return engine


def render(request: Request, name: str, context: dict | None = None, *, status_code: int = 200):
    """A whole page, or only its `content` block for an htmx request (Vary: HX-Request), in the request's language."""
    context = dict(context or {})
    context.setdefault("csrf_token", getattr(request.state, "csrf_token", ""))
    context["htmx"] = request.headers.get("HX-Request") == "true"
    locale = i18n.locale_of(request)
    context["locale"], context["lang_tag"] = locale, i18n.TAGS[locale]
    with i18n.use_locale(locale):  # the template renders here, inside TemplateResponse()
        response = templates().TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Vary"] = "HX-Request, Cookie, Accept-Language"
    return response
