"""One place that turns errors into answers: JSON with a stable code for the API, a page for people.

Nothing reaches the client as a stack trace; an unexpected error is logged and answered with a
plain message (and is a bug to fix).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from assembly.db import is_busy
from assembly.errors import AssemblyError, Busy
from assembly.web.bodies import Refused
from assembly.web.contact import estate_of_request
from assembly.web.templating import render

log = logging.getLogger("assembly.web")

_HTTP_MESSAGES = {
    400: ("bad_request", "请求有误 / bad request"),
    401: ("unauthenticated", "请先登录 / please log in"),
    403: ("forbidden", "您没有权限执行此操作 / you may not do this"),
    404: ("not_found", "页面不存在 / page not found"),
    405: ("method_not_allowed", "不支持该请求方式 / method not allowed"),
    413: ("too_large", "上传的内容太大 / upload too large"),
    429: ("rate_limited", "尝试次数太多，请稍后再试 / too many attempts, try again later"),
}


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request: Request, status: int, code: str, message: str, detail: object = None):
    if wants_json(request):
        body: dict = {"error": {"code": code, "message": message}}
        if detail is not None:
            body["error"]["detail"] = detail
        return JSONResponse(body, status_code=status)
    return render(
        request,
        "pages/error.html",
        {"status": status, "code": code, "message": message, "detail": detail, "estate": estate_of_request(request)},
        status_code=status,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(AssemblyError)
    async def _domain(request: Request, error: AssemblyError):
        response = error_response(request, error.status, error.code, error.message, error.detail)
        if getattr(error, "retry_after", None):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, error: DBAPIError):
        """A lock not granted in time (or a statement over its timeout): the transaction was rolled
        back, so nothing changed; 503 with Retry-After. Any other database error is a bug (500)."""
        if is_busy(error):
            log.warning("busy: %s %s (%s)", request.method, request.url.path, type(getattr(error, "orig", error)).__name__)
            return await _domain(request, Busy())
        return await _unexpected(request, error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError):
        problems = [
            {"field": ".".join(str(part) for part in item.get("loc", ())[1:]), "message": item.get("msg", "")}
            for item in error.errors()
        ]
        return error_response(request, 422, "invalid_input", "输入有误，请检查后重试 / invalid input", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException):
        if isinstance(error, Refused):  # a body refused before it was read (web/bodies.py)
            return error_response(request, error.status_code, error.code, error.message, error.extra)
        code, message = _HTTP_MESSAGES.get(error.status_code, ("error", "请求无法完成 / request failed"))
        response = error_response(request, error.status_code, code, message)
        response.headers.update(error.headers or {})  # 405 says which methods are allowed (Allow)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            request, 500, "internal", "系统出了问题，我们已记录，请稍后再试 / something went wrong on our side"
        )
