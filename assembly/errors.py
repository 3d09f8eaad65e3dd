"""Domain errors: a status, a stable code for the API, and a message a person can act on.

Services raise these; one handler (assembly.web.errors) renders them as JSON, a page or an htmx
fragment. The CLI prints the message and exits non-zero.
"""

from __future__ import annotations


class AssemblyError(Exception):
    """Base class. `message` is Chinese first (shown to people), `code` is stable for the API."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, detail: object = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.detail = detail


class NotFound(AssemblyError):
    status = 404
    code = "not_found"


class Unauthenticated(AssemblyError):
    """No session, or one that no longer works: people are sent to the login page."""

    status = 401
    code = "unauthenticated"


class Forbidden(AssemblyError):
    status = 403
    code = "forbidden"


class Conflict(AssemblyError):
    status = 409
    code = "conflict"


class Gone(AssemblyError):
    """It existed and was erased on purpose; the message says when and why."""

    status = 410
    code = "gone"


class InvalidInput(AssemblyError):
    status = 422
    code = "invalid_input"


class Busy(AssemblyError):
    """What this needs is held by someone else longer than the lock timeout: nothing was changed,
    the same request may simply be sent again (503 with Retry-After)."""

    status = 503
    code = "busy"
    retry_after = 2

    def __init__(self, message: str = "", *, code: str | None = None, detail: object = None) -> None:
        super().__init__(message or BUSY_MESSAGE, code=code, detail=detail)


BUSY_MESSAGE = ("系统正忙，您的操作没有生效，请过几秒再提交一次 / the system is busy and nothing was changed; "
                "please send it again in a few seconds")


class ConfigurationError(AssemblyError):
    status = 500
    code = "configuration"
