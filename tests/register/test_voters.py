"""Co-owners' voter: propose, agree, refuse, the committee's record from the signed form, the lock
while a meeting that froze the unit is open, the audit entries, and the refusal in casting."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from assembly.audit.models import AuditEntry
from assembly.errors import Conflict, Forbidden, InvalidInput
from assembly.notify.owner_models import OwnerNotice
from assembly.register import voters
from assembly.register.voter_models import IN_FORCE, PROPOSED, REPLACED, WITHDRAWN
from assembly.voting import casting, closing, meetings
from tests.voting.meeting_world import build_estate, draft_meeting, open_meeting, post_notice, start_time


def _entries(session, estate, prefix="voter."):
    rows = session.scalars(select(AuditEntry).where(AuditEntry.estate_id == estate.id).order_by(AuditEntry.idx))
    return [json.loads(row.body) for row in rows if row.type.startswith(prefix)]


def _announce(session, meeting):
    """Close, count and announce the meeting (after the paper grace period, whatever it is)."""
    later = meeting.closes_at + timedelta(days=meeting.paper_grace_days + 1)
    for step in range(3):
        closing.close_due_meetings(session, now=later + timedelta(hours=step))
        if meeting.announced_at is not None:
            return later + timedelta(hours=step)
    raise AssertionError("the meeting was not announced")


def test_a_proposal_takes_effect_when_every_co_owner_agreed(session):
    world = build_estate(session)
    now = start_time()
    wife, husband = world.owners["wife"], world.owners["husband"]
    proposal = voters.propose(session, principal=world.owner("wife"), unit="1-1-102", voter=husband.pseudonym,
                              now=now)
    assert proposal.state == PROPOSED
    (member,) = voters.members(session, estate_id=world.estate.id, person_id=wife.id)
    assert member.pending.id == proposal.id and member.agreed == {wife.id} and member.missing == [husband]
    assert voters.designated_voter(session, estate_id=world.estate.id, member_key=member.key) is None
    # the other co-owner is told, with masked names only
    (told,) = session.scalars(select(OwnerNotice).where(OwnerNotice.person_id == husband.id,
                                                        OwnerNotice.event == "voter.proposed")).all()
    assert "李*英" in told.text and "张*国" in told.text and "李秀英" not in told.text

    voters.agree(session, principal=world.owner("husband"), designation_id=proposal.id, now=now + timedelta(minutes=1))
    assert proposal.state == IN_FORCE and proposal.basis == "agreement"
    voters.check_designated_voter(session, estate_id=world.estate.id, member_key=member.key, person_id=husband.id)
    with pytest.raises(Forbidden) as refused:
        voters.check_designated_voter(session, estate_id=world.estate.id, member_key=member.key, person_id=wife.id)
    assert refused.value.code == "not_designated_voter" and "共有人应推选一人投票" in refused.value.message

    entries = _entries(session, world.estate)
    assert [entry["type"] for entry in entries] == ["voter.proposed", "voter.agreed", "voter.designated"]
    assert entries[0]["member"] == member.key and entries[0]["voter"] == husband.pseudonym
    assert entries[2]["basis"] == "agreement" and entries[2]["actor"]["id"] == husband.pseudonym
    assert "张建国" not in json.dumps(entries, ensure_ascii=False)
    with pytest.raises(Conflict) as again:
        voters.agree(session, principal=world.owner("wife"), designation_id=proposal.id, now=now)
    assert again.value.code == "designation_closed"


def test_a_co_owner_refuses_and_a_new_proposal_replaces_the_waiting_one(session):
    world = build_estate(session)
    now = start_time()
    husband = world.owners["husband"]
    first = voters.propose(session, principal=world.owner("wife"), unit="1-1-102", voter=husband.pseudonym, now=now)
    second = voters.propose(session, principal=world.owner("husband"), unit="1-1-102",
                            voter=world.owners["wife"].pseudonym, now=now)
    assert first.state == REPLACED and second.state == PROPOSED
    voters.withdraw(session, principal=world.owner("wife"), designation_id=second.id, now=now)
    assert second.state == WITHDRAWN
    assert [e["type"] for e in _entries(session, world.estate)] == ["voter.proposed", "voter.proposed",
                                                                   "voter.withdrawn"]


def test_refusals_single_owner_stranger_and_a_voter_who_is_not_a_co_owner(session):
    world = build_estate(session)
    now = start_time()
    with pytest.raises(InvalidInput) as single:
        voters.propose(session, principal=world.owner("single"), unit="1-1-101",
                       voter=world.owners["single"].pseudonym, now=now)
    assert single.value.code == "not_co_owned"
    with pytest.raises(Forbidden) as stranger:
        voters.propose(session, principal=world.owner("single"), unit="1-1-102",
                       voter=world.owners["wife"].pseudonym, now=now)
    assert stranger.value.code == "not_a_co_owner"
    with pytest.raises(InvalidInput) as outsider:
        voters.propose(session, principal=world.owner("wife"), unit="1-1-102",
                       voter=world.owners["single"].pseudonym, now=now)
    assert outsider.value.code == "not_a_co_owner"
    proposal = voters.propose(session, principal=world.owner("wife"), unit="1-1-102",
                              voter=world.owners["wife"].pseudonym, now=now)
    with pytest.raises(Exception) as foreign:  # someone who is not a co-owner cannot see the proposal
        voters.agree(session, principal=world.owner("single"), designation_id=proposal.id, now=now)
    assert getattr(foreign.value, "code", "") == "designation_not_found"


def test_the_committee_records_the_signed_form_and_it_replaces_the_voter_at_once(session):
    world = build_estate(session)
    now = start_time()
    wife, husband = world.owners["wife"], world.owners["husband"]
    with pytest.raises(InvalidInput) as no_evidence:
        voters.record_form(session, principal=world.chair, estate=world.estate, unit="1-1-102",
                           voter=wife.pseudonym, evidence_ref=" ", now=now)
    assert no_evidence.value.code == "evidence_required"
    first = voters.record_form(session, principal=world.chair, estate=world.estate, unit="1-1-102",
                               voter=wife.pseudonym, evidence_ref="书面指定 2026-017", now=now)
    assert first.state == IN_FORCE and first.basis == "form" and first.recorded_by == "a-chair"
    second = voters.record_form(session, principal=world.chair, estate=world.estate, unit="1-1-102",
                                voter=husband.pseudonym, evidence_ref="书面指定 2026-018", now=now)
    assert first.state == REPLACED and second.state == IN_FORCE
    (member,) = voters.members(session, estate_id=world.estate.id, unit="1-1-102")
    assert member.voter.id == husband.id
    designated = [e for e in _entries(session, world.estate) if e["type"] == "voter.designated"]
    assert [e["basis"] for e in designated] == ["form", "form"] and designated[0]["actor"]["role"] == "committee_chair"
    with pytest.raises(Forbidden):
        voters.record_form(session, principal=world.owner("wife"), estate=world.estate, unit="1-1-102",
                           voter=wife.pseudonym, evidence_ref="x", now=now)


def test_no_change_while_a_meeting_that_froze_the_unit_is_open_then_again_after_the_announcement(session):
    world = build_estate(session)
    husband = world.owners["husband"]
    meeting, opened = open_meeting(session, world, now=start_time())
    with pytest.raises(Conflict) as locked:
        voters.propose(session, principal=world.owner("wife"), unit="1-1-102", voter=husband.pseudonym, now=opened)
    assert locked.value.code == "voter_locked_by_meeting"
    assert meeting.title in locked.value.message and "结果公告" in locked.value.message
    with pytest.raises(Conflict):
        voters.record_form(session, principal=world.chair, estate=world.estate, unit="1-1-102",
                           voter=husband.pseudonym, evidence_ref="form", now=opened)
    announced = _announce(session, meeting)
    proposal = voters.propose(session, principal=world.owner("wife"), unit="1-1-102", voter=husband.pseudonym,
                              now=announced)
    assert proposal.state == PROPOSED


def test_only_the_designated_voter_casts_the_members_ballot(session):
    world = build_estate(session)
    now = start_time()
    husband = world.owners["husband"]
    voters.record_form(session, principal=world.chair, estate=world.estate, unit="1-1-102", voter=husband.pseudonym,
                       evidence_ref="书面指定 1", now=now)
    meeting = draft_meeting(session, world, now=now)
    meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=now)
    post_notice(session, world, meeting, now=now)
    opened = meetings.earliest_open(now)
    meetings.open_voting(session, meeting=meeting, estate=world.estate, principal=world.chair, now=opened)
    (motion,) = meetings.motions_of(session, meeting=meeting)
    (held,) = casting.holdings(session, meeting=meeting, pseudonym=husband.pseudonym)
    with pytest.raises(Forbidden) as refused:
        casting.cast(session, meeting=meeting, motion=motion, principal=world.owner("wife"), member_key=held.member_key,
                     choice="agree", idempotency_key="wife-1", now=opened)
    assert refused.value.code == "not_designated_voter"
    ballot, created = casting.cast(session, meeting=meeting, motion=motion, principal=world.owner("husband"),
                                   member_key=held.member_key, choice="oppose", idempotency_key="husband-1", now=opened)
    assert created and ballot.cast_by_person == husband.id


# --- the pages ---------------------------------------------------------------------------------


@pytest.fixture
def site(engine_copy):
    from tests.voting.web_world import make_voting_web

    return make_voting_web(engine_copy, owners=("single", "wife", "husband"))


def _form(client, path: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_co_owners_propose_and_agree_on_their_pages_and_the_home_page_shows_the_voter(site):
    wife, husband = site.owner("wife"), site.owner("husband")
    husband_pseudonym = site.world.owners["husband"].pseudonym
    home = wife.get("/me").text
    assert "尚未推选投票人" in home and 'href="/me/voters"' in home
    page = wife.get("/me/voters").text
    assert "1-1-102" in page and "李*英" in page and "张*国" in page and "张建国" not in page
    refused = wife.post("/me/voters", data={"unit": "1-1-102", "voter": "p-nobody",
                                            "csrf_token": _form(wife, "/me/voters")})
    assert refused.status_code == 422 and "投票人必须是该房屋的共有人之一" in refused.text
    done = wife.post("/me/voters", data={"unit": "1-1-102", "voter": husband_pseudonym,
                                         "csrf_token": _form(wife, "/me/voters")})
    assert done.status_code == 303 and done.headers["location"] == "/me/voters?done=proposed"
    waiting = husband.get("/me/voters").text
    assert "待确认的提议" in waiting and "同意由 张*国 投票" in waiting
    from assembly.db import unit_of_work

    with unit_of_work(site.engine) as session:
        (member,) = voters.members(session, estate_id=site.world.estate.id, unit="1-1-102")
        designation = member.pending.id
    assert husband.post(f"/me/voters/{designation}/agree",
                        data={"csrf_token": _form(husband, "/me/voters")}).status_code == 303
    assert "投票人：张*国" in wife.get("/me").text
    (unit,) = wife.get("/api/me").json()["units"]
    assert unit["unit"] == "1-1-102" and unit["owners"] == 2 and unit["voter"] == "张*国"
    assert "共有人李*英" in husband.get("/me").text  # the proposal's notice, on the home page
    gone = husband.post(f"/me/voters/{designation}/agree", data={"csrf_token": _form(husband, "/me/voters")})
    assert gone.status_code == 409 and "这项提议已经生效" in gone.text
    stranger = site.owner("single")
    assert stranger.post(f"/me/voters/{designation}/withdraw",
                         data={"csrf_token": _form(stranger, "/me/voters")}).status_code == 404


def test_the_committee_records_the_signed_form_on_its_page(site):
    chair = site.staff("chair")
    listing = chair.get("/estate/alpha/voters")
    assert listing.status_code == 200 and "1-1-102" in listing.text and "登记书面指定" in listing.text
    form = chair.get("/estate/alpha/voters?unit=1-1-102").text
    assert "书面指定的存档编号" in form
    wife = site.world.owners["wife"].pseudonym
    missing = chair.post("/estate/alpha/voters", data={"unit": "1-1-102", "voter": wife, "evidence_ref": ""})
    assert missing.status_code == 422 and "存档编号" in missing.text
    done = chair.post("/estate/alpha/voters", data={"unit": "1-1-102", "voter": wife, "evidence_ref": "书面指定 7"})
    assert done.status_code == 303 and done.headers["location"] == "/estate/alpha/voters?unit=1-1-102&done=recorded"
    assert "投票人：<strong>李*英</strong>" in chair.get(done.headers["location"]).text
    assert chair.post("/estate/alpha/voters", data={"unit": "1-1-101", "voter": wife,
                                                    "evidence_ref": "x"}).status_code == 422  # not co-owned


def test_the_estates_log_with_voter_and_card_entries_verifies_offline(session, tmp_path):
    from assembly.audit import service as audit_service
    from assembly.audit.verify import verify_export
    from assembly.config import get_settings

    world = build_estate(session)
    now = start_time()
    husband = world.owners["husband"]
    proposal = voters.propose(session, principal=world.owner("wife"), unit="1-1-102", voter=husband.pseudonym, now=now)
    voters.agree(session, principal=world.owner("husband"), designation_id=proposal.id, now=now)
    voters.record_form(session, principal=world.chair, estate=world.estate, unit="1-1-102",
                       voter=world.owners["wife"].pseudonym, evidence_ref="书面指定 9", now=now)
    out = tmp_path / "export"
    audit_service.export(session, settings=get_settings(), estate=world.estate, out=out)
    report = verify_export(out)
    assert report.ok, report.render_text("en")


def test_co_owners_agreeing_at_the_same_moment_make_the_voter_take_effect_once(engine_copy):
    """Three co-owners; the two others agree at once: both agreements count and exactly one
    `voter.designated` follows (the estate row lock on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""
    import threading
    from decimal import Decimal

    from assembly import identity
    from assembly.config import get_settings
    from assembly.db import unit_of_work
    from assembly.permissions import Principal, Role
    from assembly.register import service
    from assembly.register.estates import onboard_estate
    from assembly.register.models import Estate, Person
    from assembly.register.rows import RegisterRow
    from assembly.register.voter_models import VoterDesignation
    from tests.voting.meeting_world import id_number

    key = get_settings().id_hash_key
    numbers = [id_number(300 + n) for n in range(3)]
    with unit_of_work(engine_copy) as session:
        estate = onboard_estate(session, code="trio", name="三人小区", district="区", street_office="街道",
                                community="社区", residents_committee="居委会")
        service.apply_register(session, estate=estate, id_key=key, reason="测试", evidence_ref="t", actor="test", rows=[
            RegisterRow(unit="1-1-101", registry=Decimal("90"), owner_name=name, id_number=number)
            for name, number in zip(("甲一一", "乙二二", "丙三三"), numbers, strict=True)])
        people = [session.scalars(select(Person).where(Person.id_hash == identity.id_hash(key, n))).one()
                  for n in numbers]
        principals = [Principal(kind="owner", role=Role.OWNER, estate_ids=frozenset({estate.id}), person_id=p.id,
                                pseudonym=p.pseudonym) for p in people]
        proposal = voters.propose(session, principal=principals[0], unit="1-1-101", voter=people[2].pseudonym,
                                  now=start_time())
        proposal_id, estate_id = proposal.id, estate.id
    barrier, outcomes = threading.Barrier(2), []

    def agree(principal):
        barrier.wait()
        with unit_of_work(engine_copy) as session:
            voters.agree(session, principal=principal, designation_id=proposal_id, now=start_time())
            outcomes.append("agreed")

    threads = [threading.Thread(target=agree, args=(p,)) for p in principals[1:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["agreed", "agreed"]
    with unit_of_work(engine_copy) as session:
        assert session.get(VoterDesignation, proposal_id).state == IN_FORCE
        estate = session.get(Estate, estate_id)
        assert [e["type"] for e in _entries(session, estate)] == [
            "voter.proposed", "voter.agreed", "voter.agreed", "voter.designated"]


def test_the_motion_page_shows_a_co_owner_who_is_not_the_voter_the_unit_but_no_ballot_form(site):
    from assembly.auth.accounts import get_account
    from assembly.auth.sessions import account_principal
    from assembly.db import unit_of_work
    from assembly.register.models import Estate

    with unit_of_work(site.engine) as session:
        estate = session.get(Estate, site.world.estate.id)
        chair = account_principal(session, get_account(session, "chair"))
        voters.record_form(session, principal=chair, estate=estate, unit="1-1-102",
                           voter=site.world.owners["husband"].pseudonym, evidence_ref="书面指定 9", now=site.clock.now)
        meeting = draft_meeting(session, site.world, now=site.clock.now)
        meetings.publish(session, meeting=meeting, estate=estate, principal=chair, now=site.clock.now)
        post_notice(session, site.world, meeting, now=site.clock.now)
        site.clock.pass_notice_period()
        meetings.open_voting(session, meeting=meeting, estate=estate, principal=chair, now=site.clock.now)
        (motion,) = meetings.motions_of(session, meeting=meeting)
        path = f"/estate/alpha/meetings/{meeting.id}/motions/{motion.id}"
    wife_page = site.owner("wife").get(path).text
    assert "1-1-102" in wife_page and 'id="other-voter"' in wife_page and "张*国" in wife_page
    assert f'action="{path}/vote"' not in wife_page
    husband_page = site.owner("husband").get(path).text
    assert f'action="{path}/vote"' in husband_page and 'id="other-voter"' not in husband_page
