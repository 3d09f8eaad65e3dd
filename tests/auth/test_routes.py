"""The pages and the API over HTTP: cookies, CSRF, login steps, logout for real, cards on the phone."""

from __future__ import annotations

import re

import pytest

from assembly.auth import cards, totp
from assembly.auth.sessions import account_principal
from assembly.permissions import Role


def _account(web, kit, role, **options):
    with web.session() as session:
        account = kit.make_account(session, role, web.world, **options)
        session.expunge(account)
    return account


def _issue(web, kit, owner, *, activate_pin: str | None = None):
    """A card for `owner`, issued by alpha's residents' committee; activated with a PIN when asked."""
    with web.session() as session:
        from assembly.auth.accounts import get_account

        issuer = get_account(session, "rc-issuer") or kit.make_account(session, Role.RESIDENTS_COMMITTEE, web.world,
                                                                         username="rc-issuer")
        issued = cards.issue_card(session, person=owner.person, issued_by=account_principal(session, issuer),
                                  now=web.clock.now)
        if activate_pin:
            cards.set_first_pin(session, card=issued.card, pin=activate_pin, ip=None, now=web.clock.now)
        session.expunge_all()
    return issued


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text))


# --- cookies and CSRF --------------------------------------------------------------------------------


def test_session_cookie_over_http(web, kit):
    account = _account(web, kit, Role.OBSERVER)
    client = web.login(account.username)
    cookie = client.cookies.jar
    names = {c.name for c in cookie}
    assert "assembly_session" in names and "assembly_csrf" in names
    raw = client.post("/logout", headers={"X-CSRF-Token": kit.csrf_of(client, "/account")})
    assert "assembly_session=;" in raw.headers["set-cookie"] and "Max-Age=0" in raw.headers["set-cookie"]


def test_session_cookie_over_https_is_host_prefixed_and_secure(web_https, kit):
    web = web_https
    account = _account(web, kit, Role.OBSERVER)
    client = web.client(https=True)
    client.get("/login")
    response = client.post("/login", data={"username": account.username, "password": kit.PASSWORD,
                                           "csrf_token": kit.csrf_of(client)})
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith("__Host-assembly=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/"):
        assert attribute in set_cookie
    assert "Domain" not in set_cookie
    assert client.get("/account").status_code == 200


def _unsafe_routes(app, kit):
    for path, methods in kit.flat_routes(app.routes):
        for method in sorted(methods - {"GET"}):
            yield method, re.sub(r"\{[^}]+\}", "ac_" + "A" * 27, path).replace(
                "/api/estates/ac_" + "A" * 27, "/api/estates/alpha")


def test_every_state_changing_route_refuses_a_missing_or_wrong_csrf_token(web, kit):
    account = _account(web, kit, Role.STREET_OFFICE)
    with web.session() as session:
        from assembly.auth.accounts import get_account

        secret = kit.enrol_totp(session, get_account(session, account.username))
    logged_in = web.login(account.username, secret=secret)
    other = web.login(_account(web, kit, Role.OBSERVER).username)
    someone_elses = kit.csrf_of(other, "/account")
    anonymous = web.client()
    anonymous.get("/login")
    checked = 0
    for method, path in _unsafe_routes(web.app, kit):
        for client in (anonymous, logged_in):
            for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": someone_elses}):
                response = client.request(method, path, headers=headers, data={"csrf_token": "also-wrong"})
                assert response.status_code == 403, (method, path, headers, response.text[:200])
                assert "csrf_failed" in response.text or "页面已过期" in response.text
                checked += 1
    assert checked >= 20 * 6  # every POST/PUT/DELETE route, both kinds of visitor
    # and the same requests with the right token get past the check (whatever they answer next)
    token = kit.csrf_of(logged_in, "/account")
    assert logged_in.post("/api/accounts", headers={"X-CSRF-Token": token}, json={}).status_code == 422


def test_get_never_changes_state(web, kit):
    """A GET to a state-changing path is refused by method; nothing is logged out or issued."""
    account = _account(web, kit, Role.OBSERVER)
    client = web.login(account.username)
    for path in ("/logout", "/logout/everywhere", "/api/auth/logout"):
        assert client.get(path).status_code == 405
    assert client.get("/account").status_code == 200


