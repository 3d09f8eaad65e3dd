"""The owner's voting page on a weak mobile connection: bytes on the wire and time to first paint.

Run: .venv/bin/python bench/bench_pages.py [--runs N]
Setup (not measured): the real server (uvicorn in a thread, as the browser tests run it) on a
migrated SQLite database with the demo estate (2,000 units), a meeting in voting where three owners
in four have voted, and an owner whose card is activated in the browser. Measured in Debian's
Chromium through the DevTools protocol, phone viewport 390×844, network emulated at 1.6 Mbit/s
down, 750 kbit/s up, 150 ms round trip, cache disabled:

- first load of the motion page (the page an owner votes on): the compressed bytes of every
  response (Network.loadingFinished encodedDataLength, headers included: HTML, CSS, htmx), first
  contentful paint and the load event, from the start of navigation;
- one later htmx swap: the live turnout refresh (the request htmx makes every 30 s), bytes;
- the step from choosing to the confirmation page (a plain form POST, no JavaScript needed), bytes.

Targets (issue 6): < 60 KB first load, < 10 KB per swap, first render < 1.5 s. Not a test: tests
never time anything.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ASSEMBLY_ENV", "test")
os.environ.setdefault("ASSEMBLY_SECRET_KEY", "bench-only-secret-key-" + "k" * 40)
os.environ.setdefault("ASSEMBLY_ID_HASH_KEY", "bench-only-id-hash-key-" + "h" * 40)
os.environ.setdefault("ASSEMBLY_VAR_DIR", tempfile.mkdtemp(prefix="assembly-bench-"))

CHROMIUM = os.environ.get("ASSEMBLY_CHROMIUM", "/usr/bin/chromium")
NETWORK = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
TARGET_FIRST_LOAD, TARGET_SWAP, TARGET_FIRST_PAINT = 60 * 1024, 10 * 1024, 1.5
PIN = "480913"


def build(workdir: Path):
    """A migrated database with the demo estate, its accounts, and the world of the browser tests."""
    from sqlalchemy import create_engine

    from assembly.config import get_settings
    from assembly.db import unit_of_work
    from assembly.demo import load_demo, load_demo_access
    from assembly.migrations import upgrade
    from tests.e2e.world import Clock, build_world

    engine = create_engine(f"sqlite:///{workdir / 'pages.sqlite3'}")
    upgrade(engine)
    with unit_of_work(engine) as session:
        load_demo(session, id_key=get_settings().id_hash_key)
    with unit_of_work(engine) as session:
        load_demo_access(session, settings=get_settings())
    clock = Clock()
    return engine, clock, build_world(engine, clock)


class Wire:
    """Compressed bytes per response, from the DevTools protocol's network events."""

    def __init__(self, cdp) -> None:
        self.urls: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        cdp.on("Network.requestWillBeSent", lambda event: self.urls.__setitem__(event["requestId"], event["request"]["url"]))
        cdp.on("Network.loadingFinished",
               lambda event: self.sizes.__setitem__(event["requestId"], int(event["encodedDataLength"])))

    def reset(self) -> None:
        self.urls.clear()
        self.sizes.clear()

    def total(self) -> int:
        return sum(self.sizes.values())

    def rows(self) -> list[tuple[str, int]]:
        return [("/".join(self.urls.get(request, "?").split("?")[0].split("/")[-2:]), size)
                for request, size in self.sizes.items()]


def measure(base: str, world, runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-quic"])
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                      has_touch=True, device_scale_factor=2)
        page = context.new_page()
        page.goto(f"{base}/c/{world.token}")  # the owner activates the card (not measured)
        page.get_by_label("激活码（8 位数字）").fill(world.activation_code)
        page.get_by_label("身份证号码后四位").fill(world.id_tail)
        page.get_by_role("button", name="下一步").click()
        page.get_by_label("新 PIN（6–12 位数字）").fill(PIN)
        page.get_by_label("再次输入 PIN").fill(PIN)
        page.get_by_role("button", name="完成并登录").click()
        page.wait_for_url("**/me?welcome=1")

        state = context.storage_state()  # the owner's session cookie, for fresh browsers below
        url = world.motion_url(base)
        loads, paints, events, detail = [], [], [], []
        for _ in range(runs):  # each first load in a new browser context: new connections, empty cache
            context.close()
            context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                          has_touch=True, device_scale_factor=2, storage_state=state)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", NETWORK)
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            wire = Wire(cdp)
            page.goto(url, wait_until="load")
            page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0")
            timing = page.evaluate("""() => {
                const nav = performance.getEntriesByType('navigation')[0];
                const paint = performance.getEntriesByName('first-contentful-paint')[0];
                return {paint: paint.startTime, load: nav.loadEventEnd};
            }""")
            page.wait_for_function("typeof htmx !== 'undefined'")
            loads.append(wire.total())
            paints.append(timing["paint"] / 1000)
            events.append(timing["load"] / 1000)
            detail = wire.rows()

        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        target = page.locator(".turnout[hx-get]").first.get_attribute("id")
        wire.reset()
        page.evaluate("""(id) => new Promise(done => {
            document.body.addEventListener('htmx:afterSettle', () => done(), {once: true});
            const poll = document.getElementById(id);
            htmx.ajax('GET', poll.getAttribute('hx-get'), {source: poll, target: '#' + id, select: '#' + id,
                                                          swap: 'outerHTML'});
        })""", target)
        swap = wire.total()

        page.get_by_label("同意").check()
        wire.reset()
        page.get_by_role("button", name="下一步").click()
        page.get_by_role("button", name="确认投票").wait_for()
        page.wait_for_load_state("load")
        step = wire.total()
        browser.close()
    return {"first_load": statistics.median(loads), "first_paint": statistics.median(paints),
            "load": statistics.median(events), "swap": swap, "step": step, "detail": detail, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="first loads to take the median of")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"SKIPPED: Chromium not found at {CHROMIUM} (Debian package 'chromium'; `make browser`)")
        return
    from assembly.app import create_app
    from assembly.config import get_settings
    from tests.e2e.conftest import LiveServer

    with tempfile.TemporaryDirectory(prefix="assembly-bench-pages-") as workdir:
        engine, clock, world = build(Path(workdir))
        app = create_app(settings=get_settings(), engine=engine)
        app.state.clock = clock
        with LiveServer(app) as server:
            figures = measure(server.url, world, args.runs)
        engine.dispose()

    kb = 1024
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print("network: 1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip (Chromium emulation), cache disabled")
    print("first load of the voting page, per response (compressed bytes incl. headers):")
    for name, size in figures["detail"]:
        print(f"  {name:<40} {size / kb:6.1f} KB")

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    print(f"first load, total (median of {figures['runs']}): {figures['first_load'] / kb:.1f} KB "
          f"(target < 60 KB: {verdict(figures['first_load'] < TARGET_FIRST_LOAD)})")
    print(f"first contentful paint: {figures['first_paint']:.2f} s "
          f"(target < 1.5 s: {verdict(figures['first_paint'] < TARGET_FIRST_PAINT)}); load event {figures['load']:.2f} s")
    print(f"htmx swap (live turnout refresh): {figures['swap'] / kb:.1f} KB "
          f"(target < 10 KB: {verdict(figures['swap'] < TARGET_SWAP)})")
    print(f"choice → confirmation page (form POST, a whole page): {figures['step'] / kb:.1f} KB")


if __name__ == "__main__":
    main()
