"""Casting ballots 投票: one ballot per voting member per motion, by an owner of the member (any
co-owner while no voter is designated), the meeting's revote rule, idempotency keys, and a
`ballot.cast` entry holding only the commitment to the choice. Never commits.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from assembly.audit import store as audit_log
from assembly.audit.entries import ballot_commitment, format_time
from assembly.errors import Conflict, Forbidden, InvalidInput, NotFound
from assembly.events.bus import publish
from assembly.events.catalog import BallotCast
from assembly.law.ballots import CHOICES, choices_defect
from assembly.permissions import Principal
from assembly.register.models import RollMember, RollMemberUnit, Unit
from assembly.register.voters import check_designated_voter  # co-owners' voter (rules.md, "The register")
from assembly.voting import meetings, transfers
from assembly.voting.models import Ballot, Meeting, Motion
from assembly.voting.transfer_models import RollTransfer

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHOICE_LABELS = {"agree": "同意", "oppose": "反对", "abstain": "弃权"}
REVOTE_RULES = {
    "last": "投票截止前可以重新投票，以最后一次投票为准。",
    "first": "每个表决权只能投一次，以第一次投票为准，之后不能更改。",
}


@dataclass(frozen=True)
class Holding:
    """A voting member the owner belongs to, in a frozen roll: what one ballot carries. `tenure` says
    when the person held its vote when a sale registered during voting moved it (None: the whole
    time, as frozen)."""

    member_key: str
    area: Decimal
    units: tuple[str, ...]
    tenure: transfers.Tenure | None = None

    @property
    def sold(self) -> RollTransfer | None:
        """The transfer that took this member's vote from the person (they may no longer cast it)."""
        return self.tenure.ended_by if self.tenure else None

    @property
    def acquired(self) -> RollTransfer | None:
        """The transfer that gave the person this member's vote (they bought during voting)."""
        return self.tenure.acquired_by if self.tenure else None

    def covers(self, ballot: Ballot) -> bool:
        """Whether the ballot was cast while this person held the vote (theirs to see, not the
        seller's or the buyer's)."""
        return self.tenure is None or self.tenure.covers(ballot.cast_at)


def _member_rows(session: Session, *, meeting: Meeting, where) -> dict[str, tuple[Decimal, list[str]]]:
    rows = session.execute(
        select(col(RollMember.member_key), col(RollMember.area), col(Unit.code))
        .join(RollMemberUnit, col(RollMemberUnit.member_id) == col(RollMember.id))
        .join(Unit, col(Unit.id) == col(RollMemberUnit.unit_id))
        .where(col(RollMember.snapshot_id) == meeting.roll_snapshot_id, where))
    found: dict[str, tuple[Decimal, list[str]]] = {}
    for key, area, code in rows:
        found.setdefault(key, (area, []))[1].append(code)
    return found


def _holding(key: str, area: Decimal, units: list[str], chain: list[RollTransfer], pseudonym: str) -> Holding | None:
    if not chain:
        return Holding(key, area, tuple(sorted(units))) if pseudonym in transfers.frozen_owners(key) else None
    held = transfers.tenure(key, chain, pseudonym)
    return None if held is None else Holding(key, area, tuple(sorted(units)), held)


def holdings(session: Session, *, meeting: Meeting, pseudonym: str) -> list[Holding]:
    """The members of the meeting's frozen roll whose owners of record include this person (several
    units of the same owners are one member; units held with different co-owners are several), and
    those a sale registered during voting gave them; a member they sold during voting stays listed
    (their earlier ballot, receipt and objection), marked `sold`."""
    if meeting.roll_snapshot_id is None or not pseudonym:
        return []
    assert meeting.id is not None
    found = {key: value for key, value in _member_rows(
        session, meeting=meeting, where=col(RollMember.member_key).contains(pseudonym)).items()
        if pseudonym in transfers.frozen_owners(key)}
    bought = [key for key in transfers.acquired_keys(session, meeting_id=meeting.id, pseudonym=pseudonym)
              if key not in found]
    if bought:
        found |= _member_rows(session, meeting=meeting, where=col(RollMember.member_key).in_(bought))
    known = transfers.chains(session, meeting_id=meeting.id, member_keys=list(found))
    held = (_holding(key, area, units, known.get(key, []), pseudonym) for key, (area, units) in sorted(found.items()))
    return [holding for holding in held if holding is not None]


