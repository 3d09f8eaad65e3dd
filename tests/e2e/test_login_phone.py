"""An owner goes from a card to a logged-in phone; every staff role logs in on a desktop.

The card is issued in the test through the service (as the residents' committee would), which hands
over the token (the QR code's URL) and the activation code (the sealed slip) exactly once.
"""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from assembly import identity
from assembly.auth import cards, totp
from assembly.auth.accounts import get_account
from assembly.auth.sessions import account_principal
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.demo import DEMO_ACCOUNTS, demo_rows, load_demo_access
from assembly.register.models import Person

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PIN = "480913"


@pytest.fixture
def demo_access(demo_engine):
    """The demo's accounts (one per role) with their one-time passwords."""
    with unit_of_work(demo_engine) as session:
        return load_demo_access(session, settings=get_settings())


@pytest.fixture
def owner_card(demo_engine, demo_access):
    """A card for a demo owner of one unit, issued by the demo residents' committee: token, code, ID tail."""
    settings = get_settings()
    owners: dict[str, list[str]] = {}
    for row in demo_rows():
        if not row.developer:
            owners.setdefault(row.id_number, []).append(row.unit)
    number = [number for number, units in owners.items() if len(units) == 1][5]
    with unit_of_work(demo_engine) as session:
        person = session.scalars(
            select(Person).where(Person.id_hash == identity.id_hash(settings.id_hash_key, number))
        ).one()
        issuer = account_principal(session, get_account(session, "demo-rc"))
        issued = cards.issue_card(session, person=person, issued_by=issuer)
        return {"token": issued.token, "code": issued.activation_code, "tail": number[-4:], "unit": owners[number][0],
                "masked": identity.mask_name(person.name)}


def _context(chromium, viewport_name: str):
    phone = viewport_name == "phone"
    context = chromium.new_context(viewport=PHONE if phone else DESKTOP, locale="zh-CN", is_mobile=phone,
                                   has_touch=phone, device_scale_factor=2 if phone else 1)
    page = context.new_page()
    page.viewport_name = viewport_name
    return context, page


def _no_sideways_scrolling(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_owner_activates_the_card_sets_a_pin_and_comes_back_with_it(live_server, chromium, owner_card, screenshot):
    context, page = _context(chromium, "phone")
    try:
        card_url = f"{live_server.url}/c/{owner_card['token']}"
        page.goto(card_url)  # what the QR code on the card opens
        assert page.get_by_role("heading", level=2).inner_text() == "第一次使用：激活"
        assert _no_sideways_scrolling(page)
        screenshot(page, "card-activate")

        page.get_by_label("激活码（8 位数字）").fill("0000 0000")
        page.get_by_label("身份证号码后四位").fill(owner_card["tail"])
        page.get_by_role("button", name="下一步").click()
        assert "激活码或身份证号后四位不正确" in page.locator("#activation_code-error").inner_text()

        page.get_by_label("激活码（8 位数字）").fill(owner_card["code"])
        page.get_by_label("身份证号码后四位").fill(owner_card["tail"].lower())
        page.get_by_role("button", name="下一步").click()
        page.wait_for_url(card_url)
        assert page.get_by_role("heading", level=2).inner_text() == "设置 PIN"

        page.get_by_label("新 PIN（6–12 位数字）").fill("123456")
        page.get_by_label("再次输入 PIN").fill("123456")
        page.get_by_role("button", name="完成并登录").click()
        assert "连续" in page.locator("#pin-error").inner_text()
        screenshot(page, "card-set-pin")

        page.get_by_label("新 PIN（6–12 位数字）").fill(PIN)
        page.get_by_label("再次输入 PIN").fill(PIN)
        page.get_by_role("button", name="完成并登录").click()
        page.wait_for_url("**/me?welcome=1")
        assert page.get_by_role("heading", level=1).inner_text() == f"{owner_card['masked']}，您好"
        assert owner_card["unit"] in page.locator("#units + ul").inner_text()
        assert "激活成功" in page.get_by_role("status").first.inner_text()
        assert _no_sideways_scrolling(page)
        screenshot(page, "owner-home")

        page.get_by_role("button", name="退出登录").click()
        page.wait_for_url("**/logged-out?who=owner")
        assert page.get_by_role("heading", level=1).inner_text() == "您已安全退出"
        page.goto(f"{live_server.url}/me")
        page.wait_for_url("**/login?next=/me")  # logged out for real

        page.goto(card_url)  # the next scan
        assert page.get_by_role("heading", level=2).inner_text() == "输入 PIN 登录"
        screenshot(page, "card-pin")
        page.get_by_label("PIN").fill(PIN)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url("**/me")
        assert page.get_by_role("heading", level=1).inner_text() == f"{owner_card['masked']}，您好"
    finally:
        context.close()


@pytest.mark.parametrize(("username", "display_name", "role"), DEMO_ACCOUNTS, ids=[row[2] for row in DEMO_ACCOUNTS])
def test_every_staff_role_logs_in_on_the_desktop(live_server, chromium, demo_access, screenshot, username,
                                                 display_name, role):
    password = {login.username: login.password for login in demo_access.logins}[username]
    context, page = _context(chromium, "desktop")
    try:
        page.goto(f"{live_server.url}/login")
        if role == "committee_chair":
            screenshot(page, "staff-login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        if role in ("admin", "street_office"):  # the second factor is set up at the first login
            page.wait_for_url("**/login/totp**")
            secret = totp.secret_from_base32(page.locator("#totp-secret").inner_text())
            if role == "street_office":
                screenshot(page, "totp-setup")
            page.get_by_label("6 位验证码").fill(totp.totp(secret, time.time()))
            page.get_by_role("button", name="启用并继续").click()
        page.wait_for_url("**/account")
        assert page.get_by_role("heading", level=1).inner_text() == display_name
        assert re.search(r"用户名\s*" + re.escape(username), page.locator("p.lead").inner_text())
        if role == "street_office":
            assert "和谐家园（示范小区）" in page.locator("#scope + ul").inner_text()
            screenshot(page, "staff-account")
        page.get_by_role("button", name="退出登录").click()
        page.wait_for_url("**/logged-out?who=account")
        page.goto(f"{live_server.url}/account")
        page.wait_for_url("**/login?next=/account")
    finally:
        context.close()
