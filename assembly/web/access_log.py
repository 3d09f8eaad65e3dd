"""Keep card and screen-login tokens out of the access log.

A card's QR code is `/c/ac_…`, its API `/api/cards/ac_…`, a screen login `/s/sl_…`: the token in the
path is the credential itself (docs/security.md: operators see only hashes). Uvicorn writes each
request line to the `uvicorn.access` logger; this filter rewrites the path in the record before any
handler sees it, whatever format or destination the operator configured.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "[redacted]"
# The path segment after a token route (even a malformed one: it may be a mistyped real token), and
# any stray token with a known prefix elsewhere in the line (a query string, a `next=` parameter).
_TOKEN_PATH = re.compile(r"(/(?:c|s|api/cards)/)[^/?#\s\"]+")
_TOKEN_ANYWHERE = re.compile(r"((?:ac|sl|dl)_)[A-Za-z0-9_\-]{16,}")  # even after %2F: no word boundary


def redact(text: str) -> str:
    """The text with every card, screen-login and download token replaced by `[redacted]`."""
    return _TOKEN_ANYWHERE.sub(r"\1" + REDACTED, _TOKEN_PATH.sub(r"\1" + REDACTED, text))


class RedactTokens(logging.Filter):
    """A logger filter: rewrites the record's string arguments (the request path) and message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    """Put the filter on uvicorn's access logger once (logging configuration keeps logger filters)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, RedactTokens) for existing in logger.filters):
        logger.addFilter(RedactTokens())
