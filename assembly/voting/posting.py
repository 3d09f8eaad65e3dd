"""Posting the meeting notice in the estate 张贴会议通知 (北京市物业管理条例第三十五条第四款: in a prominent
place, with the topics, content, time, place and method): the committee records where and when it
was posted, with a photo; voting cannot open before the notice period has run from the posting
too. Keyword-only, `now` passed in, never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from assembly.audit import store as audit_log
from assembly.audit.entries import format_time
from assembly.errors import Conflict, InvalidInput, NotFound
from assembly.localtime import stamp
from assembly.permissions import Principal
from assembly.voting import attachments, meetings
from assembly.voting.models import Meeting
from assembly.voting.posting_models import NoticePosting

BASIS = "《北京市物业管理条例》第三十五条第四款"


def posting_of(session: Session, *, meeting: Meeting) -> NoticePosting | None:
    return session.scalars(select(NoticePosting).where(col(NoticePosting.meeting_id) == meeting.id)).first()


def record(session: Session, *, meeting: Meeting, principal: Principal, place: str, posted_at: datetime,
           photo: attachments.Upload | None, now: datetime) -> NoticePosting:
    """Record the posting once, between publishing and opening; logged `meeting.posted` with the
    photo's SHA-256 and when voting may open counting from it. Nothing is stored on a refusal."""
    meeting = meetings.lock(session, meeting)
    if meeting.published_at is None:
        raise Conflict("请先发布会议通知，再记录在小区内的张贴 / publish the notice first", code="not_published")
    if meeting.opens_at is not None:
        raise Conflict("投票已经开始，不能再记录张贴 / voting has opened", code="already_open")
    earlier = posting_of(session, meeting=meeting)
    if earlier is not None:
        raise Conflict(f"本次会议通知的张贴已于 {stamp(earlier.recorded_at)} 记录"
                       f"（{stamp(earlier.posted_at)} 张贴于{earlier.place}），不能重复记录"
                       " / the posting is already recorded", code="posting_recorded")
    place = " ".join(place.split())
    if not place or len(place) > 200:
        raise InvalidInput("请填写张贴地点（不超过 200 字），例如“各楼栋单元门厅公告栏及小区正门公告栏”"
                           " / where the notice was posted (at most 200 characters)", code="place_required")
    if posted_at.tzinfo is None:
        raise InvalidInput("张贴时间须带时区 / posted_at needs a time zone", code="naive_time")
    # forms give minutes: a posting in the minute of publishing is after it
    if not meeting.published_at.replace(second=0, microsecond=0) <= posted_at <= now:
        raise InvalidInput(f"张贴时间须在会议通知发布（{stamp(meeting.published_at)}）之后、现在之前"
                           " / the posting time must lie between publishing and now", code="posted_at_out_of_range")
    if photo is None:
        raise InvalidInput("请上传张贴现场的照片（JPEG、PNG 或 PDF，不超过 5 MB） / a photo of the posted notice",
                           code="photo_required")
    opens = meetings.earliest_open(posted_at)  # refuses a year the holiday calendar does not cover
    actor = meetings.actor_of(principal)
    assert meeting.id is not None
    posting = NoticePosting(meeting_id=meeting.id, estate_id=meeting.estate_id, place=place, posted_at=posted_at,
                            media_type=photo.media_type, sha256=photo.sha256, photo=photo.content,
                            recorded_by=actor.id, recorded_at=now, entry_index=-1)
    session.add(posting)
    session.flush()
    posting.entry_index = audit_log.append(  # the place is typed by a person: it stays in the table
        session, estate_id=meeting.estate_id, type="meeting.posted", actor=actor, at=now,
        meeting=meetings.meeting_id(meeting), posted_at=format_time(posted_at), photo_sha256=photo.sha256,
        media_type=photo.media_type, earliest_open=format_time(opens))
    session.flush()
    return posting


def photo_of(session: Session, *, meeting: Meeting) -> NoticePosting:
    posting = posting_of(session, meeting=meeting)
    if posting is None:
        raise NotFound("本次会议还没有记录张贴 / no posting recorded", code="posting_not_found")
    return posting
