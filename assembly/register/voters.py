"""Co-owners' voter 共有人推选投票人 (rules.md, "The register"): the co-owners of a voting member name
one voter among them; the others see the unit but cannot cast its ballot.

A co-owner proposes the voter (one of them); the designation takes effect when every co-owner of
record has agreed on the platform, or at once when the committee records it from the form all
co-owners signed (docs/decisions.md, "Co-owners' voter"). Nothing changes while a meeting whose
frozen roll holds the member is open (voting opened, result not yet announced). Keyword-only,
`now` passed in, never commits; every step is an audit entry naming pseudonyms only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from assembly.audit import store as audit_log
from assembly.auth.models import OwnerCard
from assembly.errors import Conflict, Forbidden, InvalidInput, NotFound
from assembly.events.bus import publish
from assembly.events.catalog import VoterChanged
from assembly.identity import mask_name
from assembly.localtime import month_day_time, stamp
from assembly.permissions import Action, Principal, check
from assembly.register.models import Estate, Ownership, Person, RollMember, Unit
from assembly.register.service import latest_version
from assembly.register.voter_models import IN_FORCE, PROPOSED, REPLACED, WITHDRAWN, VoterAgreement, VoterDesignation
from assembly.voting.models import Meeting

RULE = "共有人应推选一人投票，其他共有人不能再投这一票"


@dataclass
class CoOwnedMember:
    """A voting member of the latest register version with two or more owners of record."""

    key: str
    units: list[str]
    owners: list[Person]
    in_force: VoterDesignation | None = None
    pending: VoterDesignation | None = None
    agreed: set[int] = field(default_factory=set)  # who agreed to the pending proposal
    with_card: set[int] = field(default_factory=set)  # owners with an activated card in force
    blocked_by: Meeting | None = None

    def owner(self, person_id: int | None) -> Person | None:
        return next((person for person in self.owners if person.id == person_id), None)

    @property
    def voter(self) -> Person | None:
        return self.owner(self.in_force.voter_id) if self.in_force else None

    @property
    def proposed_voter(self) -> Person | None:
        return self.owner(self.pending.voter_id) if self.pending else None

    @property
    def missing(self) -> list[Person]:
        """The co-owners whose agreement the pending proposal still waits for."""
        return [person for person in self.owners if person.id not in self.agreed]


def _actor(principal: Principal) -> audit_log.Actor:
    ident = principal.pseudonym or (f"account-{principal.account_id}" if principal.account_id else "anonymous")
    return audit_log.Actor(ident, str(principal.role.value if principal.role else "anonymous"))


def members(session: Session, *, estate_id: int, person_id: int | None = None, unit: str | None = None,
            limit: int = 500) -> list[CoOwnedMember]:
    """The co-owned members of the estate's latest version (those of a person, or the one holding a unit)."""
    version = latest_version(session, estate_id=estate_id)
    if version is None:
        return []
    shared = (select(Ownership.unit_id).where(Ownership.version_id == version.id).group_by(Ownership.unit_id)
              .having(func.count() > 1))
    if person_id is not None:
        shared = shared.where(Ownership.unit_id.in_(select(Ownership.unit_id).where(
            Ownership.version_id == version.id, Ownership.person_id == person_id)))
    if unit is not None:
        units = select(Unit.id).where(Unit.estate_id == estate_id, Unit.code == unit)
        shared = shared.where(Ownership.unit_id.in_(units))
    rows = session.execute(select(Unit.code, Person).join(Ownership, Ownership.unit_id == Unit.id)
                           .join(Person, Person.id == Ownership.person_id)
                           .where(Ownership.version_id == version.id, Ownership.unit_id.in_(shared))
                           .order_by(Unit.code, Person.id))
    owners_of: dict[str, dict[int, Person]] = defaultdict(dict)
    for code, person in rows:
        owners_of[code][person.id] = person
    grouped: dict[str, CoOwnedMember] = {}
    for code, people in owners_of.items():
        key = "owners:" + "+".join(sorted(person.pseudonym for person in people.values()))
        member = grouped.setdefault(key, CoOwnedMember(key, [], list(people.values())))
        member.units.append(code)
    found = sorted(grouped.values(), key=lambda member: member.units[0])[:limit]
    _attach_state(session, estate_id=estate_id, found=found)
    return found


