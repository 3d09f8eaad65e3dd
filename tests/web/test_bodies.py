"""Request bodies are refused before they are read (issue #22, item 5): by Content-Length, by counting
a chunked body, and by a CSRF check made from the headers before the body (web/bodies.py).

Regression: a 300 MB JSON POST without a session was read whole (the server grew by ~900 MB)
before its 403; no route had a cap at all. These tests count how much of a body the application
actually pulled, through httpx's ASGI transport (which hands the body over chunk by chunk).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

CHUNK = 64 * 1024


class Body:
    """A request body of `total` bytes in CHUNK pieces that counts how many bytes were taken from it."""

    def __init__(self, total: int, *, prefix: bytes = b"") -> None:
        self.total, self.prefix, self.taken = total, prefix, 0

    async def __aiter__(self):
        if self.prefix:
            self.taken += len(self.prefix)
            yield self.prefix
        while self.taken < self.total:
            piece = b" " * min(CHUNK, self.total - self.taken)
            self.taken += len(piece)
            yield piece


def _run(app, steps):
    async def main():
        transport = httpx.ASGITransport(app=app, client=("10.9.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await steps(client)

    return asyncio.run(main())


async def _csrf(client) -> str:
    return (await client.get("/api/auth/csrf")).json()["csrf_token"]


def test_a_large_json_body_is_refused_by_its_length_before_it_is_read(app):
    body = Body(3 * 1024 * 1024)

    async def steps(client):
        token = await _csrf(client)
        return await client.post("/api/auth/login", content=body, headers={
            "X-CSRF-Token": token, "Content-Type": "application/json", "Content-Length": str(body.total)})

    response = _run(app, steps)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "body_too_large" and error["detail"]["limit"] == 1024 * 1024
    assert "提交的内容太大" in error["message"]
    assert response.headers["connection"] == "close"
    assert body.taken <= CHUNK  # what the transport buffered at most; the application read nothing


def test_a_chunked_body_is_cut_off_once_it_passes_the_cap(app):
    body = Body(64 * 1024 * 1024)  # no Content-Length: only counting can stop it

    async def steps(client):
        token = await _csrf(client)
        return await client.post("/api/auth/login", content=body, headers={
            "X-CSRF-Token": token, "Content-Type": "application/json"})

    response = _run(app, steps)
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
    assert body.taken <= 1024 * 1024 + 2 * CHUNK  # the cap and the chunk that crossed it, not 64 MB


def test_a_body_without_a_csrf_token_is_refused_before_it_is_read(app):
    body = Body(64 * 1024 * 1024, prefix=b'{"username": "x", "password": "y"}')

    async def steps(client):
        return await client.post("/api/auth/login", content=body, headers={"Content-Type": "application/json"})

    response = _run(app, steps)
    assert response.status_code == 403 and response.json()["error"]["code"] == "csrf_failed"
    assert body.taken <= CHUNK


def test_a_wrong_csrf_header_is_refused_before_the_body_is_read(app):
    body = Body(512 * 1024)  # under the cap: the CSRF check alone refuses it

    async def steps(client):
        await _csrf(client)
        return await client.post("/api/auth/login", content=body, headers={
            "X-CSRF-Token": "f" * 64, "Content-Type": "application/json"})

    response = _run(app, steps)
    assert response.status_code == 403 and response.json()["error"]["code"] == "csrf_failed"
    assert body.taken <= CHUNK


def test_a_form_too_large_is_a_page_in_the_visitors_language(client):
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    filler = "x" * (1024 * 1024 + 1)
    response = client.post("/login", data={"csrf_token": token, "username": filler, "password": "y"},
                           headers={"Accept": "text/html", "Accept-Language": "en"})
    assert response.status_code == 413
    assert "text/html" in response.headers["content-type"]
    assert "the request body is too large" in response.text


def test_multipart_to_a_route_without_files_gets_the_form_cap(client):
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    response = client.post("/api/auth/login", headers={"X-CSRF-Token": token},
                           files={"document": ("big.pdf", b"%PDF" + b"0" * (2 * 1024 * 1024), "application/pdf")})
    assert response.status_code == 413
    assert response.json()["error"]["detail"]["limit"] == 1024 * 1024


def test_a_body_too_large_that_nobody_read_closes_the_connection(client):
    """A route that answers before reading (here: 401, no login) leaves the body unread: the answer
    says `Connection: close`, so the server drops the body instead of draining it for the next request."""
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    response = client.post("/api/estates/alpha/meetings/1/proxies", headers={"X-CSRF-Token": token},
                           files={"document": ("scan.pdf", b"%PDF" + b"0" * (7 * 1024 * 1024), "application/pdf")})
    assert response.status_code == 401 and response.headers["connection"] == "close"


def test_the_caps_are_settings(engine_copy):
    from assembly.app import create_app
    from assembly.config import get_settings

    get_settings.cache_clear()
    settings = get_settings().model_copy(update={"body_max_json_bytes": 16 * 1024})
    app = create_app(settings=settings, engine=engine_copy)
    body = Body(20 * 1024, prefix=b'{"username": "x", "password": "y", "pad": "')

    async def steps(client):
        token = await _csrf(client)
        return await client.post("/api/auth/login", content=body, headers={
            "X-CSRF-Token": token, "Content-Type": "application/json"})

    response = _run(app, steps)
    assert response.status_code == 413 and response.json()["error"]["detail"]["limit"] == 16 * 1024


@pytest.mark.parametrize("size", [0, 200])
def test_small_bodies_pass_as_before(client, size):
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    response = client.post("/api/auth/login", headers={"X-CSRF-Token": token},
                           json={"username": "nobody", "password": "p" * size})
    assert response.status_code == 401  # the route ran: a wrong password, not a refused body
