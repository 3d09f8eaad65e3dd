"""A sale ends the seller's card 出售房屋后停用卖方的业主一卡通 (issue #3).

When a register version leaves a person owner of record of no unit in the estate, their card ends —
once no meeting that froze them is still open. A meeting froze them when their pseudonym is in a
member of its frozen roll; it is open from the moment voting opens until its result is announced
(counting and paper entry included: the seller may still have to confirm a ballot or see the
count). Until then the card keeps working, and what it reaches is what the frozen roll gives: the
ballots of those meetings; every later meeting's roll is frozen from a register without them.

Runs in the register apply path (same transaction as the new version) and in the minute ticker
(cards that waited for a meeting). Each ending is a `card.ended` audit entry, a security event,
and a notice to the owner.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlmodel import Session

from assembly.audit import store as audit_log
from assembly.auth import events
from assembly.auth.cards import _end
from assembly.auth.models import OwnerCard
from assembly.events.bus import publish
from assembly.events.catalog import CardEnded, RegisterVersionApplied
from assembly.register.models import Ownership, Person, RegisterVersion, RollMember
from assembly.voting.models import Meeting

CARD_ENDED = "card.ended"
REASON = "not_owner_of_record"


def open_meetings(session: Session, *, estate_ids: list[int]) -> dict[int, list[Meeting]]:
    """Per estate, the meetings whose roll is frozen and whose result is not yet announced."""
    if not estate_ids:
        return {}
    rows = session.scalars(select(Meeting).where(Meeting.estate_id.in_(estate_ids), Meeting.opens_at.is_not(None),
                                                 Meeting.announced_at.is_(None),
                                                 Meeting.roll_snapshot_id.is_not(None)).order_by(Meeting.id))
    found: dict[int, list[Meeting]] = defaultdict(list)
    for meeting in rows:
        found[meeting.estate_id].append(meeting)
    return found


def frozen_in(session: Session, *, meetings: list[Meeting], pseudonym: str) -> list[Meeting]:
    """Those of `meetings` whose frozen roll has a member this person is an owner of."""
    if not meetings:
        return []
    by_snapshot = {meeting.roll_snapshot_id: meeting for meeting in meetings}
    keys = session.execute(select(RollMember.snapshot_id, RollMember.member_key).where(
        RollMember.snapshot_id.in_(list(by_snapshot)), RollMember.member_key.contains(pseudonym)))
    hit = {snapshot for snapshot, key in keys
           if key.startswith("owners:") and pseudonym in key.removeprefix("owners:").split("+")}
    return [meeting for meeting in meetings if meeting.roll_snapshot_id in hit]


def former_owners(session: Session, *, estate_id: int | None = None) -> list[tuple[OwnerCard, Person, int]]:
    """Cards in force whose holder owns nothing in the estate's latest register version, with that
    version's number."""
    newest = (select(RegisterVersion.estate_id, func.max(RegisterVersion.number).label("number"))
              .group_by(RegisterVersion.estate_id).subquery())
    latest = (select(RegisterVersion.id, RegisterVersion.estate_id, RegisterVersion.number)
              .join(newest, (newest.c.estate_id == RegisterVersion.estate_id)
                    & (newest.c.number == RegisterVersion.number))
              .subquery())
    owns = exists().where(Ownership.person_id == OwnerCard.person_id, Ownership.version_id == latest.c.id)
    query = (select(OwnerCard, Person, latest.c.number).join(Person, Person.id == OwnerCard.person_id)
             .join(latest, latest.c.estate_id == OwnerCard.estate_id)
             .where(OwnerCard.revoked_at.is_(None), ~owns).order_by(OwnerCard.id))
    if estate_id is not None:
        query = query.where(OwnerCard.estate_id == estate_id)
    return [(card, person, number) for card, person, number in session.execute(query)]


def waiting_for(session: Session, *, person: Person) -> list[Meeting]:
    """The open meetings that keep this former owner's card working (for their home page)."""
    meetings = open_meetings(session, estate_ids=[person.estate_id]).get(person.estate_id, [])
    return frozen_in(session, meetings=meetings, pseudonym=person.pseudonym)


def on_register_version(session: Session, event: RegisterVersionApplied) -> None:
    """A register version was applied: end the cards of those it left owning nothing (a sale)."""
    end_former_owners(session, now=event.at, actor=audit_log.Actor(event.actor, event.role), estate_id=event.estate_id)


def end_former_owners(session: Session, *, now: datetime, actor: audit_log.Actor = audit_log.SYSTEM,
                      estate_id: int | None = None) -> list[OwnerCard]:
    """End the cards of people who are no longer owners of record, unless an open meeting froze
    them (those wait for the ticker). Returns the cards ended."""
    candidates = former_owners(session, estate_id=estate_id)
    meetings = open_meetings(session, estate_ids=sorted({card.estate_id for card, _p, _n in candidates}))
    ended = []
    for card, person, version in candidates:
        if frozen_in(session, meetings=meetings.get(card.estate_id, []), pseudonym=person.pseudonym):
            continue
        _end(session, card, reason=REASON, now=now)
        events.record(session, CARD_ENDED, estate_id=card.estate_id, subject=f"card:{card.id}", reason=REASON, at=now,
                      actor_pseudonym=actor.id[:24], actor_role=actor.role, owner=person.pseudonym,
                      card_number=card.number, register_version=version)
        audit_log.append(session, estate_id=card.estate_id, type=CARD_ENDED, actor=actor, at=now,
                         subject=f"card:{card.number}", owner=person.pseudonym, reason=REASON,
                         register_version=version)
        publish(session, CardEnded(estate_id=card.estate_id, at=now, actor=actor.id, role=actor.role,
                                   person_id=person.id, card_number=card.number, version=version))
        ended.append(card)
    return ended