# --- staff login ---------------------------------------------------------------------------------------


def test_wrong_password_page_keeps_the_username_not_the_password(web, kit):
    account = _account(web, kit, Role.OBSERVER)
    client = web.client()
    response = client.post("/login", data={"username": account.username, "password": "typed-secret-123",
                                           "csrf_token": kit.csrf_of(client)})
    assert response.status_code == 401
    assert f'value="{account.username}"' in response.text and "typed-secret-123" not in response.text
    assert "用户名或密码不正确" in response.text and 'role="alert"' in response.text


def test_login_goes_where_it_was_asked_but_never_off_site(web, kit):
    account = _account(web, kit, Role.OBSERVER)
    client = web.client()
    assert client.get("/account").headers["location"] == "/login?next=/account"
    for asked, landed in (("/estate/alpha", "/estate/alpha"), ("//evil.example/x", "/account"),
                          ("https://evil.example", "/account")):
        response = client.post("/login", data={"username": account.username, "password": kit.PASSWORD,
                                               "next": asked, "csrf_token": kit.csrf_of(client)})
        assert response.headers["location"] == landed


@pytest.mark.parametrize("asked", ["/\t/evil.example", "/\n/evil.example", "/x\r\nSet-Cookie: a=b", "//x", "/\\x",
                                   "/\\/evil.example", "/estate/\u202ealpha", "/\x00", " /x", "/a b"])
def test_next_with_control_characters_never_leaves_the_site(web, kit, asked):
    """Issue #22: `/\t/evil.example` became an HX-Redirect a browser reads as `//evil.example`, and a
    line break raised inside h11."""
    account = _account(web, kit, Role.OBSERVER)
    client = web.client()
    form = {"username": account.username, "password": kit.PASSWORD, "next": asked, "csrf_token": kit.csrf_of(client)}
    assert client.post("/login", data=form).headers["location"] == "/account"
    form["csrf_token"] = kit.csrf_of(client)
    htmx = client.post("/login", data=form, headers={"HX-Request": "true"})
    assert htmx.headers["hx-redirect"] == "/account"
    assert 'name="next" value="/account"' in client.get("/login", params={"next": asked}).text


def test_a_login_always_starts_a_new_session(web, kit):
    account = _account(web, kit, Role.OBSERVER)
    client = web.login(account.username)
    first = client.cookies.get("assembly_session")
    response = client.post("/login", data={"username": account.username, "password": kit.PASSWORD,
                                           "csrf_token": kit.csrf_of(client)})
    second = client.cookies.get("assembly_session")
    assert response.status_code == 303 and first != second
    replay = web.client()
    replay.cookies.set("assembly_session", first)
    assert replay.get("/account").status_code == 303  # the earlier session ended with the new login


def test_totp_setup_at_first_login_then_code_every_time(web, kit):
    office = _account(web, kit, Role.STREET_OFFICE)
    client = web.client()
    response = client.post("/login", data={"username": office.username, "password": kit.PASSWORD,
                                           "csrf_token": kit.csrf_of(client)})
    assert response.headers["location"].startswith("/login/totp")
    assert client.get("/account").status_code == 303  # the password alone grants nothing
    page = client.get("/login/totp")
    secret = totp.secret_from_base32(re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text).group(1))
    token = kit.csrf_of(client, "/login/totp")
    wrong = client.post("/login/totp", data={"code": "000000", "csrf_token": token})
    assert wrong.status_code == 401 and "验证码不正确" in wrong.text
    done = client.post("/login/totp", data={"code": totp.totp(secret, web.clock.now), "csrf_token": token})
    assert done.status_code == 303 and client.get("/account").status_code == 200
    web.clock.advance(seconds=30)
    again = web.login(office.username, secret=secret)  # later logins ask for a code, no set-up
    assert again.get("/account").status_code == 200


def test_totp_pending_step_expires(web, kit):
    office = _account(web, kit, Role.STREET_OFFICE)
    client = web.client()
    client.post("/login", data={"username": office.username, "password": kit.PASSWORD,
                                "csrf_token": kit.csrf_of(client)})
    web.clock.advance(minutes=11)
    assert client.get("/login/totp").headers["location"] == "/login"


