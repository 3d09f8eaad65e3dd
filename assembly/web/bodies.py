"""Request bodies are refused before they are read: too large (413) or certain to fail the CSRF check (403).

A pure ASGI middleware (BaseHTTPMiddleware would read and buffer the body itself). It wraps
`receive`; on the first call — made by whatever is about to read the body, once routing has chosen
the route — it decides the request's cap and refuses:
- a declared `Content-Length` above the cap, before one byte of the body is taken;
- a state-changing request that cannot pass `authenticate`'s CSRF check (no token, or a header
  token that matches neither the session's nor the browser's), judged from its headers alone;
- a chunked body, as soon as the bytes counted exceed the cap.
The refusal is an ordinary exception answered by web/errors.py (JSON with a code for the API, a page
for people) with `Connection: close`, so the server drops the rest of the body instead of reading it.

Caps (settings `body_max_*`): JSON and any other body; forms (urlencoded, or multipart to a route
that takes no files); multipart to a route declared with `takes_files`: its files plus the form cap,
at most `body_max_upload_bytes`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assembly.config import Settings
from assembly.errors import AssemblyError

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")  # as auth/web.py reads them
_FILES = "__assembly_files__"  # (how many, bytes each) on the endpoint
MB = 1024 * 1024


def takes_files(count: int, *, each: int):
    """Mark a route that accepts `count` files of at most `each` bytes in a multipart form."""

    def mark(endpoint):
        setattr(endpoint, _FILES, (count, each))
        return endpoint

    return mark


class Refused(HTTPException):
    """A request answered without reading its body; web/errors.py renders `code` and `message`."""

    def __init__(self, status: int, code: str, message: str, detail: object = None) -> None:
        super().__init__(status, detail=message)
        self.code, self.message, self.extra = code, message, detail


def _mb(size: int) -> str:
    return f"{size / MB:.1f}".removesuffix(".0")


@dataclass(frozen=True)
class Caps:
    json: int
    form: int
    upload: int

    @classmethod
    def of(cls, settings: Settings) -> Caps:
        return cls(settings.body_max_json_bytes, settings.body_max_form_bytes, settings.body_max_upload_bytes)

    def for_request(self, scope: Scope, content_type: str) -> tuple[int, Refused]:
        """The cap of this request (its route is chosen by now) and the refusal that says it."""
        files = getattr(getattr(scope.get("route"), "endpoint", None), _FILES, None)
        if files and content_type.startswith("multipart/form-data"):
            count, each = files
            limit = min(self.upload, count * each + self.form)
            return limit, Refused(413, "body_too_large", (
                f"上传的内容太大：每个文件最多 {_mb(each)} MB，一次提交最多 {_mb(limit)} MB；请压缩文件或分几次上传"
                f" / the upload is too large: at most {_mb(each)} MB a file and {_mb(limit)} MB in one request"),
                {"limit": limit})
        limit = self.form if content_type.startswith(FORM_TYPES) else self.json
        return limit, Refused(413, "body_too_large", (
            f"提交的内容太大（最多 {_mb(limit)} MB），请删减后再提交"
            f" / the request body is too large (at most {limit} bytes)"), {"limit": limit})


class BodyLimits:
    """Pure ASGI middleware: caps every request body and checks CSRF before the body is read."""

    def __init__(self, app: ASGIApp, *, settings: Settings,
                 csrf_refused: Callable[[Scope], AssemblyError | None]) -> None:
        self.app = app
        self.caps = Caps.of(settings)
        self.csrf_refused = csrf_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        guard = _Guard(self, scope, receive)

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and (guard.refused or guard.unread_and_too_large()):
                # The rest of the body stays unread: the server must close the connection after the answer.
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await self.app(scope, guard.receive, send_closing)


class _Guard:
    """The `receive` of one request: decides on its first call, then counts."""

    def __init__(self, limits: BodyLimits, scope: Scope, receive: Receive) -> None:
        self.limits, self.scope, self._receive = limits, scope, receive
        self.decided = False
        self.limit = 0
        self.too_large: Refused | None = None
        self.refused: Refused | None = None
        self.received = 0

    def _refuse(self, refusal: Refused) -> Refused:
        self.refused = refusal
        return refusal

    def _cap(self) -> None:
        content_type = Headers(scope=self.scope).get("content-type", "").lower()
        self.limit, self.too_large = self.limits.caps.for_request(self.scope, content_type)

    def _declared(self) -> int | None:
        declared = Headers(scope=self.scope).get("content-length", "")
        return int(declared) if declared.isdigit() else None

    def unread_and_too_large(self) -> bool:
        """An answer given without reading a body declared too large (e.g. a 401 before the form)."""
        declared = None if self.decided else self._declared()
        if declared is None:
            return False
        self._cap()
        return declared > self.limit

    def _decide(self) -> None:
        self.decided = True
        self._cap()
        declared = self._declared()
        if declared is not None and declared > self.limit:
            raise self._refuse(self.too_large)
        error = self.limits.csrf_refused(self.scope)
        if error is not None:
            raise self._refuse(Refused(error.status, error.code, error.message))

    async def receive(self) -> Message:
        if self.refused is not None:
            raise self._refuse(self.refused)  # never hand out more of a refused body
        if not self.decided:
            self._decide()
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise self._refuse(self.too_large)
        return message
