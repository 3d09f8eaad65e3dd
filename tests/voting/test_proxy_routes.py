"""Proxies over HTTP: the owner appoints with an upload (page and API), the committee confirms and
gets the slip once, observers read the list and the document, the proxy logs in with the code and
votes through the pages; stable error codes in the API and Chinese reasons in pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from assembly.db import unit_of_work
from assembly.voting import meetings
from assembly.voting.meetings import MotionDraft

from .meeting_world import id_number, post_notice
from .web_world import make_voting_web

PDF = b"%PDF-1.4\n% signed\n" + b"x" * 300
PROXY_NUMBER = id_number(900)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch):
    from argon2 import PasswordHasher, Type

    from assembly.auth import hashing

    monkeypatch.setattr(hashing, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID))
    hashing._dummy_hash.cache_clear()
    yield
    hashing._dummy_hash.cache_clear()


@pytest.fixture
def voting_web(engine_copy):
    web = make_voting_web(engine_copy)
    with unit_of_work(engine_copy) as session:
        world = web.world
        meeting = meetings.create_meeting(
            session, estate=world.estate, principal=world.chair, title="2026年第一次业主大会",
            closes_at=web.clock.now + timedelta(days=30), now=web.clock.now, paper_grace_days=0,
            motions=[MotionDraft(item=4, title="续聘物业服务企业", text="续聘三年。")])
        meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=web.clock.now)
        post_notice(session, world, meeting, now=web.clock.now)
        web.meeting_id = meeting.id
    return web


def _member(client, base: str) -> str:
    return client.get(f"{base}/proxies/mine").json()["members"][0]["member"]


def test_the_upload_takes_one_document_and_no_more(voting_web):
    """Issue #22 item 5: the appointment's cap fits one 5 MB document and its form (6 MB); a larger body
    is refused with 413 before the route reads it, a 3 MB document reaches the route."""
    web = voting_web
    base = f"/api/estates/alpha/meetings/{web.meeting_id}"
    owner = web.owner("single")
    member = _member(owner, base)

    def appoint(size: int):
        return owner.post(f"{base}/proxies", data={"member": member, "proxy_name": "赵代理",
                                                   "proxy_id_number": PROXY_NUMBER},
                          files={"document": ("a.pdf", PDF + b"0" * size, "application/pdf")})

    refused = appoint(7 * 1024 * 1024)
    assert refused.status_code == 413, refused.text
    error = refused.json()["error"]
    assert error["code"] == "body_too_large" and error["detail"]["limit"] == 6 * 1024 * 1024
    assert "每个文件最多 5 MB" in error["message"]
    assert appoint(3 * 1024 * 1024).status_code == 201


def test_the_api_round_trip_with_stable_codes(voting_web):
    web = voting_web
    base = f"/api/estates/alpha/meetings/{web.meeting_id}"
    owner = web.owner("single")
    member = _member(owner, base)
    empty = owner.post(f"{base}/proxies", json={"member": member})
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "member_required"
    bad = owner.post(f"{base}/proxies", data={"member": member, "proxy_name": "赵代理",
                                               "proxy_id_number": PROXY_NUMBER},
                     files={"document": ("a.pdf", b"<html>not a pdf</html>", "application/pdf")})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "document_type"
    made = owner.post(f"{base}/proxies", data={"member": member, "proxy_name": "赵代理",
                                                "proxy_id_number": PROXY_NUMBER},
                      files={"document": ("a.pdf", PDF, "application/pdf")})
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "pending" and made.json()["proxy_name"] == "赵*理"
    observer = web.staff("observer")
    listed = observer.get(f"{base}/proxies").json()["appointments"]
    assert [a["id"] for a in listed] == [made.json()["id"]] and listed[0]["proxy_name"] == "赵代理"
    document = observer.get(listed[0]["document"]["url"])
    assert document.status_code == 200 and document.content == PDF
    assert document.headers["content-type"] == "application/pdf"
    refused = observer.post(f"{base}/proxies/{made.json()['id']}/decision", json={"decision": "confirmed"})
    assert refused.status_code == 403
    chair = web.staff("chair")
    decided = chair.post(f"{base}/proxies/{made.json()['id']}/decision", json={"decision": "confirmed"})
    assert decided.status_code == 200 and decided.headers["cache-control"] == "no-store"
    code = decided.json()["code"]
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", code)
    proxy = web.client()
    csrf = proxy.get("/api/auth/csrf").json()["csrf_token"]
    wrong = proxy.post("/api/proxy/login", json={"code": code, "id_tail": "0000"}, headers={"X-CSRF-Token": csrf})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "bad_proxy_code"
    logged = proxy.post("/api/proxy/login", json={"code": code, "id_tail": PROXY_NUMBER[-4:]},
                        headers={"X-CSRF-Token": csrf})
    assert logged.status_code == 200, logged.text
    proxy.headers["X-CSRF-Token"] = logged.json()["csrf_token"]
    me = proxy.get("/api/proxy/me").json()
    assert me["members"][0]["member"] == member and me["members"][0]["owner"] == "王*明"
    motion = me["motions"][0]["id"]
    early = proxy.post(f"/api/proxy/motions/{motion}/ballots", json={"member": member, "choice": "agree",
                                                                      "idempotency_key": "k1"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "voting_not_open"
    assert proxy.get(f"/api/estates/alpha/meetings/{web.meeting_id}").status_code == 403  # only the proxy routes
    web.clock.pass_notice_period()
    chair = web.staff("chair")  # sixteen days later: new logins
    assert chair.post(f"/api/estates/alpha/meetings/{web.meeting_id}/open").status_code == 200
    proxy = web.client()
    csrf = proxy.get("/api/auth/csrf").json()["csrf_token"]
    logged = proxy.post("/api/proxy/login", json={"code": code.lower().replace("-", " "), "id_tail": PROXY_NUMBER[-4:]},
                        headers={"X-CSRF-Token": csrf})
    proxy.headers["X-CSRF-Token"] = logged.json()["csrf_token"]
    cast = proxy.post(f"/api/proxy/motions/{motion}/ballots", json={"member": member, "choice": "agree",
                                                                     "idempotency_key": "k1"})
    assert cast.status_code == 201 and cast.json()["by"] == "proxy"
    owner = web.owner("single")
    again = proxy.post(f"/api/proxy/motions/{motion}/ballots", json={"member": member, "choice": "oppose",
                                                                      "idempotency_key": "k1"})
    assert again.status_code == 200 and again.json()["ballot"] == cast.json()["ballot"]
    assert "index " in proxy.get(cast.json()["receipt"]).text
    late = owner.post(f"{base}/proxies/{made.json()['id']}/withdraw")
    assert late.status_code == 409 and late.json()["error"]["code"] == "proxy_voted"


def test_the_pages_appoint_confirm_show_the_slip_and_vote(voting_web):
    web = voting_web
    page = f"/estate/alpha/meetings/{web.meeting_id}"
    owner = web.owner("landlord")
    form = owner.get(f"{page}/proxy")
    assert form.status_code == 200 and "委托代理人" in form.text
    member = re.search(r'name="member" value="([^"]+)"', form.text).group(1)
    refused = owner.post(f"{page}/proxy", data={"member": member, "proxy_name": "钱代理", "proxy_id_number": "123"},
                         files={"document": ("a.pdf", PDF, "application/pdf")})
    assert refused.status_code == 422 and "证件号码" in refused.text and "123" not in re.findall(r'value="([^"]*)"',
                                                                                              refused.text)
    done = owner.post(f"{page}/proxy", data={"member": member, "proxy_name": "钱代理",
                                             "proxy_id_number": PROXY_NUMBER},
                      files={"document": ("scan.png", b"\x89PNG\r\n\x1a\n" + b"0" * 50, "image/png")})
    assert done.status_code == 303
    assert "待业主委员会确认" in owner.get(f"{page}/proxy").text
    chair = web.staff("chair")
    listing = chair.get(f"{page}/proxies")
    appointment = re.search(r'/proxies/(\d+)/confirm', listing.text).group(1)
    slip = chair.post(f"{page}/proxies/{appointment}/confirm")
    assert slip.status_code == 200 and "只显示这一次" in slip.text
    code = re.search(r'id="proxy-code"><strong>([A-Z0-9-]+)<', slip.text).group(1)
    assert code not in chair.get(f"{page}/proxies").text
    login = re.search(r'/proxy-logins/(\d+)/slip.pdf', slip.text).group(1)
    token = CSRF.search(slip.text).group(1)
    printed = chair.post(f"{page}/proxy-logins/{login}/slip.pdf", data={"code": code, "csrf_token": token})
    assert printed.status_code == 200 and printed.content.startswith(b"%PDF-")
    other = code[:-1] + ("2" if code[-1] != "2" else "3")
    forged = chair.post(f"{page}/proxy-logins/{login}/slip.pdf", data={"code": other, "csrf_token": token})
    assert forged.status_code == 422 and "补发" in forged.text
    rc = web.staff("rc-staff")
    assert rc.get(f"{page}/proxies").status_code == 200 and "核对无误" not in rc.get(f"{page}/proxies").text
    web.clock.pass_notice_period()
    chair = web.staff("chair")  # sixteen days later: a new login
    assert chair.post(f"/api/estates/alpha/meetings/{web.meeting_id}/open").status_code == 200
    owner = web.owner("landlord")
    proxy = web.client()
    login_page = proxy.get("/proxy/login")
    token = CSRF.search(login_page.text).group(1)
    entered = proxy.post("/proxy/login", data={"code": code, "id_tail": PROXY_NUMBER[-4:], "csrf_token": token})
    assert entered.status_code == 303 and entered.headers["location"] == "/proxy"
    home = proxy.get("/proxy")
    assert "陈*文" in home.text and "1-1-103" in home.text
    motion = re.search(r'href="/proxy/motions/(\d+)"', home.text).group(1)
    motion_page = proxy.get(f"/proxy/motions/{motion}")
    token = CSRF.search(motion_page.text).group(1)
    key = re.search(r'name="request_key" value="([^"]+)"', motion_page.text).group(1)
    body = {"member": member, "request_key": key, "choice": "oppose", "csrf_token": token}
    confirm = proxy.post(f"/proxy/motions/{motion}/vote", data=body)
    assert confirm.status_code == 200 and "请确认代理投票" in confirm.text
    cast = proxy.post(f"/proxy/motions/{motion}/vote", data=body | {"confirm": "1"})
    assert cast.status_code == 303 and "/ballots/" in cast.headers["location"]
    assert "代理投票回执" in proxy.get(cast.headers["location"]).text
    owner_view = owner.get(f"{page}/motions/{motion}")
    assert "您的代理人已于" in owner_view.text and "取代" in owner_view.text
    assert "代理人已经代您投票" in owner.post(f"{page}/proxy/{appointment}/withdraw").text
