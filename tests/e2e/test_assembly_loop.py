"""The whole loop of an owners' assembly on phones (issue #5's "done when"), against the real server
with the demo estate and a hand-moved clock, on whichever database the suite runs on:

publish → opening refused during the notice → wait out the notice → open → an owner votes with the
card → an owner appoints a proxy, the chair confirms, the proxy votes → close → two committee people
enter a paper ballot → counted and announced → the owner objects ("not my vote") → the chair upholds
it (the ballot is voided and recounted) → the objection period runs out → final.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from assembly.audit.models import AuditEntry
from assembly.auth import cards
from assembly.auth.accounts import get_account
from assembly.auth.sessions import account_principal
from assembly.db import unit_of_work
from assembly.demo import DEMO_CODE
from assembly.identity import mainland_check_character
from assembly.permissions import Principal, Role
from assembly.register.models import Estate, Person
from assembly.voting import casting, meetings
from assembly.voting.models import Ballot, Meeting, Motion

from .conftest import describe_violations, open_page, small_targets
from .test_paper_phone import PNG
from .world import PIN, card_login, staff_login

PROXY_NUMBER = "11010819790623004" + mainland_check_character("11010819790623004")
SIGNED = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% signed authorisation\n%%EOF\n"
TITLE = "2026年第四次业主大会会议"


def _two_owners_with_cards(engine, now) -> list[tuple[str, str]]:
    """Two one-unit owners of the demo estate with cards and PINs: (card token, pseudonym) each."""
    found = []
    with unit_of_work(engine) as session:
        estate = session.scalars(select(Estate).where(Estate.code == DEMO_CODE)).one()
        issuer = account_principal(session, get_account(session, "demo-rc"))
        for person in session.scalars(select(Person).where(Person.estate_id == estate.id).order_by(Person.id.desc())):
            if cards.active_card(session, person_id=person.id) is None and len(cards.owner_units(session, person=person)) == 1:
                issued = cards.issue_card(session, person=person, issued_by=issuer, now=now)
                cards.set_first_pin(session, card=issued.card, pin=PIN, ip=None, now=now)
                found.append((issued.token, person.pseudonym))
                if len(found) == 2:
                    return found
    raise AssertionError("the demo register has fewer than two one-unit owners without a card")


def _most_owners_agree(engine, meeting_id: int, now, skip: set[str]) -> str:
    """Four members in five agree through the service; returns a unit of a member left for paper."""
    with unit_of_work(engine) as session:
        meeting = session.get(Meeting, meeting_id)
        (motion,) = meetings.motions_of(session, meeting=meeting)
        roll = meetings.roll_members(session, meeting=meeting)
        paper_unit = None
        for number, (key, (_area, _heads, units)) in enumerate(sorted(roll.items())):
            owners = key.removeprefix("owners:").split("+")
            if not key.startswith("owners:") or skip & set(owners):
                continue
            if number % 5 == 4:
                paper_unit = paper_unit or units[0]
                continue
            owner = Principal(kind="owner", role=Role.OWNER, estate_ids=frozenset({meeting.estate_id}),
                              pseudonym=owners[0])
            casting.cast(session, meeting=meeting, motion=motion, principal=owner, member_key=key, choice="agree",
                         idempotency_key=f"loop-{number}", now=now)
        assert paper_unit is not None
        return paper_unit


def test_the_whole_assembly_loop_on_phones(live_server, demo_engine, demo_logins, clock, chromium, screenshot, axe):
    base, estate_url = live_server.url, f"{live_server.url}/estate/{DEMO_CODE}"
    found, cramped = {}, {}

    def audit(page, name: str) -> None:
        """The proxy, paper and objection pages pass the accessibility audit too (test_a11y walks the rest)."""
        page.wait_for_load_state("load")
        found[name], cramped[name] = axe(page), small_targets(page)
    (voter_token, voter), (principal_token, principal) = _two_owners_with_cards(demo_engine, clock.now)
    chair_context, chair = open_page(chromium)
    owner_context, owner = open_page(chromium)
    other_context, other = open_page(chromium)  # the member of the committee, then the proxy
    try:
        # The chair drafts and publishes; the forms name the earliest opening before anyone publishes
        # (Civil Code Arts. 201, 203: 15 days after the day of publication, past rest days); the notice
        # is posted in the estate too (Beijing Art. 35 ¶4); opening is refused while the notice runs.
        staff_login(chair, base, "demo-chair", demo_logins["demo-chair"])
        chair.goto(f"{estate_url}/meetings/new")
        earliest = meetings.earliest_open(clock.now).astimezone(meetings.SHANGHAI)
        shown = f"{earliest.year}年{earliest.month}月{earliest.day}日 00:00"
        assert earliest.time() == earliest.time().min and shown in chair.locator("#closes_at-hint").inner_text()
        # per-unit choices are personal information (issue #24, 5): the setting is off and cannot be switched on
        assert chair.locator("input[name=publish_per_unit_results]").is_disabled()
        assert not chair.locator("input[name=publish_per_unit_results]").is_checked()
        assert chair.locator("#unit-results-rule").inner_text() == "各户表决情况不向业主公开（个人信息保护法第十三条、第二十五条；业主大会议事规则未规定公开）"
        chair.get_by_label("会议名称").fill(TITLE)
        closes = (clock.now + timedelta(days=30)).astimezone(meetings.SHANGHAI).strftime("%Y-%m-%dT%H:%M")
        chair.get_by_label("投票截止时间（北京时间）").fill(closes)
        chair.locator("#m1_item").select_option("4")
        chair.locator("#m1_title").fill("续聘物业服务企业")
        chair.locator("#m1_text").fill("续聘花家地物业服务有限公司，服务期三年，收费标准不变。")
        chair.get_by_role("button", name="保存草稿").click()
        chair.wait_for_url(re.compile(r".*/meetings/\d+$"))
        meeting_url = chair.url
        meeting_id = int(meeting_url.rsplit("/", 1)[1])
        assert shown in chair.locator("#publish-hint").inner_text()
        chair.get_by_role("button", name="发布会议通知").click()
        chair.wait_for_url("**?done=published")
        assert chair.locator("#earliest-open").inner_text() == shown
        chair.get_by_label("张贴地点").fill("各楼栋单元门厅公告栏、小区正门公告栏")
        chair.get_by_label("张贴时间（北京时间）").fill(clock.now.astimezone(meetings.SHANGHAI).strftime("%Y-%m-%dT%H:%M"))
        chair.get_by_label(re.compile("张贴现场照片")).set_input_files(
            {"name": "posting.png", "mimeType": "image/png", "buffer": PNG})
        audit(chair, "meeting-posting")
        chair.get_by_role("button", name="记录张贴").click()
        chair.wait_for_url("**?done=posted*")
        assert "各楼栋单元门厅公告栏" in chair.locator("#posting-record").inner_text()
        chair.get_by_role("button", name="开始投票").click()
        refused = chair.locator("#refused").inner_text()
        assert "须满 15 日" in refused and earliest.strftime("%Y年%m月%d日 00:00") in refused

        # During the notice an owner appoints a proxy; the chair checks the document and confirms.
        card_login(owner, base, principal_token)
        owner.goto(meeting_url)
        owner.get_by_role("link", name="委托代理人").click()
        owner.get_by_label("代理人姓名").fill("钱立群")
        owner.get_by_label("代理人身份证号码").fill(PROXY_NUMBER)
        owner.get_by_label(re.compile("签名的授权委托书")).set_input_files(
            files=[{"name": "授权委托书.pdf", "mimeType": "application/pdf", "buffer": SIGNED}])
        audit(owner, "proxy-appoint")
        owner.get_by_role("button", name="提交委托").click()
        owner.wait_for_url("**/proxy?done=appointed")
        chair.goto(meeting_url)
        chair.get_by_role("link", name="代理人授权委托").click()
        audit(chair, "proxy-review")
        chair.get_by_role("button", name="核对无误，确认委托").click()
        code = chair.locator("#proxy-code").inner_text().strip()

        # The notice has run: voting opens; most owners vote; one owner votes on the phone.
        clock.pass_notice_period()
        staff_login(chair, base, "demo-chair", demo_logins["demo-chair"])
        chair.goto(meeting_url)
        chair.get_by_role("button", name="开始投票").click()
        chair.wait_for_url("**?done=opened")
        assert chair.locator("#stage").inner_text() == "投票中"
        paper_unit = _most_owners_agree(demo_engine, meeting_id, clock.now, skip={voter, principal})
        card_login(owner, base, voter_token)
        owner.goto(meeting_url)
        owner.get_by_role("link", name="1. 续聘物业服务企业").click()
        motion_url = owner.url
        owner.get_by_label("反对").check()
        owner.get_by_role("button", name="下一步").click()
        owner.get_by_role("button", name="确认投票").click()
        owner.wait_for_url("**/ballots/*?new=1")
        assert owner.locator("#entry-index").inner_text().isdigit()

        # The proxy logs in on their own phone and votes for the owner who appointed them.
        other.goto(f"{base}/proxy/login")
        audit(other, "proxy-login")
        other.get_by_label("登录码（16 位）").fill(code)
        other.get_by_label("身份证号码后四位").fill(PROXY_NUMBER[-4:])
        other.get_by_role("button", name="登录", exact=True).click()
        other.wait_for_url("**/proxy")
        audit(other, "proxy-home")
        other.get_by_role("link", name="1. 续聘物业服务企业").click()
        other.get_by_label("同意").check()
        other.get_by_role("button", name="下一步").click()
        other.get_by_role("button", name="确认投票").click()
        other.wait_for_url("**/ballots/*?new=1")
        assert other.get_by_role("heading", level=1).inner_text() == "代理投票回执"

        # Voting closes; paper entry runs: the chair enters a sheet, a committee member confirms it blind.
        with unit_of_work(demo_engine) as session:
            opened = session.get(Meeting, meeting_id).opens_at
        with unit_of_work(demo_engine) as session:
            closes_at = session.get(Meeting, meeting_id).closes_at
        clock.now = closes_at + timedelta(hours=1)  # past closes_at: the job runner ends electronic voting
        staff_login(chair, base, "demo-chair", demo_logins["demo-chair"])  # the session ended meanwhile
        chair.goto(meeting_url)
        assert chair.locator("#stage").inner_text() == "投票已截止，纸质选票录入中"
        chair.locator("#paper-link").click()
        audit(chair, "paper-page")
        chair.get_by_label("房号（按纸质选票填写）").fill(paper_unit)
        chair.get_by_label("同意").check()
        handed_in = (opened + timedelta(days=2)).astimezone(meetings.SHANGHAI).strftime("%Y-%m-%dT%H:%M")
        chair.get_by_label("投入票箱的时间（北京时间）").fill(handed_in)
        chair.get_by_label("扫描件（PDF、JPEG 或 PNG，不超过 5 MB）").set_input_files(
            {"name": "sheet.png", "mimeType": "image/png", "buffer": PNG})
        chair.get_by_label(re.compile("我已核对选票上的业主签名")).check()  # 指导规则 Art. 22
        chair.get_by_role("button", name="录入", exact=True).click()
        chair.wait_for_url("**done=entered*")
        other_context.close()
        other_context, other = open_page(chromium)
        staff_login(other, base, "demo-member", demo_logins["demo-member"])
        other.goto(f"{meeting_url}/paper")
        other.get_by_role("link", name="对照扫描件复核").click()
        audit(other, "paper-confirm")
        other.get_by_label("同意").check()
        other.get_by_role("button", name="确认复核").click()
        other.wait_for_url("**done=confirmed*")

        # Paper entry finished: counted and announced.
        chair.goto(f"{meeting_url}/paper")
        chair.get_by_role("button", name="纸质选票录入完毕，开票计票").click()
        chair.wait_for_url("**?done=counted")
        assert "结果已公告" in chair.locator("#stage").inner_text()

        # The owner reads the result and objects: "this is not my vote".
        card_login(owner, base, voter_token)
        owner.goto(motion_url)
        assert "获得通过" in owner.inner_text("main")
        assert owner.locator("table.unit-lines").count() == 0  # no unit's choice shown to owners
        owner.goto(meeting_url)
        assert owner.locator("#unit-results-rule").inner_text() == "各户表决情况不向业主公开（个人信息保护法第十三条、第二十五条；业主大会议事规则未规定公开）"
        assert owner.locator("a[href$='units.csv']").count() == 0
        owner.goto(motion_url)
        audit(owner, "result-objection")
        owner.locator("textarea[name=text]").first.fill("我没有投反对票，请核查。")
        owner.get_by_role("button", name="提出异议").click()
        owner.wait_for_url("**done=objected")
        assert "异议已提交" in owner.inner_text("main")
        screenshot(owner, "loop-objection", at="#objections")

        # The chair upholds it: the ballot is voided and the recount recorded.
        staff_login(chair, base, "demo-chair", demo_logins["demo-chair"])
        chair.goto(motion_url)
        chair.get_by_role("button", name="异议成立（该票作废）").click()
        chair.wait_for_load_state("load")

        # The objection period runs out: "ended", never "final" — the street office may still revoke the
        # decision and owners may sue within a year (issue #24, 6).
        clock.now += timedelta(days=8)
        card_login(owner, base, voter_token)
        owner.goto(motion_url)
        ended = owner.locator("#final").inner_text()
        assert "异议期已于" in ended and "第八条、第五十一条" in ended and "一年内请求人民法院撤销" in ended
        assert "确定" not in ended and "最终" not in ended
        screenshot(owner, "loop-final", at="#final")
    finally:
        for context in (chair_context, owner_context, other_context):
            context.close()

    problems = {name: violations for name, violations in found.items() if violations}
    assert not problems, "axe found serious or critical violations:\n" + describe_violations(problems)
    assert not {name: targets for name, targets in cramped.items() if targets}, f"touch targets under 44×44 px: {cramped}"
    with unit_of_work(demo_engine) as session:
        motion = session.scalars(select(Motion).where(Motion.meeting_id == meeting_id)).one()
        by = {b.by for b in session.scalars(select(Ballot).where(Ballot.motion_id == motion.id))}
        assert by == {"owner", "proxy", "paper"}
        kinds = set(session.scalars(select(AuditEntry.type).where(AuditEntry.estate_id == motion.estate_id)))
        assert {"proxy.confirmed", "paper.confirmed", "result.announced", "objection.upheld", "result.final"} <= kinds
        assert session.get(Meeting, meeting_id).final_at is not None
