"""The notice posted in the estate (issue #24, item 2; 北京市物业管理条例第三十五条第四款): the committee
records where, when and a photo; voting opens only when the period has run from the posting too."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from assembly.audit.entries import entry_problems
from assembly.audit.models import AuditEntry
from assembly.db import unit_of_work
from assembly.errors import Conflict, InvalidInput
from assembly.voting import attachments, meetings, posting
from assembly.voting.posting_models import NoticePosting

from .meeting_world import PHOTO, build_estate, draft_meeting, post_notice
from .web_world import make_voting_web

SH = meetings.SHANGHAI


def _photo(content=PHOTO):
    return attachments.check_upload(filename="p.png", content=content)


def test_voting_opens_only_when_the_period_has_run_from_the_posting_too(session):
    world = build_estate(session)
    published = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # Sunday 1 March, 10:00 in Shanghai
    meeting = draft_meeting(session, world, now=published)
    meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=published)
    at_owners_date = datetime(2026, 3, 17, tzinfo=SH)  # when the notice to all owners alone would allow it
    refused = meetings.problems_before_open(session, meeting=meeting, now=at_owners_date)
    assert refused == [f"尚未{meetings.POSTING}。"]
    posted = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)  # Wednesday 4 March: its 15th day is Thursday 19 March
    post_notice(session, world, meeting, now=posted)
    with pytest.raises(Conflict) as early:
        meetings.open_voting(session, meeting=meeting, estate=world.estate, principal=world.chair,
                             now=datetime(2026, 3, 19, 23, 59, tzinfo=SH))
    (reason,) = early.value.detail
    assert "张贴" in reason and "2026年03月20日 00:00" in reason
    assert meetings.opens_from(session, meeting=meeting) == datetime(2026, 3, 20, tzinfo=SH)  # max of the two
    opened = meetings.open_voting(session, meeting=meeting, estate=world.estate, principal=world.chair,
                                  now=datetime(2026, 3, 20, tzinfo=SH))
    assert opened.opens_at == datetime(2026, 3, 20, tzinfo=SH)


def test_the_posting_is_logged_with_the_photos_digest_and_when_voting_may_open(session):
    world = build_estate(session)
    published = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    meeting = draft_meeting(session, world, now=published)
    meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=published)
    recorded = post_notice(session, world, meeting, now=published + timedelta(hours=2))
    (entry,) = [json.loads(bytes(b)) for b in session.scalars(select(AuditEntry.body).where(
        AuditEntry.estate_id == world.estate.id, AuditEntry.type == "meeting.posted"))]
    assert entry["meeting"] == f"meeting-{meeting.id}" and entry["photo_sha256"] == recorded.sha256
    assert entry["earliest_open"] == "2026-03-16T16:00:00Z" and entry["posted_at"] == "2026-03-01T04:00:00Z"
    assert "place" not in entry and recorded.entry_index == entry["index"]
    assert entry_problems(entry) == []
    assert entry_problems({**entry, "photo_sha256": "x"})  # the verifier checks its fields


@pytest.mark.parametrize("problem", ["not_published", "place_required", "posted_at_out_of_range", "photo_required",
                                     "posting_recorded", "already_open"])
def test_a_refused_posting_says_why_and_stores_nothing(session, problem):
    world = build_estate(session)
    published = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    meeting = draft_meeting(session, world, now=published)
    if problem != "not_published":
        meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=published)
    if problem in ("posting_recorded", "already_open"):
        post_notice(session, world, meeting, now=published)
    if problem == "already_open":
        meetings.open_voting(session, meeting=meeting, estate=world.estate, principal=world.chair,
                             now=meetings.earliest_open(published))
    before = session.scalar(select(func.count()).select_from(NoticePosting))
    now = published + timedelta(days=1)
    options = {"place": "小区正门公告栏", "posted_at": now, "photo": _photo()}
    options |= {"place_required": {"place": "  "}, "posted_at_out_of_range": {"posted_at": published - timedelta(hours=1)},
                "photo_required": {"photo": None}}.get(problem, {})
    error = InvalidInput if problem in ("place_required", "posted_at_out_of_range", "photo_required") else Conflict
    with pytest.raises(error) as refused:
        posting.record(session, meeting=meeting, principal=world.chair, now=now, **options)
    assert refused.value.code == problem
    assert session.scalar(select(func.count()).select_from(NoticePosting)) == before


def test_the_page_and_the_api_record_it_and_everyone_sees_the_photo(engine_copy):
    site = make_voting_web(engine_copy)
    with unit_of_work(engine_copy) as session:
        meeting = draft_meeting(session, site.world, now=site.clock.now)
        meetings.publish(session, meeting=meeting, estate=site.world.estate, principal=site.world.chair,
                         now=site.clock.now)
        meeting_id = meeting.id
    chair = site.staff("chair")
    base = f"/estate/alpha/meetings/{meeting_id}"
    assert 'id="posting-missing"' in chair.get(base).text
    posted = site.clock.now.astimezone(SH).strftime("%Y-%m-%dT%H:%M")
    bad = chair.post(f"{base}/posting", data={"place": "小区正门公告栏", "posted_at": posted},
                     files={"photo": ("p.png", b"GIF89a" + b"0" * 20, "image/png")})
    assert bad.status_code == 422 and 'id="posting-error"' in bad.text and "PDF、JPEG 或 PNG" in bad.text
    done = chair.post(f"{base}/posting", data={"place": "小区正门公告栏", "posted_at": posted},
                      files={"photo": ("p.png", PHOTO, "image/png")})
    assert done.status_code == 303
    page = site.owner("single").get(base)
    assert 'id="posting-record"' in page.text and "小区正门公告栏" in page.text
    photo = site.owner("single").get(f"{base}/posting/photo")
    assert photo.status_code == 200 and photo.content == PHOTO and photo.headers["x-content-type-options"] == "nosniff"
    again = chair.post(f"/api/estates/alpha/meetings/{meeting_id}/posting",
                       data={"place": "又一处", "posted_at": site.clock.now.isoformat()},
                       files={"photo": ("p.png", PHOTO, "image/png")})
    assert again.status_code == 409 and again.json()["error"]["code"] == "posting_recorded"
    meeting_json = chair.get(f"/api/estates/alpha/meetings/{meeting_id}").json()
    assert meeting_json["posting"]["place"] == "小区正门公告栏"
