"""The errors of auth, each with a stable code for the API and a Chinese message for people."""

from __future__ import annotations

from assembly.errors import AssemblyError, Forbidden, NotFound, Unauthenticated  # noqa: F401 - auth's errors, in one place


class BadCredentials(AssemblyError):
    status = 401
    code = "bad_credentials"


class Throttled(AssemblyError):
    status = 429
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, detail={"retry_after": retry_after})
        self.retry_after = retry_after


class CsrfFailed(Forbidden):
    code = "csrf_failed"


class CardNotFound(NotFound):
    code = "card_not_found"


class CardRevoked(AssemblyError):
    status = 410
    code = "card_revoked"
