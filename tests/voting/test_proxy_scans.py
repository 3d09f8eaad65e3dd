"""Issue #24, 8: the scans of proxies' signed authorisations show identity numbers in clear. Only the
committee person deciding on one and observers open it, each opening is logged, and the scans are
erased a year after the announcement when no case about the meeting is open (410 afterwards)."""

from __future__ import annotations

import datetime as dt
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from assembly.audit.models import AuditEntry
from assembly.auth import accounts
from assembly.db import unit_of_work
from assembly.law.challenge import challenge_year_ends
from assembly.law.notice import LOCAL, HolidayCalendar
from assembly.permissions import Role
from assembly.proxies import scans as proxy_scans
from assembly.voting import meetings
from assembly.voting.meetings import MotionDraft
from assembly.voting.models import Meeting

from .meeting_world import id_number, post_notice
from .web_world import PASSWORD, make_voting_web

PDF = b"%PDF-1.4\n% signed, with the owner's identity number in clear\n" + b"x" * 300


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch):
    from argon2 import PasswordHasher, Type

    from assembly.auth import hashing

    monkeypatch.setattr(hashing, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID))
    hashing._dummy_hash.cache_clear()
    yield
    hashing._dummy_hash.cache_clear()


@pytest.fixture
def web(engine_copy):
    web = make_voting_web(engine_copy)
    with unit_of_work(engine_copy) as session:
        world = web.world
        for username, role in (("member", Role.COMMITTEE_MEMBER), ("cstaff", Role.COMMITTEE_STAFF)):
            accounts.create_account(session, created_by=None, username=username, display_name=username, role=role,
                                    now=web.clock.now, estate_ids={world.estate.id}, password=PASSWORD)
        meeting = meetings.create_meeting(
            session, estate=world.estate, principal=world.chair, title="2026年第一次业主大会",
            closes_at=web.clock.now + timedelta(days=30), now=web.clock.now, paper_grace_days=0,
            motions=[MotionDraft(item=4, title="续聘物业服务企业", text="续聘三年。")])
        meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=web.clock.now)
        post_notice(session, world, meeting, now=web.clock.now)
        web.meeting_id = meeting.id
    return web


def _appoint(web) -> tuple[str, int]:
    base = f"/api/estates/alpha/meetings/{web.meeting_id}"
    owner = web.owner("single")
    member = owner.get(f"{base}/proxies/mine").json()["members"][0]["member"]
    made = owner.post(f"{base}/proxies", data={"member": member, "proxy_name": "赵代理",
                                               "proxy_id_number": id_number(900)},
                      files={"document": ("a.pdf", PDF, "application/pdf")})
    assert made.status_code == 201, made.text
    return base, made.json()["id"]


def _entries(web, kind: str) -> list[dict]:
    with unit_of_work(web.engine) as session:
        bodies = session.scalars(select(AuditEntry.body).where(AuditEntry.type == kind).order_by(AuditEntry.idx))
        return [json.loads(bytes(body)) for body in bodies]


def test_only_the_deciding_committee_person_and_observers_open_a_scan_and_each_opening_is_logged(web):
    """Regression (issue #24, 8): every reader of the authorisations — the committee's staff, the
    residents' committee, the street office — opened the scan with its identity numbers, unlogged."""
    base, appointment = _appoint(web)
    page = f"/estate/alpha/meetings/{web.meeting_id}/proxies/{appointment}/document"
    api = f"{base}/proxies/{appointment}/document"
    for who in ("cstaff", "rc-staff"):
        client = web.staff(who)
        for path in (api, page):
            refused = client.get(path, headers={"Accept": "application/json"})
            assert refused.status_code == 403, (who, path)
            error = refused.json()["error"]
            assert error["code"] == "proxy_document_forbidden" and "身份证号码" in error["message"]
        assert "查看授权委托书（记入审计日志）" not in client.get(f"/estate/alpha/meetings/{web.meeting_id}/proxies").text
    assert _entries(web, "proxy.document_opened") == []
    chair, member, observer = web.staff("chair"), web.staff("member"), web.staff("observer")
    assert member.get(api).content == PDF  # undecided: any committee person who may decide looks at it
    assert chair.post(f"{base}/proxies/{appointment}/decision", json={"decision": "confirmed"}).status_code == 200
    after = member.get(api)
    assert after.status_code == 403 and "另一位业主委员会成员" in after.json()["error"]["message"]
    assert chair.get(page).content == PDF and observer.get(api).content == PDF
    opened = _entries(web, "proxy.document_opened")
    assert [entry["actor"]["role"] for entry in opened] == ["committee_member", "committee_chair", "observer"]
    appointed = _entries(web, "proxy.appointed")[0]
    assert {entry["appointment"] for entry in opened} == {appointed["index"]}
    assert {entry["document_sha256"] for entry in opened} == {appointed["document_sha256"]}