def holding_of(session: Session, *, meeting: Meeting, pseudonym: str, member_key: str) -> Holding | None:
    """The one member a ballot names, if this person is (or was, during this meeting's voting) among
    its holders: found through the unique (snapshot, member key) index, never by scanning the roll
    (a cast runs one at a time)."""
    if meeting.roll_snapshot_id is None or not pseudonym or not member_key.startswith("owners:"):
        return None
    assert meeting.id is not None
    chain = transfers.chains(session, meeting_id=meeting.id, member_keys=[member_key]).get(member_key, [])
    if pseudonym not in transfers.frozen_owners(member_key) and not any(pseudonym in t.holder_set for t in chain):
        return None
    found = _member_rows(session, meeting=meeting, where=RollMember.member_key == member_key)
    if member_key not in found:
        return None
    area, units = found[member_key]
    return _holding(member_key, area, units, chain, pseudonym)


def sold_during_voting(holding: Holding) -> Forbidden:
    """The seller's refusal: the sale's registration date, and what stands (issue #24 item 4)."""
    sold = holding.sold
    assert sold is not None  # asked only of a holding sold during voting
    day = sold.registered_at.astimezone(SHANGHAI)
    return Forbidden(
        f"{'、'.join(holding.units)} 已于 {day:%Y年%m月%d日} 登记转让（业主名册第 {sold.version_number} 版），"
        "自登记之日起由买受人行使表决权，您不能再为它投票；您此前投的票仍然有效，除非买受人投票"
        f"（民法典第二百七十三条第二款） / {', '.join(holding.units)} was sold, registered on {day:%Y-%m-%d} "
        f"(register version {sold.version_number}): from then on the buyer votes for it and you may not; "
        "your earlier ballot stands unless the buyer votes",
        code="sold_during_voting")


def ballot_object(motion: Motion, *, unit: str, choice: str | list[str], by: str) -> dict:
    """Exactly the tally file's ballot: {unit, choice | choices, by}."""
    if motion.kind == "election":
        return {"unit": unit, "choices": list(choice), "by": by}
    return {"unit": unit, "choice": choice, "by": by}


def stored_choice(motion: Motion, ballot: Ballot) -> str | list[str]:
    return json.loads(ballot.choice) if motion.kind == "election" else ballot.choice


def check_choice(motion: Motion, choice: str | list[str]) -> str:
    if motion.kind == "election":
        if isinstance(choice, str):
            choice = [choice] if choice else []
        candidates = json.loads(motion.candidates_json or "[]")
        if choices_defect(list(choice), candidates=frozenset(candidates), seats=motion.seats or 0):
            raise InvalidInput(f"最多选 {motion.seats} 人，且只能选候选人名单中的人 / invalid choices",
                               code="invalid_choices")
        return json.dumps(list(choice), ensure_ascii=False)
    if choice not in CHOICES:
        raise InvalidInput("请选择同意、反对或弃权 / choose agree, oppose or abstain", code="invalid_choice")
    return choice


def cast(session: Session, *, meeting: Meeting, motion: Motion, principal: Principal, member_key: str,
         choice: str | list[str], idempotency_key: str, now: datetime) -> tuple[Ballot, bool]:
    """Cast the owner's ballot for one member; returns (ballot, created). The same idempotency key
    returns the ballot it already made (a retry or a double click), whatever it says."""
    check_key(idempotency_key)
    meeting = meetings.lock(session, meeting)  # casts of one meeting take turns (then the audit sequencer)
    earlier = earlier_ballot(session, motion=motion, member_key=member_key, idempotency_key=idempotency_key, by="owner")
    if earlier is not None:
        return earlier, False
    check_open(meeting, motion, now)
    holding = holding_of(session, meeting=meeting, pseudonym=principal.pseudonym or "", member_key=member_key)
    if holding is None:
        raise Forbidden("您不在本次会议冻结的业主名册中，或不是该表决权的业主，不能投这一票"
                        " / you are not an owner of this member on the frozen roll", code="not_on_roll")
    if holding.sold is not None:
        raise sold_during_voting(holding)
    if holding.acquired is None:  # the sellers' designation does not bind the buyers
        check_designated_voter(session, estate_id=meeting.estate_id, member_key=member_key,
                               person_id=principal.person_id)
    stored = check_choice(motion, choice)
    # Under "first" only the owner's own earlier ballot binds them: a proxy's never does (it ranks lower);
    # nor does the seller's bind the buyer (their ballot replaces it: transfers.py).
    since = holding.tenure.since if holding.tenure else None
    if meeting.revote == "first" and has_voted(session, motion=motion, member_key=member_key, by=("owner", "paper"),
                                            since=since):
        raise Conflict("本次会议以第一次投票为准，您已经投过票，不能更改 / already voted (first ballot counts)",
                       code="already_voted")
    return record_ballot(session, meeting=meeting, motion=motion, actor=meetings.actor_of(principal), member_key=member_key,
                   unit=holding.units[0], stored=stored, by="owner", person_id=principal.person_id,
                   idempotency_key=idempotency_key, now=now), True


