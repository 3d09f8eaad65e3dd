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


def _lines(session, motion) -> dict[str, str]:
    from assembly.voting import views

    return {line["unit"]: line["choice"] for line in views.unit_lines(session, motion=motion)}


def test_per_unit_lines_come_from_the_recount_after_an_upheld_objection_issue_14(engine_copy):
    """Regression (issue #14, 1): the per-unit lines (JSON, units.csv) listed a voided ballot's
    choice while the totals excluded it; under `revote: last` voiding a later ballot revives the
    member's earlier one, in the lines, the totals and a further objection alike."""
    from decimal import Decimal

    from assembly.voting import documents, views

    with unit_of_work(engine_copy) as session:
        world = build_estate(session, extra=1)
        meeting, opened = open_meeting(session, world, now=start_time(), paper_grace_days=0, revote="last")
        (motion,) = meetings.motions_of(session, meeting=meeting)
        single = _vote(session, world, meeting, motion, "single", "agree", opened + timedelta(minutes=1))
        _vote(session, world, meeting, motion, "single", "oppose", opened + timedelta(minutes=2))
        extra = _vote(session, world, meeting, motion, "extra0", "oppose", opened + timedelta(minutes=3))
        _vote(session, world, meeting, motion, "wife", "agree", opened + timedelta(minutes=4))
        closing.close_if_due(session, meeting=meeting, now=meeting.closes_at)
        assert _lines(session, motion) == {"1-1-101": "反对", "1-1-102": "同意", "1-1-103": views.NOT_VOTED,
                                           "1-1-104": views.NOT_VOTED, "1-1-105": views.NOT_VOTED,
                                           "2-1-101": "反对"}
        announced = meeting.announced_at
        later = announced + timedelta(hours=1)
        for who, member in (("single", single), ("extra0", extra)):
            filed = objections.file_objection(session, meeting=meeting, motion=motion, principal=world.owner(who),
                                              member_key=member, text="", now=later)
            objections.decide(session, meeting=meeting, motion=motion, objection_id=filed.id, upheld=True,
                              principal=world.chair, now=later)
        lines = _lines(session, motion)
        assert lines["2-1-101"] == views.NOT_VOTED  # its only ballot voided
        assert lines["1-1-101"] == "同意"  # the later ballot voided: the earlier one counts again
        # the totals shown now are that same recount, and the lines add up to them
        result = closing.result_of(motion)
        assert result == objections.recount_without_voided(session, motion=motion)
        areas = {line["unit"]: line["area"] for line in views.unit_lines(session, motion=motion)}
        agreeing = [unit for unit, choice in lines.items() if choice == "同意"]
        voting = [unit for unit, choice in lines.items() if choice != views.NOT_VOTED]
        assert Decimal(result["agree"]["area"]) == sum(areas[u] for u in agreeing)
        assert Decimal(result["participating"]["area"]) == sum(areas[u] for u in voting)
        assert result["participating"]["heads"] == 2
        # a further objection by the same owner names the revived ballot, not the voided one
        again = objections.file_objection(session, meeting=meeting, motion=motion, principal=world.owner("single"),
                                         member_key=single, text="", now=later + timedelta(hours=1))
        assert again.ballot_entry not in objections.voided_entries(session, motion=motion)
        assert again.ballot_entry == objections.counted_entry(session, motion=motion, member_key=single)
        record = documents.meeting_record(session, estate=world.estate, meeting=meeting, now=later)
        csv_lines = {row.split(",")[2]: row.split(",")[4] for row in
                     documents.units_csv(session, record).splitlines()[1:]}
        assert csv_lines["2-1-101"] == views.NOT_VOTED and csv_lines["1-1-101"] == "同意"
