"""Meetings: the notice period (15 days, Asia/Shanghai, day of publication not counted), publishing
with its residents'-committee record, opening on a frozen roll."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from assembly.audit.models import AuditEntry
from assembly.errors import Conflict, InvalidInput
from assembly.notify.models import NotificationRecord
from assembly.voting import meetings

from .meeting_world import build_estate, draft_meeting, post_notice, start_time

SH = meetings.SHANGHAI


@pytest.mark.parametrize(("published", "earliest"), [  # 2026-03-16 is a Monday, a working day
    pytest.param(datetime(2026, 3, 1, 10, 0, tzinfo=SH), datetime(2026, 3, 17, 0, 0, tzinfo=SH), id="morning"),
    pytest.param(datetime(2026, 3, 1, 23, 59, tzinfo=SH), datetime(2026, 3, 17, 0, 0, tzinfo=SH), id="last-minute"),
    pytest.param(datetime(2026, 2, 28, 16, 30, tzinfo=UTC), datetime(2026, 3, 17, 0, 0, tzinfo=SH),
                 id="utc-day-before-is-1-march-in-shanghai"),
    pytest.param(datetime(2026, 3, 1, 0, 0, tzinfo=SH), datetime(2026, 3, 17, 0, 0, tzinfo=SH), id="midnight"),
])
def test_voting_opens_at_the_earliest_at_midnight_after_the_15th_day_shanghai(published, earliest):
    """Civil Code Arts. 201, 203: 2-16 March are the 15 days; the 16th ends at 24:00 (issue #24, item 1)."""
    assert meetings.earliest_open(published) == earliest


def _entries(session, estate_id, kind):
    return [json.loads(bytes(row.body)) for row in session.scalars(
        select(AuditEntry).where(AuditEntry.estate_id == estate_id, AuditEntry.type == kind))]


def test_publishing_notifies_the_residents_committee_in_the_same_transaction(session):
    world = build_estate(session)
    now = start_time()
    meeting = draft_meeting(session, world, now=now)
    assert meetings.state(meeting, now) == meetings.DRAFT
    assert session.scalars(select(NotificationRecord)).all() == []
    meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=now)
    records = session.scalars(select(NotificationRecord).where(NotificationRecord.estate_id == world.estate.id)).all()
    assert [r.event for r in records] == ["meeting.convened"]
    assert records[0].community_id == world.estate.community_id and "续聘物业服务企业" in records[0].what
    assert meeting.published_at == meeting.rc_notified_at == now
    assert len(_entries(session, world.estate.id, "meeting.published")) == 1
    assert len(_entries(session, world.estate.id, "notification.created")) == 1
    with pytest.raises(Conflict):
        meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=now)


def test_opening_before_the_notice_has_run_is_refused_with_the_reason_and_the_date(session):
    world = build_estate(session)
    published = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 1 March 10:00 in Shanghai
    meeting = draft_meeting(session, world, now=published)
    refused = meetings.problems_before_open(session, meeting=meeting, now=published)
    assert any("尚未向全体业主公告" in p for p in refused) and any("尚未告知社区居委会" in p for p in refused)
    meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=published)
    just_before = datetime(2026, 3, 16, 23, 59, tzinfo=SH)  # the 15th day is not over yet
    with pytest.raises(Conflict) as refusal:
        meetings.open_voting(session, meeting=meeting, estate=world.estate, principal=world.chair, now=just_before)
    assert refusal.value.code == "cannot_open"
    assert "2026年03月17日 00:00" in refusal.value.message and "居委会" in refusal.value.message
    # owners and the residents' committee, and the posting in the estate, not recorded yet
    assert len(refusal.value.detail) == 3 and "张贴" in refusal.value.detail[2]
    post_notice(session, world, meeting, now=published)
    opened = meetings.open_voting(session, meeting=meeting, estate=world.estate, principal=world.chair,
                                  now=datetime(2026, 3, 17, 0, 0, tzinfo=SH))
    assert meetings.state(opened, datetime(2026, 3, 17, 1, 0, tzinfo=SH)) == meetings.OPEN


def test_opening_freezes_the_roll_and_logs_it_with_the_fields_the_verifier_needs(session):
    world = build_estate(session, extra=3)
    now = start_time()
    meeting = draft_meeting(session, world, now=now)
    meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=now)
    post_notice(session, world, meeting, now=now)
    meetings.open_voting(session, meeting=meeting, estate=world.estate, principal=world.chair,
                         now=meetings.earliest_open(now))
    (frozen,) = _entries(session, world.estate.id, "roll.frozen")
    assert frozen["meeting"] == f"meeting-{meeting.id}" and frozen["revote"] == "last"
    assert frozen["totals"] == {"area": "556.25", "heads": 7}  # 89.5 + 120.25 + 121.5 + 75 + 3 × 50
    landlord = next(m for m in frozen["members"] if m["units"] == ["1-1-103", "1-1-104"])
    assert landlord["area"] == "121.5" and landlord["heads"] == 1
    assert [r.event for r in session.scalars(select(NotificationRecord).order_by(NotificationRecord.id))] == [
        "meeting.convened", "voting.opened"]


@pytest.mark.parametrize(("change", "code"), [
    ({"title": " "}, "title_required"),
    ({"revote": "maybe"}, "invalid_revote"),
    ({"closes_in": timedelta(days=10)}, "closes_too_early"),
    ({"item": 10}, "invalid_item"),
])
def test_a_bad_draft_is_refused_with_a_code(session, change, code):
    world = build_estate(session)
    now = start_time()
    drafts = [meetings.MotionDraft(item=change.get("item", 4), title="议题", text="内容")]
    with pytest.raises(InvalidInput) as refusal:
        meetings.create_meeting(session, estate=world.estate, principal=world.chair, title=change.get("title", "会议"),
                                closes_at=now + change.get("closes_in", timedelta(days=30)), motions=drafts, now=now,
                                revote=change.get("revote", "last"))
    assert refusal.value.code == code
