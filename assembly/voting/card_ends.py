"""A sale ends the seller's card 出售房屋后停用卖方的业主一卡通 (issue #3; issue #24 item 4).

When a register version leaves a person owner of record of no unit in the estate, their card ends —
once no meeting still needs it. A meeting froze them when their pseudonym is in a member of its
frozen roll. It keeps the card
- while its result is not announced and they still hold the vote of a member in it (a sale
  registered during voting moves the vote to the buyer: voting.transfers; one registered after
  close leaves the frozen roll as it was, and the seller may still have to see the count), and
- while its objection period has not ended, when they cast a ballot in it: the seller keeps read
  access to those meetings — their receipts, the verification, an objection "this is not my vote" —
  but cannot cast (owners may sue within a year: SPC 法释〔2009〕7号 Art. 12).

Runs in the register apply path (same transaction as the new version) and in the minute ticker
(cards that waited for a meeting). Each ending is a `card.ended` audit entry, a security event,
and a notice to the owner.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlmodel import Session, col

from assembly.audit import store as audit_log
from assembly.auth import events
from assembly.auth.cards import end_card
from assembly.auth.models import OwnerCard
from assembly.events.bus import publish
from assembly.events.catalog import CardEnded, RegisterVersionApplied
from assembly.register.models import Ownership, Person, RegisterVersion, RollMember
from assembly.voting import transfers
from assembly.voting.models import Ballot, Meeting, Motion

CARD_ENDED = "card.ended"
REASON = "not_owner_of_record"


def open_meetings(session: Session, *, estate_ids: list[int]) -> dict[int, list[Meeting]]:
    """Per estate, the meetings whose roll is frozen and whose result is not yet final (the
    objection period of an announced one may still run)."""
    if not estate_ids:
        return {}
    rows = session.scalars(select(Meeting).where(col(Meeting.estate_id).in_(estate_ids),
                                                 col(Meeting.opens_at).is_not(None), col(Meeting.final_at).is_(None),
                                                 col(Meeting.roll_snapshot_id).is_not(None)).order_by(col(Meeting.id)))
    found: dict[int, list[Meeting]] = defaultdict(list)
    for meeting in rows:
        found[meeting.estate_id].append(meeting)
    return found


def _frozen_keys(session: Session, *, meetings: list[Meeting], pseudonym: str) -> dict[int, list[str]]:
    """meeting id → the keys of the members of its frozen roll this person is an owner of."""
    if not meetings:
        return {}
    by_snapshot = {meeting.roll_snapshot_id: meeting for meeting in meetings}
    keys = session.execute(select(col(RollMember.snapshot_id), col(RollMember.member_key)).where(
        col(RollMember.snapshot_id).in_(list(by_snapshot)), col(RollMember.member_key).contains(pseudonym)))
    found: dict[int, list[str]] = defaultdict(list)
    for snapshot, key in keys:
        if pseudonym in transfers.frozen_owners(key):
            meeting = by_snapshot[snapshot]
            assert meeting.id is not None
            found[meeting.id].append(key)
    return found


def frozen_in(session: Session, *, meetings: list[Meeting], pseudonym: str) -> list[Meeting]:
    """Those of `meetings` whose frozen roll has a member this person is an owner of."""
    hit = _frozen_keys(session, meetings=meetings, pseudonym=pseudonym)
    return [meeting for meeting in meetings if meeting.id in hit]


def _objections_end(meeting: Meeting) -> datetime | None:
    return meeting.announced_at + timedelta(days=meeting.objection_days) if meeting.announced_at else None


def keeping(session: Session, *, meetings: list[Meeting], person: Person, now: datetime) -> list[Meeting]:
    """Those of `meetings` that keep this former owner's card working (the module's two rules)."""
    frozen = _frozen_keys(session, meetings=meetings, pseudonym=person.pseudonym)
    if not frozen:
        return []
    voted = set(session.scalars(select(col(Motion.meeting_id))
                                .join(Ballot, col(Ballot.motion_id) == col(Motion.id)).where(
        col(Motion.meeting_id).in_(list(frozen)), col(Ballot.cast_by_person) == person.id)))
    kept = []
    for meeting in meetings:
        assert meeting.id is not None
        keys = frozen.get(meeting.id)
        if not keys:
            continue
        ends = _objections_end(meeting)
        if meeting.id in voted and (ends is None or now < ends):
            kept.append(meeting)
            continue
        if meeting.announced_at is None:
            chains = transfers.chains(session, meeting_id=meeting.id, member_keys=keys)
            held = (transfers.tenure(key, chains.get(key, []), person.pseudonym) for key in keys)
            if any(tenure is not None and tenure.until is None for tenure in held):
                kept.append(meeting)
    return kept


def former_owners(session: Session, *, estate_id: int | None = None) -> list[tuple[OwnerCard, Person, int]]:
    """Cards in force whose holder owns nothing in the estate's latest register version, with that
    version's number."""
    newest = (select(col(RegisterVersion.estate_id), func.max(col(RegisterVersion.number)).label("number"))
              .group_by(col(RegisterVersion.estate_id)).subquery())
    latest = (select(col(RegisterVersion.id), col(RegisterVersion.estate_id), col(RegisterVersion.number))
              .join(newest, (newest.c.estate_id == col(RegisterVersion.estate_id))
                    & (newest.c.number == col(RegisterVersion.number)))
              .subquery())
    owns = exists().where(col(Ownership.person_id) == col(OwnerCard.person_id),
                          col(Ownership.version_id) == latest.c.id)
    query = (select(OwnerCard, Person, latest.c.number).join(Person, col(Person.id) == col(OwnerCard.person_id))
             .join(latest, latest.c.estate_id == col(OwnerCard.estate_id))
             .where(col(OwnerCard.revoked_at).is_(None), ~owns).order_by(col(OwnerCard.id)))
    if estate_id is not None:
        query = query.where(col(OwnerCard.estate_id) == estate_id)
    return [(card, person, number) for card, person, number in session.execute(query)]