def test_optional_totp_from_the_account_page(web, kit):
    observer = _account(web, kit, Role.OBSERVER)
    client = web.login(observer.username)
    assert client.get("/account/totp").headers["location"] == "/account"  # nothing to show before the POST
    started = client.post("/account/totp/start", data={"csrf_token": kit.csrf_of(client, "/account")})
    assert started.headers["location"] == "/account/totp"
    page = client.get("/account/totp")
    secret = totp.secret_from_base32(re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text).group(1))
    wrong = client.post("/account/totp", data={"code": "000000", "csrf_token": kit.csrf_of(client, "/account")})
    assert wrong.status_code == 401 and 'id="code-error"' in wrong.text and "验证码不正确" in wrong.text
    response = client.post("/account/totp", data={"code": totp.totp(secret, web.clock.now),
                                                  "csrf_token": kit.csrf_of(client, "/account")})
    assert response.headers["location"] == "/account?done=totp"
    assert "两步验证已启用" in client.get("/account?done=totp").text
    web.clock.advance(seconds=60)
    fresh = web.client()
    step = fresh.post("/login", data={"username": observer.username, "password": kit.PASSWORD,
                                      "csrf_token": kit.csrf_of(fresh)})
    assert step.headers["location"].startswith("/login/totp")


def test_sessions_expire_when_idle_and_absolutely(web, kit, settings):
    observer = _account(web, kit, Role.OBSERVER)
    client = web.login(observer.username)
    web.clock.advance(minutes=settings.session_idle_minutes - 1)
    assert client.get("/account").status_code == 200
    web.clock.advance(minutes=settings.session_idle_minutes - 1)  # still within idle of the last use
    assert client.get("/account").status_code == 200
    web.clock.advance(minutes=settings.session_idle_minutes)
    response = client.get("/account")
    assert response.status_code == 303 and "assembly_session=;" in response.headers.get("set-cookie", "")
    busy = web.login(observer.username)
    for _ in range(settings.session_absolute_hours * 3):
        web.clock.advance(minutes=20)
        busy.get("/api/me")
    assert busy.get("/api/me").status_code == 401


def test_logout_ends_the_session_on_the_server(web, kit):
    observer = _account(web, kit, Role.OBSERVER)
    client = web.login(observer.username)
    cookie = client.cookies.get("assembly_session")
    response = client.post("/logout", data={"csrf_token": kit.csrf_of(client, "/account")})
    assert response.headers["location"] == "/logged-out?who=account"
    replay = web.client()
    replay.cookies.set("assembly_session", cookie)  # a copied cookie is worthless after logout
    assert replay.get("/api/me").status_code == 401


def test_log_out_everywhere(web, kit):
    observer = _account(web, kit, Role.OBSERVER)
    phone, desk = web.login(observer.username, ip="10.0.0.2"), web.login(observer.username, ip="10.0.0.3")
    response = desk.post("/logout/everywhere", data={"csrf_token": kit.csrf_of(desk, "/account")})
    assert response.headers["location"] == "/logged-out?who=account&everywhere=1"
    assert phone.get("/api/me").status_code == 401 and desk.get("/api/me").status_code == 401


def test_password_change_page(web, kit):
    observer = _account(web, kit, Role.OBSERVER)
    client = web.login(observer.username)
    other = web.login(observer.username, ip="10.0.0.9")
    token = kit.csrf_of(client, "/account/password")
    mismatch = client.post("/account/password", data={"current": kit.PASSWORD, "new": "a-new-long-passphrase",
                                                      "confirm": "different", "csrf_token": token})
    assert mismatch.status_code == 422 and 'id="confirm-error"' in mismatch.text
    done = client.post("/account/password", data={"current": kit.PASSWORD, "new": "a-new-long-passphrase",
                                                  "confirm": "a-new-long-passphrase", "csrf_token": token})
    assert done.headers["location"] == "/account?done=password"
    assert client.get("/account").status_code == 200 and other.get("/api/me").status_code == 401


# --- the card on the phone -------------------------------------------------------------------------------


