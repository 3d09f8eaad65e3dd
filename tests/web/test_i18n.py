"""Languages: which one a request gets, the switch, figures and times per locale, and complete catalogs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from assembly.web import i18n

HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(client, path: str = "/") -> str:
    match = CSRF_FIELD.search(client.get(path).text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


# --- which language -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cookie", "accept", "expected"),
    [
        (None, None, "zh_CN"),  # nothing said: Chinese
        (None, "en-US,en;q=0.9", "en"),
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        (None, "fr-FR,en;q=0.5,zh;q=0.4", "en"),  # the first language we have, by preference
        (None, "en;q=0.3,zh-TW;q=0.8", "zh_CN"),  # q-values rank, not the order written
        (None, "en;q=0,fr", "zh_CN"),  # q=0 means "not this one"
        (None, "de, *", "zh_CN"),
        (None, "garbage;q=x", "zh_CN"),
        ("en", "zh-CN", "en"),  # the cookie overrides the browser
        ("zh-CN", "en", "zh_CN"),
        ("klingon", "en", "en"),  # an unknown cookie is ignored
    ],
)
def test_negotiation(cookie, accept, expected):
    assert i18n.negotiate(cookie, accept) == expected


def test_accept_language_picks_english(client):
    page = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert "Owners' Joint Decision Platform" in page.text and "Skip to content" in page.text
    assert "Accept-Language" in page.headers["vary"] and "Cookie" in page.headers["vary"]
    chinese = client.get("/")
    assert '<html lang="zh-CN">' in chinese.text and "业主共同决策平台" in chinese.text


def test_the_cookie_overrides_accept_language(client):
    client.cookies.set("lang", "zh-CN")
    page = client.get("/", headers={"Accept-Language": "en"})
    assert '<html lang="zh-CN">' in page.text and "跳到正文" in page.text


def test_the_switch_needs_the_csrf_token_and_sets_the_cookie(client):
    refused = client.post("/lang", data={"lang": "en", "next": "/login"}, follow_redirects=False)
    assert refused.status_code == 403 and "lang=" not in refused.headers.get("set-cookie", "")
    token = _csrf(client, "/login")
    switched = client.post("/lang", data={"lang": "en", "next": "/login?next=/me", "csrf_token": token},
                           follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/login?next=/me"
    cookie = switched.headers["set-cookie"]
    assert cookie.startswith("lang=en;") and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    page = client.get("/login")
    assert '<html lang="en">' in page.text and "Staff login" in page.text
    # The switch back names Chinese in Chinese; the form carries the page to come back to.
    assert 'lang="zh-CN"' in page.text and ">中文</button>" in page.text
    assert 'name="next" value="/login"' in page.text
    token = _csrf(client, "/login")
    back = client.post("/lang", data={"lang": "zh-CN", "next": "//evil.example/", "csrf_token": token},
                       follow_redirects=False)
    assert back.headers["location"] == "/"  # never an open redirect
    assert "工作人员登录" in client.get("/login").text


def test_the_switch_refuses_an_unknown_language(client):
    answer = client.post("/lang", data={"lang": "tlh", "csrf_token": _csrf(client)}, follow_redirects=False)
    assert answer.status_code == 422 and "lang=" not in answer.headers.get("set-cookie", "")


def test_no_state_change_on_get(client):
    assert client.get("/lang?lang=en").status_code == 405


# --- figures and times ----------------------------------------------------------------------------

MOMENT = datetime(2026, 11, 24, 2, 2, tzinfo=UTC)  # 10:02 in Beijing


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("zh_CN", "2026年11月24日 10:02"), ("en", "24 Nov 2026, 10:02")],
)
def test_times_are_beijing_time_in_the_locale(locale, expected):
    with i18n.use_locale(locale):
        assert i18n.format_datetime(MOMENT) == expected
        assert i18n.format_datetime(MOMENT.replace(tzinfo=None)) == expected  # naive values are UTC
        assert i18n.format_datetime(None) == "—"


@pytest.mark.parametrize(
    ("locale", "value", "area", "wan"),
    [
        ("zh_CN", Decimal("89.5000"), "89.5 ㎡", "89.5"),
        ("en", Decimal("89.5000"), "89.5 ㎡", "89.5"),
        ("zh_CN", Decimal("123456.7891"), "123,456.7891 ㎡", "12.35 万"),
        ("en", Decimal("123456.7891"), "123,456.7891 ㎡", "123,456.7891"),
        ("zh_CN", Decimal("120000.0000"), "120,000 ㎡", "12 万"),
        ("en", 120000, "120,000 ㎡", "120,000"),
        ("zh_CN", "0.0001", "0.0001 ㎡", "0.0001"),
        ("zh_CN", 9999, "9,999 ㎡", "9999"),
    ],
)
def test_areas_and_large_figures(locale, value, area, wan):
    with i18n.use_locale(locale):
        assert i18n.format_area(value) == area
        assert i18n.format_wan(value) == wan


def test_figures_are_exact_never_floats():
    with i18n.use_locale("en"):
        assert i18n.format_number(Decimal("1234567890123.0001")) == "1,234,567,890,123.0001"
        with pytest.raises(TypeError):
            i18n.format_area(89.5)


def test_the_turnout_pictures_speak_the_locale():
    from assembly.law.rules import QUORUM
    from assembly.web.bars import area_bar, heads_bar

    with i18n.use_locale("en"):
        heads = heads_bar("参与表决的人数", 1, 3, QUORUM)
        assert (heads.label, heads.part, heads.whole, heads.missing) == ("Owners taking part", "1 owner", "3 owners",
                                                                         "1 owner")
        assert heads.verdict == "Not yet two thirds or more"
        assert area_bar("面积", Decimal("2000"), Decimal("3000"), QUORUM).whole == "3,000 ㎡"
    assert heads_bar("参与表决的人数", 1, 3, QUORUM).verdict == "未达到三分之二以上"


def test_a_bilingual_message_shows_the_half_of_the_locale():
    message = "没有代码为 “x” 的小区 / no estate with the code 'x'"
    with i18n.use_locale("en"):
        assert i18n.pick(message) == "no estate with the code 'x'"
        assert i18n.pick("only one language") == "only one language"
    assert i18n.pick(message) == "没有代码为 “x” 的小区"


def test_error_pages_speak_the_visitors_language(client):
    english = client.get("/estate/nowhere", headers={"Accept-Language": "en"})
    assert english.status_code == 404
    assert "Page not found" in english.text and "no estate with the code" in english.text
    assert "没有代码为" not in english.text
    chinese = client.get("/estate/nowhere")
    assert "找不到页面" in chinese.text and "没有代码为" in chinese.text and "no estate with" not in chinese.text


# --- a whole owner page in English ------------------------------------------------------------------


def _owner_with_card(engine):
    """An estate whose data is all ASCII (so any Han on the English page is ours), an owner and their card."""
    from sqlalchemy import select

    from assembly import identity
    from assembly.auth import accounts, cards
    from assembly.auth.sessions import account_principal
    from assembly.config import get_settings
    from assembly.db import unit_of_work
    from assembly.permissions import Role
    from assembly.register import service
    from assembly.register.estates import onboard_estate
    from assembly.register.models import Person
    from assembly.register.rows import RegisterRow

    first17 = "11010519800101123"
    number = first17 + identity.mainland_check_character(first17)
    with unit_of_work(engine) as session:
        estate = onboard_estate(session, code="rose", name="Rose Court", district="West District",
                                street_office="North Street Office", community="Rose Community",
                                residents_committee="Rose Residents Committee")
        rows = [RegisterRow(unit="1-1-101", survey=Decimal("120.25"), owner_name="Li Lei", id_number=number),
                RegisterRow(unit="1-1-102", registry=Decimal("14321.5"), owner_name="Li Lei", id_number=number)]
        service.apply_register(session, estate=estate, rows=rows, reason="test", evidence_ref="test", actor="test",
                               id_key=get_settings().id_hash_key)
        issuer = accounts.create_account(
            session, created_by=None, username="rc-rose", display_name="RC", role=Role.RESIDENTS_COMMITTEE,
            now=MOMENT, estate_ids={estate.id}, street_office_id=None, password="correct-horse-battery-staple",
        ).account
        person = session.scalars(select(Person).where(Person.estate_id == estate.id)).one()
        issued = cards.issue_card(session, person=person, issued_by=account_principal(session, issuer), now=MOMENT)
        return issued.token, issued.activation_code, number[-4:]


def test_an_owner_page_in_english_has_no_chinese_but_the_data(client, engine_copy):
    token, activation_code, tail = _owner_with_card(engine_copy)
    client.cookies.set("lang", "en")
    card = client.get(f"/c/{token}")
    assert "First use: activate" in card.text
    client.post(f"/c/{token}/activate", data={"activation_code": activation_code, "id_tail": tail,
                                               "csrf_token": _csrf(client, f"/c/{token}")})
    done = client.post(f"/c/{token}/pin", data={"pin": "480913", "pin_confirm": "480913",
                                                 "csrf_token": _csrf(client, f"/c/{token}")}, follow_redirects=False)
    assert done.headers["location"] == "/me?welcome=1"
    home = client.get("/me?welcome=1")
    assert home.status_code == 200 and '<html lang="en">' in home.text
    # The words of each notice are data, written in Chinese when the event happened; everything else is ours.
    page = re.sub(r'(<ul class="cards" id="notice-list">.*?</ul>)',
                  lambda block: re.sub(r"<p>[^<]*</p>", "", block.group(1)), home.text, flags=re.S)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "Hello, L" in text and "My units" in text and "Your card is activated" in text
    assert "120.25 ㎡ (surveyed area)" in text and "14,321.5 ㎡ (area in the real estate register)" in text
    # The one Chinese word allowed: the switch back, naming Chinese in Chinese.
    assert HAN.findall(text.replace("中文", "")) == []


def test_a_form_error_on_a_page_speaks_the_visitors_language(client):
    english = {"Accept-Language": "en"}
    token = _csrf(client, "/login")
    page = client.post("/login", data={"username": "nobody", "password": "wrong password", "csrf_token": token},
                       headers=english)
    assert page.status_code in (401, 403, 422, 429)
    error = re.search(r'role="alert"[^>]*>(.*?)<', page.text, re.S)
    assert error and error.group(1).strip(), page.text[:2000]
    assert not HAN.search(error.group(1)) and " / " not in error.group(1)
    chinese = client.post("/login", data={"username": "nobody", "password": "wrong password",
                                          "csrf_token": _csrf(client, "/login")})
    assert HAN.search(re.search(r'role="alert"[^>]*>(.*?)<', chinese.text, re.S).group(1))