def test_scans_are_erased_a_year_after_the_announcement_unless_a_case_is_open(web):
    """Regression (issue #24, 8): the scans were kept for ever. A year after the announcement (the
    year owners may sue in) they are erased by the job runner, unless a legal hold is in force;
    an erased scan answers 410 saying when and why."""
    base, appointment = _appoint(web)
    assert web.staff("chair").post(f"{base}/proxies/{appointment}/decision",
                                   json={"decision": "confirmed"}).status_code == 200
    web.clock.pass_notice_period()
    assert web.staff("chair").post(f"{base}/open").status_code == 200
    web.past_close(web.meeting_id)  # no paper phase: counted and announced
    with unit_of_work(web.engine) as session:
        announced = session.get(Meeting, web.meeting_id).announced_at
    assert announced is not None
    chair = web.staff("chair")
    held = chair.post(f"{base}/legal-holds", json={"reason": "业主起诉请求撤销决定，（2026）京0105民初1号"})
    assert held.status_code == 201, held.text
    assert web.staff("cstaff").post(f"{base}/legal-holds", json={"reason": "x"}).status_code == 403
    ends = challenge_year_ends(announced)
    web.clock.now = ends - timedelta(minutes=1)
    web.clock.now = ends + timedelta(hours=1)  # the year has run, but the case is open
    api = f"{base}/proxies/{appointment}/document"
    assert web.staff("observer").get(api).content == PDF
    assert _entries(web, "proxy.documents_erased") == []
    released = web.staff("chair").post(f"{base}/legal-holds/{held.json()['id']}/release",
                                       json={"reason": "判决驳回起诉，已生效"})
    assert released.status_code == 200 and released.json()["released_at"]
    web.clock.advance(minutes=1)  # the job runner's next round
    (erased,) = _entries(web, "proxy.documents_erased")
    assert erased["actor"]["role"] == "system" and erased["appointments"] == [_entries(web, "proxy.appointed")[0]["index"]]
    gone = web.staff("observer").get(api)
    assert gone.status_code == 410
    error = gone.json()["error"]
    assert error["code"] == "proxy_document_erased" and "删除" in error["message"]
    assert "法释〔2009〕7号第十二条" in error["message"] and error["detail"]["erased_at"]
    assert [e["type"] for e in _entries(web, "legal_hold.recorded") + _entries(web, "legal_hold.released")] == [
        "legal_hold.recorded", "legal_hold.released"]
    listed = web.staff("observer").get(f"{base}/proxies").json()["appointments"][0]
    assert listed["document"]["erased_at"] and listed["document"]["sha256"]


def test_a_scan_is_kept_while_an_objection_is_undecided(web):
    base, appointment = _appoint(web)
    web.clock.pass_notice_period()
    assert web.staff("chair").post(f"{base}/open").status_code == 200
    owner = web.owner("single")
    motion = owner.get(base).json()["motions"][0]["id"]
    member = owner.get(f"{base}/mine").json()["members"][0]["member"]
    assert owner.post(f"{base}/motions/{motion}/ballots", json={"member": member, "choice": "agree",
                                                                 "idempotency_key": "k"}).status_code == 201
    web.past_close(web.meeting_id)
    filed = web.owner("single").post(f"{base}/motions/{motion}/objections", json={"member": member})
    assert filed.status_code == 201, filed.text
    with unit_of_work(web.engine) as session:
        meeting = session.get(Meeting, web.meeting_id)
        assert proxy_scans.open_cases(session, meeting=meeting) == ["objection"]
        later = challenge_year_ends(meeting.announced_at) + timedelta(days=1)
        assert not proxy_scans.erase_if_due(session, meeting=meeting, now=later)


@pytest.mark.parametrize(("announced", "ends"), [
    # the day of the announcement is not counted; the year ends on the corresponding day (Art. 202)
    (dt.datetime(2026, 3, 1, 10, 0), dt.datetime(2027, 3, 3, 0, 0)),  # last day Tuesday 2 March 2027
    (dt.datetime(2026, 3, 5, 10, 0), dt.datetime(2027, 3, 9, 0, 0)),  # 6 March 2027 a Saturday: on to Monday
    (dt.datetime(2028, 2, 28, 9, 0), dt.datetime(2029, 3, 1, 0, 0)),  # 29 Feb 2028 → 28 Feb 2029
    (dt.datetime(2026, 12, 31, 23, 30), dt.datetime(2028, 1, 4, 0, 0)),  # 1 Jan 2028 a Saturday
])
def test_the_year_owners_may_sue_in_counts_as_the_civil_code_counts(announced, ends):
    weekends_only = HolidayCalendar(frozenset(), frozenset(), 2004, 2040)
    assert challenge_year_ends(announced.replace(tzinfo=LOCAL), calendar=weekends_only) == \
        ends.replace(tzinfo=LOCAL).astimezone(dt.UTC)


def test_a_year_the_calendar_does_not_cover_waits_longer_than_any_run_of_rest_days():
    covered_to_2026 = HolidayCalendar(frozenset(), frozenset(), 2004, 2026)
    ends = challenge_year_ends(dt.datetime(2026, 3, 1, 10, 0, tzinfo=LOCAL), calendar=covered_to_2026)
    assert ends == dt.datetime(2027, 3, 18, 0, 0, tzinfo=LOCAL).astimezone(dt.UTC)