def test_card_activation_and_pin_on_the_phone(web, kit):
    owner = web.world.alpha.owners[0]
    issued = _issue(web, kit, owner)
    phone = web.client(ip="10.1.0.1")
    page = phone.get(f"/c/{issued.token}")
    assert page.status_code == 200 and "第一次使用" in page.text and cards.format_number(issued.card.number) in page.text
    token = kit.csrf_of(phone, f"/c/{issued.token}")
    wrong = phone.post(f"/c/{issued.token}/activate", data={"activation_code": "00000000", "id_tail": owner.tail,
                                                            "csrf_token": token})
    assert wrong.status_code == 401 and 'id="activation_code-error"' in wrong.text
    assert "激活码或身份证号后四位不正确" in wrong.text and owner.tail not in wrong.text
    missing = phone.post(f"/c/{issued.token}/activate", data={"activation_code": issued.activation_code,
                                                              "csrf_token": token})
    assert missing.status_code == 422 and 'id="id_tail-error"' in missing.text
    done = phone.post(f"/c/{issued.token}/activate", data={"activation_code": issued.activation_code,
                                                           "id_tail": owner.tail.lower(), "csrf_token": token})
    assert done.headers["location"] == f"/c/{issued.token}"
    assert phone.get("/me").status_code == 303  # activation alone is not a login
    page = phone.get(f"/c/{issued.token}")
    assert "设置 PIN" in page.text
    token = kit.csrf_of(phone, f"/c/{issued.token}")
    weak = phone.post(f"/c/{issued.token}/pin", data={"pin": "111111", "pin_confirm": "111111", "csrf_token": token})
    assert weak.status_code == 422 and 'id="pin-error"' in weak.text and 'value="111111"' not in weak.text
    differ = phone.post(f"/c/{issued.token}/pin", data={"pin": "480913", "pin_confirm": "480914", "csrf_token": token})
    assert 'id="pin_confirm-error"' in differ.text
    done = phone.post(f"/c/{issued.token}/pin", data={"pin": "480913", "pin_confirm": "480913", "csrf_token": token})
    assert done.headers["location"] == "/me?welcome=1"
    home = _text(phone.get("/me?welcome=1"))
    assert "王*明，您好" in home and "1-1-101" in home and "89.5" in home and "不动产登记簿面积" in home
    assert "王小明" not in home
    assert "激活成功" in home
    assert phone.get(f"/c/{issued.token}").headers["location"] == "/me"


def test_later_scans_ask_for_the_pin_and_show_failures(web, kit):
    owner = web.world.alpha.owners[3]
    issued = _issue(web, kit, owner, activate_pin="480913")
    stranger = web.client(ip="198.51.100.1")
    token = kit.csrf_of(stranger, f"/c/{issued.token}")
    responses = [stranger.post(f"/c/{issued.token}/login", data={"pin": "999999", "csrf_token": token})
                 for _ in range(5)]
    assert [r.status_code for r in responses] == [401, 401, 401, 401, 429]
    assert re.search(r"请在 \d+ (分|秒)", responses[3].text) and "请在" in responses[4].text
    web.clock.advance(minutes=2)
    phone = web.client(ip="10.1.0.2")
    response = phone.post(f"/c/{issued.token}/login", data={"pin": "480913",
                                                            "csrf_token": kit.csrf_of(phone, f"/c/{issued.token}")})
    assert response.headers["location"] == "/me"
    home = _text(phone.get("/me"))
    assert "输错了 4 次" in home
    assert "1-1-103" in home and "1-1-104" in home and "合同面积" in home


def test_revoked_and_unknown_cards_get_a_chinese_page(web, kit):
    owner = web.world.alpha.owners[0]
    old = _issue(web, kit, owner)
    with web.session() as session:
        from assembly.auth.accounts import get_account
        from assembly.auth.models import OwnerCard

        card = session.get(OwnerCard, old.card.id)
        cards.reissue_card(session, card=card, issued_by=account_principal(session, get_account(session, "rc-issuer")),
                           now=web.clock.now)
    phone = web.client()
    revoked = phone.get(f"/c/{old.token}")
    assert revoked.status_code == 410 and "已作废" in revoked.text
    api = phone.post(f"/api/cards/{old.token}/login", json={"pin": "480913"}, headers={"X-CSRF-Token": kit.api_csrf(phone)})
    assert api.status_code == 410 and api.json()["error"]["code"] == "card_revoked"
    for token in ("ac_" + "B" * 27, "nonsense", "ac_%00", "ac_" + "x" * 300):
        response = phone.get(f"/c/{token}")
        assert response.status_code == 404 and "找不到这张业主一卡通" in response.text


