"""The meeting loop on a phone, against the real server with the demo estate and a hand-moved clock:
the committee drafts and publishes; opening is refused until the notice has run; 16 days later
voting opens; an owner logs in with the card and PIN, chooses, confirms and keeps the receipt; past
the closing time the committee ends paper entry and the result page shows the decision with its
legal reasons."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from assembly.auth import cards
from assembly.auth.accounts import get_account
from assembly.auth.sessions import account_principal
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.demo import DEMO_CODE, load_demo_access
from assembly.permissions import Principal, Role
from assembly.register.models import Estate, Person
from assembly.voting import casting, meetings
from assembly.voting.models import Meeting

from .conftest import open_page
from .world import post_in_estate

PIN = "480913"


def _staff_login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/account")


def _owner_with_card(engine, clock) -> tuple[str, str]:
    """A demo owner of one unit with a card and a PIN already set (the card pages have their own test)."""
    with unit_of_work(engine) as session:
        estate = session.scalars(select(Estate).where(Estate.code == DEMO_CODE)).one()
        issuer = account_principal(session, get_account(session, "demo-rc"))
        person = next(p for p in session.scalars(select(Person).where(Person.estate_id == estate.id).order_by(Person.id))
                      if cards.active_card(session, person_id=p.id) is None
                      and len(cards.owner_units(session, person=p)) == 1)
        issued = cards.issue_card(session, person=person, issued_by=issuer, now=clock.now)
        cards.set_first_pin(session, card=issued.card, pin=PIN, ip=None, now=clock.now)
        return issued.token, person.pseudonym


def _most_owners_agree(engine, clock, meeting_id: int, skip: str) -> None:
    """Three in four members vote agree through the service (the browser votes for one of them)."""
    with unit_of_work(engine) as session:
        meeting = session.get(Meeting, meeting_id)
        (motion,) = meetings.motions_of(session, meeting=meeting)
        keys = [key for key in meetings.roll_members(session, meeting=meeting) if key.startswith("owners:")]
        for number, key in enumerate(keys):
            first = key.removeprefix("owners:").split("+")[0]
            if number % 4 == 3 or skip in key.split(":")[1].split("+"):
                continue
            owner = Principal(kind="owner", role=Role.OWNER, estate_ids=frozenset({meeting.estate_id}), pseudonym=first)
            casting.cast(session, meeting=meeting, motion=motion, principal=owner, member_key=key, choice="agree",
                         idempotency_key=f"bulk-{number}", now=clock.now)


def test_publish_wait_vote_close_and_read_the_result_on_a_phone(live_server, demo_engine, clock, chromium,
                                                                  screenshot):
    base = live_server.url
    with unit_of_work(demo_engine) as session:
        password = {login.username: login.password for login in load_demo_access(session, settings=get_settings()).logins}
    token, pseudonym = _owner_with_card(demo_engine, clock)
    context, page = open_page(chromium)
    try:
        _staff_login(page, base, "demo-chair", password["demo-chair"])
        page.goto(f"{base}/estate/{DEMO_CODE}/meetings/new")
        page.get_by_label("会议名称").fill("2026年第一次业主大会会议")
        closes = (clock.now + timedelta(days=30)).astimezone(meetings.SHANGHAI).strftime("%Y-%m-%dT%H:%M")
        page.get_by_label("投票截止时间（北京时间）").fill(closes)
        page.locator("#m1_item").select_option("4")
        page.locator("#m1_title").fill("续聘物业服务企业")
        page.locator("#m1_text").fill("续聘花家地物业服务有限公司，服务期三年，收费标准不变。")
        page.get_by_role("button", name="保存草稿").click()
        page.wait_for_url("**/meetings/*")
        assert page.locator("#stage").inner_text() == "草稿"
        page.get_by_role("button", name="发布会议通知").click()
        page.wait_for_url("**?done=published")
        assert "已告知社区居委会" in page.get_by_role("status").first.inner_text()
        page.get_by_role("button", name="开始投票").click()
        refusal = page.locator("#refused").inner_text()
        assert "须满 15 日" in refusal and "00:00" in refusal
        screenshot(page, "meeting-notice-refused")
        meeting_url = page.url.split("?")[0].removesuffix("/open")
        post_in_estate(demo_engine, int(meeting_url.rstrip("/").rsplit("/", 1)[1]), clock)

        clock.pass_notice_period()  # the notice has run
        _staff_login(page, base, "demo-chair", password["demo-chair"])
        page.goto(meeting_url)
        page.get_by_role("button", name="开始投票").click()
        page.wait_for_url("**?done=opened")
        assert page.locator("#stage").inner_text() == "投票中"
        meeting_id = int(meeting_url.rstrip("/").rsplit("/", 1)[1])
        _most_owners_agree(demo_engine, clock, meeting_id, skip=pseudonym)

        page.goto(f"{base}/c/{token}")  # the owner scans the card
        page.get_by_label("PIN").fill(PIN)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url("**/me")
        page.goto(f"{base}/me/votes")
        page.get_by_role("link", name="2026年第一次业主大会会议").click()
        page.get_by_role("link", name="1. 续聘物业服务企业").click()
        assert "尚未投票" in page.inner_text("main") and "以最后一次投票为准" in page.locator("#revote-rule").inner_text()
        screenshot(page, "motion-vote")
        page.get_by_label("同意").check()
        page.get_by_role("button", name="下一步").click()
        assert "同意" in page.locator("#chosen").inner_text()
        screenshot(page, "vote-confirm")
        page.get_by_role("button", name="确认投票").click()
        page.wait_for_url("**/ballots/*?new=1")
        assert page.get_by_role("heading", level=1).inner_text() == "投票回执"
        assert page.locator("#entry-index").inner_text().isdigit()
        assert "index " in page.locator("#receipt").input_value()
        screenshot(page, "vote-receipt")
        page.get_by_role("link", name="返回议题").click()
        assert "您已投票" in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        with unit_of_work(demo_engine) as session:  # past closes_at: the job runner ends electronic voting
            closes_at = session.get(Meeting, meeting_id).closes_at
        clock.now = closes_at + timedelta(hours=1)
        _staff_login(page, base, "demo-chair", password["demo-chair"])
        page.goto(meeting_url)
        assert page.locator("#stage").inner_text() == "投票已截止，纸质选票录入中"
        page.goto(f"{meeting_url}/paper")  # no paper ballots came in: the committee says so, and the count runs
        page.get_by_role("button", name="纸质选票录入完毕，开票计票").click()
        page.wait_for_url("**?done=counted")
        page.goto(f"{base}/c/{token}")
        page.get_by_label("PIN").fill(PIN)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url("**/me")
        page.goto(f"{meeting_url}")
        assert "结果已公告" in page.locator("#stage").inner_text()
        page.get_by_role("link", name="1. 续聘物业服务企业").click()
        result = page.locator("#result + .result").inner_text() if page.locator("#result + .result").count() \
            else page.inner_text("main")
        assert "获得通过" in result and "民法典第二百七十八条第二款" in result
        assert "每户表决情况" not in page.inner_text("main")  # per-unit choices: not published (issue #24, 5)
        screenshot(page, "motion-result")
    finally:
        context.close()
