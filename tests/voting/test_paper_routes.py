"""Paper ballots over HTTP: two committee people enter and confirm on the pages and the API, a bad
upload is refused with the reason and stores nothing, a mismatch is kept, observers read every
entry and its scan but can change nothing, the members with both kinds of ballot are listed without
their choices, and the committee's "finished" counts and announces."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assembly.auth import accounts
from assembly.db import unit_of_work
from assembly.permissions import Role
from assembly.voting import meetings

from .meeting_world import estate_rules_publish_units
from .web_world import PASSWORD, make_voting_web

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 40
PDF = b"%PDF-1.7\n" + b"\x02" * 40


@pytest.fixture
def site(engine_copy, monkeypatch):
    estate_rules_publish_units(monkeypatch)  # the tests read which ballot counted from the per-unit lines
    site = make_voting_web(engine_copy)
    with unit_of_work(engine_copy) as session:
        accounts.create_account(session, created_by=None, username="member", display_name="测试委员",
                                role=Role.COMMITTEE_MEMBER, now=site.clock.now, estate_ids={site.world.estate.id},
                                password=PASSWORD)
    return site


def _closed_meeting(site) -> tuple[int, int, str]:
    """A meeting with a two-day paper phase, extra0 voting 'oppose' online, just past its close."""
    chair = site.staff("chair")
    closes = (site.clock.now + timedelta(days=30)).isoformat()
    created = chair.post("/api/estates/alpha/meetings", json={
        "title": "2026年第一次业主大会", "closes_at": closes, "paper_grace_days": 2, "publish_per_unit_results": True,
        "motions": [{"item": 4, "title": "续聘物业服务企业", "text": "续聘三年。"}]})
    assert created.status_code == 201, created.text
    meeting, motion = created.json()["id"], created.json()["motions"][0]["id"]
    assert chair.post(f"/api/estates/alpha/meetings/{meeting}/publish").status_code == 200
    site.post_notice(chair, meeting)
    site.clock.pass_notice_period()
    assert site.staff("chair").post(f"/api/estates/alpha/meetings/{meeting}/open").status_code == 200
    opened = site.clock.now
    site.clock.advance(days=1)
    voter = site.owner("extra0")
    member = voter.get(f"/api/estates/alpha/meetings/{meeting}/mine").json()["members"][0]["member"]
    cast = voter.post(f"/api/estates/alpha/meetings/{meeting}/motions/{motion}/ballots",
                      json={"member": member, "choice": "oppose", "idempotency_key": "e1"})
    assert cast.status_code == 201, cast.text
    site.clock.advance(days=14)  # past closes_at
    handed_in = (opened + timedelta(hours=3)).astimezone(meetings.SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    return meeting, motion, handed_in


def test_two_committee_people_enter_confirm_and_finish_while_observers_watch(site):
    meeting, motion, handed_in = _closed_meeting(site)
    chair, member, observer = site.staff("chair"), site.staff("member"), site.staff("observer")
    base, api = f"/estate/alpha/meetings/{meeting}/paper", f"/api/estates/alpha/meetings/{meeting}/paper"
    page = chair.get(base)
    assert page.status_code == 200 and "纸质选票录入中" in page.text and "录入一张纸质选票" in page.text

    bad = chair.post(base, data={"motion": str(motion), "unit": "2-1-101", "choice": "agree", "handed_in": handed_in, "signature_checked": "1"},
                     files={"scan": ("sheet.gif", b"GIF89a" + b"\x00" * 40, "image/png")})
    assert bad.status_code == 422 and "PDF、JPEG 或 PNG" in bad.text
    outsider = chair.post(base, data={"motion": str(motion), "unit": "9-9-999", "choice": "agree",
                                      "handed_in": handed_in, "signature_checked": "1"}, files={"scan": ("s.png", PNG, "image/png")})
    assert outsider.status_code == 422 and "不在本次会议冻结的业主名册中" in outsider.text
    assert chair.get(api).json()["entries"] == []  # nothing stored

    entered = chair.post(base, data={"motion": str(motion), "unit": "2-1-101", "choice": "agree",
                                     "handed_in": handed_in, "signature_checked": "1"}, files={"scan": ("s.png", PNG, "image/png")})
    assert entered.status_code == 303 and "done=entered" in entered.headers["location"]
    (entry,) = chair.get(api).json()["entries"]
    assert entry["state"] == "entered" and "choice" not in entry and entry["entered_by"]
    own = chair.get(f"{base}/{entry['id']}")
    assert 'id="own-entry"' in own.text and "确认复核" not in own.text  # nobody confirms their own entry
    assert chair.post(f"{base}/{entry['id']}/confirm", data={"choice": "agree"}).status_code == 403
    blind = member.get(f"{base}/{entry['id']}")
    assert "确认复核" in blind.text and "checked" not in blind.text  # the first entry's choice is not shown
    mismatch = member.post(f"{base}/{entry['id']}/confirm", data={"choice": "oppose"})
    assert mismatch.status_code == 303 and "done=mismatch" in mismatch.headers["location"]
    assert "两次录入不一致" in member.get(mismatch.headers["location"]).text
    finish = chair.post(f"{base}/finish")  # a mismatched sheet not entered again blocks the count
    assert finish.status_code == 409 and "未完成复核" in finish.text

    again = member.post(api, data={"motion": str(motion), "unit": "2-1-101", "choice": "agree",
                                   "handed_in": handed_in, "signature_checked": "1"}, files={"scan": ("s.pdf", PDF, "application/pdf")})
    assert again.status_code == 201, again.text
    checked = chair.post(f"{api}/{again.json()['id']}/confirm", json={"choice": "agree"})
    assert checked.status_code == 200 and checked.json()["state"] == "confirmed"

    watched = observer.get(base)
    assert watched.status_code == 200 and "同时有纸质票和电子票的表决权" in watched.text
    assert "测试chair" in watched.text and "测试委员" in watched.text  # who entered and who checked, by name
    assert "同意" not in watched.text and "反对" not in watched.text  # never how anyone voted
    assert "录入一张纸质选票" not in watched.text and "录入完毕，开票计票" not in watched.text
    both = observer.get(api).json()["both"]
    assert [b["by"] for b in both[0]["ballots"]] == ["paper", "owner"] and both[0]["counted"] == 1
    sheet = observer.get(f"{base}/{again.json()['id']}/scan")
    assert sheet.status_code == 200 and sheet.headers["content-type"] == "application/pdf" and sheet.content == PDF
    assert observer.post(f"{base}/{entry['id']}/confirm", data={"choice": "agree"}).status_code == 403
    assert observer.post(f"{base}/finish").status_code == 403
    assert site.staff("rc-staff").get(base).status_code == 200
    assert site.owner("single").get(base).status_code == 403

    counted = chair.post(f"{base}/finish")
    assert counted.status_code == 303 and counted.headers["location"].endswith("?done=counted")
    result = chair.get(f"/api/estates/alpha/meetings/{meeting}").json()
    assert result["state"] == "announced"
    assert result["motions"][0]["result"]["participating"]["heads"] == 1  # extra0 once: the later ballot counts
    lines = {u["unit"]: u["choice"] for u in site.owner("single").get(
        f"/api/estates/alpha/meetings/{meeting}/motions/{motion}/units").json()["units"]}
    assert lines["2-1-101"] == "反对"  # revote last: the electronic ballot (day 17) is later than the paper one
    late = member.post(api, data={"motion": str(motion), "unit": "2-1-102", "choice": "agree",
                                  "handed_in": handed_in, "signature_checked": "1"}, files={"scan": ("t.png", PNG + b"x", "image/png")})
    assert late.status_code == 409 and late.json()["error"]["code"] == "paper_period_over"
    late_page = member.post(base, data={"motion": str(motion), "unit": "2-1-102", "choice": "agree",
                                        "handed_in": handed_in, "signature_checked": "1"}, files={"scan": ("t.png", PNG + b"x", "image/png")})
    assert late_page.status_code == 409 and "纸质选票录入期已结束" in late_page.text  # said, though the form is gone


def test_the_api_refuses_bad_input_with_stable_codes(site):
    meeting, motion, handed_in = _closed_meeting(site)
    chair = site.staff("chair")
    api = f"/api/estates/alpha/meetings/{meeting}/paper"
    cases = [
        ({"motion": "x", "unit": "2-1-101", "choice": "agree", "handed_in": handed_in, "signature_checked": "1"}, PNG, 422, "motion_required"),
        ({"motion": str(motion), "unit": "2-1-101", "choice": "agree", "handed_in": "soon"}, PNG, 422,
         "handed_in_required"),
        ({"motion": str(motion), "unit": "2-1-101", "choice": "maybe", "handed_in": handed_in, "signature_checked": "1"}, PNG, 422,
         "invalid_choice"),
        ({"motion": str(motion), "unit": "2-1-101", "choice": "agree", "handed_in": handed_in, "signature_checked": "1"}, b"", 422,
         "scan_required"),
        ({"motion": "999999", "unit": "2-1-101", "choice": "agree", "handed_in": handed_in, "signature_checked": "1"}, PNG, 404,
         "motion_not_found"),
    ]
    for data, scan, status, code in cases:
        response = chair.post(api, data=data, files={"scan": ("s.png", scan, "image/png")})
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    assert chair.post(f"{api}/999999/confirm", json={"choice": "agree"}).status_code == 404
    assert chair.get(api).json()["entries"] == []
    site.clock.advance(days=2)  # the grace period has run: the job runner counts and announces
    shown = site.staff("observer").get(f"/api/estates/alpha/meetings/{meeting}").json()
    assert shown["state"] == "announced" and shown["motions"][0]["result"]["participating"]["heads"] == 1