def test_owner_logout_everywhere_ends_every_phone(web, kit):
    owner = web.world.alpha.owners[0]
    issued = _issue(web, kit, owner, activate_pin="480913")
    phones = []
    for ip in ("10.2.0.1", "10.2.0.2"):
        phone = web.client(ip=ip)
        phone.post(f"/c/{issued.token}/login", data={"pin": "480913",
                                                     "csrf_token": kit.csrf_of(phone, f"/c/{issued.token}")})
        phones.append(phone)
    assert all(phone.get("/me").status_code == 200 for phone in phones)
    response = phones[0].post("/logout/everywhere", data={"csrf_token": kit.csrf_of(phones[0], "/me")})
    assert response.headers["location"] == "/logged-out?who=owner&everywhere=1"
    assert "再次用手机扫描业主一卡通" in phones[0].get(response.headers["location"]).text
    assert all(phone.get("/me").status_code == 303 for phone in phones)


def test_owner_changes_pin(web, kit):
    issued = _issue(web, kit, web.world.alpha.owners[0], activate_pin="480913")
    phone = web.client()
    phone.post(f"/c/{issued.token}/login", data={"pin": "480913", "csrf_token": kit.csrf_of(phone, f"/c/{issued.token}")})
    token = kit.csrf_of(phone, "/me/pin")
    wrong = phone.post("/me/pin", data={"current": "111111", "new": "735190", "confirm": "735190", "csrf_token": token})
    assert wrong.status_code == 401 and 'id="current-error"' in wrong.text
    done = phone.post("/me/pin", data={"current": "480913", "new": "735190", "confirm": "735190", "csrf_token": token})
    assert done.headers["location"] == "/me?done=pin"


# --- the API ------------------------------------------------------------------------------------------------