def _attach_state(session: Session, *, estate_id: int, found: list[CoOwnedMember]) -> None:
    if not found:
        return
    by_key = {member.key: member for member in found}
    designations = session.scalars(select(VoterDesignation).where(
        VoterDesignation.estate_id == estate_id, VoterDesignation.state.in_([PROPOSED, IN_FORCE]),
        VoterDesignation.member_key.in_(list(by_key))))
    for designation in designations:
        member = by_key[designation.member_key]
        if designation.state == IN_FORCE:
            member.in_force = designation
        else:
            member.pending = designation
            member.agreed = set(session.scalars(select(VoterAgreement.person_id).where(
                VoterAgreement.designation_id == designation.id)))
    people = [person.id for member in found for person in member.owners]
    carded = set(session.scalars(select(OwnerCard.person_id).where(
        OwnerCard.person_id.in_(people), OwnerCard.revoked_at.is_(None), OwnerCard.activated_at.is_not(None))))
    blocking = blocking_meetings(session, estate_id=estate_id, member_keys=list(by_key))
    for member in found:
        member.with_card = {person.id for person in member.owners} & carded
        member.blocked_by = blocking.get(member.key)


def blocking_meetings(session: Session, *, estate_id: int, member_keys: list[str]) -> dict[str, Meeting]:
    """Member → the open meeting (voting opened, result not announced) whose frozen roll holds it."""
    if not member_keys:
        return {}
    rows = session.execute(select(RollMember.member_key, Meeting)
                           .join(Meeting, Meeting.roll_snapshot_id == RollMember.snapshot_id)
                           .where(Meeting.estate_id == estate_id, Meeting.opens_at.is_not(None),
                                  Meeting.announced_at.is_(None), RollMember.member_key.in_(member_keys))
                           .order_by(Meeting.closes_at.desc()))
    found: dict[str, Meeting] = {}
    for key, meeting in rows:
        found.setdefault(key, meeting)
    return found


def _refuse_if_blocked(member: CoOwnedMember) -> None:
    meeting = member.blocked_by
    if meeting is not None:
        raise Conflict(
            f"会议“{meeting.title}”已冻结业主名册，投票截止于 {stamp(meeting.closes_at)}；在该会议的表决结果公告之前"
            f"不能更改投票人，公告之后即可更改。 / the voter cannot change while a meeting that froze this unit is open"
            f" (until its result is announced)", code="voter_locked_by_meeting")


def _member(session: Session, *, estate_id: int, unit: str) -> CoOwnedMember:
    found = members(session, estate_id=estate_id, unit=(unit or "").strip())
    if not found:
        raise InvalidInput("最新的业主名册中该房屋没有多位共有人，无需推选投票人 / this unit has no co-owners",
                           code="not_co_owned")
    return found[0]


def _voter(member: CoOwnedMember, pseudonym: str) -> Person:
    voter = next((person for person in member.owners if person.pseudonym == pseudonym), None)
    if voter is None:
        raise InvalidInput("投票人必须是该房屋的共有人之一 / the voter must be one of the co-owners", code="not_a_co_owner")
    return voter


