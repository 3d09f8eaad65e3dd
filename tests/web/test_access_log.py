"""The access log of a real uvicorn server: card and screen-login tokens never reach it (issue #22),
and X-Forwarded-For is believed only from ASSEMBLY_TRUSTED_PROXIES."""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from assembly.config import get_settings
from assembly.serve import uvicorn_options
from assembly.web.access_log import redact


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(app, **options) -> Iterator[tuple[str, Lines]]:
    """The app on a real uvicorn server with its access log on; the lines it writes."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", access_log=True,
                                           lifespan="off", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    lines = Lines()
    access = logging.getLogger("uvicorn.access")
    access.addHandler(lines)
    try:
        yield f"http://127.0.0.1:{port}", lines
    finally:
        access.removeHandler(lines)
        server.should_exit = True
        thread.join(timeout=10)


def test_card_and_screen_tokens_are_redacted_in_the_access_log(app):
    card, screen = "ac_" + secrets.token_urlsafe(20), "sl_" + secrets.token_urlsafe(32)
    with serving(app) as (url, log):
        with httpx.Client(base_url=url) as client:
            client.get(f"/c/{card}")
            client.post(f"/api/cards/{card}/login", json={"pin": "135790"})
            client.get(f"/s/{screen}")
            client.get(f"/c/{card[3:]}")  # a mangled token is still someone's card
            client.get("/login", params={"next": f"/c/{card}"})
    requests = [line for line in log.lines if '"GET' in line or '"POST' in line]
    assert len(requests) == 5, log.lines
    written = "\n".join(log.lines)
    for secret in (card, card[3:], screen, card[3:15], screen[3:15]):
        assert secret not in written
    assert "/c/[redacted]" in written and "/api/cards/[redacted]/login" in written and "/s/[redacted]" in written


def test_redaction_keeps_the_rest_of_the_line():
    assert redact('1.2.3.4:5 - "GET /estate/alpha/meetings/3 HTTP/1.1" 200') == \
        '1.2.3.4:5 - "GET /estate/alpha/meetings/3 HTTP/1.1" 200'
    assert redact("GET /c/ac_abcdefgh/activate?x=1") == "GET /c/[redacted]/activate?x=1"


@pytest.mark.parametrize(("trusted", "seen"), [("", "127.0.0.1"), ("10.9.9.9", "127.0.0.1"),
                                               ("127.0.0.1", "203.0.113.9"), ("127.0.0.0/8, ::1", "203.0.113.9")])
def test_x_forwarded_for_is_believed_only_from_the_trusted_proxies(app, trusted, seen):
    settings = get_settings().model_copy(update={"trusted_proxies": trusted})
    with serving(app, **uvicorn_options(settings)) as (url, log):
        httpx.get(f"{url}/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    assert len(log.lines) == 1 and log.lines[0].startswith(f"{seen}:"), log.lines
