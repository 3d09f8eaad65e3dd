"""The residents' committee, as its staff would work: log in, open the estate's notifications from the
account page, read what the owners' committee did (a meeting convened, voting opened) and sign for a
record — on a phone and a desktop."""

from __future__ import annotations

from .world import staff_login


def test_the_residents_committee_reads_its_inbox_and_signs_for_a_record(live_server, page, world, demo_logins,
                                                                          screenshot):
    staff_login(page, live_server.url, "demo-rc", demo_logins["demo-rc"])
    page.get_by_role("link", name="居委会通知").click()
    page.wait_for_url("**/estate/demo/notifications")
    records = page.locator("#notifications > li")
    assert records.count() >= 2  # two meetings convened, one opened
    text = page.locator("#notifications").inner_text()
    assert "2026年第一次业主大会会议" in text and "2026年第二次业主大会会议" in text
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "rc-inbox")

    unsigned = page.get_by_role("button", name="签收").count()
    records.first.get_by_role("button", name="签收").click()
    page.wait_for_url("**?done=acknowledged")
    assert "已签收" in page.get_by_role("status").first.inner_text()
    assert "签收" in records.first.locator(".acknowledged").inner_text()
    assert page.get_by_role("button", name="签收").count() == unsigned - 1
    screenshot(page, "rc-inbox-signed")

    records.first.get_by_role("link").first.click()  # the evidence: the meeting itself
    page.wait_for_url("**/estate/demo/meetings/*")
    assert page.get_by_role("heading", level=1).inner_text().startswith("2026年")
