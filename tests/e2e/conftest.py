"""Browser tests: the real server (uvicorn, in a thread) and Debian's Chromium through Playwright.

Never a browser download: Chromium comes from Debian (`make test` installs it when root). With
CI=true a missing Chromium fails the run; elsewhere the tests say plainly that they were skipped.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("ASSEMBLY_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    def __init__(self, app) -> None:
        import uvicorn

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def demo_engine(engine_copy):
    from assembly.config import get_settings
    from assembly.db import unit_of_work
    from assembly.demo import load_demo

    with unit_of_work(engine_copy) as session:
        load_demo(session, id_key=get_settings().id_hash_key)
    return engine_copy


@pytest.fixture
def live_server(demo_engine) -> Iterator[LiveServer]:
    from assembly.app import create_app
    from assembly.config import get_settings

    get_settings.cache_clear()
    with LiveServer(create_app(settings=get_settings(), engine=demo_engine)) as server:
        yield server


@pytest.fixture
def card_server(live_server):
    """The live server, with its settings' site URL set to its own address (QR codes point at it)."""
    app = live_server.server.config.app
    app.state.settings = app.state.settings.model_copy(update={"site_url": live_server.url})
    return live_server


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM} (Debian package 'chromium'): browser tests skipped"
        if os.environ.get("CI") == "true":
            pytest.fail(message.replace("skipped", "are required in CI"))
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(params=["phone", "desktop"])
def page(request, chromium):
    viewport = PHONE if request.param == "phone" else DESKTOP
    context = chromium.new_context(
        viewport=viewport,
        locale="zh-CN",
        is_mobile=request.param == "phone",
        has_touch=request.param == "phone",
        device_scale_factor=2 if request.param == "phone" else 1,
    )
    page = context.new_page()
    page.viewport_name = request.param
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot under tests/artifacts/ (README and docs pick the best ones)."""

    def take(page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}-{page.viewport_name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
