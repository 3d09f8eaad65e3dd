"""An observer logs in, opens the audit log from the menu, narrows it to one entry type, pages back,
runs "verify now" and sees the report pass — on a phone and on a desktop."""

from __future__ import annotations

import pytest

from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.demo import load_demo_access


@pytest.fixture
def observer_password(demo_engine) -> str:
    """The demo observer's one-time password (load_demo_access also issues demo cards: log entries)."""
    with unit_of_work(demo_engine) as session:
        access = load_demo_access(session, settings=get_settings())
    return {login.username: login.password for login in access.logins}["demo-observer"]


def _no_sideways_scrolling(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_observer_browses_the_log_and_verifies_it(live_server, page, observer_password, screenshot):
    page.goto(f"{live_server.url}/login")
    page.get_by_label("用户名").fill("demo-observer")
    page.get_by_label("密码").fill(observer_password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/account")

    page.get_by_role("link", name="审计日志").click()  # the menu
    page.wait_for_url("**/audit")
    page.get_by_role("link", name="和谐家园（示范小区）").click()
    page.wait_for_url("**/estate/demo/audit")
    assert page.get_by_role("heading", level=1).inner_text() == "审计日志"
    entries = page.locator("#entries > li.card-link")
    assert entries.count() >= 3
    assert '"type":"register.version"' in page.locator("#entries").inner_text()
    assert _no_sideways_scrolling(page)
    screenshot(page, "audit-log")

    page.get_by_label("类型").select_option("card.issued")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**/estate/demo/audit?type=card.issued**")
    kinds = page.locator("#entries > li.card-link code.key").all_inner_texts()
    assert kinds and all('"type":"card.issued"' in text for text in kinds)
    page.get_by_role("link", name="清除筛选").click()
    page.wait_for_url("**/estate/demo/audit")

    page.get_by_role("link", name="立即核验").first.click()
    page.wait_for_url("**/estate/demo/audit/verify")
    page.get_by_role("button", name="立即核验").click()
    page.wait_for_url("**/estate/demo/audit/verify")
    assert page.get_by_role("heading", level=2).first.inner_text() == "核验结果：通过"
    assert "通过：导出的日志完整、未被篡改。" in page.locator("#verdict").inner_text()
    checks = page.locator("#checks > li").all_inner_texts()
    assert checks and all(text.startswith("✓") for text in checks)
    assert any("默克尔根与检查点一致" in text for text in checks)
    assert _no_sideways_scrolling(page)
    screenshot(page, "audit-verify")
