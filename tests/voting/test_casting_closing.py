"""Ballots on a frozen roll and the close: revote rules, idempotency, refusals with reasons, the
tally at the count (after the paper ballots) equal to `assembly tally` on the exported file, and the
export verifying offline."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from assembly.audit import service as audit_service
from assembly.audit.models import AuditEntry
from assembly.audit.verify import verify_export
from assembly.cli import app as cli
from assembly.config import get_settings
from assembly.errors import Conflict, Forbidden, InvalidInput
from assembly.notify.models import NotificationRecord
from assembly.voting import casting, closing, meetings, paper, views
from assembly.voting.models import Ballot

from .meeting_world import build_estate, open_meeting, start_time


def _holding(session, meeting, owner):
    (held,) = casting.holdings(session, meeting=meeting, pseudonym=owner.pseudonym)
    return held.member_key


def _vote(session, world, meeting, motion, who, choice, now, key=None):
    owner = world.owner(who)
    return casting.cast(session, meeting=meeting, motion=motion, principal=owner,
                        member_key=_holding(session, meeting, owner), choice=choice,
                        idempotency_key=key or f"{who}-{choice}-{now.isoformat()}", now=now)


def test_one_member_of_several_units_and_co_owners_sharing_one_vote(session):
    world = build_estate(session)
    meeting, opened = open_meeting(session, world, now=start_time())
    (landlord,) = casting.holdings(session, meeting=meeting, pseudonym=world.owners["landlord"].pseudonym)
    assert landlord.units == ("1-1-103", "1-1-104") and str(landlord.area) == "121.5000"
    wife = _holding(session, meeting, world.owner("wife"))
    assert wife == _holding(session, meeting, world.owner("husband"))  # one member, one head


def test_the_member_a_ballot_names_is_found_by_its_key_exactly_as_the_owners_list_has_it(session):
    world = build_estate(session)
    meeting, _opened = open_meeting(session, world, now=start_time())
    for name in world.owners:
        pseudonym = world.owners[name].pseudonym
        for held in casting.holdings(session, meeting=meeting, pseudonym=pseudonym):
            assert casting.holding_of(session, meeting=meeting, pseudonym=pseudonym, member_key=held.member_key) == held
    single, landlord = (world.owners[n].pseudonym for n in ("single", "landlord"))
    (theirs,) = casting.holdings(session, meeting=meeting, pseudonym=landlord)
    assert casting.holding_of(session, meeting=meeting, pseudonym=single, member_key=theirs.member_key) is None
    assert casting.holding_of(session, meeting=meeting, pseudonym=landlord, member_key=f"owners:{landlord}+x") is None
    assert casting.holding_of(session, meeting=meeting, pseudonym=landlord, member_key="developer") is None


def test_the_same_request_key_returns_the_same_ballot(session):
    world = build_estate(session)
    meeting, opened = open_meeting(session, world, now=start_time())
    (motion,) = meetings.motions_of(session, meeting=meeting)
    first, created = _vote(session, world, meeting, motion, "single", "agree", opened, key="k1")
    again, created_again = _vote(session, world, meeting, motion, "single", "oppose", opened + timedelta(seconds=1),
                                 key="k1")
    assert created and not created_again and again.id == first.id and again.choice == "agree"
    assert session.scalars(select(Ballot).where(Ballot.motion_id == motion.id)).all() == [first]


def test_revote_first_refuses_the_second_ballot_and_last_keeps_both(session):
    world = build_estate(session)
    meeting, opened = open_meeting(session, world, now=start_time(), revote="first")
    (motion,) = meetings.motions_of(session, meeting=meeting)
    _vote(session, world, meeting, motion, "wife", "agree", opened)
    with pytest.raises(Conflict) as refusal:  # the co-owner votes for the same unit
        _vote(session, world, meeting, motion, "husband", "oppose", opened + timedelta(minutes=1))
    assert refusal.value.code == "already_voted" and "第一次" in refusal.value.message


@pytest.mark.parametrize("problem", ["outsider", "closed", "bad_choice", "not_open"])
def test_ballots_that_cannot_count_are_refused_with_a_chinese_reason(session, problem):
    world = build_estate(session)
    meeting, opened = open_meeting(session, world, now=start_time())
    (motion,) = meetings.motions_of(session, meeting=meeting)
    owner = world.owner("single")
    member = _holding(session, meeting, owner)
    when, choice, expected = opened, "agree", None
    if problem == "outsider":
        owner = world.owner("extra0")  # a real owner, but not of this member
        expected = (Forbidden, "not_on_roll")
    elif problem == "closed":
        when, expected = meeting.closes_at, (Conflict, "voting_closed")
    elif problem == "bad_choice":
        choice, expected = "yes", (InvalidInput, "invalid_choice")
    else:
        when, expected = opened - timedelta(days=1), (Conflict, "voting_not_open")
        meeting.opens_at = None
    with pytest.raises(expected[0]) as refusal:
        casting.cast(session, meeting=meeting, motion=motion, principal=owner, member_key=member, choice=choice,
                     idempotency_key="k", now=when)
    assert refusal.value.code == expected[1]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refusal.value.message)


def test_close_tally_equals_the_tally_command_and_the_export_verifies(engine_copy, tmp_path):
    from assembly.db import unit_of_work

    settings = get_settings()
    with unit_of_work(engine_copy) as session:
        world = build_estate(session, extra=3)
        meeting, opened = open_meeting(session, world, now=start_time(), election=True)
        motion, election = meetings.motions_of(session, meeting=meeting)
        t = opened
        for who, choice in [("single", "agree"), ("wife", "oppose"), ("husband", "agree"), ("landlord", "abstain"),
                            ("extra0", "agree"), ("extra1", "agree")]:
            t += timedelta(minutes=1)
            ballot, _ = _vote(session, world, meeting, motion, who, choice, t)
            receipt = audit_service.receipt(session, settings=settings, estate=world.estate, index=ballot.entry_index)
            assert receipt.index == ballot.entry_index and receipt.text
        for who, chosen in [("single", ["c1"]), ("extra0", ["c1"]), ("extra1", [])]:
            t += timedelta(minutes=1)
            _vote(session, world, meeting, election, who, chosen, t)
        entries = [json.loads(bytes(b)) for b in session.scalars(
            select(AuditEntry.body).where(AuditEntry.type == "ballot.cast", AuditEntry.estate_id == world.estate.id))]
        assert all("choice" not in e and len(e["commitment"]) == 64 for e in entries)  # sealed while open
        before = views.turnout_json(meetings.turnout(session, meeting=meeting, motion=motion))
        assert before["participating"] == {"area": "431.25", "heads": 5}  # the co-owners' unit once
        assert before["area_reaches_two_thirds"] and before["heads_reach_two_thirds"]  # 431.25/556.25, 5/7
        assert not closing.close_if_due(session, meeting=meeting, now=meeting.closes_at - timedelta(seconds=1))
        assert closing.close_due_meetings(session, now=meeting.closes_at) == 1  # electronic voting ends
        assert closing.result_of(motion) is None  # the count waits for the paper ballots
        # Paper ballots, entered by one committee person and confirmed by another: extra2 voted only on
        # paper; the landlord handed in "oppose" on paper before his electronic "abstain" (revote last:
        # the electronic one, cast later, counts).
        after = meeting.closes_at + timedelta(hours=1)
        for target, unit, choice, handed_in in [(motion, "2-1-103", "agree", opened + timedelta(minutes=30)),
                                                (motion, "1-1-103", "oppose", opened),
                                                (election, "2-1-103", ["c2"], opened + timedelta(minutes=30))]:
            entry = paper.enter(session, meeting=meeting, motion=target, principal=world.chair, unit=unit,
                                choice=choice, handed_in_at=handed_in, now=after, signature_checked=True,
                                scan=b"%PDF-1.4 " + f"{target.id} {unit}".encode())
            paper.confirm(session, meeting=meeting, entry_id=entry.id, principal=world.member, choice=choice,
                          now=after)
        paper.finish(session, meeting=meeting, principal=world.chair, now=after + timedelta(minutes=1))
        estate = world.estate
    with unit_of_work(engine_copy) as session:
        motion = session.get(type(motion), motion.id)
        stored = closing.result_of(motion)
        assert stored["participating"]["heads"] == 6 and stored["quorum"] is True
        assert stored["passed"] is True  # wife then husband: the later ballot of their unit counts (revote last)
        events = [r.event for r in session.scalars(select(NotificationRecord).order_by(NotificationRecord.id))]
        assert events[-2:] == ["voting.closed", "result.announced"]
        lines = {line["unit"]: line["choice"] for line in views.unit_lines(session, motion=motion)}
        assert lines["1-1-102"] == "同意" and lines["1-1-105"] == views.NOT_VOTED and lines["1-1-104"] == "弃权"
        assert lines["2-1-103"] == "同意"  # the paper ballot
        document = json.loads(motion.tally_file)
        assert [b["by"] for b in document["ballots"]].count("paper") == 2
        decided = views.outcome(motion)
        assert decided.passed and any("获得通过" in reason for reason in decided.reasons)
        out = tmp_path / "export"
        audit_service.export(session, settings=settings, estate=session.get(type(estate), estate.id), out=out)
    tally_path = out / "tally" / f"{motion.public_id}.json"
    run = CliRunner().invoke(cli, ["tally", str(tally_path)])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout) == stored
    report = verify_export(out)
    assert report.ok, report.render_text("en")
