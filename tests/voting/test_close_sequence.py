"""The close → paper entry → count → announce sequence: without a grace period the close counts and
announces at once; with one, electronic voting ends (logged, residents' committee told), paper
ballots are entered, and the count happens when the committee declares entry finished or when the
grace period ends (the ticker, or whoever looks first). The export verifies with paper ballots, and
an owner ballot slipped in after close fails the verifier."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from assembly.audit import service as audit_service
from assembly.audit import store as audit_log
from assembly.audit.entries import ballot_commitment, format_time
from assembly.audit.models import AuditEntry
from assembly.audit.verify import verify_export
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.errors import Conflict
from assembly.notify.models import NotificationRecord
from assembly.register.models import Estate
from assembly.voting import casting, closing, meetings, paper, views
from assembly.voting.models import Ballot, Meeting

from .meeting_world import build_estate, open_meeting, start_time

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _vote(session, world, meeting, who, choice, when):
    motion = meetings.motions_of(session, meeting=meeting)[0]
    owner = world.owner(who)
    (held,) = casting.holdings(session, meeting=meeting, pseudonym=owner.pseudonym)
    casting.cast(session, meeting=meeting, motion=motion, principal=owner, member_key=held.member_key, choice=choice,
                 idempotency_key=f"{who}-{when.isoformat()}", now=when)


def _log(session, world, start: int = 0) -> list[dict]:
    return [json.loads(bytes(body)) for body in session.scalars(
        select(AuditEntry.body).where(AuditEntry.estate_id == world.estate.id, AuditEntry.idx >= start)
        .order_by(AuditEntry.idx))]


def _events(session, world) -> list[str]:
    return list(session.scalars(select(NotificationRecord.event).where(NotificationRecord.estate_id == world.estate.id)
                                .order_by(NotificationRecord.id)))


def _voters(session, world, meeting, opened):
    for number, who in enumerate(("single", "wife", "landlord", "extra0", "extra1")):
        _vote(session, world, meeting, who, "agree", opened + timedelta(hours=number + 1))


def test_without_a_grace_period_the_close_counts_and_announces_at_once(session):
    world = build_estate(session, extra=3)
    meeting, opened = open_meeting(session, world, now=start_time(), paper_grace_days=0)
    _voters(session, world, meeting, opened)
    size = audit_log.size(session, estate_id=world.estate.id)
    assert closing.close_if_due(session, meeting=meeting, now=meeting.closes_at)
    assert meeting.closed_at == meeting.announced_at == meeting.closes_at
    assert meetings.state(meeting, meeting.closes_at) == meetings.ANNOUNCED
    types = [e["type"] for e in _log(session, world, size)]
    assert types == ["ballots.opened", "motion.closed", "result.announced", "notification.created",
                     "notification.created"]  # exactly the close of before: no paper phase in the log
    assert _events(session, world)[-2:] == ["voting.closed", "result.announced"]


def test_with_a_grace_period_the_close_waits_for_paper_until_the_grace_ends(session):
    world = build_estate(session, extra=3)
    meeting, opened = open_meeting(session, world, now=start_time())  # paper_grace_days 3 (the default)
    _voters(session, world, meeting, opened)
    closes = meeting.closes_at
    size = audit_log.size(session, estate_id=world.estate.id)
    assert closing.close_due_meetings(session, now=closes) == 1  # the ticker
    assert meeting.closed_at == closes and meeting.announced_at is None
    assert meetings.state(meeting, closes) == meetings.PAPER
    assert meetings.STATE_LABELS[meetings.PAPER] == "投票已截止，纸质选票录入中"
    closed = _log(session, world, size)
    assert [e["type"] for e in closed] == ["voting.closed", "notification.created"]
    assert closed[0]["paper_until"] == format_time(closes + timedelta(days=3))
    assert _events(session, world)[-1] == "voting.closed"
    assert closing.result_of(meetings.motions_of(session, meeting=meeting)[0]) is None  # nothing counted yet
    shown = views.meeting_json(session, estate=world.estate, meeting=meeting, now=closes)
    assert shown["state"] == "paper" and shown["paper_until"] == (closes + timedelta(days=3)).isoformat()
    assert "result" not in shown["motions"][0]
    with pytest.raises(Conflict) as refused:  # electronic voting is over
        _vote(session, world, meeting, "husband", "oppose", closes + timedelta(minutes=1))
    assert refused.value.code == "voting_closed"
    assert closing.close_due_meetings(session, now=closes + timedelta(days=2, hours=23)) == 0  # still paper phase
    assert closing.close_due_meetings(session, now=closes + timedelta(days=3)) == 1  # the grace period ended
    assert meeting.announced_at == closes + timedelta(days=3)
    finished = next(e for e in _log(session, world, size) if e["type"] == "paper.finished")
    assert finished["by"] == "grace-ended" and finished["actor"]["id"] == "system"
    assert finished["confirmed"] == 0 and finished["unconfirmed"] == 0
    assert _events(session, world)[-2:] == ["voting.closed", "result.announced"]  # closed told once
    assert closing.close_due_meetings(session, now=closes + timedelta(days=4)) == 0


def test_nobody_looking_until_after_the_grace_closes_and_counts_in_one_step(session):
    world = build_estate(session, extra=3)
    meeting, opened = open_meeting(session, world, now=start_time())
    _voters(session, world, meeting, opened)
    late = meeting.closes_at + timedelta(days=5)
    assert closing.close_if_due(session, meeting=meeting, now=late)
    assert meeting.closed_at == meeting.announced_at == late
    types = [e["type"] for e in _log(session, world)]
    assert types.index("voting.closed") < types.index("paper.finished") < types.index("ballots.opened")


def test_the_committee_declares_paper_entry_finished_and_the_count_follows(session):
    world = build_estate(session, extra=3)
    meeting, opened = open_meeting(session, world, now=start_time())
    _voters(session, world, meeting, opened)
    with pytest.raises(Conflict) as early:
        paper.finish(session, meeting=meeting, principal=world.chair, now=meeting.closes_at - timedelta(minutes=1))
    assert early.value.code == "paper_not_yet"
    closing.close_if_due(session, meeting=meeting, now=meeting.closes_at)
    now = meeting.closes_at + timedelta(hours=5)
    paper.finish(session, meeting=meeting, principal=world.member, now=now)
    assert meeting.announced_at == now and meetings.state(meeting, now) == meetings.ANNOUNCED
    finished = next(e for e in _log(session, world) if e["type"] == "paper.finished")
    assert finished["by"] == "committee" and finished["actor"]["id"] == "a-member"
    with pytest.raises(Conflict) as again:
        paper.finish(session, meeting=meeting, principal=world.chair, now=now)
    assert again.value.code == "paper_period_over"


def test_grace_periods_longer_than_three_days_are_refused(session):
    world = build_estate(session)
    with pytest.raises(Exception) as refused:
        open_meeting(session, world, now=start_time(), paper_grace_days=4)
    assert refused.value.code == "invalid_rules" and "3 日内公告" in refused.value.message


def _paper(session, world, meeting, *, unit, choice, handed_in, now, motion=None):
    motion = motion or meetings.motions_of(session, meeting=meeting)[0]
    entry = paper.enter(session, meeting=meeting, motion=motion, principal=world.chair, unit=unit, choice=choice,
                        handed_in_at=handed_in, scan=PNG + unit.encode() + motion.public_id.encode(),
                        signature_checked=True, now=now)
    return paper.confirm(session, meeting=meeting, entry_id=entry.id, principal=world.member, choice=choice, now=now)


def test_an_export_with_paper_ballots_verifies_and_a_late_owner_ballot_does_not(engine_copy, tmp_path):
    settings = get_settings()
    with unit_of_work(engine_copy) as session:
        world = build_estate(session, extra=3)
        meeting, opened = open_meeting(session, world, now=start_time(), election=True)
        _voters(session, world, meeting, opened)
        closing.close_if_due(session, meeting=meeting, now=meeting.closes_at)
        now = meeting.closes_at + timedelta(hours=1)
        _paper(session, world, meeting, unit="2-1-103", choice="oppose", handed_in=opened + timedelta(days=1), now=now)
        election = meetings.motions_of(session, meeting=meeting)[1]
        _paper(session, world, meeting, unit="2-1-103", choice=["c2"], handed_in=opened + timedelta(days=1), now=now,
               motion=election)
        paper.finish(session, meeting=meeting, principal=world.chair, now=now + timedelta(minutes=1))
        estate_id = world.estate.id
    good = tmp_path / "good"
    with unit_of_work(engine_copy) as session:
        audit_service.export(session, settings=settings, estate=session.get(Estate, estate_id), out=good)
    report = verify_export(good)
    assert report.ok, report.render_text("en")
    assert json.loads((good / "tally" / f"{election.public_id}.json").read_text())["ballots"][-1]["by"] == "paper"


def test_a_forged_owner_ballot_logged_after_close_fails_the_verifier(engine_copy, tmp_path):
    settings = get_settings()
    with unit_of_work(engine_copy) as session:
        world = build_estate(session, extra=3)
        meeting, opened = open_meeting(session, world, now=start_time())
        _voters(session, world, meeting, opened)
        closing.close_if_due(session, meeting=meeting, now=meeting.closes_at)
        motion = meetings.motions_of(session, meeting=meeting)[0]
        (held,) = casting.holdings(session, meeting=meeting, pseudonym=world.owner("extra2").pseudonym)
        late, claimed = meeting.closes_at + timedelta(hours=2), opened + timedelta(days=1)  # "cast" inside the window
        salt = secrets.token_bytes(32)
        commitment = ballot_commitment(salt, {"unit": held.units[0], "choice": "agree", "by": "owner"})
        index = audit_log.append(session, estate_id=world.estate.id, type="ballot.cast",
                                 actor=meetings.actor_of(world.owner("extra2")), at=late, motion=motion.public_id,
                                 member=held.member_key, by="owner", commitment=commitment, time=format_time(claimed))
        session.add(Ballot(motion_id=motion.id, estate_id=world.estate.id, member_key=held.member_key,
                           unit=held.units[0], by="owner", choice="agree", salt=salt, commitment=commitment,
                           cast_at=claimed, entry_index=index, idempotency_key="forged"))
        session.flush()
        paper.finish(session, meeting=session.get(Meeting, meeting.id), principal=world.chair, now=late)
        estate_id = world.estate.id
    out = tmp_path / "forged"
    with unit_of_work(engine_copy) as session:
        audit_service.export(session, settings=settings, estate=session.get(Estate, estate_id), out=out)
    report = verify_export(out)
    assert not report.ok and report.failed() == ["ballots.window"] and report.first_bad_entry == index