def test_api_staff_login_and_its_error_codes(web, kit):
    observer = _account(web, kit, Role.OBSERVER)
    office = _account(web, kit, Role.STREET_OFFICE)
    client = web.client()
    csrf = kit.api_csrf(client)
    bad = client.post("/api/auth/login", json={"username": observer.username, "password": "x"},
                      headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "bad_credentials"
    setup = client.post("/api/auth/login", json={"username": office.username, "password": kit.PASSWORD},
                        headers={"X-CSRF-Token": csrf})
    assert setup.status_code == 403 and setup.json()["error"]["code"] == "totp_setup_required"
    csrf = setup.json()["error"]["detail"]["csrf_token"]  # the refusal started a set-up session
    with web.session() as session:
        from assembly.auth.accounts import get_account

        secret = kit.enrol_totp(session, get_account(session, office.username))
    need = client.post("/api/auth/login", json={"username": office.username, "password": kit.PASSWORD},
                       headers={"X-CSRF-Token": csrf})
    assert need.json()["error"]["code"] == "totp_required"
    ok = client.post("/api/auth/login", headers={"X-CSRF-Token": csrf},
                     json={"username": office.username, "password": kit.PASSWORD,
                           "totp_code": totp.totp(secret, web.clock.now)})
    assert ok.status_code == 200 and ok.json()["principal"]["role"] == "street_office"
    me = client.get("/api/me").json()
    assert me["estates"] == ["alpha"] and me["role"] == "street_office"
    new_csrf = ok.json()["csrf_token"]
    assert client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 403  # old token: dead
    assert client.post("/api/auth/logout", headers={"X-CSRF-Token": new_csrf}).json() == {"ok": True}
    assert client.get("/api/me").status_code == 401


def test_api_card_activation_login_and_me(web, kit):
    owner = web.world.alpha.owners[3]
    issued = _issue(web, kit, owner)
    phone = web.client()
    csrf = kit.api_csrf(phone)
    weak = phone.post(f"/api/cards/{issued.token}/activate", headers={"X-CSRF-Token": csrf},
                      json={"activation_code": issued.activation_code, "id_tail": owner.tail, "pin": "123456"})
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "weak_pin"
    wrong = phone.post(f"/api/cards/{issued.token}/activate", headers={"X-CSRF-Token": csrf},
                       json={"activation_code": "00000000", "id_tail": owner.tail, "pin": "480913"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "bad_activation"
    ok = phone.post(f"/api/cards/{issued.token}/activate", headers={"X-CSRF-Token": csrf},
                    json={"activation_code": issued.activation_code, "id_tail": owner.tail, "pin": "480913"})
    assert ok.status_code == 200
    me = phone.get("/api/me").json()
    assert me["role"] == "owner" and me["estate"] == "alpha" and me["recent_failures"] == 1
    assert [unit["unit"] for unit in me["units"]] == ["1-1-103", "1-1-104"]
    assert [unit["area"] for unit in me["units"]] == ["60", "61.5"]
    other = web.client(ip="10.9.9.9")
    pin = other.post(f"/api/cards/{issued.token}/login", json={"pin": "480913"},
                     headers={"X-CSRF-Token": kit.api_csrf(other)})
    assert pin.status_code == 200 and other.get("/api/me").json()["pseudonym"] == me["pseudonym"]


def test_api_issues_reissues_and_revokes_cards_within_scope(web, kit):
    rc = _account(web, kit, Role.RESIDENTS_COMMITTEE, username="rc-api")
    client = web.login(rc.username)
    csrf = kit.csrf_of(client, "/account")
    person = web.world.alpha.owners[2].person.pseudonym
    issued = client.post("/api/estates/alpha/cards", json={"person": person}, headers={"X-CSRF-Token": csrf})
    assert issued.status_code == 201 and issued.headers["cache-control"] == "no-store"
    body = issued.json()
    assert body["url"] == f"http://testserver/c/{body['token']}" and len(body["activation_code"]) == 8
    again = client.post("/api/estates/alpha/cards", json={"person": person}, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409 and again.json()["error"]["code"] == "card_exists"
    foreign = client.post("/api/estates/beta/cards", json={"person": web.world.beta.owners[0].person.pseudonym},
                          headers={"X-CSRF-Token": csrf})
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "estate_forbidden"
    smuggled = client.post("/api/estates/alpha/cards", json={"person": web.world.beta.owners[0].person.pseudonym},
                           headers={"X-CSRF-Token": csrf})
    assert smuggled.status_code == 404  # a beta owner is not found through alpha
    reissued = client.post(f"/api/estates/alpha/cards/{body['number']}/reissue", json={"reason": "lost"},
                           headers={"X-CSRF-Token": csrf})
    assert reissued.status_code == 201 and reissued.json()["token"] != body["token"]
    assert web.client().get(f"/c/{body['token']}").status_code == 410  # the old QR code is dead at once
    wrong_estate = client.post(f"/api/estates/beta/cards/{reissued.json()['number']}/revoke", json={},
                               headers={"X-CSRF-Token": csrf})
    assert wrong_estate.status_code == 403
    revoked = client.post(f"/api/estates/alpha/cards/{reissued.json()['number']}/revoke", json={},
                          headers={"X-CSRF-Token": csrf})
    assert revoked.json() == {"number": reissued.json()["number"], "revoked": True}
    events = client.get("/api/estates/alpha/security-events").json()["events"]
    kinds = [event["type"] for event in events]
    assert {"card.issued", "card.reissued", "card.revoked", "login.succeeded"} <= set(kinds)
    assert all(body["token"] not in str(event) and body["activation_code"] not in str(event) for event in events)


def test_api_accounts_by_the_role_above(web, kit):
    office = _account(web, kit, Role.STREET_OFFICE, username="office-api")
    with web.session() as session:
        from assembly.auth.accounts import get_account

        secret = kit.enrol_totp(session, get_account(session, office.username))
    client = web.login(office.username, secret=secret)
    csrf = kit.csrf_of(client, "/account")
    created = client.post("/api/accounts", headers={"X-CSRF-Token": csrf},
                          json={"username": "new-observer", "display_name": "人大代表 王", "role": "observer",
                                "estates": ["alpha"]})
    assert created.status_code == 201 and len(created.json()["password"]) == 19
    assert created.json()["estates"] == ["alpha"]
    beyond = client.post("/api/accounts", headers={"X-CSRF-Token": csrf},
                         json={"username": "beta-observer", "display_name": "x", "role": "observer",
                               "estates": ["beta"]})
    assert beyond.status_code == 403
    upward = client.post("/api/accounts", headers={"X-CSRF-Token": csrf},
                         json={"username": "new-office", "display_name": "x", "role": "street_office",
                               "street_office_id": web.world.alpha.street_office.id})
    assert upward.status_code == 403 and upward.json()["error"]["code"] == "role_forbidden"
    unknown = client.post("/api/accounts", headers={"X-CSRF-Token": csrf},
                          json={"username": "x-observer", "display_name": "x", "role": "observer",
                                "estates": ["nowhere"]})
    assert unknown.status_code == 422
    scope = client.put("/api/accounts/new-observer/estates", json={"estates": ["alpha"]},
                       headers={"X-CSRF-Token": csrf})
    assert scope.status_code == 200
    disabled = client.post("/api/accounts/new-observer/disable", headers={"X-CSRF-Token": csrf})
    assert disabled.json()["disabled"] is True
    observer = web.client()
    bad = observer.post("/login", data={"username": "new-observer", "password": created.json()["password"],
                                        "csrf_token": kit.csrf_of(observer)})
    assert bad.status_code == 401


# --- bad input never gives a 500 -----------------------------------------------------------------------------

GARBAGE = [
    {"data": {"username": "x" * 5000, "password": "\u0000", "pin": "１２３", "code": "💥", "activation_code": "-1",
              "id_tail": "'--", "next": "javascript:alert(1)", "current": "", "new": "", "confirm": ""}},
    {"content": b"\xff\xfe\x00garbage", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
    {"json": {"username": 1, "password": None, "estates": "alpha", "person": ["x"], "role": "emperor"}},
    {"json": [1, 2, 3]},
    {"content": b"--b\r\nContent-Disposition: form-data; name=\"pin\"\r\n\r\n1\r\n--b--\r\n",
     "headers": {"Content-Type": "multipart/form-data; boundary=b"}},
]


@pytest.mark.parametrize("as_who", ["anonymous", "staff", "owner"])
def test_no_route_answers_500_to_bad_input(web, kit, as_who):
    if as_who == "staff":
        client = web.login(_account(web, kit, Role.RESIDENTS_COMMITTEE, username="rc-fuzz").username)
        token = kit.csrf_of(client, "/account")
    elif as_who == "owner":
        issued = _issue(web, kit, web.world.alpha.owners[1], activate_pin="480913")
        client = web.client()
        client.post(f"/c/{issued.token}/login", data={"pin": "480913",
                                                      "csrf_token": kit.csrf_of(client, f"/c/{issued.token}")})
        token = kit.csrf_of(client, "/me")
    else:
        client = web.client()
        token = kit.csrf_of(client)
    for route_path, methods in kit.flat_routes(web.app.routes):
        for filler in ("alpha", "ac_" + "Z" * 27, "%E4%B8%AD", "0" * 300, "..%2F..%2Fetc"):
            path = re.sub(r"\{[^}]+\}", filler, route_path)
            for method in sorted(methods):
                for garbage in GARBAGE if method != "GET" else [{}]:
                    headers = {"X-CSRF-Token": token, **garbage.get("headers", {})}
                    kwargs = {key: value for key, value in garbage.items() if key != "headers"}
                    response = client.request(method, path, headers=headers, **kwargs)
                    assert response.status_code < 500, (method, path, garbage, response.text[:300])
                    assert "Traceback" not in response.text


def test_the_second_factor_is_set_up_through_the_api_issue_14(web, kit):
    """A program logs in to a street-office account that must set up TOTP: the refusal starts a
    set-up session, set-up answers the secret and its otpauth URI, a current code completes the
    login; an account without a required factor adds one the same way."""
    office = _account(web, kit, Role.STREET_OFFICE)
    client = web.client()
    csrf = kit.api_csrf(client)
    refused = client.post("/api/auth/login", json={"username": office.username, "password": kit.PASSWORD},
                          headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "totp_setup_required"
    pending = refused.json()["error"]["detail"]["csrf_token"]
    assert client.get("/api/me").status_code == 401  # not logged in yet
    assert client.post("/api/auth/totp/setup", headers={"X-CSRF-Token": csrf}).status_code == 403  # old token
    setup = client.post("/api/auth/totp/setup", headers={"X-CSRF-Token": pending})
    assert setup.status_code == 200 and setup.headers["cache-control"] == "no-store"
    secret = totp.secret_from_base32(setup.json()["secret"])
    assert setup.json()["otpauth_uri"].startswith("otpauth://totp/") and setup.json()["secret"] in \
        setup.json()["otpauth_uri"]
    again = client.post("/api/auth/totp/setup", headers={"X-CSRF-Token": pending})
    assert again.json()["secret"] == setup.json()["secret"]  # the same secret until confirmed
    wrong = client.post("/api/auth/totp/confirm", json={"code": "000000" if totp.totp(secret, web.clock.now)
                                                         != "000000" else "111111"},
                        headers={"X-CSRF-Token": pending})
    assert wrong.status_code == 401 and client.get("/api/me").status_code == 401
    done = client.post("/api/auth/totp/confirm", json={"code": totp.totp(secret, web.clock.now)},
                       headers={"X-CSRF-Token": pending})
    assert done.status_code == 200 and done.json()["principal"]["role"] == "street_office"
    client.headers["X-CSRF-Token"] = done.json()["csrf_token"]
    assert client.get("/api/me").json()["role"] == "street_office"
    refused = client.post("/api/auth/totp/setup")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "totp_enabled"

    observer = _account(web, kit, Role.OBSERVER)  # optional factor: added while logged in
    other = web.client()
    token = kit.api_csrf(other)
    login = other.post("/api/auth/login", json={"username": observer.username, "password": kit.PASSWORD},
                       headers={"X-CSRF-Token": token})
    other.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    secret = totp.secret_from_base32(other.post("/api/auth/totp/setup").json()["secret"])
    enabled = other.post("/api/auth/totp/confirm", json={"code": totp.totp(secret, web.clock.now)})
    assert enabled.json() == {"enabled": True}
    web.clock.advance(seconds=60)
    later = web.client()
    token = kit.api_csrf(later)
    need = later.post("/api/auth/login", json={"username": observer.username, "password": kit.PASSWORD},
                      headers={"X-CSRF-Token": token})
    assert need.json()["error"]["code"] == "totp_required"
    assert web.client().post("/api/auth/totp/setup").status_code in (401, 403)  # nobody logged in


def test_the_ids_an_account_creation_needs_are_readable_through_the_api_issue_14(web, kit):
    """GET /api/street-offices: the administrator reads every office and its estates and creates a
    street-office account with the id read there; a street office reads only its own."""
    admin = _account(web, kit, Role.ADMIN, username="admin-api")
    office = _account(web, kit, Role.STREET_OFFICE, username="office-ids")
    with web.session() as session:
        from assembly.auth.accounts import get_account

        admin_secret = kit.enrol_totp(session, get_account(session, admin.username))
        office_secret = kit.enrol_totp(session, get_account(session, office.username))
    client = web.login(admin.username, secret=admin_secret)
    listed = client.get("/api/street-offices").json()["street_offices"]
    codes = {o["id"]: [e["code"] for e in o["estates"]] for o in listed}
    beta_office = next(o for o in listed if [e["code"] for e in o["estates"]] == ["beta"])
    assert sorted(sum(codes.values(), [])) == ["alpha", "beta"] and beta_office["name"] == "beta 街道办事处"
    csrf = kit.csrf_of(client, "/account")
    created = client.post("/api/accounts", headers={"X-CSRF-Token": csrf},
                          json={"username": "beta-office", "display_name": "beta 街道", "role": "street_office",
                                "street_office_id": beta_office["id"]})
    assert created.status_code == 201, created.text
    own = web.login(office.username, secret=office_secret).get("/api/street-offices").json()["street_offices"]
    assert [(o["id"], [e["code"] for e in o["estates"]]) for o in own] == \
        [(web.world.alpha.street_office.id, ["alpha"])]
    observer = _account(web, kit, Role.OBSERVER, username="observer-ids")
    assert web.login(observer.username).get("/api/street-offices").status_code == 403
    assert web.client().get("/api/street-offices").status_code == 401
