"""The committee in a real browser, phone and desktop: a file added to the draft's motion, then the
demo estate's map of which units have voted (never how) during voting — every cell says it in
words, the page is one column wide, and the accessibility audit finds nothing serious."""

from __future__ import annotations

from assembly.demo import DEMO_CODE

from .conftest import describe_violations, small_targets
from .world import staff_login

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_committee_adds_a_file_and_reads_the_estate_map(live_server, page, world, demo_logins, axe, screenshot):
    base = live_server.url
    staff_login(page, base, "demo-chair", demo_logins["demo-chair"])

    # A file on the draft's motion; a fake one is refused with the reason and changes nothing.
    page.goto(world.meeting_url(base, world.draft))
    upload = page.locator("input[type=file][name=file]").first
    upload.set_input_files({"name": "网页.pdf", "mimeType": "application/pdf", "buffer": b"<html></html>"})
    page.get_by_role("button", name="上传附件").first.click()
    assert "不是 PDF、JPEG 或 PNG 文件" in page.locator("#attachment-error").inner_text()
    page.locator("input[type=file][name=file]").first.set_input_files(
        {"name": "物业服务合同.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.get_by_role("button", name="上传附件").first.click()
    page.wait_for_url("**?done=attached*")
    assert page.get_by_role("link", name="物业服务合同.pdf").count() == 1

    # During voting: the meeting page leads to the map of who has voted.
    page.goto(world.meeting_url(base, world.voting))
    page.get_by_role("link", name="小区地图").first.click()
    page.wait_for_url("**/map")
    assert page.get_by_role("heading", level=1).inner_text() == "小区地图：哪些房屋已投票"
    count = page.locator("#map-count").inner_text()
    voted, total = (int(n) for n in count.removeprefix("已投票 ").removesuffix(" 户").split(" / "))
    assert total > 1900 and 0 < voted < total
    cells = page.locator("table.estate-map td.unit-voted, table.estate-map td.unit-not-voted")
    assert cells.count() == total
    assert page.locator("table.estate-map td.unit-voted").count() == voted
    assert "✓ 已投" in page.locator("td.unit-voted").first.inner_text()  # words, not colour alone
    assert "○ 未投" in page.locator("td.unit-not-voted").first.inner_text()
    text = page.inner_text("main")
    assert "同意" not in text and "反对" not in text  # never how anyone voted
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # the grid scrolls, not the page
    assert page.locator("#live[hx-trigger='every 30s']").count() == 1
    violations = axe(page)
    assert not violations, describe_violations({"committee-map": violations})
    assert not small_targets(page)
    screenshot(page, "committee-map")

    page.get_by_role("link", name="未投票房屋名单").click()
    page.wait_for_url("**/voted")
    not_voted = page.locator(".not-voted-list").all_inner_texts()
    assert sum(len(group.split("、")) for group in not_voted) == total - voted
    violations = axe(page)
    assert not violations, describe_violations({"committee-voted": violations})
    assert not small_targets(page)
    screenshot(page, "committee-voted")
    download = page.request.get(f"{base}/estate/{DEMO_CODE}/meetings/{world.voting}/motions/{world.motion}/voted.csv")
    assert download.ok and len(download.text().strip().splitlines()) == total + 1