def _lock_estate(session: Session, estate_id: int) -> None:
    """Designations of one estate take turns (PostgreSQL; SQLite's writers already do)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Estate.id).where(Estate.id == estate_id).with_for_update())


def _tell(session: Session, *, estate_id: int, member: CoOwnedMember, people: list[Person], notice: str,
          actor: audit_log.Actor, now: datetime, text: str) -> None:
    """The co-owners concerned are told (owner notices subscribe to VoterChanged)."""
    publish(session, VoterChanged(estate_id=estate_id, at=now, actor=actor.id, role=actor.role, member_key=member.key,
                                  notice=notice, recipients=tuple(person.id for person in people), text=text))


def _units(member: CoOwnedMember) -> str:
    return "、".join(member.units)


def propose(session: Session, *, principal: Principal, unit: str, voter: str, now: datetime) -> VoterDesignation:
    """A co-owner proposes the voter; their own agreement is part of the proposal."""
    estate_id = next(iter(principal.estate_ids), None) if principal.person_id else None
    check(principal, Action.VOTER_DESIGNATE, estate_id=estate_id)
    _lock_estate(session, estate_id)
    member = _member(session, estate_id=estate_id, unit=unit)
    proposer = member.owner(principal.person_id)
    if proposer is None:
        raise Forbidden("您不是该房屋的共有人 / you are not a co-owner of this unit", code="not_a_co_owner")
    chosen = _voter(member, voter)
    _refuse_if_blocked(member)
    if member.in_force is not None and member.in_force.voter_id == chosen.id:
        raise Conflict(f"{mask_name(chosen.name)} 已经是该房屋的投票人 / already the voter", code="already_voter")
    if member.pending is not None:  # a new proposal replaces the one waiting
        member.pending.state, member.pending.ended_at = REPLACED, now
    designation = VoterDesignation(estate_id=estate_id, member_key=member.key, voter_id=chosen.id, state=PROPOSED,
                                   proposed_by_id=proposer.id, proposed_at=now)
    session.add(designation)
    session.flush()
    session.add(VoterAgreement(designation_id=designation.id, person_id=proposer.id, agreed_at=now))
    session.flush()
    audit_log.append(session, estate_id=estate_id, type="voter.proposed", actor=_actor(principal), at=now,
                     member=member.key, voter=chosen.pseudonym, designation=designation.id)
    others = [person for person in member.owners if person.id != proposer.id]
    _tell(session, estate_id=estate_id, member=member, people=others, notice="voter.proposed", actor=_actor(principal),
          now=now, text=(
        f"共有人{mask_name(proposer.name)}于 {month_day_time(now)} 提议由{mask_name(chosen.name)}代表 "
        f"{_units(member)} 投票。请登录业主一卡通，在“共有人推选投票人”中同意或拒绝。"))
    return designation


def _pending(session: Session, *, principal: Principal, designation_id: int) -> tuple[VoterDesignation, CoOwnedMember]:
    check(principal, Action.VOTER_DESIGNATE)
    designation = session.get(VoterDesignation, designation_id)
    if designation is None or not principal.covers(designation.estate_id):
        raise NotFound("没有这项提议 / no such proposal", code="designation_not_found")
    _lock_estate(session, designation.estate_id)
    session.refresh(designation)  # as committed by whoever held the lock before us
    mine = {member.key: member for member in members(session, estate_id=designation.estate_id,
                                                     person_id=principal.person_id)}
    member = mine.get(designation.member_key)
    if member is None:
        raise NotFound("没有这项提议 / no such proposal", code="designation_not_found")
    if designation.state != PROPOSED:
        raise Conflict("这项提议已经生效、被撤回或被新的提议取代 / this proposal is no longer open",
                       code="designation_closed")
    return designation, member


def agree(session: Session, *, principal: Principal, designation_id: int, now: datetime) -> VoterDesignation:
    """A co-owner agrees; with the last co-owner's agreement the designation takes effect."""
    designation, member = _pending(session, principal=principal, designation_id=designation_id)
    _refuse_if_blocked(member)
    if principal.person_id in member.agreed:
        raise Conflict("您已经同意了这项提议 / you already agreed", code="already_agreed")
    session.add(VoterAgreement(designation_id=designation.id, person_id=principal.person_id, agreed_at=now))
    session.flush()
    member.agreed.add(principal.person_id)
    audit_log.append(session, estate_id=designation.estate_id, type="voter.agreed", actor=_actor(principal), at=now,
                     member=member.key, designation=designation.id)
    if not member.missing:
        _take_effect(session, designation=designation, member=member, basis="agreement", actor=_actor(principal),
                     now=now)
    return designation


