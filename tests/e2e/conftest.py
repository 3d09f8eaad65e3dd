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


def open_page(chromium, viewport: str = "phone"):
    """A fresh browser context (its own cookies: one person) at the phone or desktop size: (context, page)."""
    phone = viewport == "phone"
    context = chromium.new_context(viewport=PHONE if phone else DESKTOP, locale="zh-CN", is_mobile=phone,
                                   has_touch=phone, device_scale_factor=2 if phone else 1)
    page = context.new_page()
    page.viewport_name = viewport
    return context, page


@pytest.fixture(params=["phone", "desktop"])
def page(request, chromium):
    context, page = open_page(chromium, request.param)
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot under tests/artifacts/ (README and docs pick the best ones); with
    `at`, a screenful starting at that element instead (for pages too long to show whole)."""

    def take(page, name: str, *, at: str | None = None) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}-{page.viewport_name}.png"
        if at:
            page.locator(at).first.evaluate("element => element.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(path), full_page=at is None)
        return path

    return take


# --- the accessibility audit and the shared world of the role tests ------------------------------

AXE = Path(__file__).resolve().parents[2] / ".npm" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core, installed by `make browser` from the npm registry (pinned in the Makefile); never fetched here."""
    if not AXE.exists():
        message = f"axe-core not found at {AXE} (run `make browser`): accessibility audit skipped"
        if os.environ.get("CI") == "true":
            pytest.fail(message.replace("skipped", "is required in CI"))
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def axe(axe_source):
    """Run axe-core on the page as it is now; returns its serious and critical violations.

    The script goes in through the DevTools protocol (page.evaluate), which the page's CSP does
    not govern: the server's own policy (no inline scripts) stays as it is in production.
    """

    def audit(page) -> list[dict]:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(axe_source)
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations'],"
                               " rules: {'target-size': {enabled: true}}})")  # WCAG 2.2 AA 2.5.8
        assert len(result["passes"]) >= 10, f"axe checked almost nothing on {page.url}: {result['passes']}"
        return [v for v in result["violations"] if v.get("impact") in SERIOUS]

    return audit


SMALL_TARGETS = """() => [...document.querySelectorAll(
  'button, .button, input:not([type=hidden]):not([type=radio]):not([type=checkbox]), select, textarea, summary')]
  .filter(e => e.offsetParent !== null)
  .map(e => [e.getBoundingClientRect(), e]).filter(([r]) => r.height < 44 || r.width < 44)
  .map(([r, e]) => `${e.tagName.toLowerCase()} "${(e.innerText || e.name || '').trim().slice(0, 20)}" ${Math.round(r.width)}×${Math.round(r.height)}`)"""


def small_targets(page) -> list[str]:
    """Controls smaller than 44×44 CSS px (our own rule, stricter than WCAG 2.2's 24 px)."""
    return page.evaluate(SMALL_TARGETS)


def describe_violations(found: dict[str, list[dict]]) -> str:
    """The assertion message: per page, each rule's id, impact, help text and the elements it hit."""
    lines = []
    for name, violations in found.items():
        for violation in violations:
            targets = ", ".join(" ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"])
                                for node in violation["nodes"][:5])
            lines.append(f"{name}: {violation['id']} ({violation['impact']}) — {violation['help']} "
                         f"[{violation['helpUrl']}] at {targets}")
    return "\n".join(lines)


@pytest.fixture
def clock(live_server):
    """The server's clock, moved by hand (tests never sleep)."""
    from tests.voting.web_world import jobs_runner

    from .world import Clock

    app = live_server.server.config.app  # the FastAPI app the server runs
    clock = Clock(on_move=jobs_runner(app.state.engine))
    app.state.clock = clock
    return clock


@pytest.fixture
def demo_logins(demo_engine) -> dict[str, str]:
    """Every demo account's one-time password, by username (also reissues the demo's cards)."""
    from assembly.config import get_settings
    from assembly.db import unit_of_work
    from assembly.demo import load_demo_access

    with unit_of_work(demo_engine) as session:
        access = load_demo_access(session, settings=get_settings())
    return {login.username: login.password for login in access.logins}


@pytest.fixture
def world(demo_engine, demo_logins, clock):
    """Meetings in voting, in notice and in draft, and a fresh owner card (tests/e2e/world.py)."""
    from .world import build_world

    return build_world(demo_engine, clock)
