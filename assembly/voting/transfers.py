"""A sale registered during voting moves the vote with it 表决权随登记转让移转 (民法典第二百七十三条
第二款; the transfer takes effect on registration, 第二百零九条、第二百一十四条; issue #24 item 4).

When a register version is applied while a meeting's voting is open, each member of the meeting's
frozen roll whose owners of record changed gets new holders from that moment: the buyers cast its
ballot, the sellers may not. The member's key, units, area and heads stay as frozen — no re-merging
mid-vote (docs/decisions.md, "A sale registered during voting"). The seller's earlier ballot stands
unless a later holder votes; then the later holder's ballot replaces it, whatever the revote rule
(ballots.superseded_by_transfer, the tally file's ballots and the verifier apply the same rule).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from assembly.audit import store as audit_log
from assembly.events.catalog import RegisterVersionApplied
from assembly.law.ballots import superseded_by_transfer
from assembly.register.models import Ownership, Person, RegisterVersion, RollMember, RollMemberUnit, Unit, UnitRecord
from assembly.voting.models import Ballot, Meeting, Motion
from assembly.voting.transfer_models import RollTransfer

TRANSFERRED = "roll.transferred"
OWNERS = "owners:"


def frozen_owners(member_key: str) -> frozenset[str]:
    """The owners' pseudonyms a frozen member key names (none for the developer's member)."""
    return frozenset(member_key.removeprefix(OWNERS).split("+")) if member_key.startswith(OWNERS) else frozenset()


@dataclass(frozen=True)
class Period:
    """Who held a member's vote from `start` (None: from the opening) until the next period."""

    start: datetime | None
    holders: frozenset[str]
    transfer: RollTransfer | None


@dataclass(frozen=True)
class Tenure:
    """One person's time as a holder of a member in a meeting: ballots cast in [since, until) are
    theirs. `ended_by` is the transfer that took the vote from them (the seller's case)."""

    since: datetime | None
    until: datetime | None
    ended_by: RollTransfer | None
    acquired_by: RollTransfer | None  # the transfer that gave them the vote (the buyer's case)

    def covers(self, moment: datetime) -> bool:
        return (self.since is None or moment >= self.since) and (self.until is None or moment < self.until)


def chains(session: Session, *, meeting_id: int, member_keys: list[str] | None = None) -> dict[str, list[RollTransfer]]:
    """member key → its transfers in the meeting, oldest first."""
    query = select(RollTransfer).where(col(RollTransfer.meeting_id) == meeting_id)
    if member_keys is not None:
        if not member_keys:
            return {}
        query = query.where(col(RollTransfer.member_key).in_(member_keys))
    found: dict[str, list[RollTransfer]] = defaultdict(list)
    for transfer in session.scalars(query.order_by(col(RollTransfer.registered_at), col(RollTransfer.id))):
        found[transfer.member_key].append(transfer)
    return dict(found)


def periods(member_key: str, chain: list[RollTransfer]) -> list[Period]:
    return [Period(None, frozen_owners(member_key), None),
            *(Period(transfer.registered_at, transfer.holder_set, transfer) for transfer in chain)]


def tenure(member_key: str, chain: list[RollTransfer], pseudonym: str) -> Tenure | None:
    """This person's tenure of the member, or None when they never held it in this meeting."""
    spans = periods(member_key, chain)
    mine = [index for index, period in enumerate(spans) if pseudonym in period.holders]
    if not pseudonym or not mine:
        return None
    after = mine[-1] + 1
    ended = spans[after] if after < len(spans) else None
    return Tenure(since=spans[mine[0]].start, until=ended.start if ended else None,
                  ended_by=ended.transfer if ended else None, acquired_by=spans[mine[0]].transfer)


def acquired_keys(session: Session, *, meeting_id: int, pseudonym: str) -> list[str]:
    """The members this person became a holder of by a transfer in the meeting."""
    if not pseudonym:
        return []
    rows = session.execute(select(col(RollTransfer.member_key), col(RollTransfer.holders)).where(
        col(RollTransfer.meeting_id) == meeting_id, col(RollTransfer.holders).contains(pseudonym)))
    return sorted({key for key, holders in rows if pseudonym in holders.split("+")})


def _voting_open(meeting: Meeting, now: datetime) -> bool:
    return meeting.opens_at is not None and meeting.closed_at is None and meeting.opens_at <= now < meeting.closes_at


