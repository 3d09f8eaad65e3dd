"""Objections after the announcement: an upheld objection voids the ballot and the recount is
recorded; the result becomes final after the period with every objection decided, and the export
still verifies offline (the verifier recounts without the voided ballot)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from assembly.audit import service as audit_service
from assembly.audit.verify import verify_export
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.errors import Conflict, Forbidden
from assembly.notify.models import NotificationRecord
from assembly.register.models import Estate
from assembly.voting import casting, closing, meetings, objections
from assembly.voting.models import Meeting, Motion

from .meeting_world import build_estate, open_meeting, start_time


def _vote(session, world, meeting, motion, who, choice, when):
    owner = world.owner(who)
    (held,) = casting.holdings(session, meeting=meeting, pseudonym=owner.pseudonym)
    casting.cast(session, meeting=meeting, motion=motion, principal=owner, member_key=held.member_key, choice=choice,
                 idempotency_key=f"{who}-{when.isoformat()}", now=when)
    return held.member_key


def test_an_upheld_objection_voids_the_ballot_and_the_final_result_recounts(engine_copy, tmp_path):
    with unit_of_work(engine_copy) as session:
        world = build_estate(session, extra=1)  # members: single, co-owners, landlord, developer, extra0
        meeting, opened = open_meeting(session, world, now=start_time(), paper_grace_days=0)  # announced at close
        (motion,) = meetings.motions_of(session, meeting=meeting)
        when = opened
        for who in ("single", "wife", "landlord", "extra0"):
            when += timedelta(minutes=1)
            member = _vote(session, world, meeting, motion, who, "agree", when)
        closing.close_if_due(session, meeting=meeting, now=meeting.closes_at)
        assert closing.result_of(motion)["passed"] is True
        announced = meeting.announced_at
        with pytest.raises(Forbidden):  # an objection only to one's own vote
            objections.file_objection(session, meeting=meeting, motion=motion, principal=world.owner("single"),
                                      member_key=member, text="", now=announced + timedelta(hours=1))
        filed = objections.file_objection(session, meeting=meeting, motion=motion, principal=world.owner("extra0"),
                                          member_key=member, text="这不是我投的票", now=announced + timedelta(hours=1))
        assert filed.ballot_entry is not None
        assert not objections.finalize_if_due(session, meeting=meeting, now=announced + timedelta(days=8))  # pending
        objections.decide(session, meeting=meeting, motion=motion, objection_id=filed.id, upheld=True,
                          principal=world.chair, now=announced + timedelta(days=2))
        with pytest.raises(Conflict):
            objections.decide(session, meeting=meeting, motion=motion, objection_id=filed.id, upheld=False,
                              principal=world.chair, now=announced + timedelta(days=2))
        assert not objections.finalize_if_due(session, meeting=meeting, now=announced + timedelta(days=6))
        assert objections.finalize_due_meetings(session, now=announced + timedelta(days=7)) == 1
        final = closing.result_of(motion)
        assert final["participating"]["heads"] == 3  # 4 voted, one ballot voided
        assert meetings.state(meeting, announced + timedelta(days=7)) == meetings.FINAL
        events = [r.event for r in session.scalars(select(NotificationRecord).order_by(NotificationRecord.id))]
        assert events[-2:] == ["objection.filed", "result.final"]
        with pytest.raises(Conflict):
            objections.file_objection(session, meeting=meeting, motion=motion, principal=world.owner("extra0"),
                                      member_key=member, text="", now=announced + timedelta(days=7, hours=1))
        estate_id = world.estate.id
    with unit_of_work(engine_copy) as session:
        audit_service.export(session, settings=get_settings(), estate=session.get(Estate, estate_id),
                             out=tmp_path / "export")
    report = verify_export(tmp_path / "export")
    assert report.ok, report.render_text("en")
