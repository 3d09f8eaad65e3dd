"""The street office and the platform administrator, as their staff would work: log in with the
password, set up the second factor (TOTP) at the first login, and find their estates (the street
office) or the platform-wide scope (the administrator) — on a phone and a desktop."""

from __future__ import annotations

from .world import staff_login


def test_the_street_office_logs_in_with_totp_and_opens_its_estate(live_server, page, demo_logins, screenshot):
    staff_login(page, live_server.url, "demo-street", demo_logins["demo-street"])
    assert page.get_by_role("heading", level=1).inner_text() == "望京街道办事处（示范）"
    scope = page.locator("#scope + ul").inner_text()
    assert "和谐家园（示范小区）" in scope
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "street-account")
    page.get_by_role("link", name="和谐家园（示范小区）").click()
    page.wait_for_url("**/estate/demo")
    assert "2000" in page.locator("dl.figures").inner_text()


def test_the_administrator_logs_in_with_totp_and_sees_the_platform_scope(live_server, page, demo_logins, screenshot):
    staff_login(page, live_server.url, "demo-admin", demo_logins["demo-admin"])
    assert page.get_by_role("heading", level=1).inner_text() == "平台管理员（示范）"
    assert "所有小区" in page.locator("section[aria-labelledby=scope]").inner_text()
    assert "已启用" in page.locator("section[aria-labelledby=security]").inner_text()  # the second factor
    screenshot(page, "admin-account")
