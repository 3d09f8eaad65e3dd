"""Scan-to-login for a shared screen: the happy path, expiry, reuse, relay to another browser, cancel,
who may confirm, and bad input answered without a 500 — on both databases (the `web` app)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from assembly.auth import cards, screen_login
from assembly.auth.models import AuthSession, SecurityEvent
from assembly.auth.sessions import account_principal
from assembly.config import get_settings
from assembly.identity import mask_name
from assembly.permissions import Role

SCREEN_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 Edg/130.0"
PIN = "480913"


def _owner_phone(web, kit, owner, *, ip="10.1.0.7"):
    """A phone logged in with the owner's card (issued and activated here)."""
    with web.session() as session:
        rc = kit.make_account(session, Role.RESIDENTS_COMMITTEE, web.world, username=f"rc-{owner.person.pseudonym}")
        issued = cards.issue_card(session, person=owner.person, issued_by=account_principal(session, rc),
                                  now=web.clock.now)
        cards.set_first_pin(session, card=issued.card, pin=PIN, ip=None, now=web.clock.now)
        card_id = issued.card.id
    phone = web.client(ip=ip)
    response = phone.post(f"/api/cards/{issued.token}/login", json={"pin": PIN},
                          headers={"X-CSRF-Token": kit.api_csrf(phone)})
    assert response.status_code == 200, response.text
    phone.card_id = card_id
    return phone


def _screen(web, kit, *, ip="10.2.0.1", place="业委会办公室"):
    screen = web.client(ip=ip)
    screen.headers["user-agent"] = SCREEN_UA
    response = screen.post("/screen/start", data={"place": place, "csrf_token": kit.csrf_of(screen, "/screen")})
    assert response.status_code == 303 and response.headers["location"] == "/screen/wait", response.text
    return screen


def _qr_token(screen) -> str:
    """What the QR code on the screen says (derived from the screen's cookie, as the server does)."""
    return screen_login.qr_token(screen.cookies["assembly_screen"], secret_key=get_settings().secret_key)


def _shown_code(response) -> str:
    found = re.search(r'id="(?:screen|phone)-code">(\d{4})<', response.text)
    assert found, response.text[:800]
    return found.group(1)


def _confirm(kit, phone, token, action="confirm"):
    return phone.post(f"/s/{token}/{action}", headers={"X-CSRF-Token": kit.api_csrf(phone)})


def _claim(kit, screen):
    return screen.post("/screen/claim", headers={"X-CSRF-Token": kit.api_csrf(screen)})


def _events(web, type_):
    with web.session() as session:
        return list(session.scalars(select(SecurityEvent).where(SecurityEvent.type == type_)))


def test_the_phone_confirms_and_the_screen_that_asked_is_logged_in(web, kit):
    owner = web.world.alpha.owners[0]
    phone = _owner_phone(web, kit, owner)
    screen = _screen(web, kit)
    waiting = screen.get("/screen/wait")
    assert waiting.status_code == 200 and "<svg" in waiting.text
    code = _shown_code(waiting)
    token = _qr_token(screen)

    on_phone = phone.get(f"/s/{token}")
    assert on_phone.status_code == 200
    assert _shown_code(on_phone) == code  # the same code on both
    assert "10.2.0.1" in on_phone.text and "业委会办公室" in on_phone.text and "Windows 电脑上的 Edge" in on_phone.text

    assert screen.get("/screen/status").text.count('data-state="pending"') == 1
    confirmed = _confirm(kit, phone, token)
    assert confirmed.status_code == 303 and confirmed.headers["location"] == f"/s/{token}"
    assert "已确认" in phone.get(f"/s/{token}").text
    status = screen.get("/screen/status")
    assert 'data-state="confirmed"' in status.text and 'hx-post="/screen/claim"' in status.text

    entered = _claim(kit, screen)
    assert entered.status_code == 303 and entered.headers["location"] == "/me"
    assert "assembly_screen=" in entered.headers["set-cookie"] and "Max-Age=0" in entered.headers["set-cookie"]
    home = screen.get("/me")
    assert home.status_code == 200 and f"{mask_name(owner.person.name)}，您好" in home.text
    with web.session() as session:
        row = session.scalars(select(screen_login.ScreenLogin)).one()
        auth = session.get(AuthSession, row.session_id)
        assert auth.card_id == phone.card_id and auth.ip == "10.2.0.1"
        assert auth.expires_at <= web.clock.now + timedelta(minutes=30)  # a shared screen's session is short
        # only hashes of the two secrets are kept
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in json.dumps(
            [row.token_hash, row.screen_hash])
    [event] = _events(web, screen_login.CONFIRMED)
    assert event.subject == f"card:{phone.card_id}" and json.loads(event.details_json)["screen_ip"] == "10.2.0.1"
    logins = [json.loads(e.details_json)["method"] for e in _events(web, "login.succeeded")]
    assert "screen" in logins


