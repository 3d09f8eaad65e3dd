"""Paper ballots: entered after close within the grace period by one committee person, confirmed
blind by a second; a mismatch blocks the sheet; refusals say why and change nothing; only confirmed
entries become ballots; members with both a paper and an electronic ballot follow the revote rule by
their times; every step is an audit entry."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from assembly.audit.models import AuditEntry
from assembly.errors import Conflict, Forbidden, InvalidInput
from assembly.voting import casting, closing, meetings, paper
from assembly.voting.models import Ballot
from assembly.voting.paper_models import PaperEntry

from .meeting_world import build_estate, open_meeting, start_time

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"sheet" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def _closed(session, **options):
    """An estate and a meeting whose electronic voting has just closed into its paper phase."""
    world = build_estate(session, extra=3)
    meeting, opened = open_meeting(session, world, now=start_time(), **options)
    return world, meeting, opened


def _close(session, meeting):
    assert closing.close_if_due(session, meeting=meeting, now=meeting.closes_at)
    return meeting.closes_at + timedelta(hours=1)


def _enter(session, world, meeting, *, unit="2-1-103", choice="agree", who=None, handed_in=None, scan=PNG, now,
           motion=None, signature_checked=True):
    motion = motion or meetings.motions_of(session, meeting=meeting)[0]
    return paper.enter(session, meeting=meeting, motion=motion, principal=who or world.chair, unit=unit,
                       choice=choice, handed_in_at=handed_in or meeting.opens_at + timedelta(hours=2), scan=scan,
                       signature_checked=signature_checked, now=now)


def _types(session, world) -> list[str]:
    return list(session.scalars(select(AuditEntry.type).where(AuditEntry.estate_id == world.estate.id)
                                .order_by(AuditEntry.idx)))


def test_two_people_enter_and_confirm_and_only_then_it_is_a_ballot(session):
    world, meeting, opened = _closed(session)
    now = _close(session, meeting)
    assert meetings.state(meeting, now) == meetings.PAPER
    entry = _enter(session, world, meeting, scan=PDF, now=now)
    assert entry.state == "entered" and entry.scan_type == "application/pdf" and len(entry.scan_sha256) == 64
    assert session.scalar(select(func.count()).select_from(Ballot)) == 0  # not a ballot yet
    logged = json.loads(bytes(session.scalars(select(AuditEntry.body).where(
        AuditEntry.idx == entry.entry_index, AuditEntry.estate_id == world.estate.id)).one()))
    assert logged["type"] == "paper.entered" and logged["unit"] == "2-1-103" and "choice" not in logged
    with pytest.raises(Forbidden) as same:  # the person who entered it can never confirm it
        paper.confirm(session, meeting=meeting, entry_id=entry.id, principal=world.chair, choice="agree", now=now)
    assert same.value.code == "same_person" and "另一位" in same.value.message
    confirmed = paper.confirm(session, meeting=meeting, entry_id=entry.id, principal=world.member, choice="agree",
                              now=now + timedelta(minutes=5))
    assert confirmed.state == "confirmed" and confirmed.checked_by == "a-member"
    ballot = session.get(Ballot, confirmed.ballot_id)
    assert ballot.by == "paper" and ballot.cast_at == entry.handed_in_at and ballot.unit == "2-1-103"
    cast = json.loads(bytes(session.scalars(select(AuditEntry.body).where(
        AuditEntry.idx == ballot.entry_index, AuditEntry.estate_id == world.estate.id)).one()))
    assert cast["by"] == "paper" and cast["time"] == entry.handed_in_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "choice" not in cast and cast["commitment"] == ballot.commitment
    assert _types(session, world)[-3:] == ["paper.entered", "ballot.cast", "paper.confirmed"]
    with pytest.raises(Conflict):  # checked once only
        paper.confirm(session, meeting=meeting, entry_id=entry.id, principal=world.member, choice="agree", now=now)


def test_a_mismatch_blocks_the_sheet_until_it_is_entered_again_and_confirmed(session):
    world, meeting, opened = _closed(session)
    now = _close(session, meeting)
    first = _enter(session, world, meeting, choice="agree", now=now)
    checked = paper.confirm(session, meeting=meeting, entry_id=first.id, principal=world.member, choice="oppose",
                            now=now)
    assert checked.state == "mismatch" and checked.ballot_id is None and checked.checked_choice == "oppose"
    assert _types(session, world)[-1] == "paper.mismatch"
    assert session.scalar(select(func.count()).select_from(Ballot)) == 0
    assert [e.id for e in paper.pending(session, meeting=meeting)] == [first.id]  # still open
    with pytest.raises(Conflict) as refused:  # the count cannot start with an unsettled sheet
        paper.finish(session, meeting=meeting, principal=world.chair, now=now)
    assert refused.value.code == "paper_pending" and str(first.id) in refused.value.message
    again = _enter(session, world, meeting, choice="oppose", who=world.member, now=now)  # re-entered by the other
    paper.confirm(session, meeting=meeting, entry_id=again.id, principal=world.chair, choice="oppose", now=now)
    assert paper.pending(session, meeting=meeting) == []
    (ballot,) = session.scalars(select(Ballot)).all()
    assert ballot.choice == "oppose"
    paper.finish(session, meeting=meeting, principal=world.chair, now=now)
    assert meeting.announced_at == now and closing.result_of(meetings.motions_of(session, meeting=meeting)[0])


@pytest.mark.parametrize("problem", ["before_close", "after_grace", "not_on_roll", "outside_window", "no_scan",
                                     "exe_scan", "huge_scan", "bad_choice", "twice"])
def test_refusals_say_why_and_store_nothing(session, problem):
    world, meeting, opened = _closed(session)
    now = _close(session, meeting) if problem != "before_close" else meeting.closes_at - timedelta(hours=1)
    if problem == "twice":
        _enter(session, world, meeting, unit="2-1-103", now=now)
    before = (session.scalar(select(func.count()).select_from(PaperEntry)), len(_types(session, world)))
    options = {"before_close": {}, "after_grace": {"now": meeting.closes_at + timedelta(days=3)},
               "not_on_roll": {"unit": "9-9-909"}, "outside_window": {"handed_in": meeting.closes_at},
               "no_scan": {"scan": b""}, "exe_scan": {"scan": b"MZ\x90\x00" + b"\x00" * 100},
               "huge_scan": {"scan": PNG + b"\x00" * paper.MAX_SCAN_BYTES}, "bad_choice": {"choice": "yes"},
               "twice": {"unit": "2-1-103", "scan": JPEG}}[problem]
    expected = {"before_close": "paper_not_yet", "after_grace": "paper_period_over", "not_on_roll": "not_on_roll",
                "outside_window": "handed_in_outside_window", "no_scan": "scan_required", "exe_scan": "scan_type",
                "huge_scan": "scan_too_large", "bad_choice": "invalid_choice", "twice": "paper_already_entered"}
    with pytest.raises((Conflict, InvalidInput)) as refused:
        _enter(session, world, meeting, **{"now": now, **options})
    assert refused.value.code == expected[problem]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.message)
    if problem == "not_on_roll":
        assert "9-9-909" in refused.value.message and "名册" in refused.value.message
    assert (session.scalar(select(func.count()).select_from(PaperEntry)), len(_types(session, world))) == before


def test_the_same_scan_cannot_be_entered_twice_for_a_motion(session):
    world, meeting, opened = _closed(session)
    now = _close(session, meeting)
    _enter(session, world, meeting, unit="2-1-103", now=now)
    with pytest.raises(Conflict) as refused:
        _enter(session, world, meeting, unit="2-1-102", now=now)
    assert refused.value.code == "paper_already_entered" and "扫描件" in refused.value.message


def test_an_election_sheet_compares_candidates_whatever_their_order(session):
    world, meeting, opened = _closed(session, election=True)
    now = _close(session, meeting)
    election = meetings.motions_of(session, meeting=meeting)[1]
    entry = _enter(session, world, meeting, motion=election, choice=["c1"], now=now)
    with pytest.raises(InvalidInput):  # two names for one seat is no valid check
        paper.confirm(session, meeting=meeting, entry_id=entry.id, principal=world.member, choice=["c1", "c2"],
                      now=now)
    assert paper.confirm(session, meeting=meeting, entry_id=entry.id, principal=world.member, choice=["c1"],
                         now=now).state == "confirmed"


def _both(session, world, meeting, opened, *, paper_offset, electronic_offset, who="extra2"):
    """A member who votes `oppose` electronically and hands in an `agree` paper sheet; returns the case."""
    motion = meetings.motions_of(session, meeting=meeting)[0]
    owner = world.owner(who)
    (held,) = casting.holdings(session, meeting=meeting, pseudonym=owner.pseudonym)
    casting.cast(session, meeting=meeting, motion=motion, principal=owner, member_key=held.member_key,
                 choice="oppose", idempotency_key="e", now=opened + electronic_offset)
    now = _close(session, meeting)
    entry = _enter(session, world, meeting, unit=held.units[0], choice="agree", handed_in=opened + paper_offset,
                   now=now)
    paper.confirm(session, meeting=meeting, entry_id=entry.id, principal=world.member, choice="agree", now=now)
    (case,) = paper.both_kinds(session, meeting=meeting)
    paper.finish(session, meeting=meeting, principal=world.member, now=now)
    from assembly.voting import views

    line = {line["unit"]: line["choice"] for line in views.unit_lines(session, motion=motion)}[held.units[0]]
    return case, line


@pytest.mark.parametrize(("revote", "paper_first", "counts"), [
    ("last", True, "反对"),  # paper handed in first, electronic later: the later one (electronic)
    ("last", False, "同意"),  # electronic first, paper later: the paper one
    ("first", True, "同意"),  # the earlier one counts under `first`: paper
    ("first", False, "反对"),
])
def test_paper_and_electronic_ballots_follow_the_revote_rule_by_their_times(session, revote, paper_first, counts):
    world, meeting, opened = _closed(session, revote=revote)
    early, late = timedelta(hours=1), timedelta(days=2)
    case, line = _both(session, world, meeting, opened, paper_offset=early if paper_first else late,
                       electronic_offset=late if paper_first else early)
    assert line == counts
    assert [by for by, _ in case.ballots] == (["paper", "owner"] if paper_first else ["owner", "paper"])
    counted_by = case.ballots[case.counted][0]
    assert counted_by == ("paper" if counts == "同意" else "owner")
    assert ("最后" if revote == "last" else "第一次") in case.reason
    assert "同意" not in case.reason and "反对" not in case.reason  # never how anyone voted


def test_observers_see_the_case_before_announce_without_choices(session):
    world, meeting, opened = _closed(session)
    motion = meetings.motions_of(session, meeting=meeting)[0]
    owner = world.owner("extra2")
    (held,) = casting.holdings(session, meeting=meeting, pseudonym=owner.pseudonym)
    casting.cast(session, meeting=meeting, motion=motion, principal=owner, member_key=held.member_key,
                 choice="oppose", idempotency_key="e", now=opened + timedelta(days=1))
    now = _close(session, meeting)
    entry = _enter(session, world, meeting, unit=held.units[0], choice="agree", now=now)
    assert paper.both_kinds(session, meeting=meeting) == []  # an unconfirmed entry is no ballot yet
    paper.confirm(session, meeting=meeting, entry_id=entry.id, principal=world.member, choice="agree", now=now)
    (case,) = paper.both_kinds(session, meeting=meeting)
    assert case.member_key == held.member_key and meeting.announced_at is None
    assert case.ballots[case.counted][0] == "owner"  # revote last: the electronic ballot was later


def test_a_paper_ballot_beats_a_proxy_ballot_whatever_the_order(session):
    world, meeting, opened = _closed(session)
    motion = meetings.motions_of(session, meeting=meeting)[0]
    (held,) = casting.holdings(session, meeting=meeting, pseudonym=world.owner("extra2").pseudonym)
    session.add(Ballot(motion_id=motion.id, estate_id=world.estate.id, member_key=held.member_key,  # the proxy's,
                       unit=held.units[0], by="proxy", choice="oppose", salt=b"\x00" * 32,  # cast last
                       commitment="0" * 64, cast_at=meeting.closes_at - timedelta(minutes=1), entry_index=0,
                       idempotency_key="proxy"))
    now = _close(session, meeting)
    entry = _enter(session, world, meeting, unit=held.units[0], choice="agree", now=now)
    paper.confirm(session, meeting=meeting, entry_id=entry.id, principal=world.member, choice="agree", now=now)
    (case,) = paper.both_kinds(session, meeting=meeting)
    assert [by for by, _ in case.ballots] == ["paper", "proxy"] and case.ballots[case.counted][0] == "paper"
    assert "代理人" in case.reason and "不论先后" in case.reason
