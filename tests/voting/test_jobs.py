"""The job runner (assembly.jobs): closes and finalisations happen there, never on a page view; each
meeting in its own transaction; one process at a time per job; one clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from assembly.audit.models import AuditEntry
from assembly.config import get_settings
from assembly.db import is_sqlite, unit_of_work
from assembly.jobs import JOBS, MEETING_JOBS, _lock_key, exclusive, run_due
from assembly.voting import closing, meetings
from assembly.voting.models import Meeting
from tests.voting.meeting_world import open_meeting
from tests.voting.web_world import make_voting_web


def _entries(engine, kind: str) -> int:
    with unit_of_work(engine) as session:
        return session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.type == kind))


def _open(site, **options):
    with unit_of_work(site.engine) as session:
        meeting, opened = open_meeting(session, site.world, now=site.clock.now, **options)
        (motion,) = meetings.motions_of(session, meeting=meeting)
        return meeting.id, motion.id, meeting.closes_at, opened


def test_a_page_view_past_the_close_changes_nothing_and_says_closing(engine_copy):
    site = make_voting_web(engine_copy, owners=("single",))
    meeting_id, motion_id, closes_at, _opened = _open(site, paper_grace_days=0)
    site.clock.on_move = None  # the runner has not come round yet
    site.clock.now = closes_at + timedelta(seconds=30)
    owner = site.owner("single")
    before = _entries(engine_copy, "voting.closed") + _entries(engine_copy, "result.announced")
    page = owner.get(f"/estate/alpha/meetings/{meeting_id}/motions/{motion_id}")
    api = owner.get(f"/api/estates/alpha/meetings/{meeting_id}")
    assert page.status_code == 200 and api.status_code == 200
    assert meetings.STATE_LABELS[meetings.CLOSING] in page.text
    assert 'name="confirm"' not in page.text and 'name="choice"' not in page.text  # no ballot form
    assert api.json()["state"] == meetings.CLOSING
    with unit_of_work(engine_copy) as session:
        stored = session.get(Meeting, meeting_id)
        assert stored.closed_at is None and stored.announced_at is None
    assert _entries(engine_copy, "voting.closed") + _entries(engine_copy, "result.announced") == before
    # the runner's round closes, counts and announces it
    done = run_due(engine_copy, get_settings(), site.clock.now, jobs=MEETING_JOBS)
    assert done["close"] == 1
    assert owner.get(f"/api/estates/alpha/meetings/{meeting_id}").json()["state"] == meetings.ANNOUNCED


def test_one_failing_meeting_never_blocks_the_others(engine_copy, monkeypatch):
    site = make_voting_web(engine_copy, owners=("single",))
    first = _open(site, paper_grace_days=0)
    second = _open(site, paper_grace_days=0)
    site.clock.on_move = None
    now = max(first[2], second[2]) + timedelta(minutes=1)
    real = closing.close_if_due

    def broken_for_first(session, *, meeting, now):
        if meeting.id == first[0]:
            raise RuntimeError("a fault in one meeting")
        return real(session, meeting=meeting, now=now)

    monkeypatch.setattr(closing, "close_if_due", broken_for_first)
    assert run_due(engine_copy, get_settings(), now, jobs=MEETING_JOBS)["close"] == 1
    with unit_of_work(engine_copy) as session:
        assert session.get(Meeting, first[0]).closed_at is None  # rolled back alone, retried next round
        assert session.get(Meeting, second[0]).announced_at is not None
    monkeypatch.setattr(closing, "close_if_due", real)
    assert run_due(engine_copy, get_settings(), now, jobs=MEETING_JOBS)["close"] == 1
    with unit_of_work(engine_copy) as session:
        assert session.get(Meeting, first[0]).announced_at is not None


def test_a_job_another_runner_holds_is_skipped(engine_copy):
    """Within a process always; across processes on PostgreSQL through the job's advisory lock."""
    with exclusive(engine_copy, "close") as mine:
        assert mine
        assert "close" not in run_due(engine_copy, get_settings(), get_settings_now(), jobs=JOBS)
    if is_sqlite(engine_copy):
        return
    with engine_copy.connect() as other:  # another process's runner holds the close job
        assert other.execute(text("select pg_try_advisory_lock(:k)"), {"k": _lock_key("close")}).scalar()
        done = run_due(engine_copy, get_settings(), get_settings_now(), jobs=JOBS)
        assert "close" not in done and "finalize" in done
        other.execute(text("select pg_advisory_unlock(:k)"), {"k": _lock_key("close")})
    assert "close" in run_due(engine_copy, get_settings(), get_settings_now(), jobs=JOBS)


def get_settings_now():
    from assembly.models import utcnow

    return utcnow()


def test_the_runner_reads_the_applications_clock(engine_copy):
    """The server's runner reads app.state.clock: moving it makes a scheduled close due (its first round
    comes one interval after it starts)."""
    import asyncio

    from assembly.jobs import JobRunner

    site = make_voting_web(engine_copy, owners=("single",))
    meeting_id, _motion, closes_at, _opened = _open(site, paper_grace_days=0)
    site.clock.on_move = None
    site.clock.now = closes_at + timedelta(minutes=1)

    async def one_round() -> None:
        runner = JobRunner(engine_copy, get_settings(), site.app.state.clock, interval=0.2)
        await runner.start()
        for _ in range(600):  # bounded: at most 60 s for the first round
            await asyncio.sleep(0.1)
            with unit_of_work(engine_copy) as session:
                if session.get(Meeting, meeting_id).announced_at is not None:
                    break
        await runner.stop()

    asyncio.run(one_round())
    with unit_of_work(engine_copy) as session:
        assert session.get(Meeting, meeting_id).announced_at is not None