def test_the_qr_code_expires_after_two_minutes(web, kit):
    phone = _owner_phone(web, kit, web.world.alpha.owners[0])
    screen = _screen(web, kit)
    token = _qr_token(screen)
    web.clock.advance(minutes=2, seconds=1)
    page = phone.get(f"/s/{token}")
    assert page.status_code == 410 and "已过期" in page.text
    late = _confirm(kit, phone, token)
    assert late.status_code == 410 and "已过期" in late.text
    assert 'data-state="expired"' in screen.get("/screen/status").text
    assert _claim(kit, screen).status_code == 410
    assert screen.get("/me").status_code == 303  # not logged in


def test_a_confirmation_must_be_picked_up_within_a_minute(web, kit):
    phone = _owner_phone(web, kit, web.world.alpha.owners[0])
    screen = _screen(web, kit)
    assert _confirm(kit, phone, _qr_token(screen)).status_code == 303
    web.clock.advance(seconds=61)
    late = _claim(kit, screen)
    assert late.status_code == 410
    assert screen.get("/me").status_code == 303


def test_a_qr_code_is_used_once(web, kit):
    phone = _owner_phone(web, kit, web.world.alpha.owners[0])
    other_phone = _owner_phone(web, kit, web.world.alpha.owners[1], ip="10.1.0.8")
    screen = _screen(web, kit)
    token = _qr_token(screen)
    stolen_cookie = screen.cookies["assembly_screen"]
    assert _confirm(kit, phone, token).status_code == 303
    again = _confirm(kit, other_phone, token)  # a second confirmation, by anyone
    assert again.status_code == 410 and "只能确认一次" in again.text
    assert other_phone.get(f"/s/{token}").status_code == 410
    assert _claim(kit, screen).status_code == 303
    assert _claim(kit, screen).status_code == 404  # the screen's cookie is gone with the login
    replay = web.client(ip="10.2.0.1")
    replay.cookies.set("assembly_screen", stolen_cookie)
    reused = _claim(kit, replay)
    assert reused.status_code == 410 and "已经用过了" in reused.text
    assert replay.get("/me").status_code == 303
    with web.session() as session:
        assert len(session.scalars(select(AuthSession).where(AuthSession.ip == "10.2.0.1")).all()) == 1


def test_a_relayed_qr_code_logs_in_only_the_screen_that_showed_it(web, kit):
    """Another browser presenting the same QR code (its own screen page, or none) gets no session."""
    phone = _owner_phone(web, kit, web.world.alpha.owners[0])
    screen = _screen(web, kit)
    relay = _screen(web, kit, ip="203.0.113.9", place="业委会办公室")  # an attacker's browser, same place claimed
    token = _qr_token(screen)
    assert _qr_token(relay) != token
    # the relay shows the victim the QR code of the real screen, so the phone confirms that one...
    assert _confirm(kit, phone, token).status_code == 303
    # ...and the relay, which has only the QR code, cannot pick the session up
    pending = _claim(kit, relay)
    assert pending.status_code == 409 and "还没有在手机上确认" in pending.text
    bare = web.client(ip="203.0.113.9")  # a browser with the QR code and no screen cookie at all
    assert _claim(kit, bare).status_code == 404
    assert 'data-state="none"' in bare.get("/screen/status").text
    assert relay.get("/me").status_code == 303 and bare.get("/me").status_code == 303
    assert _claim(kit, screen).status_code == 303  # the screen that asked still gets in


def test_a_qr_code_from_another_screen_shows_that_screens_address_and_code(web, kit):
    phone = _owner_phone(web, kit, web.world.alpha.owners[0])
    office = _screen(web, kit)
    elsewhere = _screen(web, kit, ip="198.51.100.4", place="")
    _shown_code(office.get("/screen/wait"))
    page = phone.get(f"/s/{_qr_token(elsewhere)}")
    assert "198.51.100.4" in page.text and "未填写" in page.text
    assert _shown_code(page) == _shown_code(elsewhere.get("/screen/wait"))


