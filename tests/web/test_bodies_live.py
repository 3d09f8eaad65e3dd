"""A huge chunked body against the real server (uvicorn in a subprocess, as `assembly serve` runs it):
cut off after the cap, answered with 413 and the connection closed, never read whole (issue #22, item 5)."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHUNK = 64 * 1024
OFFERED = 512 * 1024 * 1024  # what the client would send if nobody stopped it


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(databases, tmp_path_factory) -> Iterator[int]:
    engine, tmp_path = databases.copy(), tmp_path_factory.mktemp("live")
    port = _free_port()
    env = {**os.environ, "ASSEMBLY_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "ASSEMBLY_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    log = open(tmp_path / "server.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "assembly.app:create_app", "--factory",
                                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                               env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "server.log").read_text()) from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        databases.discard(engine)


def _anonymous_csrf(port: int) -> tuple[str, str]:
    """The CSRF token and the nonce cookie it belongs to, as a browser would hold them."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/auth/csrf", timeout=10) as answer:
        token = json.loads(answer.read())["csrf_token"]
        cookie = SimpleCookie(answer.headers["set-cookie"])
    return token, "; ".join(f"{name}={morsel.value}" for name, morsel in cookie.items())


def _post_chunked_until_answered(port: int, headers: dict[str, str]) -> tuple[bytes, int]:
    """Send a chunked JSON body of up to OFFERED bytes, stopping as soon as the server answers or
    hangs up; (the answer, the body bytes the socket accepted)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        connection.sendall(("POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            f"Transfer-Encoding: chunked\r\n{head}\r\n").encode())
        chunk = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
        while sent < OFFERED:
            readable, writable, _ = select.select([connection], [connection], [], 30)
            if readable:
                break
            assert writable, "the server neither read nor answered for 30 s"
            try:
                connection.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += CHUNK
        answer = b""
        try:
            while part := connection.recv(65536):
                answer += part
        except ConnectionResetError:
            pass
    return answer, sent


def test_a_huge_chunked_body_is_cut_off_by_the_real_server(server):
    token, cookie = _anonymous_csrf(server)
    answer, sent = _post_chunked_until_answered(server, {"X-CSRF-Token": token, "Cookie": cookie})
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"connection: close" in rest.lower()
    assert b'"code":"body_too_large"' in rest
    # The cap is 1 MB; what the kernel's socket buffers took on top of it is a few MB at most.
    assert sent < 64 * 1024 * 1024, f"{sent} bytes were taken before the answer"


def test_a_chunked_body_without_csrf_is_refused_by_the_real_server_before_reading(server):
    answer, sent = _post_chunked_until_answered(server, {})
    assert answer.startswith(b"HTTP/1.1 403"), answer[:300]
    assert b'"code":"csrf_failed"' in answer
    assert sent < 64 * 1024 * 1024, f"{sent} bytes were taken before the answer"
