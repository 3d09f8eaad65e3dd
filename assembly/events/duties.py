"""Duties 职责: what someone owes by a deadline, opened by one event and closed by a later one.

A rule says which event opens a duty (and its subject, holder and deadline) and which events close
it. Opening and closing happen in the transaction of the event that causes them. The job runner
sweeps open duties whose deadline has passed: each is marked missed once and raises DutyMissed, to
which credit and supervision react. A duty closed after its deadline stays missed (closed late).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from assembly.events.bus import Bus
from assembly.events.catalog import DutyMissed, Event
from assembly.events.models import Duty

BATCH = 500


@dataclass(frozen=True)
class DutyRule:
    kind: str
    holder: str  # the role that owes it: "committee", "street_office", "residents_committee"
    opened_by: type[Event]
    closed_by: Sequence[type[Event]]
    subject: Callable[[Event], str]  # the same subject from the opening and the closing events
    deadline: Callable[[Event], datetime]

    def open(self, session: Session, event: Event) -> None:
        open_duty(session, estate_id=event.estate_id, kind=self.kind, subject=self.subject(event), holder=self.holder,
                  deadline=self.deadline(event), now=event.at)

    def close(self, session: Session, event: Event) -> None:
        close_duty(session, kind=self.kind, subject=self.subject(event), now=event.at)


def install(bus: Bus, rules: Sequence[DutyRule]) -> None:
    """Subscribe each rule's opening and closing (at the composition root)."""
    for rule in rules:
        bus.subscribe(rule.opened_by, rule.open)
        for closing in rule.closed_by:
            bus.subscribe(closing, rule.close)


def open_duty(session: Session, *, estate_id: int, kind: str, subject: str, holder: str, deadline: datetime,
              now: datetime) -> Duty:
    """Open the duty, or return it when it is already open (an event raised again opens nothing new)."""
    duty = session.scalars(select(Duty).where(Duty.kind == kind, Duty.subject == subject)).first()
    if duty is not None:
        return duty
    duty = Duty(estate_id=estate_id, kind=kind, subject=subject, holder=holder, opened_at=now, deadline=deadline)
    session.add(duty)
    session.flush()
    return duty


def close_duty(session: Session, *, kind: str, subject: str, now: datetime) -> Duty | None:
    """Close the open duty of this kind and subject (None when there is none: nothing was owed)."""
    duty = session.scalars(select(Duty).where(Duty.kind == kind, Duty.subject == subject,
                                              Duty.closed_at.is_(None))).first()
    if duty is None:
        return None
    duty.closed_at = now
    session.flush()
    return duty


def sweep_missed(session: Session, *, now: datetime, publish: Callable[[Session, Event], None]) -> list[Duty]:
    """Mark every open duty whose deadline has passed as missed, and raise DutyMissed for each, once."""
    query = (select(Duty).where(Duty.closed_at.is_(None), Duty.missed_at.is_(None), Duty.deadline < now)
             .order_by(Duty.deadline, Duty.id).limit(BATCH))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    missed = list(session.scalars(query))
    for duty in missed:
        duty.missed_at = now
        session.flush()
        publish(session, DutyMissed(estate_id=duty.estate_id, at=now, duty_id=duty.id, kind=duty.kind,
                                    subject=duty.subject, deadline=duty.deadline))
    return missed


def open_duties(session: Session, *, estate_id: int) -> list[Duty]:
    """The estate's open duties, soonest deadline first (missed ones included until closed)."""
    return list(session.scalars(select(Duty).where(Duty.estate_id == estate_id, Duty.closed_at.is_(None))
                                .order_by(Duty.deadline, Duty.id)))
