"""Jinja2 templates from web/templates, with the filters pages need (areas, masks, dates)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates

from assembly.area import format_area
from assembly.register.identity import mask_name, mask_phone
from assembly.resources import web_dir

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _area(value: Decimal | None) -> str:
    return "—" if value is None else f"{format_area(value)} ㎡"


def _local_time(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _wan(value: Decimal | int) -> str:
    """Large figures the Chinese way: 12.35 万 from 123456."""
    value = Decimal(value)
    if value >= 10_000:
        return f"{(value / 10_000).quantize(Decimal('0.01'))} 万"
    return format_area(value) if isinstance(value, Decimal) else str(value)


@lru_cache
def templates() -> Jinja2Templates:
    engine = Jinja2Templates(directory=str(web_dir() / "templates"))
    engine.env.add_extension("jinja2.ext.i18n")
    engine.env.install_null_translations(newstyle=True)  # `_()` in every template; catalogs: issue #6
    engine.env.filters.update(area=_area, local_time=_local_time, mask_name=mask_name, mask_phone=mask_phone, wan=_wan)
    from assembly.web import bars  # the turnout and result pictures (voting/_turnout.html, _result.html)

    engine.env.globals.update(turnout_bars=bars.turnout_bars, result_bars=bars.result_bars)
    return engine


def render(request: Request, name: str, context: dict | None = None, *, status_code: int = 200):
    """A whole page, or only its `content` block for an htmx request (Vary: HX-Request)."""
    context = dict(context or {})
    context.setdefault("csrf_token", getattr(request.state, "csrf_token", ""))
    context["htmx"] = request.headers.get("HX-Request") == "true"
    response = templates().TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Vary"] = "HX-Request, Cookie, Accept-Language"
    return response