def waiting_for(session: Session, *, person: Person, now: datetime) -> list[Meeting]:
    """The meetings that keep this former owner's card working (for their home page)."""
    meetings = open_meetings(session, estate_ids=[person.estate_id]).get(person.estate_id, [])
    return keeping(session, meetings=meetings, person=person, now=now)


def on_register_version(session: Session, event: RegisterVersionApplied) -> None:
    """A register version was applied: end the cards of those it left owning nothing (a sale)."""
    end_former_owners(session, now=event.at, actor=audit_log.Actor(event.actor, event.role), estate_id=event.estate_id)


def end_former_owners(session: Session, *, now: datetime, actor: audit_log.Actor = audit_log.SYSTEM,
                      estate_id: int | None = None) -> list[OwnerCard]:
    """End the cards of people who are no longer owners of record, unless a meeting still keeps them
    (those wait for the ticker). Returns the cards ended."""
    candidates = former_owners(session, estate_id=estate_id)
    meetings = open_meetings(session, estate_ids=sorted({card.estate_id for card, _p, _n in candidates}))
    ended = []
    for card, person, version in candidates:
        if keeping(session, meetings=meetings.get(card.estate_id, []), person=person, now=now):
            continue
        end_card(session, card, reason=REASON, now=now)
        events.record(session, CARD_ENDED, estate_id=card.estate_id, subject=f"card:{card.id}", reason=REASON, at=now,
                      actor_pseudonym=actor.id[:24], actor_role=actor.role, owner=person.pseudonym,
                      card_number=card.number, register_version=version)
        audit_log.append(session, estate_id=card.estate_id, type=CARD_ENDED, actor=actor, at=now,
                         subject=f"card:{card.number}", owner=person.pseudonym, reason=REASON,
                         register_version=version)
        assert person.id is not None
        publish(session, CardEnded(estate_id=card.estate_id, at=now, actor=actor.id, role=actor.role,
                                   person_id=person.id, card_number=card.number, version=version))
        ended.append(card)
    return ended