def _owners_now(session: Session, version_id: int) -> tuple[dict[int, frozenset[str]], set[int]]:
    """unit id → owners' pseudonyms in the version, and the ids of its developer-held units."""
    owners: dict[int, set[str]] = defaultdict(set)
    for unit_id, pseudonym in session.execute(
            select(col(Ownership.unit_id), col(Person.pseudonym))
            .join(Person, col(Person.id) == col(Ownership.person_id))
            .where(col(Ownership.version_id) == version_id)):
        owners[unit_id].add(pseudonym)
    developer = set(session.scalars(select(col(UnitRecord.unit_id)).where(col(UnitRecord.version_id) == version_id,
                                                                          col(UnitRecord.developer).is_(True))))
    return {unit: frozenset(people) for unit, people in owners.items()}, developer


def next_holders(current: frozenset[str], owners_now: frozenset[str]) -> frozenset[str]:
    """Who holds a member's vote after a new register version: unchanged while a holder still owns
    one of its units (a part sold, or a co-owner's share bought by another: those who still own keep
    it, and a buyer of a part waits for the next meeting); the new owners once none of them does."""
    kept = current & owners_now
    return kept if kept else owners_now


def on_register_version(session: Session, event: RegisterVersionApplied) -> None:
    """A register version was applied: the sales it records during voting move members' votes."""
    version = session.scalars(select(RegisterVersion).where(col(RegisterVersion.estate_id) == event.estate_id,
                                                            col(RegisterVersion.number) == event.version)).one()
    record_transfers(session, estate_id=event.estate_id, version=version, actor=audit_log.Actor(event.actor, event.role),
                     now=event.at)


def record_transfers(session: Session, *, estate_id: int, version: RegisterVersion, actor: audit_log.Actor,
                     now: datetime) -> list[RollTransfer]:
    """The transfers a new register version makes in the estate's meetings whose voting is open:
    one `roll.transferred` entry and one row each. Units that went back to the developer or left
    the register move nothing (no one bought them; they keep counting in their frozen member)."""
    meetings = [meeting for meeting in session.scalars(select(Meeting).where(
        col(Meeting.estate_id) == estate_id, col(Meeting.roll_snapshot_id).is_not(None),
        col(Meeting.closed_at).is_(None))
        .order_by(col(Meeting.id))) if _voting_open(meeting, now)]
    if not meetings:
        return []
    assert version.id is not None
    owners_now, developer = _owners_now(session, version.id)
    made = []
    for meeting in meetings:
        assert meeting.id is not None
        units: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for key, unit_id, code in session.execute(
                select(col(RollMember.member_key), col(RollMemberUnit.unit_id), col(Unit.code))
                .join(RollMemberUnit, col(RollMemberUnit.member_id) == col(RollMember.id))
                .join(Unit, col(Unit.id) == col(RollMemberUnit.unit_id))
                .where(col(RollMember.snapshot_id) == meeting.roll_snapshot_id,
                       col(RollMember.member_key).startswith(OWNERS))):
            units[key].append((unit_id, code))
        known = chains(session, meeting_id=meeting.id)
        for key in sorted(units):
            held = units[key]
            if any(unit_id in developer or unit_id not in owners_now for unit_id, _code in held):
                continue
            chain = known.get(key, [])
            current = chain[-1].holder_set if chain else frozen_owners(key)
            new = next_holders(current, frozenset().union(*(owners_now[unit_id] for unit_id, _code in held)))
            if new == current:
                continue
            index = audit_log.append(
                session, estate_id=estate_id, type=TRANSFERRED, actor=actor, at=now,
                meeting=f"meeting-{meeting.id}",  # meetings.meeting_id(): that module imports the register
                member=key, units=sorted(code for _unit, code in held), register_version=version.number,
                before=sorted(current), after=sorted(new))
            transfer = RollTransfer(meeting_id=meeting.id, estate_id=estate_id, member_key=key, version_id=version.id,
                                    version_number=version.number, registered_at=now, holders="+".join(sorted(new)),
                                    entry_index=index)
            session.add(transfer)
            made.append(transfer)
    session.flush()
    return made


def superseded_entries(session: Session, *, motion: Motion) -> set[int]:
    """The `ballot.cast` entries of the motion a later holder's ballot replaced (not in the tally file)."""
    known = chains(session, meeting_id=motion.meeting_id)
    if not known:
        return set()
    rows = session.execute(select(col(Ballot.entry_index), col(Ballot.member_key), col(Ballot.cast_at)).where(
        col(Ballot.motion_id) == motion.id, col(Ballot.member_key).in_(list(known)))).all()
    moments = {key: [transfer.registered_at for transfer in chain] for key, chain in known.items()}
    aside = superseded_by_transfer([(key, when) for _entry, key, when in rows], moments)
    return {rows[index][0] for index in aside}
