"""What the OpenAPI description says of errors: every API answer that is not a success is the one
error body of web/errors.py, declared once here for every operation (create_app passes ERRORS)."""

from __future__ import annotations

from typing import Any

from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, for programs: `estate_not_found`, `csrf_failed`, `body_too_large`, …")
    message: str = Field(description="for people: Chinese first, then English (`中文 / english`)")
    detail: Any = Field(default=None, description="more about the error when there is more: the fields at fault, "
                                                  "the limit, the seconds to wait")


class ErrorBody(BaseModel):
    """Every error of the API: `{"error": {"code", "message", "detail"?}}`."""

    error: ErrorDetail


_MEANINGS = {
    400: "the request could not be read (a body that is not what its Content-Type says)",
    401: "not logged in, or a login that failed",
    403: "logged in but not allowed here, or a missing or wrong CSRF token (`csrf_failed`) on a state change",
    404: "no such estate, meeting, motion, card, … — or not one this person may know of",
    409: "not now: the state of the meeting, card or record does not allow it (yet)",
    410: "gone: a card revoked, a one-time download already taken",
    413: "the body is larger than its cap (`body_too_large`; `detail.limit` in bytes), refused before it was read",
    422: "invalid input (`invalid_input` with the fields at fault in `detail`, or a more precise code)",
    429: "too many attempts: wait the seconds in Retry-After",
    503: "busy: the database lock was not had in time, nothing was stored; send it again after Retry-After",
}


def _error(status: int) -> dict:
    answer: dict = {"model": ErrorBody, "description": _MEANINGS[status]}
    if status in (429, 503):
        answer["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
    return answer


ERRORS: dict[int | str, dict] = {status: _error(status) for status in _MEANINGS}


def bounds(*, minimum: int | None = None, maximum: int | None = None) -> dict:
    """A parameter's range, for the description only (`json_schema_extra`): the service checks it and
    answers 422 with its own stable code (`limit_out_of_range`, …), which FastAPI's `ge=` would not."""
    return {name: value for name, value in (("minimum", minimum), ("maximum", maximum)) if value is not None}


def files(description: str, *media_types: str) -> dict:
    """The `responses=` of an operation whose success is a file, not JSON."""
    return {200: {"description": description,
                  "content": {media_type: {"schema": {"type": "string", "format": "binary"}}
                              for media_type in media_types}}}


def describe(app) -> None:
    """The app's OpenAPI document, with every error answer as what web/errors.py sends: the JSON error
    body, whatever the success's media type (FastAPI would file it under text/plain on a text route)."""
    def openapi() -> dict:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes,
                                   description=app.description)
            error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
            page = {"text/html": {"schema": {"type": "string"}}}
            for path, operations in document.get("paths", {}).items():
                for operation in operations.values():
                    for status, answer in operation.get("responses", {}).items():
                        if status.isdigit() and int(status) in ERRORS:
                            answer["content"] = dict(error)
                        if not path.startswith("/api/") and (status == "200" or status in map(str, ERRORS)):
                            # a route outside /api/ answers people too: an error (or, for a GET without a
                            # session, the login page) comes as a page when the client does not ask for JSON
                            answer.setdefault("content", {}).update(page)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi
