"""Scan-to-login in two browsers: a desktop screen shows a QR code, a phone logged in with its owner
card scans it (the test decodes the QR code from a screenshot of the screen), compares the code and
confirms; the screen logs in by itself (htmx polling), or with its refresh button without JavaScript.
A third browser that only has the QR code gets nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from assembly import identity
from assembly.auth import cards
from assembly.auth.accounts import get_account
from assembly.auth.sessions import account_principal
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.demo import demo_rows
from assembly.register.models import Person

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PIN = "480913"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def owner(demo_engine):
    """An activated demo card (PIN set) and what the owner's home page greets them with."""
    from assembly.demo import load_demo_access

    settings = get_settings()
    held: dict[str, list[str]] = {}
    for row in demo_rows():
        if not row.developer:
            held.setdefault(row.id_number, []).append(row.unit)
    number = [n for n, units in held.items() if len(units) == 1][12]
    with unit_of_work(demo_engine) as session:
        load_demo_access(session, settings=settings)  # the demo accounts, among them the residents' committee
        person = session.scalars(select(Person).where(Person.id_hash == identity.id_hash(settings.id_hash_key, number))).one()
        issued = cards.issue_card(session, person=person, issued_by=account_principal(session, get_account(session, "demo-rc")))
        cards.set_first_pin(session, card=issued.card, pin=PIN, ip=None, now=issued.card.issued_at)
        return {"token": issued.token, "masked": identity.mask_name(person.name)}


def _context(chromium, *, phone: bool, javascript: bool = True):
    context = chromium.new_context(viewport=PHONE if phone else DESKTOP, locale="zh-CN", is_mobile=phone,
                                   has_touch=phone, device_scale_factor=2 if phone else 1,
                                   java_script_enabled=javascript)
    page = context.new_page()
    page.viewport_name = "phone" if phone else "desktop"
    return context, page


def _phone_logged_in(chromium, server, owner):
    context, page = _context(chromium, phone=True)
    page.goto(f"{server.url}/c/{owner['token']}")
    page.get_by_label("PIN").fill(PIN)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me")
    return context, page


def _show_qr(page, server, place: str) -> tuple[str, str]:
    """Start on the screen; returns (the URL decoded from the screenshot of the QR code, the code shown)."""
    page.goto(f"{server.url}/screen")
    page.get_by_label("这台电脑的位置（可选，会显示在手机上）").fill(place)
    page.get_by_role("button", name="显示登录二维码").click()
    page.wait_for_url("**/screen/wait")
    picture = Image.open(io.BytesIO(page.locator("#screen-qr svg").screenshot()))
    decoded = zxingcpp.read_barcodes(picture)
    assert len(decoded) == 1
    return decoded[0].text, page.locator("#screen-code").inner_text()


def test_the_phone_logs_the_screen_in_and_a_relay_gets_nothing(card_server, chromium, owner, screenshot):
    phone, phone_page = _phone_logged_in(chromium, card_server, owner)
    screen, screen_page = _context(chromium, phone=False)
    relay, relay_page = _context(chromium, phone=False)
    try:
        url, code = _show_qr(screen_page, card_server, "业委会办公室前台")
        assert url.startswith(f"{card_server.url}/s/sl_")
        screenshot(screen_page, "screen-qr")
        # the relay: another browser that got the same QR code (a photo, a forwarded picture) and shows its own
        relay_url, _ = _show_qr(relay_page, card_server, "业委会办公室前台")
        assert relay_url != url

        phone_page.goto(url)
        assert phone_page.locator("#phone-code").inner_text() == code
        assert "业委会办公室前台" in phone_page.locator("#screen-where").inner_text()
        assert "127.0.0.1" in phone_page.locator("#screen-where").inner_text()
        screenshot(phone_page, "screen-confirm")
        phone_page.get_by_role("button", name="一致，登录这台电脑").click()
        assert "已确认" in phone_page.get_by_role("status").inner_text()

        screen_page.wait_for_url("**/me", timeout=15_000)  # htmx polls, sees the confirmation, picks up the session
        assert screen_page.get_by_role("heading", level=1).inner_text() == f"{owner['masked']}，您好"
        screenshot(screen_page, "screen-logged-in")

        # the relay's page still waits for a confirmation that will never come, and it is not logged in
        assert relay_page.locator("#screen-status").get_attribute("data-state") == "pending"
        relay_page.goto(f"{card_server.url}/me")
        relay_page.wait_for_url("**/login?next=/me")
        # the QR code was good once
        phone_page.goto(url)
        assert "电脑已登录" in phone_page.get_by_role("status").inner_text()
    finally:
        for context in (phone, screen, relay):
            context.close()


def test_without_javascript_the_screen_logs_in_with_its_refresh_button(card_server, chromium, owner):
    phone, phone_page = _phone_logged_in(chromium, card_server, owner)
    screen, screen_page = _context(chromium, phone=False, javascript=False)
    try:
        url, code = _show_qr(screen_page, card_server, "自助终端")
        phone_page.goto(url)
        assert phone_page.locator("#phone-code").inner_text() == code
        phone_page.get_by_role("button", name="一致，登录这台电脑").click()
        screen_page.get_by_role("button", name="已在手机上确认？点此刷新").click()
        screen_page.get_by_role("button", name="进入").click()
        screen_page.wait_for_url("**/me")
        assert screen_page.get_by_role("heading", level=1).inner_text() == f"{owner['masked']}，您好"
    finally:
        phone.close()
        screen.close()
