"""A visitor on a phone and on a desktop: the front page leads to the estate's public figures."""

from __future__ import annotations


def test_visitor_finds_the_estate_and_its_denominators(live_server, page, screenshot):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="和谐家园（示范小区）").click()
    page.wait_for_url("**/estate/demo")
    assert page.get_by_role("heading", level=1).inner_text() == "和谐家园（示范小区）"
    figures = page.locator("dl.figures")
    assert "2000" in figures.inner_text()
    # No horizontal scrolling on a 390 px phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "estate")


def test_unknown_estate_gets_a_chinese_page_not_a_stack_trace(live_server, page):
    response = page.goto(live_server.url + "/estate/no-such-estate")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "找不到页面"
    assert "Traceback" not in page.content()
