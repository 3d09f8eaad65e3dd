"""Erase the names and phone numbers of former owners 原业主个人信息的删除 once they are no longer needed.

A person who owns nothing in the estate's latest register version (they sold) keeps their name and
phone for at least a year (366 days) after the later of: the register version that left them owning
nothing, and the announcement of the last meeting whose frozen roll they were on — owners may ask
a court to set aside a decision within a year of knowing it (SPC 法释〔2009〕7号 Art. 12). While any
of those meetings is not final (not announced, objection period running, an objection undecided) or
the operator names it as under a case (`held_meetings`), nothing of theirs is erased.

Erasing replaces the name by ERASED_NAME and clears the phone; the keyed identity hashes and the
pseudonym stay (the audit log refers to the pseudonym; a person who buys again is recognised and
their name comes back with the new register). One `owners.erased` audit entry per estate and run,
with pseudonyms only. Running it again erases nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlmodel import Session

from assembly.audit import store as audit_log
from assembly.register.models import Estate, Ownership, Person, RegisterVersion, RollMember
from assembly.voting.legal_hold_models import LegalHold
from assembly.voting.models import Meeting, Motion, Objection

RETENTION = timedelta(days=366)  # "at least a year", leap years included
ERASED_NAME = "（已删除）"
ERASED = "owners.erased"


@dataclass
class FormerOwner:
    """A person of the estate who owns nothing in its latest register version, and what keeps their data."""

    person: Person
    left_at: datetime  # when the register version that left them owning nothing was applied
    meetings: list[Meeting] = field(default_factory=list)  # meetings whose frozen roll they were on
    held: list[str] = field(default_factory=list)  # reasons nothing may be erased yet

    @property
    def erased(self) -> bool:
        return self.person.name == ERASED_NAME and self.person.phone is None

    @property
    def keep_until(self) -> datetime:
        announced = [meeting.announced_at for meeting in self.meetings if meeting.announced_at is not None]
        return max([self.left_at, *announced]) + RETENTION

    def due(self, now: datetime) -> bool:
        return not self.erased and not self.held and now >= self.keep_until


def _left_at(session: Session, *, estate_id: int, person_ids: list[int]) -> dict[int, datetime]:
    """Per person, when the first version after the last one that listed them as an owner was applied."""
    versions = session.execute(select(RegisterVersion.id, RegisterVersion.number, RegisterVersion.created_at)
                               .where(RegisterVersion.estate_id == estate_id)).all()
    number_of = {version_id: number for version_id, number, _at in versions}
    applied = {number: at for _id, number, at in versions}
    last_owned: dict[int, int] = {}
    for person_id, version_id in session.execute(select(Ownership.person_id, Ownership.version_id)
                                                 .where(Ownership.person_id.in_(person_ids))):
        last_owned[person_id] = max(last_owned.get(person_id, 0), number_of[version_id])
    return {person_id: min(at for number, at in applied.items() if number > last_owned.get(person_id, 0))
            for person_id in person_ids}


def _meetings_by_pseudonym(session: Session, *, estate_id: int) -> dict[str, list[Meeting]]:
    """pseudonym → the estate's meetings whose frozen roll has a member they are an owner of."""
    meetings = session.scalars(select(Meeting).where(Meeting.estate_id == estate_id,
                                                     Meeting.roll_snapshot_id.is_not(None))).all()
    by_snapshot = defaultdict(list)
    for meeting in meetings:
        by_snapshot[meeting.roll_snapshot_id].append(meeting)
    found: dict[str, list[Meeting]] = defaultdict(list)
    if not by_snapshot:
        return found
    for snapshot_id, key in session.execute(select(RollMember.snapshot_id, RollMember.member_key)
                                            .where(RollMember.snapshot_id.in_(list(by_snapshot)))):
        if key.startswith("owners:"):
            for pseudonym in key.removeprefix("owners:").split("+"):
                found[pseudonym].extend(by_snapshot[snapshot_id])
    return found


def _undecided(session: Session, *, meeting_ids: list[int]) -> set[int]:
    if not meeting_ids:
        return set()
    return set(session.scalars(select(Motion.meeting_id).join(Objection, Objection.motion_id == Motion.id)
                               .where(Motion.meeting_id.in_(meeting_ids), Objection.decided_at.is_(None))))


def former_owners(session: Session, *, estate: Estate, held_meetings: frozenset[int] = frozenset()) -> list[FormerOwner]:
    """Every former owner of the estate, with when they left, the meetings they were on the roll of and
    what holds their data (a meeting whose objection period has not ended, an undecided objection, a
    case the operator named or the committee or street office recorded as a legal hold)."""
    held_meetings = held_meetings | frozenset(session.scalars(select(LegalHold.meeting_id).where(
        LegalHold.estate_id == estate.id, LegalHold.released_at.is_(None))))
    latest = session.scalar(select(RegisterVersion.id).where(RegisterVersion.estate_id == estate.id)
                            .order_by(RegisterVersion.number.desc()).limit(1))
    if latest is None:
        return []
    owns = exists().where(Ownership.person_id == Person.id, Ownership.version_id == latest)
    people = session.scalars(select(Person).where(Person.estate_id == estate.id, ~owns).order_by(Person.id)).all()
    if not people:
        return []
    left = _left_at(session, estate_id=estate.id, person_ids=[person.id for person in people])
    rolls = _meetings_by_pseudonym(session, estate_id=estate.id)
    undecided = _undecided(session, meeting_ids=sorted({m.id for ms in rolls.values() for m in ms}))
    found = []
    for person in people:
        meetings = sorted({m.id: m for m in rolls.get(person.pseudonym, [])}.values(), key=lambda m: m.id)
        held = []
        for meeting in meetings:
            if meeting.id in held_meetings:
                held.append(f"meeting {meeting.id}: case open (held by the operator)")
            elif meeting.final_at is None:
                held.append(f"meeting {meeting.id}: result not final")
            elif meeting.id in undecided:
                held.append(f"meeting {meeting.id}: objection undecided")
        found.append(FormerOwner(person, left[person.id], meetings, held))
    return found


@dataclass(frozen=True)
class Erasure:
    estate: Estate
    reviewed: list[FormerOwner]
    erased: list[str]  # pseudonyms erased now (or, in a dry run, that would be)
    entry: int | None  # the owners.erased audit entry's index


def erase_former_owners(session: Session, *, estate: Estate, now: datetime, dry_run: bool = False,
                        held_meetings: frozenset[int] = frozenset(),
                        actor: audit_log.Actor = audit_log.OPERATOR) -> Erasure:
    """Erase the names and phones of the estate's former owners whose retention has run; a dry run
    changes nothing and reports what would be erased."""
    reviewed = former_owners(session, estate=estate, held_meetings=held_meetings)
    due = [owner for owner in reviewed if owner.due(now)]
    pseudonyms = [owner.person.pseudonym for owner in due]
    if dry_run or not due:
        return Erasure(estate, reviewed, pseudonyms, None)
    for owner in due:
        owner.person.name = ERASED_NAME
        owner.person.phone = None
    session.flush()
    entry = audit_log.append(session, estate_id=estate.id, type=ERASED, actor=actor, at=now, owners=pseudonyms,
                             count=len(pseudonyms), retention_days=RETENTION.days)
    return Erasure(estate, reviewed, pseudonyms, entry)
