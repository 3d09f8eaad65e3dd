"""The notice period's last day (issue #24, item 1): Civil Code Arts. 201 and 203 with China's
official holidays and adjusted working days, one pure function for every page, hint and refusal."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from assembly.errors import Conflict
from assembly.law import notice

from .meeting_world import build_estate, draft_meeting
from .web_world import make_voting_web

SH = notice.LOCAL
PACKAGED = notice.official_calendar()  # what the pinned chinese-calendar release covers, not the suite's extension


@pytest.mark.parametrize(("published", "last_day", "opens"), [
    pytest.param(datetime(2026, 3, 1, 10, 0, tzinfo=SH), date(2026, 3, 16), datetime(2026, 3, 17, tzinfo=SH),
                 id="rules.md-example-1-march-opens-17-march"),
    pytest.param(datetime(2026, 3, 6, 9, 0, tzinfo=SH), date(2026, 3, 23), datetime(2026, 3, 24, tzinfo=SH),
                 id="last-day-a-saturday-runs-to-monday"),
    pytest.param(datetime(2026, 9, 17, 9, 0, tzinfo=SH), date(2026, 10, 8), datetime(2026, 10, 9, tzinfo=SH),
                 id="last-day-in-national-day-runs-to-the-first-working-day"),
    pytest.param(datetime(2026, 1, 31, 9, 0, tzinfo=SH), date(2026, 2, 24), datetime(2026, 2, 25, tzinfo=SH),
                 id="last-day-in-spring-festival"),
    pytest.param(datetime(2026, 9, 5, 9, 0, tzinfo=SH), date(2026, 9, 20), datetime(2026, 9, 21, tzinfo=SH),
                 id="last-day-an-adjusted-working-sunday-is-not-moved"),
    pytest.param(datetime(2026, 2, 28, 17, 0, tzinfo=UTC), date(2026, 3, 16), datetime(2026, 3, 17, tzinfo=SH),
                 id="counted-in-shanghai-time-1-march-01-00"),
])
def test_the_period_ends_with_its_last_day_moved_past_rest_days(published, last_day, opens):
    period = notice.notice_period(published, calendar=PACKAGED)
    assert period.last_day == last_day
    assert period.earliest_open == opens
    assert period.extended == (last_day != period.counted_last_day)
    assert period.counted_last_day == published.astimezone(SH).date() + timedelta(days=15)


def test_a_year_the_calendar_does_not_cover_is_refused_with_the_reason():
    after = datetime(PACKAGED.last, 12, 25, 10, 0, tzinfo=SH)  # its 15th day is in the next year
    with pytest.raises(notice.CalendarNotCovered) as refusal:
        notice.notice_period(after, calendar=PACKAGED)
    message = str(refusal.value)
    assert f"{PACKAGED.first}–{PACKAGED.last}" in message and f"{PACKAGED.last + 1}年01月09日" in message
    with pytest.raises(notice.CalendarNotCovered):
        notice.notice_period(datetime(PACKAGED.first - 1, 6, 1, tzinfo=SH), calendar=PACKAGED)


def test_publishing_into_an_uncovered_year_is_refused_and_nothing_changes(session, monkeypatch):
    monkeypatch.setattr(notice, "CHINA", PACKAGED)
    world = build_estate(session)
    now = datetime(PACKAGED.last, 12, 20, 2, 0, tzinfo=UTC)
    with pytest.raises(Conflict) as refused:
        draft_meeting(session, world, now=now)
    assert refused.value.code == "calendar_not_covered" and "节假日日历" in refused.value.message


def test_the_latest_notice_decides():
    owners = datetime(2026, 3, 1, 10, 0, tzinfo=SH)
    posted = datetime(2026, 3, 6, 10, 0, tzinfo=SH)
    assert notice.earliest_open(owners, posted, calendar=PACKAGED) == datetime(2026, 3, 24, tzinfo=SH)


def _hint_time(html: str, element: str) -> datetime:
    """The date and time a hint names (2026年03月17日 00:00 style, Beijing time)."""
    hint = re.search(rf'id="{element}"[^>]*>(.*?)</(?:p|dd)>', html, re.S).group(1)
    found = re.search(r"(\d{4})年(\d{1,2})月(\d{1,2})日\s*(\d{1,2}):(\d{2})", hint)
    assert found, hint
    year, month, day, hour, minute = map(int, found.groups())
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def test_the_forms_hint_is_the_date_the_refusal_names_and_the_minute_voting_opens(engine_copy):
    """This issue's own test: the drafting form's and the publish form's hint name when voting could
    open; one minute before it opening is refused naming that time, at it opening works."""
    site = make_voting_web(engine_copy)
    site.clock.now = datetime(2026, 3, 6, 1, 30, tzinfo=UTC)  # Friday 6 March; its 15th day is a Saturday
    chair = site.staff("chair")
    drafting = chair.get("/estate/alpha/meetings/new")
    assert drafting.status_code == 200
    hinted = _hint_time(drafting.text, "closes_at-hint")
    closes = (site.clock.now + timedelta(days=40)).astimezone(SH).strftime("%Y-%m-%dT%H:%M")
    created = chair.post("/estate/alpha/meetings", data={
        "title": "业主大会", "closes_at": closes, "revote": "last", "objection_days": "7", "m1_item": "4",
        "m1_title": "续聘物业服务企业", "m1_text": "续聘三年。", "m1_kind": "motion"})
    assert created.status_code == 303, created.text
    base = created.headers["location"]
    assert _hint_time(chair.get(base).text, "publish-hint") == hinted
    assert chair.post(f"{base}/publish").status_code == 303
    site.post_notice(chair, int(base.rsplit("/", 1)[1]))  # posted in the estate at the same moment
    assert _hint_time(chair.get(base).text, "earliest-open") == hinted
    assert hinted == datetime(2026, 3, 24, tzinfo=SH)  # 21 March is a Saturday: the period runs to Monday 23rd

    site.clock.now = hinted - timedelta(minutes=1)
    chair = site.staff("chair")
    refused = chair.post(f"{base}/open")
    assert refused.status_code == 409 and "2026年03月24日 00:00" in refused.text and "顺延" in refused.text
    site.clock.now = hinted
    chair = site.staff("chair")
    assert chair.post(f"{base}/open").status_code == 303
    assert "投票中" in chair.get(base).text
