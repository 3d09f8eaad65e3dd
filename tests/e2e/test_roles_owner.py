"""An owner on a phone and on a desktop: activate the card, find the open meeting from home, read the
motion with the live turnout bars, vote, keep the receipt; after the close, read the result with the
agreement and quorum bars. (tests/e2e/test_voting_phone.py follows the committee's side too.)"""

from __future__ import annotations

from datetime import timedelta

from .world import PIN, card_login


def test_an_owner_votes_and_reads_the_result_with_its_pictures(live_server, page, world, clock, screenshot):
    base = live_server.url
    page.goto(f"{base}/c/{world.token}")
    page.get_by_label("激活码（8 位数字）").fill(world.activation_code)
    page.get_by_label("身份证号码后四位").fill(world.id_tail)
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("新 PIN（6–12 位数字）").fill(PIN)
    page.get_by_label("再次输入 PIN").fill(PIN)
    page.get_by_role("button", name="完成并登录").click()
    page.wait_for_url("**/me?welcome=1")

    page.get_by_role("link", name="我的表决").click()
    page.wait_for_url("**/estate/demo/meetings")
    page.get_by_role("link", name="2026年第二次业主大会会议").click()  # in its notice period
    assert "投票还没有开始" in page.locator("#waiting").inner_text()
    screenshot(page, "owner-meeting-notice")
    page.go_back()
    page.get_by_role("link", name="2026年第一次业主大会会议").click()
    page.get_by_role("link", name="1. 续聘物业服务企业").click()
    turnout = page.locator(".turnout").inner_text()
    assert "参与表决的面积" in turnout and "三分之二" in turnout
    assert page.locator(".turnout .measure").count() == 2
    screenshot(page, "owner-motion")
    page.get_by_label("同意").check()
    page.get_by_role("button", name="下一步").click()
    page.get_by_role("button", name="确认投票").click()
    page.wait_for_url("**/ballots/*?new=1")
    assert page.locator("#entry-index").inner_text().isdigit()

    clock.now += timedelta(days=45)  # closed, paper days over, announced
    card_login(page, base, world.token)
    page.goto(world.motion_url(base))
    result = page.locator("#result + .result").inner_text()
    assert "获得通过" in result and "已过半数" in result and "已达到三分之二以上" in result
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "owner-result", at="#result")  # the per-unit table below it runs to 2,000 rows