def test_cancelling_on_the_phone_ends_the_request(web, kit):
    phone = _owner_phone(web, kit, web.world.alpha.owners[0])
    screen = _screen(web, kit)
    token = _qr_token(screen)
    assert _confirm(kit, phone, token, "cancel").status_code == 303
    assert "已取消" in phone.get(f"/s/{token}").text
    assert 'data-state="cancelled"' in screen.get("/screen/status").text
    assert _claim(kit, screen).status_code == 410
    assert _confirm(kit, phone, token).status_code == 410
    assert len(_events(web, screen_login.CANCELLED)) == 1


def test_a_card_revoked_before_the_pickup_logs_nobody_in(web, kit):
    phone = _owner_phone(web, kit, web.world.alpha.owners[0])
    screen = _screen(web, kit)
    assert _confirm(kit, phone, _qr_token(screen)).status_code == 303
    with web.session() as session:
        rc = kit.make_account(session, Role.RESIDENTS_COMMITTEE, web.world, username="rc-revoker")
        from assembly.auth.models import OwnerCard

        cards.revoke_card(session, card=session.get(OwnerCard, phone.card_id), by=account_principal(session, rc),
                          now=web.clock.now)
    refused = _claim(kit, screen)
    assert refused.status_code == 410 and "已作废" in refused.text


def test_only_a_logged_in_owner_confirms(web, kit):
    screen = _screen(web, kit)
    token = _qr_token(screen)
    anonymous = web.client(ip="10.3.0.1")
    page = anonymous.get(f"/s/{token}")
    assert page.status_code == 401 and "业主一卡通" in page.text and "confirm" not in page.text
    assert _confirm(kit, anonymous, token).status_code == 401
    with web.session() as session:
        kit.make_account(session, Role.COMMITTEE_CHAIR, web.world, username="chair-screen")
    chair = web.login("chair-screen")
    assert chair.get(f"/s/{token}").status_code == 403
    assert _confirm(kit, chair, token).status_code == 403
    assert 'data-state="pending"' in screen.get("/screen/status").text  # nothing happened


@pytest.mark.parametrize("token", ["garbage", "sl_" + "A" * 43, "sl_" + "A" * 42 + "!", "ac_" + "A" * 27, "x" * 3000])
def test_unknown_or_forged_qr_tokens_are_not_found(web, kit, token):
    phone = _owner_phone(web, kit, web.world.alpha.owners[0])
    page = phone.get(f"/s/{token}")
    assert page.status_code == 404 and "二维码无效" in page.text
    api = phone.get(f"/s/{token}", headers={"Accept": "application/json"})
    assert api.json()["error"]["code"] == "screen_login_not_found"
    assert _confirm(kit, phone, token).status_code == 404


@pytest.mark.parametrize("cookie", ["", "short", "A" * 43, "A.B" * 20, "A" * 3000])
def test_a_screen_with_a_forged_cookie_has_nothing_waiting(web, kit, cookie):
    screen = web.client(ip="10.4.0.1")
    screen.cookies.set("assembly_screen", cookie)
    assert 'data-state="none"' in screen.get("/screen/wait").text
    assert _claim(kit, screen).status_code == 404


def test_an_address_holds_at_most_ten_open_requests(web, kit):
    for _ in range(screen_login.OPEN_PER_IP):
        _screen(web, kit, ip="10.5.0.1")
    flood = web.client(ip="10.5.0.1")
    refused = flood.post("/screen/start", data={"csrf_token": kit.csrf_of(flood, "/screen")})
    assert refused.status_code == 429 and "太多" in refused.text
    web.clock.advance(minutes=3)  # they expire, and the address may ask again
    assert _screen(web, kit, ip="10.5.0.1") is not None


def test_an_over_long_place_is_cut_and_reloading_shows_the_same_code(web, kit):
    screen = _screen(web, kit, place="很长的位置" * 30)
    first, second = screen.get("/screen/wait"), screen.get("/screen/wait")
    assert _shown_code(first) == _shown_code(second)
    with web.session() as session:
        assert len(session.scalars(select(screen_login.ScreenLogin)).one().place) == 40


def test_the_device_line_names_system_and_browser():
    assert screen_login.device(SCREEN_UA) == "Windows 电脑上的 Edge"
    assert screen_login.device("Mozilla/5.0 (Linux; Android 14) Chrome/130 Mobile Safari/537.36") == "安卓设备上的 Chrome"
    assert screen_login.device(None) == "未知设备上的 浏览器"
