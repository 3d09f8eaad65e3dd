"""A proxy's ballot 代理人投票: for a member whose confirmed authorisation names the proxy, with the
casting rules of assembly.voting.casting; the owner's own ballot beats the proxy's, whenever cast."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from assembly.audit import store as audit_log
from assembly.errors import Conflict, Forbidden
from assembly.permissions import Principal
from assembly.proxies.models import ProxyLogin
from assembly.proxies.standing import in_force
from assembly.register.models import Person, RollMember, RollMemberUnit, Unit
from assembly.voting import casting, meetings, transfers
from assembly.voting.models import Ballot, Meeting, Motion


def cast_as_proxy(session: Session, *, meeting: Meeting, motion: Motion, principal: Principal, member_key: str,
                  choice: str | list[str], idempotency_key: str, now: datetime) -> tuple[Ballot, bool]:
    """A proxy's ballot for a member whose confirmed authorisation names them (`by: "proxy"`; the
    entry's actor is the proxy, its member the represented member). Refused once the owner has voted:
    the owner's own ballot beats the proxy's, whenever cast."""
    casting.check_key(idempotency_key)
    if principal.proxy_id is None or principal.meeting_id != meeting.id:
        raise Forbidden("您的代理人登录不适用于这次会议 / your proxy login is for another meeting",
                        code="proxy_wrong_meeting")
    meeting = meetings.lock(session, meeting)
    earlier = casting.earlier_ballot(session, motion=motion, member_key=member_key, idempotency_key=idempotency_key, by="proxy")
    if earlier is not None:
        return earlier, False
    casting.check_open(meeting, motion, now)
    login = session.get(ProxyLogin, principal.proxy_id)
    if member_key not in {a.member_key for a in in_force(session, login=login)}:
        raise Forbidden("没有经业主委员会确认、仍然有效的授权委托让您代理这一表决权"
                        " / no confirmed authorisation in force names you for this member", code="proxy_not_confirmed")
    appointment = next(a for a in in_force(session, login=login) if a.member_key == member_key)
    chain = transfers.chains(session, meeting_id=meeting.id, member_keys=[member_key]).get(member_key, [])
    signer = session.get(Person, appointment.appointed_by_person) if chain else None
    if chain and (signer is None or signer.pseudonym not in chain[-1].holder_set):  # the signer sold: it lapsed
        raise Forbidden("被代理的房屋已经登记转让，签署授权委托的业主不再享有这一表决权，委托随之失效 / the unit was "
                        "sold: the owner who signed the authorisation no longer holds the vote, so it has lapsed",
                        code="proxy_lapsed_by_sale")
    units = sorted(session.scalars(
        select(Unit.code).join(RollMemberUnit, RollMemberUnit.unit_id == Unit.id)
        .join(RollMember, RollMember.id == RollMemberUnit.member_id)
        .where(RollMember.snapshot_id == meeting.roll_snapshot_id, RollMember.member_key == member_key)))
    if not units:
        raise Forbidden("被代理的表决权不在本次会议冻结的业主名册中（房屋可能已经转让），委托失效"
                        " / the member is not on the frozen roll: the authorisation has lapsed", code="not_on_roll")
    stored = casting.check_choice(motion, choice)
    if casting.has_voted(session, motion=motion, member_key=member_key, by=("owner", "paper")):
        raise Conflict("业主本人已经投票，以业主本人的投票为准，代理人不能再投 / the owner has voted; their ballot counts",
                       code="owner_voted")
    if meeting.revote == "first" and casting.has_voted(session, motion=motion, member_key=member_key, by=("proxy",)):
        raise Conflict("本次会议以第一次投票为准，您已经代其投过票 / already voted (first ballot counts)",
                       code="already_voted")
    return casting.record_ballot(session, meeting=meeting, motion=motion, actor=audit_log.Actor(principal.pseudonym, "proxy"),
                   member_key=member_key, unit=units[0], stored=stored, by="proxy", person_id=None,
                   idempotency_key=idempotency_key, now=now), True
