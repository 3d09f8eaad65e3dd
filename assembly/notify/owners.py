"""Owner notices 业主提醒: "the owner is told of every activation, PIN change and ballot through the
contact on file" (issue #3). A notice is created in the caller's transaction, with the event it
tells of; it never holds a secret or a ballot's choice. Shown on the owner's home page, newest
first; when the operator configures a message gateway, a notice to send is queued in the outbox
(assembly.notify.gateway).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from assembly.config import get_settings
from assembly.identity import mask_name, mask_phone
from assembly.localtime import month_day_time
from assembly.notify import gateway
from assembly.notify.owner_models import DELIVERED, NO_CONTACT, PAGE, PENDING, OwnerNotice
from assembly.register.models import Community, Estate, Person
from assembly.web.i18n import N_

SHANGHAI = ZoneInfo("Asia/Shanghai")
EVENTS = {
    "card.activated": N_("业主一卡通激活"),
    "card.pin_changed": N_("PIN 修改"),
    "card.ended": N_("业主一卡通停用"),
    "ballot.cast": N_("投票"),
    "proxy.appointed": N_("委托代理人"),
    "voter.proposed": N_("共有人提议投票人"),
    "voter.designated": N_("投票人已确定"),
    "voter.withdrawn": N_("投票人提议撤回"),
}
DELIVERY_LABELS = {
    PAGE: N_("仅在本页显示（平台未配置短信网关）"),
    NO_CONTACT: N_("仅在本页显示（名册中没有您的手机号）"),
    PENDING: N_("正在发送短信"),
    DELIVERED: N_("已发送短信"),
}


def gateway_configured(settings) -> bool:
    return bool(getattr(settings, "sms_gateway_url", None))


def _settings():
    return get_settings()


def when(moment: datetime) -> str:
    """11月24日 10:02 (Asia/Shanghai), as the notices say it."""
    return month_day_time(moment)


def committee_contact(session: Session, estate: Estate) -> str:
    return estate.committee_contact or "业主委员会"


def residents_committee(session: Session, estate: Estate) -> str:
    community = session.get(Community, estate.community_id)
    return community.residents_committee if community else "社区居委会"


def tell(session: Session, *, person: Person, event: str, text: str, now: datetime,
         settings=None) -> OwnerNotice:
    """One notice to one owner, in the caller's transaction; queued for the gateway when there is one."""
    if event not in EVENTS:
        raise ValueError(f"unknown owner notice event {event!r}")
    settings = settings or _settings()
    if not gateway_configured(settings):
        delivery = PAGE
    elif not person.phone:
        delivery = NO_CONTACT
    else:
        delivery = PENDING
    notice = OwnerNotice(estate_id=person.estate_id, person_id=person.id, event=event, text=text, created_at=now,
                         delivery=delivery)
    session.add(notice)
    session.flush()
    if delivery == PENDING:
        gateway.queue(session, notice=notice, now=now)
    return notice


def _card_tail(number: str) -> str:
    return number[-4:]


def card_activated(session: Session, *, person: Person, card_number: str, now: datetime) -> OwnerNotice:
    estate = session.get(Estate, person.estate_id)
    text = (f"您的业主一卡通（尾号 {_card_tail(card_number)}）于 {when(now)} 激活。"
            f"如非本人操作，请立即联系{residents_committee(session, estate)}挂失补办。")
    return tell(session, person=person, event="card.activated", text=text, now=now)


def pin_changed(session: Session, *, person: Person, card_number: str, now: datetime) -> OwnerNotice:
    estate = session.get(Estate, person.estate_id)
    text = (f"您的业主一卡通（尾号 {_card_tail(card_number)}）的 PIN 于 {when(now)} 被修改。"
            f"如非本人操作，请立即联系{residents_committee(session, estate)}挂失补办。")
    return tell(session, person=person, event="card.pin_changed", text=text, now=now)


