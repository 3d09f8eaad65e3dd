"""A visitor switches the language on the phone and back; an English browser gets English by itself."""

from __future__ import annotations

import re

HAN = re.compile(r"[\u3400-\u9fff]")


def test_switching_to_english_and_back_keeps_the_page(live_server, page, axe, screenshot):
    page.goto(live_server.url + "/estate/demo")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", name="业主名册（表决基数）").is_visible()
    page.get_by_role("button", name="Switch to English").click()
    page.wait_for_url("**/estate/demo")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Register of owners (voting base)").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # still one column
    assert axe(page) == []
    screenshot(page, "estate-english")
    # The choice is remembered from page to page.
    page.goto(live_server.url + "/login")
    assert page.get_by_role("heading", name="Staff login").is_visible()
    page.get_by_role("button", name="切换到中文").click()
    page.wait_for_url("**/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", name="工作人员登录").is_visible()


def test_an_english_browser_gets_english(live_server, chromium):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-US", is_mobile=True,
                                   has_touch=True)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/login")
        assert page.locator("html").get_attribute("lang") == "en"
        words = page.locator("main").inner_text()
        assert "Staff login" in words and not HAN.search(words)
    finally:
        context.close()
