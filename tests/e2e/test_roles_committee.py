"""The owners' committee, as its chair would work: log in, find the estate's meetings from the account
page (none yet: the page says what happens next), draft a meeting in the form, publish the notice
(the residents' committee is told), open voting once the notice has run, watch turnout against the
two-thirds lines, and read the result with its bars after the close — on a phone and a desktop."""

from __future__ import annotations

from datetime import timedelta

from assembly.db import unit_of_work
from assembly.voting import meetings
from assembly.voting.models import Meeting

from .world import _most_owners_agree, post_in_estate, staff_login


def _no_sideways_scrolling(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_chair_drafts_publishes_opens_and_watches_turnout(live_server, demo_engine, page, demo_logins, clock,
                                                               screenshot):
    base = live_server.url
    staff_login(page, base, "demo-chair", demo_logins["demo-chair"])
    page.get_by_role("link", name="业主大会会议").click()
    page.wait_for_url("**/estate/demo/meetings")
    empty = page.locator("#no-meetings").inner_text()
    assert "目前还没有业主大会会议" in empty and "010-6400 0000" in empty  # what happens next, whom to ask
    screenshot(page, "committee-no-meetings")

    page.get_by_role("link", name="起草新的会议").click()
    page.get_by_label("会议名称").fill("2026年第一次业主大会会议")
    closes = (clock.now + timedelta(days=30)).astimezone(meetings.SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("投票截止时间（北京时间）").fill(closes)
    page.locator("#m1_item").select_option("4")
    page.locator("#m1_title").fill("续聘物业服务企业")
    page.locator("#m1_text").fill("续聘花家地物业服务有限公司，服务期三年，收费标准不变。")
    assert _no_sideways_scrolling(page)
    screenshot(page, "committee-draft-form")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url("**/meetings/*")
    assert page.locator("#stage").inner_text() == "草稿"
    meeting_url = page.url
    page.get_by_role("button", name="发布会议通知").click()
    page.wait_for_url("**?done=published")
    assert "已告知社区居委会" in page.get_by_role("status").first.inner_text()
    assert page.locator("#problems").count() == 1  # the committee sees what still blocks opening
    screenshot(page, "committee-published")

    post_in_estate(demo_engine, int(meeting_url.rstrip("/").rsplit("/", 1)[1].split("?")[0]), clock)
    clock.pass_notice_period()  # the notice has run (the session lasts: the chair logs in again)
    staff_login(page, base, "demo-chair", demo_logins["demo-chair"])
    page.goto(meeting_url)
    page.get_by_role("button", name="开始投票").click()
    page.wait_for_url("**?done=opened")
    assert page.locator("#stage").inner_text() == "投票中"
    meeting_id = int(meeting_url.rstrip("/").rsplit("/", 1)[1])
    with unit_of_work(demo_engine) as session:
        _most_owners_agree(session, session.get(Meeting, meeting_id), skip="nobody", now=clock.now)
    page.goto(meeting_url)
    turnout = page.locator(".turnout").first.inner_text()
    assert "参与表决的面积" in turnout and "参与表决的人数" in turnout and "已达到三分之二以上" in turnout
    assert page.locator(".turnout .bar .mark.mark-2-3").count() == 2
    assert "同意" not in turnout  # never how anyone voted before the close
    assert _no_sideways_scrolling(page)
    screenshot(page, "committee-turnout")

    clock.now += timedelta(days=20)  # past the close and the paper-entry days: counted and announced
    staff_login(page, base, "demo-chair", demo_logins["demo-chair"])
    page.goto(meeting_url)
    page.get_by_role("link", name="1. 续聘物业服务企业").click()
    result = page.locator("#result + .result").inner_text()
    assert "获得通过" in result and "同意的面积" in result and "已过半数" in result
    assert page.locator(".result .bar .mark.mark-1-2").count() == 2
    assert page.locator(".result .bar .mark.mark-2-3").count() == 2
    assert _no_sideways_scrolling(page)
    screenshot(page, "committee-result")

    page.emulate_media(media="print")  # the result on paper, for the notice board
    assert page.locator("header.site nav").is_hidden() and page.locator("footer.site").is_hidden()
    assert page.locator(".result .bar .fill").first.is_visible()
    assert "获得通过" in page.locator("main").inner_text()