def check_key(idempotency_key: str) -> None:
    if not idempotency_key or len(idempotency_key) > 64:
        raise InvalidInput("请求缺少有效的防重复编号 / a request key of 1-64 characters is required",
                           code="idempotency_key_required")


def earlier_ballot(session: Session, *, motion: Motion, member_key: str, idempotency_key: str, by: str) -> Ballot | None:
    """The ballot this request key already made (a retry, a double click); a key another way of
    voting used for this member is refused, never answered with that ballot."""
    earlier = session.scalars(select(Ballot).where(col(Ballot.motion_id) == motion.id,
                                                   col(Ballot.member_key) == member_key,
                                                   col(Ballot.idempotency_key) == idempotency_key)).first()
    if earlier is not None and earlier.by != by:
        raise Conflict("这个防重复编号已被使用，请刷新页面后重试 / this request key is taken; reload and retry",
                       code="idempotency_key_taken")
    return earlier


def check_open(meeting: Meeting, motion: Motion, now: datetime) -> None:
    stage = meetings.state(meeting, now)
    if stage in (meetings.DRAFT, meetings.NOTICE):
        raise Conflict("投票尚未开始 / voting has not opened", code="voting_not_open")
    if stage != meetings.OPEN:
        raise Conflict("投票已经截止，不能再投票 / voting has closed", code="voting_closed")
    if motion.meeting_id != meeting.id:
        raise InvalidInput("议题不属于这次会议 / the motion is not of this meeting", code="motion_not_found")


def has_voted(session: Session, *, motion: Motion, member_key: str, by: tuple[str, ...],
           since: datetime | None = None) -> bool:
    query = select(col(Ballot.id)).where(col(Ballot.motion_id) == motion.id, col(Ballot.member_key) == member_key,
                                         col(Ballot.by).in_(by))
    if since is not None:
        query = query.where(col(Ballot.cast_at) >= since)
    return session.scalars(query).first() is not None


def record_ballot(session: Session, *, meeting: Meeting, motion: Motion, actor: audit_log.Actor, member_key: str,
            unit: str, stored: str, by: str, person_id: int | None, idempotency_key: str, now: datetime) -> Ballot:
    assert meeting.id is not None and motion.id is not None
    salt = secrets.token_bytes(32)
    body = ballot_object(motion, unit=unit, choice=json.loads(stored) if motion.kind == "election" else stored, by=by)
    commitment = ballot_commitment(salt, body)
    index = audit_log.append(session, estate_id=meeting.estate_id, type="ballot.cast", actor=actor, at=now,
                             motion=motion.public_id, member=member_key, by=by, commitment=commitment,
                             time=format_time(now))
    ballot = Ballot(motion_id=motion.id, estate_id=meeting.estate_id, member_key=member_key, unit=unit, by=by,
                    choice=stored, salt=salt, commitment=commitment, cast_at=now, cast_by_person=person_id,
                    entry_index=index, idempotency_key=idempotency_key)
    session.add(ballot)
    session.flush()
    assert ballot.id is not None
    publish(session, BallotCast(estate_id=meeting.estate_id, at=now, actor=actor.id, role=actor.role,
                                meeting_id=meeting.id, motion_id=motion.id, ballot_id=ballot.id))
    return ballot


def my_ballots(session: Session, *, motion: Motion, member_keys: list[str],
               held: list[Holding] | None = None) -> dict[str, Ballot]:
    """The latest ballot of each of these members on the motion (what the page says: voted or not);
    with `held`, only the ballots cast while the person held the member (a buyer does not see the
    seller's ballot as theirs, nor the seller the buyer's)."""
    if not member_keys:
        return {}
    rows = session.scalars(select(Ballot).where(col(Ballot.motion_id) == motion.id,
                                                col(Ballot.member_key).in_(member_keys))
                           .order_by(col(Ballot.cast_at), col(Ballot.entry_index)))
    tenure = {holding.member_key: holding for holding in held or []}
    latest: dict[str, Ballot] = {}
    for ballot in rows:
        holding = tenure.get(ballot.member_key)
        if holding is None or holding.covers(ballot):
            latest[ballot.member_key] = ballot
    return latest


def ballot_for_receipt(session: Session, *, motion: Motion, ballot_id: int, member_keys: list[str],
                       held: list[Holding] | None = None) -> Ballot:
    ballot = session.scalars(select(Ballot).where(col(Ballot.id) == ballot_id, col(Ballot.motion_id) == motion.id,
                                                  col(Ballot.member_key).in_(member_keys or [""]))).first()
    holding = next((h for h in held or [] if ballot is not None and h.member_key == ballot.member_key), None)
    if ballot is None or (holding is not None and not holding.covers(ballot)):
        raise NotFound("没有找到您的这张选票 / no such ballot of yours", code="ballot_not_found")
    return ballot
