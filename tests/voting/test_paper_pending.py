"""Paper ballots are never discarded for a clerk's delay (issue #24, item 3): sheets unsettled when the
grace period ends hold the result when they could change an outcome, and are counted once settled;
when they cannot, the result is announced and says how many there were. Each sheet records that the
owner's signature was checked against the register (指导规则 Art. 22)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from assembly.audit import service as audit_service
from assembly.audit.models import AuditEntry
from assembly.audit.verify import verify_export
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.errors import Conflict, InvalidInput
from assembly.notify.models import NotificationRecord
from assembly.register.models import Estate
from assembly.voting import casting, closing, meetings, paper
from assembly.voting.models import Meeting
from assembly.voting.paper_models import PaperEntry
from assembly.voting.pending import PendingSheet, could_change

from .meeting_world import build_estate, open_meeting, start_time
from .web_world import make_voting_web

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

# --- the law: could the pending sheets change the outcome? --------------------------------------


def _document(ballots, kind="motion"):
    units = [{"id": f"u{n}", "owners": [f"o{n}"], "area": {"registry": "10"}} for n in range(6)]
    document = {"format": "assembly-tally/1", "item": 4, "kind": kind, "revote": "last", "units": units,
                "ballots": ballots}
    if kind == "election":
        document |= {"item": 3, "seats": 1, "candidates": ["c1", "c2"]}
    return document


def _agree(*units):
    return [{"unit": unit, "choice": "agree", "by": "owner"} for unit in units]


@pytest.mark.parametrize(("ballots", "pending", "changes"), [
    # 3 of 6 voted: no quorum (2/3 = 4); one more sheet reaches it and passes whatever it says
    pytest.param(_agree("u0", "u1", "u2"), ["u3"], True, id="the-sheet-makes-the-quorum"),
    # 5 of 6 voted, 3 agree: a sixth sheet saying agree or oppose leaves it passed
    pytest.param(_agree("u0", "u1", "u2") + [{"unit": "u3", "choice": "oppose", "by": "owner"},
                                            {"unit": "u4", "choice": "oppose", "by": "owner"}], ["u5"], True,
                 id="oppose-makes-it-fail-3-of-6"),
    pytest.param(_agree("u0", "u1", "u2", "u3", "u4"), ["u5"], False, id="cannot-change-5-of-6-agree"),
    pytest.param(_agree("u0", "u1", "u2", "u3"), [], False, id="no-pending-sheet"),
])
def test_a_motion_is_held_exactly_when_the_sheets_could_change_it(ballots, pending, changes):
    sheets = [PendingSheet(unit, len(ballots)) for unit in pending]
    assert could_change(_document(ballots), sheets) is changes


def test_an_election_is_held_when_the_sheets_could_elect_someone_else():
    split = [{"unit": f"u{n}", "choices": ["c1" if n < 2 else "c2"], "by": "owner"} for n in range(4)]
    # without the sheet nobody has more than half of the 4; a fifth sheet choosing c1 elects c1
    assert could_change(_document(split, "election"), [PendingSheet("u4", 4)])
    settled = [{"unit": f"u{n}", "choices": ["c1"], "by": "owner"} for n in range(5)]
    assert not could_change(_document(settled, "election"), [PendingSheet("u5", 5)])


# --- the platform --------------------------------------------------------------------------------


def _vote(session, world, meeting, who, choice, when):
    motion = meetings.motions_of(session, meeting=meeting)[0]
    owner = world.owner(who)
    (held,) = casting.holdings(session, meeting=meeting, pseudonym=owner.pseudonym)
    casting.cast(session, meeting=meeting, motion=motion, principal=owner, member_key=held.member_key, choice=choice,
                 idempotency_key=f"{who}-{when.isoformat()}", now=when)


def _sheet(session, world, meeting, *, unit, choice, now, handed_in):
    motion = meetings.motions_of(session, meeting=meeting)[0]
    return paper.enter(session, meeting=meeting, motion=motion, principal=world.chair, unit=unit, choice=choice,
                       handed_in_at=handed_in, scan=PNG + unit.encode(), signature_checked=True, now=now)


def _entries(session, estate_id, kind):
    return [json.loads(bytes(b)) for b in session.scalars(
        select(AuditEntry.body).where(AuditEntry.estate_id == estate_id, AuditEntry.type == kind))]


def test_a_sheet_that_could_change_the_outcome_holds_the_result_until_it_is_settled(engine_copy, tmp_path):
    """Today's code counted without the sheet at the grace period's end: no quorum, not passed."""
    with unit_of_work(engine_copy) as session:
        world = build_estate(session, extra=3)  # 7 members, 556.25 m²
        meeting, opened = open_meeting(session, world, now=start_time())
        for who in ("single", "wife", "landlord"):  # 4 heads, 381.25 m²: no quorum of heads (5 of 7)
            _vote(session, world, meeting, who, "agree", opened + timedelta(hours=1))
        _vote(session, world, meeting, "extra0", "oppose", opened + timedelta(hours=1))
        closing.close_if_due(session, meeting=meeting, now=meeting.closes_at)
        sheet = _sheet(session, world, meeting, unit="2-1-102", choice="agree", now=meeting.closes_at,
                       handed_in=opened + timedelta(days=1))
        grace_ended = meetings.paper_ends(meeting) + timedelta(minutes=1)
        assert closing.close_due_meetings(session, now=grace_ended) == 1
        assert meetings.state(meeting, grace_ended) == meetings.HELD
        assert meeting.announced_at is None and meeting.held_at == grace_ended
        (motion,) = meetings.motions_of(session, meeting=meeting)
        assert closing.result_of(motion) is None  # not counted without the sheet
        (held,) = _entries(session, world.estate.id, "result.held")
        assert held["pending"] == 1 and held["papers"] == [sheet.id] and held["motions"] == [motion.public_id]
        assert session.scalar(select(func.count()).select_from(NotificationRecord).where(
            NotificationRecord.event == "result.held")) == 1
        assert closing.close_due_meetings(session, now=grace_ended + timedelta(hours=1)) == 0  # nothing to do
        with pytest.raises(Conflict) as late:  # no new sheets while held: only the pending one may be settled
            _sheet(session, world, meeting, unit="2-1-103", choice="agree", now=grace_ended,
                   handed_in=opened + timedelta(days=1))
        assert late.value.code == "paper_period_over"
        settled_at = grace_ended + timedelta(days=1)
        paper.confirm(session, meeting=meeting, entry_id=sheet.id, principal=world.member, choice="agree",
                      now=settled_at)
        assert meeting.announced_at == settled_at  # the count ran when the sheet was settled
        result = closing.result_of(motion)
        assert result["participating"]["heads"] == 5 and result["quorum"] and result["passed"]
        (finished,) = _entries(session, world.estate.id, "paper.finished")
        assert finished["by"] == "settled" and finished["confirmed"] == 1 and finished["unconfirmed"] == 0
        estate_id = world.estate.id
    out = tmp_path / "held"
    with unit_of_work(engine_copy) as session:
        audit_service.export(session, settings=get_settings(), estate=session.get(Estate, estate_id), out=out)
    report = verify_export(out)
    assert report.ok, report.render_text("en")


def test_sheets_that_cannot_change_any_outcome_let_the_result_be_announced_saying_so(engine_copy):
    site = make_voting_web(engine_copy)
    with unit_of_work(engine_copy) as session:
        world = site.world
        meeting, opened = open_meeting(session, world, now=site.clock.now)
        for who in ("single", "wife", "landlord", "extra0", "extra1"):  # 5 of 7 heads, all agree: passes
            _vote(session, world, meeting, who, "agree", opened + timedelta(hours=1))
        closing.close_if_due(session, meeting=meeting, now=meeting.closes_at)
        _sheet(session, world, meeting, unit="2-1-103", choice="oppose", now=meeting.closes_at,
               handed_in=opened + timedelta(days=1))
        grace_ended = meetings.paper_ends(meeting) + timedelta(minutes=1)
        assert closing.close_due_meetings(session, now=grace_ended) == 1
        assert meeting.announced_at == grace_ended and meeting.held_at is None
        (motion,) = meetings.motions_of(session, meeting=meeting)
        assert closing.result_of(motion)["passed"]
        meeting_id = meeting.id
    site.clock.now = grace_ended + timedelta(minutes=1)
    page = site.owner("single").get(f"/estate/alpha/meetings/{meeting_id}")
    assert 'id="pending-sheets"' in page.text and "尚有 1 张纸质选票未完成复核" in page.text


def test_the_committee_page_shows_the_held_result_with_the_pending_count(engine_copy):
    site = make_voting_web(engine_copy)
    with unit_of_work(engine_copy) as session:
        world = site.world
        meeting, opened = open_meeting(session, world, now=site.clock.now)
        for who in ("single", "wife", "landlord", "extra0"):  # 4 of 7 heads: the sheet would make the quorum
            _vote(session, world, meeting, who, "agree", opened + timedelta(hours=1))
        closing.close_if_due(session, meeting=meeting, now=meeting.closes_at)
        _sheet(session, world, meeting, unit="2-1-103", choice="agree", now=meeting.closes_at,
               handed_in=opened + timedelta(days=1))
        meeting_id, grace_ends = meeting.id, meetings.paper_ends(meeting)
    site.clock.now = grace_ends + timedelta(minutes=1)  # the job runner reaches the grace period's end
    chair = site.staff("chair")
    page = chair.get(f"/estate/alpha/meetings/{meeting_id}")
    assert page.status_code == 200 and "结果暂缓公告" in page.text and "尚有 1 张" in page.text
    assert 'id="held-link"' in page.text
    with unit_of_work(engine_copy) as session:
        assert session.get(Meeting, meeting_id).held_at is not None
    papers = chair.get(f"/estate/alpha/meetings/{meeting_id}/paper")
    assert 'id="held-result"' in papers.text and 'id="held-pending"' in papers.text
    assert "对照扫描件复核" in papers.text  # the sheet can still be checked (the service entered it as someone else)


def test_a_sheet_is_entered_only_with_the_owners_signature_checked(session):
    world = build_estate(session, extra=3)
    meeting, opened = open_meeting(session, world, now=start_time())
    closing.close_if_due(session, meeting=meeting, now=meeting.closes_at)
    motion = meetings.motions_of(session, meeting=meeting)[0]
    with pytest.raises(InvalidInput) as refused:
        paper.enter(session, meeting=meeting, motion=motion, principal=world.chair, unit="2-1-101", choice="agree",
                    handed_in_at=opened + timedelta(hours=1), scan=PNG, signature_checked=False,
                    now=meeting.closes_at)
    assert refused.value.code == "signature_not_checked" and "第二十二条" in refused.value.message
    assert session.scalar(select(func.count()).select_from(PaperEntry)) == 0
    entry = paper.enter(session, meeting=meeting, motion=motion, principal=world.chair, unit="2-1-101",
                        choice="agree", handed_in_at=opened + timedelta(hours=1), scan=PNG, signature_checked=True,
                        now=meeting.closes_at)
    assert entry.signature_checked
    (logged,) = _entries(session, world.estate.id, "paper.entered")
    assert logged["signature_checked"] is True
