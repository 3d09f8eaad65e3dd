"""Proxies on a phone and on a desktop, against the real server with the demo estate and a hand-moved clock: an owner
appoints a proxy with the signed authorisation uploaded, the chair looks at it and confirms it and
gets the proxy's login slip, voting opens, the proxy logs in with the code and the identity-number
ending and votes for the owner; the owner's page then says the proxy voted."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from assembly.auth import cards
from assembly.auth.accounts import get_account
from assembly.auth.sessions import account_principal
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.demo import DEMO_CODE, load_demo_access
from assembly.identity import mainland_check_character
from assembly.register.models import Estate, Person
from assembly.voting import meetings
from assembly.voting.meetings import MotionDraft
from assembly.voting.models import Meeting
from tests.voting.meeting_world import record_posting

from .conftest import open_page

PIN = "480913"
PROXY_NUMBER = "11010819750312004" + mainland_check_character("11010819750312004")
SIGNED = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% signed by the owner\n%%EOF\n"


def _world(engine, clock) -> tuple[str, int]:
    """A published meeting of the demo estate and a demo owner of one unit with a card and a PIN."""
    with unit_of_work(engine) as session:
        estate = session.scalars(select(Estate).where(Estate.code == DEMO_CODE)).one()
        chair = account_principal(session, get_account(session, "demo-chair"))
        meeting = meetings.create_meeting(
            session, estate=estate, principal=chair, title="2026年第二次业主大会会议", now=clock.now,
            closes_at=clock.now + timedelta(days=30), paper_grace_days=0,
            motions=[MotionDraft(item=4, title="续聘物业服务企业", text="续聘花家地物业服务有限公司，服务期三年。")])
        meetings.publish(session, meeting=meeting, estate=estate, principal=chair, now=clock.now)
        record_posting(session, meeting, chair, now=clock.now)
        issuer = account_principal(session, get_account(session, "demo-rc"))
        person = next(p for p in session.scalars(select(Person).where(Person.estate_id == estate.id).order_by(Person.id))
                      if cards.active_card(session, person_id=p.id) is None
                      and len(cards.owner_units(session, person=p)) == 1)
        issued = cards.issue_card(session, person=person, issued_by=issuer, now=clock.now)
        cards.set_first_pin(session, card=issued.card, pin=PIN, ip=None, now=clock.now)
        return issued.token, meeting.id


def _owner_login(page, base: str, token: str) -> None:
    page.goto(f"{base}/c/{token}")
    page.get_by_label("PIN").fill(PIN)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/me")


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_an_owner_appoints_the_chair_confirms_and_the_proxy_votes(live_server, demo_engine, clock, chromium,
                                                                 screenshot, viewport):
    base = live_server.url
    with unit_of_work(demo_engine) as session:
        password = {login.username: login.password for login in load_demo_access(session, settings=get_settings()).logins}
    token, meeting_id = _world(demo_engine, clock)
    meeting_url = f"{base}/estate/{DEMO_CODE}/meetings/{meeting_id}"
    context, page = open_page(chromium, viewport)
    proxy_context, proxy_page = open_page(chromium, viewport)
    try:
        _owner_login(page, base, token)  # the owner, during the notice
        page.goto(meeting_url)
        page.get_by_role("link", name="委托代理人").click()
        page.get_by_label("代理人姓名").fill("赵家明")
        page.get_by_label("代理人身份证号码").fill(PROXY_NUMBER)
        page.get_by_label(re.compile("签名的授权委托书")).set_input_files(
            files=[{"name": "授权委托书.pdf", "mimeType": "application/pdf", "buffer": SIGNED}])
        screenshot(page, "proxy-appoint")
        page.get_by_role("button", name="提交委托").click()
        page.wait_for_url("**/proxy?done=appointed")
        assert "待业主委员会确认" in page.locator(".proxy-status").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.get_by_role("button", name="退出登录").click()

        page.goto(f"{base}/login")  # the chair looks at the document and confirms
        page.get_by_label("用户名").fill("demo-chair")
        page.get_by_label("密码").fill(password["demo-chair"])
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url("**/account")
        page.goto(meeting_url)
        page.get_by_role("link", name="代理人授权委托").click()
        assert "赵家明" in page.inner_text("main")
        document = page.request.get(base + page.get_by_role("link", name="查看授权委托书").get_attribute("href"))
        assert document.ok and document.body() == SIGNED
        page.get_by_role("button", name="核对无误，确认委托").click()
        code = page.locator("#proxy-code").inner_text().strip()
        assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", code)
        screenshot(page, "proxy-slip")

        clock.pass_notice_period()  # the notice has run: voting opens
        with unit_of_work(demo_engine) as session:
            found = session.get(Meeting, meeting_id)
            chair = account_principal(session, get_account(session, "demo-chair"))
            meetings.open_voting(session, meeting=found, estate=session.get(Estate, found.estate_id), principal=chair,
                                 now=clock.now)

        proxy_page.goto(f"{base}/proxy/login")  # the proxy, on their own phone
        proxy_page.get_by_label("登录码（16 位）").fill(code.lower())
        proxy_page.get_by_label("身份证号码后四位").fill(PROXY_NUMBER[-4:])
        proxy_page.get_by_role("button", name="登录", exact=True).click()
        proxy_page.wait_for_url("**/proxy")
        assert "2026年第二次业主大会会议" in proxy_page.inner_text("main")
        screenshot(proxy_page, "proxy-home")
        proxy_page.get_by_role("link", name="1. 续聘物业服务企业").click()
        assert "尚未投票" in proxy_page.inner_text("main")
        proxy_page.get_by_label("同意").check()
        proxy_page.get_by_role("button", name="下一步").click()
        assert "同意" in proxy_page.locator("#chosen").inner_text()
        proxy_page.get_by_role("button", name="确认投票").click()
        proxy_page.wait_for_url("**/ballots/*?new=1")
        assert proxy_page.get_by_role("heading", level=1).inner_text() == "代理投票回执"
        assert proxy_page.locator("#entry-index").inner_text().isdigit()
        screenshot(proxy_page, "proxy-receipt")
        assert proxy_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        _owner_login(page, base, token)  # the owner sees it, and that their own ballot would replace it
        page.goto(meeting_url)
        page.get_by_role("link", name="1. 续聘物业服务企业").click()
        assert "您本人投票将取代代理人的投票" in page.locator("#proxy-voted").inner_text()
    finally:
        context.close()
        proxy_context.close()