def withdraw(session: Session, *, principal: Principal, designation_id: int, now: datetime) -> VoterDesignation:
    """Any co-owner may refuse (or the proposer withdraw) a proposal that has not taken effect."""
    designation, member = _pending(session, principal=principal, designation_id=designation_id)
    designation.state, designation.ended_at = WITHDRAWN, now
    session.flush()
    audit_log.append(session, estate_id=designation.estate_id, type="voter.withdrawn", actor=_actor(principal), at=now,
                     member=member.key, designation=designation.id)
    actor = member.owner(principal.person_id)
    _tell(session, estate_id=designation.estate_id, member=member,
          people=[p for p in member.owners if p.id != principal.person_id], notice="voter.withdrawn",
          actor=_actor(principal), now=now,
          text=f"共有人{mask_name(actor.name)}于 {month_day_time(now)} 拒绝或撤回了 {_units(member)} "
               f"投票人的提议；该房屋的投票人没有改变。")
    return designation


def record_form(session: Session, *, principal: Principal, estate: Estate, unit: str, voter: str, evidence_ref: str,
                now: datetime) -> VoterDesignation:
    """The committee records the designation from the form every co-owner signed; in force at once."""
    check(principal, Action.REGISTER_KEEP, estate_id=estate.id)
    evidence_ref = (evidence_ref or "").strip()
    if not evidence_ref or len(evidence_ref) > 200:
        raise InvalidInput("请填写共有人签字的书面指定的存档编号（200 字以内） / the signed form's reference is required",
                           code="evidence_required")
    _lock_estate(session, estate.id)
    member = _member(session, estate_id=estate.id, unit=unit)
    chosen = _voter(member, voter)
    _refuse_if_blocked(member)
    if member.pending is not None:
        member.pending.state, member.pending.ended_at = REPLACED, now
    designation = VoterDesignation(estate_id=estate.id, member_key=member.key, voter_id=chosen.id, state=PROPOSED,
                                   proposed_at=now, recorded_by=_actor(principal).id[:40], evidence_ref=evidence_ref)
    session.add(designation)
    session.flush()
    _take_effect(session, designation=designation, member=member, basis="form", actor=_actor(principal), now=now)
    return designation


def _take_effect(session: Session, *, designation: VoterDesignation, member: CoOwnedMember, basis: str,
                 actor: audit_log.Actor, now: datetime) -> None:
    if member.in_force is not None:
        member.in_force.state, member.in_force.ended_at = REPLACED, now
    designation.state, designation.basis, designation.in_force_at = IN_FORCE, basis, now
    session.flush()
    voter = member.owner(designation.voter_id)
    audit_log.append(session, estate_id=designation.estate_id, type="voter.designated", actor=actor, at=now,
                     member=member.key, voter=voter.pseudonym, designation=designation.id, basis=basis)
    how = "全体共有人已在平台上同意" if basis == "agreement" else "业主委员会已根据全体共有人签字的书面指定登记"
    _tell(session, estate_id=designation.estate_id, member=member, people=member.owners, notice="voter.designated",
          actor=actor, now=now, text=(f"{_units(member)} 的投票人自 {month_day_time(now)} 起为{mask_name(voter.name)}"
                                      f"（{how}）。其他共有人可以查看表决，但不能再投这一票。"))


# --- what casting asks -------------------------------------------------------------------------


def designated_voter(session: Session, *, estate_id: int, member_key: str) -> VoterDesignation | None:
    return session.scalars(select(VoterDesignation).where(
        VoterDesignation.estate_id == estate_id, VoterDesignation.member_key == member_key,
        VoterDesignation.state == IN_FORCE)).first()


def check_designated_voter(session: Session, *, estate_id: int, member_key: str, person_id: int | None) -> None:
    """Refuse a co-owner who is not the member's designated voter (no designation: any co-owner)."""
    designation = designated_voter(session, estate_id=estate_id, member_key=member_key)
    if designation is None or designation.voter_id == person_id:
        return
    voter = session.get(Person, designation.voter_id)
    raise Forbidden(f"该房屋的共有人已推选{mask_name(voter.name)}为投票人：{RULE}。如需更改，请在没有进行中的表决时"
                    f"由全体共有人重新推选。 / the co-owners named another co-owner as this unit's voter",
                    code="not_designated_voter")
