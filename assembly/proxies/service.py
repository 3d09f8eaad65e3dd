"""Proxies 代理人: an owner appoints a proxy for one meeting and one voting member with the signed
written authorisation; the committee confirms or rejects it after looking at the document; the
first confirmation issues the proxy's login code (assembly.proxies.login); the owner withdraws
the appointment until the proxy has voted for them. Keyword-only, `now` passed in, never commits.

A proxy person is the keyed hash of their identity number, per meeting; the meeting's
`proxy_limit` (rules.md `max_proxies`) caps how many members one proxy represents. Every step is
an audit entry naming the proxy by a keyed pseudonym and the document by its SHA-256 — never the
identity number, the name or the code.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session

from assembly import identity
from assembly.area import format_area
from assembly.errors import Conflict, Forbidden, InvalidInput, NotFound
from assembly.events.bus import publish
from assembly.events.catalog import ProxyAppointed
from assembly.permissions import Action, Principal, Role, check
from assembly.proxies import login as proxy_login
from assembly.proxies.models import ProxyAppointment, ProxyLogin
from assembly.proxies.standing import end_sessions, in_force, log_entry, proxy_principal  # noqa: F401 - the service's face
from assembly.register.models import Ownership, Person, Unit, UnitRecord
from assembly.register.service import latest_version
from assembly.register.voters import check_designated_voter  # co-owners appoint through their voter
from assembly.voting import casting, meetings
from assembly.voting.models import Ballot, Meeting, Motion

MAX_DOCUMENT = 5 * 1024 * 1024  # 5 MB: a phone photo or a scanned page
DOCUMENT_TYPES = {  # what the first bytes say, never what the file name or the browser claims
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
PENDING, CONFIRMED, REJECTED, WITHDRAWN = "pending", "confirmed", "rejected", "withdrawn"
STATUS_LABELS = {PENDING: "待业主委员会确认", CONFIRMED: "已确认", REJECTED: "未予确认", WITHDRAWN: "已撤回"}
APPOINTABLE = (meetings.NOTICE, meetings.OPEN)


def status(appointment: ProxyAppointment) -> str:
    if appointment.withdrawn_at is not None:
        return WITHDRAWN
    if appointment.rejected_at is not None:
        return REJECTED
    return CONFIRMED if appointment.confirmed_at is not None else PENDING


def proxy_pseudonym(id_key: str, *, meeting_id: int, id_hash: str) -> str:
    """What the log calls a proxy: keyed, per meeting (one proxy's ballots in one meeting share it;
    two meetings cannot be linked), `x` + 16 hex digits."""
    mac = hmac.new(id_key.encode(), f"proxy|{meeting_id}|{id_hash}".encode(), hashlib.sha256).hexdigest()
    return "x" + mac[:16]


def document_type(data: bytes) -> str:
    """The checked type of a signed authorisation, or InvalidInput with the reason."""
    if not data:
        raise InvalidInput("请上传签名的授权委托书（PDF、JPEG 或 PNG） / the signed authorisation is required",
                           code="document_required")
    if len(data) > MAX_DOCUMENT:
        raise InvalidInput("授权委托书文件不能超过 5 MB / the document may be at most 5 MB", code="document_too_large")
    for magic, kind in DOCUMENT_TYPES.items():
        if data.startswith(magic):
            return kind
    raise InvalidInput("授权委托书只能是 PDF、JPEG 或 PNG 文件 / only PDF, JPEG or PNG", code="document_type")


def clean_name(raw: str) -> str:
    name = " ".join(unicodedata.normalize("NFKC", raw or "").split())
    if not name or len(name) > 50 or any(unicodedata.category(c).startswith("C") for c in name):
        raise InvalidInput("请填写代理人姓名（不超过 50 字） / the proxy's name, at most 50 characters",
                           code="proxy_name_required")
    return name


# --- what an owner holds in the meeting --------------------------------------------------------


def owner_holdings(session: Session, *, meeting: Meeting, pseudonym: str) -> list[casting.Holding]:
    """The owner's voting members for this meeting: from the frozen roll once voting opened, before
    that from the latest register (an appointment whose member is not on the roll when it freezes
    lapses: the unit changed hands, the new owner appoints their own proxy)."""
    if meeting.roll_snapshot_id is not None:
        return casting.holdings(session, meeting=meeting, pseudonym=pseudonym)
    person = session.scalars(select(Person).where(Person.estate_id == meeting.estate_id,
                                                  Person.pseudonym == pseudonym)).first()
    version = latest_version(session, estate_id=meeting.estate_id)
    if person is None or version is None:
        return []
    mine = select(Ownership.unit_id).where(Ownership.version_id == version.id, Ownership.person_id == person.id)
    owners: dict[int, set[str]] = {}
    for unit_id, owner in session.execute(
        select(Ownership.unit_id, Person.pseudonym).join(Person, Person.id == Ownership.person_id)
        .where(Ownership.version_id == version.id, Ownership.unit_id.in_(mine))
    ):
        owners.setdefault(unit_id, set()).add(owner)
    members: dict[str, tuple[Decimal, list[str]]] = {}
    for unit_id, code, developer, *areas in session.execute(
        select(Unit.id, Unit.code, UnitRecord.developer, UnitRecord.area_registry, UnitRecord.area_survey,
               UnitRecord.area_contract).join(UnitRecord, UnitRecord.unit_id == Unit.id)
        .where(UnitRecord.version_id == version.id, Unit.id.in_(list(owners) or [-1]))
    ):
        if developer:
            continue
        area = next(a for a in areas if a is not None)
        key = "owners:" + "+".join(sorted(owners[unit_id]))
        held = members.setdefault(key, (Decimal(0), []))
        members[key] = (held[0] + area, held[1] + [code])
    return [casting.Holding(key, area, tuple(sorted(units))) for key, (area, units) in sorted(members.items())]


def _holding(session: Session, meeting: Meeting, principal: Principal, member_key: str) -> casting.Holding:
    if not member_key:
        raise InvalidInput("请选择要委托的表决权（房屋） / the member (unit) is required", code="member_required")
    held = {h.member_key: h for h in owner_holdings(session, meeting=meeting, pseudonym=principal.pseudonym or "")}
    if member_key not in held:
        raise Forbidden("您不是该表决权的业主，不能为其委托代理人 / you are not an owner of this member",
                        code="not_on_roll")
    return held[member_key]


# --- reading ----------------------------------------------------------------------------------


def appointments_of(session: Session, *, meeting: Meeting, member_keys: list[str] | None = None,
                    login: ProxyLogin | None = None) -> list[ProxyAppointment]:
    query = select(ProxyAppointment).where(ProxyAppointment.meeting_id == meeting.id)
    if member_keys is not None:
        query = query.where(ProxyAppointment.member_key.in_(member_keys or [""]))
    if login is not None:
        query = query.where(ProxyAppointment.proxy_login_id == login.id)
    return list(session.scalars(query.order_by(ProxyAppointment.appointed_at, ProxyAppointment.id)))


def get_appointment(session: Session, *, meeting: Meeting, appointment_id: int) -> ProxyAppointment:
    found = session.scalars(select(ProxyAppointment).where(ProxyAppointment.id == appointment_id,
                                                           ProxyAppointment.meeting_id == meeting.id)).first()
    if found is None:
        raise NotFound("本次会议没有这份授权委托 / no such authorisation in this meeting", code="proxy_not_found")
    return found


def get_login(session: Session, *, meeting: Meeting, login_id: int) -> ProxyLogin:
    found = session.scalars(select(ProxyLogin).where(ProxyLogin.id == login_id,
                                                     ProxyLogin.meeting_id == meeting.id)).first()
    if found is None:
        raise NotFound("本次会议没有这位代理人 / no such proxy in this meeting", code="proxy_not_found")
    return found


def _active(login: ProxyLogin, *, confirmed_only: bool):
    query = select(func.count(func.distinct(ProxyAppointment.member_key))).where(
        ProxyAppointment.proxy_login_id == login.id, ProxyAppointment.withdrawn_at.is_(None),
        ProxyAppointment.rejected_at.is_(None))
    return query.where(ProxyAppointment.confirmed_at.is_not(None)) if confirmed_only else query


def represented_count(session: Session, *, login: ProxyLogin, confirmed_only: bool = False) -> int:
    """How many members the proxy represents (pending or confirmed; withdrawn and rejected don't count)."""
    return session.scalar(_active(login, confirmed_only=confirmed_only)) or 0


def active_for_member(session: Session, *, meeting: Meeting, member_key: str) -> ProxyAppointment | None:
    return session.scalars(select(ProxyAppointment).where(
        ProxyAppointment.meeting_id == meeting.id, ProxyAppointment.member_key == member_key,
        ProxyAppointment.withdrawn_at.is_(None), ProxyAppointment.rejected_at.is_(None))).first()


def proxy_voted(session: Session, *, meeting: Meeting, member_key: str) -> Ballot | None:
    """The first ballot a proxy cast for this member in this meeting, if any."""
    return session.scalars(
        select(Ballot).join(Motion, Motion.id == Ballot.motion_id)
        .where(Motion.meeting_id == meeting.id, Ballot.member_key == member_key, Ballot.by == "proxy")
        .order_by(Ballot.cast_at, Ballot.entry_index)).first()




# --- the owner ----------------------------------------------------------------------------------


def appoint(session: Session, *, meeting: Meeting, principal: Principal, member_key: str, proxy_name: str,
            proxy_id_number: str, document: bytes, id_key: str, now: datetime) -> ProxyAppointment:
    """The owner appoints a proxy for one member, uploading the signed authorisation. Pending until
    the committee confirms it."""
    check(principal, Action.PROXY_APPOINT, estate_id=meeting.estate_id)
    if principal.role != Role.OWNER:
        raise Forbidden("只有业主本人可以委托代理人 / only an owner appoints a proxy", code="role_forbidden")
    meeting = meetings.lock(session, meeting)  # appointments of one meeting take turns: the limit holds
    stage = meetings.state(meeting, now)
    if stage == meetings.DRAFT:
        raise NotFound("本小区没有这次会议 / no such meeting in this estate", code="meeting_not_found")
    if stage not in APPOINTABLE:
        raise Conflict("投票已经截止，不能再委托代理人 / voting has closed", code="voting_closed")
    holding = _holding(session, meeting, principal, member_key)
    owner = session.scalars(select(Person).where(Person.estate_id == meeting.estate_id,
                                                 Person.pseudonym == principal.pseudonym)).one()
    check_designated_voter(session, estate_id=meeting.estate_id, member_key=member_key, person_id=owner.id)
    name = clean_name(proxy_name)
    try:
        number = identity.normalize_id_number(proxy_id_number)
    except identity.IdentityError as error:
        raise InvalidInput(f"代理人证件号码：{error}", code="invalid_id_number") from None
    kind = document_type(document)
    hashed = identity.id_hash(id_key, number)
    if hmac.compare_digest(hashed, owner.id_hash):
        raise InvalidInput("不能委托自己为代理人；您本人可以直接投票 / you cannot be your own proxy",
                           code="proxy_is_owner")
    earlier = active_for_member(session, meeting=meeting, member_key=member_key)
    if earlier is not None:
        raise Conflict("该表决权在本次会议已委托代理人，如需更换请先撤回原委托 / this member already has a proxy; "
                       "withdraw it first", code="proxy_exists")
    login = session.scalars(select(ProxyLogin).where(ProxyLogin.meeting_id == meeting.id,
                                                     ProxyLogin.id_hash == hashed)).first()
    if login is None:
        login = ProxyLogin(estate_id=meeting.estate_id, meeting_id=meeting.id, id_hash=hashed,
                           tail_hash=identity.id_tail_hash(id_key, number, full=hashed), name=name,
                           pseudonym=proxy_pseudonym(id_key, meeting_id=meeting.id, id_hash=hashed))
        session.add(login)
        session.flush()
    elif represented_count(session, login=login) >= meeting.proxy_limit:
        raise Conflict(f"该代理人在本次会议已受 {meeting.proxy_limit} 位业主委托，达到本次会议规定的上限"
                       f"（议事规则：每位代理人最多代理 {meeting.proxy_limit} 位业主），请另行委托他人"
                       f" / this proxy already represents {meeting.proxy_limit} owners, the meeting's limit",
                       code="proxy_limit")
    digest = hashlib.sha256(document).hexdigest()
    index = log_entry(session, meeting, "proxy.appointed", meetings.actor_of(principal), now, member=member_key,
                   proxy=login.pseudonym, document_sha256=digest)
    appointment = ProxyAppointment(
        estate_id=meeting.estate_id, meeting_id=meeting.id, member_key=member_key, units=",".join(holding.units),
        area=format_area(holding.area), appointed_by_person=owner.id, proxy_login_id=login.id, appointed_at=now,
        document=document, document_type=kind, document_sha256=digest, document_size=len(document),
        entry_index=index)
    session.add(appointment)
    session.flush()
    publish(session, ProxyAppointed(estate_id=meeting.estate_id, at=now, actor=owner.pseudonym, role="owner",
                                    meeting_id=meeting.id, appointment_id=appointment.id, proxy_name=name))
    return appointment


def withdraw(session: Session, *, meeting: Meeting, appointment: ProxyAppointment, principal: Principal,
             now: datetime) -> ProxyAppointment:
    """The owner withdraws the appointment — refused once the proxy has voted for them (their own
    ballot still beats the proxy's)."""
    check(principal, Action.PROXY_APPOINT, estate_id=meeting.estate_id)
    meeting = meetings.lock(session, meeting)  # a proxy's cast and the withdrawal take turns
    _holding(session, meeting, principal, appointment.member_key)
    session.refresh(appointment)
    if status(appointment) in (WITHDRAWN, REJECTED):
        raise Conflict("这份委托已撤回或未予确认 / this authorisation is no longer in force", code="proxy_not_active")
    if meetings.state(meeting, now) not in APPOINTABLE:
        raise Conflict("投票已经截止，委托不能再撤回 / voting has closed", code="voting_closed")
    voted = proxy_voted(session, meeting=meeting, member_key=appointment.member_key)
    if voted is not None:
        raise Conflict("代理人已经代您投票，委托不能再撤回；您本人投票将取代代理人的投票"
                       " / the proxy has voted for you: withdrawal is refused; your own ballot replaces theirs",
                       code="proxy_voted")
    appointment.withdrawn_at = now
    login = session.get(ProxyLogin, appointment.proxy_login_id)
    log_entry(session, meeting, "proxy.withdrawn", meetings.actor_of(principal), now, member=appointment.member_key,
           proxy=login.pseudonym, appointment=appointment.entry_index)
    session.flush()
    if represented_count(session, login=login, confirmed_only=True) == 0:
        end_sessions(session, login=login, now=now, reason="proxy_withdrawn")
    return appointment


# --- the committee ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    appointment: ProxyAppointment
    code: str | None = None  # the proxy's login code, in the clear this once (first confirmation)


def confirm(session: Session, *, meeting: Meeting, appointment: ProxyAppointment, principal: Principal,
            now: datetime) -> Decision:
    """The committee confirms the authorisation after looking at the signed document; the proxy's
    first confirmed authorisation in the meeting issues their login code."""
    check(principal, Action.PROXY_CONFIRM, estate_id=meeting.estate_id)
    meeting = meetings.lock(session, meeting)
    session.refresh(appointment)
    if status(appointment) != PENDING:
        raise Conflict(f"这份委托{STATUS_LABELS[status(appointment)]}，不能再确认 / already decided or withdrawn",
                       code="proxy_decided")
    if meetings.state(meeting, now) not in APPOINTABLE:
        raise Conflict("投票已经截止 / voting has closed", code="voting_closed")
    login = session.get(ProxyLogin, appointment.proxy_login_id)
    if represented_count(session, login=login, confirmed_only=True) >= meeting.proxy_limit:
        raise Conflict(f"该代理人已代理 {meeting.proxy_limit} 位业主，达到上限 / the proxy limit is reached",
                       code="proxy_limit")
    appointment.confirmed_at = now
    appointment.decided_by = meetings.actor_of(principal).id
    log_entry(session, meeting, "proxy.confirmed", meetings.actor_of(principal), now, member=appointment.member_key,
           proxy=login.pseudonym, appointment=appointment.entry_index, document_sha256=appointment.document_sha256)
    session.flush()
    code = proxy_login.issue_code(session, meeting=meeting, login=login, principal=principal, now=now) \
        if login.code_hash is None else None
    return Decision(appointment, code)


def reject(session: Session, *, meeting: Meeting, appointment: ProxyAppointment, principal: Principal, reason: str,
           now: datetime) -> ProxyAppointment:
    """Not confirmed, with the reason the owner reads (kept off the log: it may name people)."""
    check(principal, Action.PROXY_CONFIRM, estate_id=meeting.estate_id)
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > 500:
        raise InvalidInput("请写明不予确认的理由（不超过 500 字） / a reason of at most 500 characters",
                           code="reason_required")
    meeting = meetings.lock(session, meeting)
    session.refresh(appointment)
    if status(appointment) != PENDING:
        raise Conflict(f"这份委托{STATUS_LABELS[status(appointment)]}，不能再处理 / already decided or withdrawn",
                       code="proxy_decided")
    appointment.rejected_at = now
    appointment.decided_by = meetings.actor_of(principal).id
    appointment.reject_reason = reason
    login = session.get(ProxyLogin, appointment.proxy_login_id)
    log_entry(session, meeting, "proxy.rejected", meetings.actor_of(principal), now, member=appointment.member_key,
           proxy=login.pseudonym, appointment=appointment.entry_index)
    session.flush()
    return appointment




# --- the proxy ----------------------------------------------------------------------------------


def owner_name(session: Session, appointment: ProxyAppointment) -> str:
    """The name of the owner who signed the authorisation (pages show it masked)."""
    return session.get(Person, appointment.appointed_by_person).name