def card_ended(session: Session, *, person: Person, card_number: str, version: int, now: datetime) -> OwnerNotice:
    estate = session.get(Estate, person.estate_id)
    text = (f"您已不是{estate.name}业主名册（第 {version} 版）中的业主，您的业主一卡通（尾号 "
            f"{_card_tail(card_number)}）于 {when(now)} 停用。如有疑问，请联系{residents_committee(session, estate)}。")
    return tell(session, person=person, event="card.ended", text=text, now=now)


def _owners_of(session: Session, member_key: str) -> list[Person]:
    pseudonyms = member_key.removeprefix("owners:").split("+") if member_key.startswith("owners:") else []
    if not pseudonyms:
        return []
    return list(session.scalars(select(Person).where(Person.pseudonym.in_(pseudonyms)).order_by(Person.id)))


def ballot_cast(session: Session, *, meeting, motion, ballot, now: datetime) -> list[OwnerNotice]:
    """Every owner of the member is told that its ballot was cast, when, for which unit and motion —
    never the choice. Whoever cast it reads 您; a co-owner or the owner a proxy represents reads who."""
    estate = session.get(Estate, meeting.estate_id)
    contact = committee_contact(session, estate)
    actor = session.get(Person, ballot.cast_by_person) if ballot.cast_by_person else None
    notices = []
    for owner in _owners_of(session, ballot.member_key):
        if actor is not None and actor.id == owner.id:
            who = "您"
        elif ballot.by == "proxy":
            who = "您的代理人"
        else:
            who = f"共有人{mask_name(actor.name)}" if actor is not None else "有人"
        text = (f"{who}于 {when(now)} 为 {ballot.unit} 投票（{meeting.title}，议题 {motion.position}）。"
                f"如非本人操作，请联系业主委员会：{contact}")
        notices.append(tell(session, person=owner, event="ballot.cast", text=text, now=now))
    return notices


def proxy_appointed(session: Session, *, meeting, appointment, proxy_name: str, now: datetime) -> list[OwnerNotice]:
    """Every owner of the member is told that a proxy was appointed for it (pending the committee)."""
    estate = session.get(Estate, meeting.estate_id)
    actor = session.get(Person, appointment.appointed_by_person)
    notices = []
    for owner in _owners_of(session, appointment.member_key):
        who = "您" if actor is not None and actor.id == owner.id else f"共有人{mask_name(actor.name) if actor else ''}"
        text = (f"{who}于 {when(now)} 在“{meeting.title}”中为 {appointment.units.replace(',', '、')} 委托了代理人"
                f"{mask_name(proxy_name)}，经业主委员会确认后生效。如非本人操作，请联系业主委员会："
                f"{committee_contact(session, estate)}")
        notices.append(tell(session, person=owner, event="proxy.appointed", text=text, now=now))
    return notices


def to_people(session: Session, *, people: Iterable[Person], event: str, text: str, now: datetime) -> list[OwnerNotice]:
    return [tell(session, person=person, event=event, text=text, now=now) for person in people]


def notices_of(session: Session, *, person_id: int, limit: int = 30) -> list[OwnerNotice]:
    """The owner's notices, newest first."""
    return list(session.scalars(select(OwnerNotice).where(OwnerNotice.person_id == person_id)
                                .order_by(OwnerNotice.created_at.desc(), OwnerNotice.id.desc()).limit(limit)))


def delivery(notice: OwnerNotice, person: Person | None = None) -> dict:
    """How a notice reached (or will reach) the owner, for the page: a label from DELIVERY_LABELS,
    the masked phone it goes to, and the attempts so far."""
    sent = notice.delivery in (PENDING, DELIVERED) and person is not None and person.phone
    return {"label": DELIVERY_LABELS.get(notice.delivery, notice.delivery),
            "phone": mask_phone(person.phone) if sent else "",
            "attempts": notice.attempts if notice.delivery == PENDING else 0}


def as_json(notice: OwnerNotice) -> dict:
    return {"id": notice.id, "event": notice.event, "label": EVENTS[notice.event], "text": notice.text,
            "created_at": notice.created_at.isoformat(), "delivery": notice.delivery,
            "delivered_at": notice.delivered_at.isoformat() if notice.delivered_at else None}
