"""业主一卡通 — owner cards: issue, reissue, revoke; activate with the sealed slip; log in with a PIN.

A card carries a number (read out over the phone, 12 digits: estate prefix, random part, Luhn check)
and a QR code of `{site_url}/c/{token}`. The token is random (160 bits) and only its SHA-256 is kept;
the one-time activation code (8 digits, on a separate sealed slip) and the PIN only as argon2id.
Cards are issued by the district's side — residents' committee or street office staff — never by
the owners' committee, whose members stand for election (京建法〔2011〕11号 三(四)).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from assembly.auth import events, hashing, throttle, tokens
from assembly.auth.errors import BadCredentials, CardNotFound, CardRevoked, Throttled
from assembly.auth.models import OwnerCard, SecurityEvent
from assembly.auth.sessions import revoke_all
from assembly.config import Settings
from assembly.errors import AssemblyError, Conflict, InvalidInput
from assembly.events.bus import publish
from assembly.events.catalog import CardActivated, PinChanged
from assembly.models import utcnow
from assembly.permissions import Action, Principal, check
from assembly.register import service as register
from assembly.register.models import Estate, Ownership, Person, Unit, UnitRecord

TAIL_RE = re.compile(r"^[0-9A-Z]{4}$")


@dataclass(frozen=True)
class IssuedCard:
    """A new card and its two secrets, in the clear this once (for printing), never again."""

    card: OwnerCard
    token: str
    activation_code: str

    def url(self, site_url: str) -> str:
        return card_url(site_url, self.token)


@dataclass(frozen=True)
class Attempt:
    card: OwnerCard
    error: AssemblyError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def card_url(site_url: str, token: str) -> str:
    return f"{site_url.rstrip('/')}/c/{token}"


def format_number(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def format_activation_code(code: str) -> str:
    return f"{code[:4]} {code[4:]}"


def luhn_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def _new_number(session: Session, estate_id: int) -> str:
    prefix = f"{estate_id % 10_000:04d}"
    for _ in range(20):
        body = prefix + f"{secrets.randbelow(10**7):07d}"
        number = body + luhn_digit(body)
        if session.scalars(select(OwnerCard.id).where(OwnerCard.number == number)).first() is None:
            return number
    raise Conflict("无法生成卡号，请重试 / could not pick a card number, try again", code="card_number")


def owner_units(session: Session, *, person: Person) -> list[dict]:
    """The units the person holds in the estate's latest register version, with areas and co-owners."""
    version = register.latest_version(session, estate_id=person.estate_id)
    if version is None:
        return []
    rows = session.execute(
        select(Unit.id, Unit.code, UnitRecord)
        .join(Ownership, Ownership.unit_id == Unit.id)
        .join(UnitRecord, (UnitRecord.unit_id == Unit.id) & (UnitRecord.version_id == Ownership.version_id))
        .where(Ownership.person_id == person.id, Ownership.version_id == version.id)
        .order_by(Unit.code)
    ).all()
    owners = dict(
        session.execute(
            select(Ownership.unit_id, func.count())
            .where(Ownership.version_id == version.id, Ownership.unit_id.in_([row[0] for row in rows] or [-1]))
            .group_by(Ownership.unit_id)
        ).all()
    )
    units = []
    for unit_id, code, record in rows:
        sources = (("registry", "不动产登记簿面积", record.area_registry), ("survey", "实测面积", record.area_survey),
                   ("contract", "合同面积", record.area_contract))
        source, label, area = next((s, lbl, a) for s, lbl, a in sources if a is not None)
        units.append({"code": code, "area": area, "area_source": source, "area_label": label,
                      "owners": owners.get(unit_id, 1), "version": version.number})
    return units


def is_owner_of_record(session: Session, *, person: Person) -> bool:
    return bool(owner_units(session, person=person))


def _issue(session: Session, *, person: Person, issued_by: Principal, now: datetime, replaces: OwnerCard | None) -> IssuedCard:
    token = tokens.new_card_token()
    code = hashing.generate_activation_code()
    card = OwnerCard(
        estate_id=person.estate_id,
        person_id=person.id,
        number=_new_number(session, person.estate_id),
        token_hash=tokens.sha256_hex(token),
        activation_hash=hashing.hash_secret(code),
        issued_at=now,
        issued_by_id=issued_by.account_id,
        replaces_id=replaces.id if replaces else None,
    )
    session.add(card)
    session.flush()
    return IssuedCard(card, token, code)


def active_card(session: Session, *, person_id: int) -> OwnerCard | None:
    return session.scalars(
        select(OwnerCard).where(OwnerCard.person_id == person_id, OwnerCard.revoked_at.is_(None))
    ).first()


def issue_card(session: Session, *, person: Person, issued_by: Principal, now: datetime | None = None,
               ip: str | None = None) -> IssuedCard:
    """A first card for an owner of record; the plain token and activation code are returned once."""
    now = now or utcnow()
    check(issued_by, Action.CARD_ISSUE, estate_id=person.estate_id)
    if not is_owner_of_record(session, person=person):
        raise InvalidInput("此人不是最新业主名册中的业主 / not an owner of record in the latest register",
                           code="not_owner_of_record")
    if active_card(session, person_id=person.id) is not None:
        raise Conflict("该业主已有有效的业主一卡通；遗失请补办 / this owner already has a card; reissue it instead",
                       code="card_exists")
    issued = _issue(session, person=person, issued_by=issued_by, now=now, replaces=None)
    events.record(
        session, events.CARD_ISSUED, estate_id=person.estate_id, subject=f"card:{issued.card.id}", ip=ip, at=now,
        actor_pseudonym=issued_by.pseudonym, actor_role=issued_by.role, owner=person.pseudonym,
        card_number=issued.card.number,
    )
    return issued


def end_card(session: Session, card: OwnerCard, *, reason: str, now: datetime) -> None:
    card.revoked_at = now
    card.revoked_reason = reason
    revoke_all(session, now=now, reason=f"card_{reason}", card_ids=[card.id])
    session.flush()


def reissue_card(session: Session, *, card: OwnerCard, issued_by: Principal, now: datetime | None = None,
                 reason: str = "reissued", ip: str | None = None) -> IssuedCard:
    """A new card for a lost or damaged one: the old token stops working at once."""
    now = now or utcnow()
    check(issued_by, Action.CARD_ISSUE, estate_id=card.estate_id)
    if card.revoked_at is not None:
        raise Conflict("此卡已作废，请补办其现行的卡 / this card is already revoked", code="card_revoked")
    person = session.get(Person, card.person_id)
    end_card(session, card, reason="reissued", now=now)
    issued = _issue(session, person=person, issued_by=issued_by, now=now, replaces=card)
    events.record(
        session, events.CARD_REISSUED, estate_id=card.estate_id, subject=f"card:{issued.card.id}", ip=ip, at=now,
        actor_pseudonym=issued_by.pseudonym, actor_role=issued_by.role, owner=person.pseudonym, reason=reason[:40],
        card_number=issued.card.number, replaces=card.number,
    )
    return issued


def revoke_card(session: Session, *, card: OwnerCard, by: Principal, reason: str = "revoked",
                now: datetime | None = None, ip: str | None = None) -> None:
    """End a card (lost without a replacement yet, owner no longer of record); its sessions end too."""
    now = now or utcnow()
    check(by, Action.CARD_ISSUE, estate_id=card.estate_id)
    if card.revoked_at is not None:
        return
    end_card(session, card, reason="revoked", now=now)
    person = session.get(Person, card.person_id)
    events.record(
        session, events.CARD_REVOKED, estate_id=card.estate_id, subject=f"card:{card.id}", ip=ip, at=now,
        actor_pseudonym=by.pseudonym, actor_role=by.role, owner=person.pseudonym, reason=reason[:40],
        card_number=card.number,
    )


def card_by_token(session: Session, token: str) -> OwnerCard:
    """The card a QR code names; CardNotFound for anything unknown, CardRevoked for an old card."""
    if not tokens.looks_like_card_token(token):
        raise CardNotFound("二维码无效：找不到这张业主一卡通 / this card is not known")
    card = session.scalars(select(OwnerCard).where(OwnerCard.token_hash == tokens.sha256_hex(token))).first()
    if card is None:
        raise CardNotFound("二维码无效：找不到这张业主一卡通 / this card is not known")
    if card.revoked_at is not None:
        raise CardRevoked(
            "这张业主一卡通已作废（已补办新卡或已注销）。请使用新卡，或联系社区居委会。"
            " / this card has been replaced or revoked",
        )
    return card


def card_by_number(session: Session, *, estate: Estate, number: str) -> OwnerCard:
    number = re.sub(r"\s", "", number or "")
    card = session.scalars(select(OwnerCard).where(OwnerCard.number == number, OwnerCard.estate_id == estate.id)).first()
    if card is None:
        raise CardNotFound("该小区没有这个卡号 / no such card number in this estate")
    return card


# --- on the phone --------------------------------------------------------------------------------

def normalize_tail(raw: str) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", raw or "")).upper()


def tail_matches(person: Person, tail: str, *, id_key: str) -> bool:
    """The last four characters of the identity number, against the keyed hash (identity.id_tail_hash)."""
    expected = hmac.new(id_key.encode(), f"tail|{person.id_hash}|{tail}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, person.id_tail_hash)


def _keys(card: OwnerCard, ip: str | None) -> list[tuple[str, str]]:
    return [(throttle.CARD, str(card.id)), (throttle.IP, throttle.ip_key(ip))]


def _refused(session: Session, card: OwnerCard, ip: str | None, now: datetime) -> Throttled | None:
    wait = max(throttle.wait_seconds(session, kind, key, now=now) for kind, key in _keys(card, ip))
    return Throttled(throttle.wait_message(wait), retry_after=wait) if wait else None


def _fail(session: Session, card: OwnerCard, *, ip: str | None, now: datetime, reason: str, message: str) -> Attempt:
    delay = 0
    for kind, key in _keys(card, ip):
        count, seconds = throttle.register_failure(session, kind, key, now=now)
        if seconds:
            events.record(
                session, events.LOGIN_THROTTLED, estate_id=card.estate_id,
                subject=f"card:{card.id}" if kind == throttle.CARD else None, ip=ip, reason=kind, at=now,
                failures=count, delay_seconds=seconds,
            )
        delay = max(delay, seconds)
    events.record(session, events.LOGIN_FAILED, estate_id=card.estate_id, subject=f"card:{card.id}", ip=ip,
                  reason=reason, at=now, method="card", actor_role="owner")
    if delay:
        message = throttle.with_wait(message, delay)
    return Attempt(card, BadCredentials(message, code=reason))


BAD_ACTIVATION = "激活码或身份证号后四位不正确 / wrong activation code or identity-number ending"
BAD_PIN = "PIN 不正确 / wrong PIN"


def check_activation(session: Session, *, settings: Settings, card: OwnerCard, activation_code: str, id_tail: str,
                     ip: str | None, now: datetime) -> Attempt:
    """First scan: the code from the sealed slip and the identity number's last four characters."""
    if card.activated_at is not None:
        return Attempt(card, Conflict("这张卡已激活，请输入 PIN / this card is already activated", code="card_activated"))
    refused = _refused(session, card, ip, now)
    if refused:
        return Attempt(card, refused)
    code = hashing.normalize_digits(activation_code)
    tail = normalize_tail(id_tail)
    # Both are always checked, and the answer never says which was wrong.
    code_ok = hashing.verify_secret(card.activation_hash, code) if code.isdigit() else hashing.verify_secret(None, "x")
    person = session.get(Person, card.person_id)
    tail_ok = bool(TAIL_RE.fullmatch(tail)) and tail_matches(person, tail, id_key=settings.id_hash_key)
    if not (code_ok and tail_ok):
        return _fail(session, card, ip=ip, now=now, reason="bad_activation", message=BAD_ACTIVATION)
    throttle.clear(session, throttle.CARD, str(card.id))
    return Attempt(card)


def set_first_pin(session: Session, *, card: OwnerCard, pin: str, ip: str | None, now: datetime) -> Attempt:
    """Completes activation: the PIN is set and the activation code can never be used again."""
    if card.activated_at is not None:
        return Attempt(card, Conflict("这张卡已激活 / this card is already activated", code="card_activated"))
    pin = hashing.normalize_digits(pin)
    problem = hashing.pin_problem(pin)
    if problem:
        return Attempt(card, InvalidInput(problem, code="weak_pin"))
    card.pin_hash = hashing.hash_secret(pin)
    card.activation_hash = None
    card.activated_at = card.pin_changed_at = now
    person = session.get(Person, card.person_id)
    events.record(session, events.CARD_ACTIVATED, estate_id=card.estate_id, subject=f"card:{card.id}", ip=ip, at=now,
                  actor_pseudonym=person.pseudonym, actor_role="owner", card_number=card.number)
    publish(session, CardActivated(estate_id=card.estate_id, at=now, actor=person.pseudonym, role="owner",
                                   person_id=person.id, card_number=card.number))
    return Attempt(card)


def check_pin(session: Session, *, card: OwnerCard, pin: str, ip: str | None, now: datetime) -> Attempt:
    """Later scans: the PIN, slowed down per card and per IP after failures."""
    if card.activated_at is None or card.pin_hash is None:
        return Attempt(card, Conflict("这张卡尚未激活 / this card is not activated yet", code="card_not_activated"))
    refused = _refused(session, card, ip, now)
    if refused:
        return Attempt(card, refused)
    pin = hashing.normalize_digits(pin)
    if not hashing.verify_secret(card.pin_hash, pin if pin.isdigit() else "-"):
        return _fail(session, card, ip=ip, now=now, reason="bad_pin", message=BAD_PIN)
    if hashing.needs_rehash(card.pin_hash):
        card.pin_hash = hashing.hash_secret(pin)
    throttle.clear(session, throttle.CARD, str(card.id))
    return Attempt(card)


def change_pin(session: Session, *, card: OwnerCard, current: str, new: str, ip: str | None, now: datetime) -> Attempt:
    attempt = check_pin(session, card=card, pin=current, ip=ip, now=now)
    if not attempt.ok:
        return attempt
    new = hashing.normalize_digits(new)
    problem = hashing.pin_problem(new)
    if problem:
        return Attempt(card, InvalidInput(problem, code="weak_pin"))
    card.pin_hash = hashing.hash_secret(new)
    card.pin_changed_at = now
    person = session.get(Person, card.person_id)
    events.record(session, events.CARD_PIN_CHANGED, estate_id=card.estate_id, subject=f"card:{card.id}", ip=ip, at=now,
                  actor_pseudonym=person.pseudonym, actor_role="owner")
    publish(session, PinChanged(estate_id=card.estate_id, at=now, actor=person.pseudonym, role="owner",
                                person_id=person.id, card_number=card.number))
    return Attempt(card)


def record_login(session: Session, *, card: OwnerCard, ip: str | None, now: datetime, method: str) -> None:
    card.last_login_at = now
    person = session.get(Person, card.person_id)
    events.record(session, events.LOGIN_SUCCEEDED, estate_id=card.estate_id, subject=f"card:{card.id}", ip=ip, at=now,
                  method=method, actor_pseudonym=person.pseudonym, actor_role="owner")


def recent_failures(session: Session, *, card: OwnerCard, now: datetime, days: int = 30) -> list[SecurityEvent]:
    """Wrong PINs and codes against this card lately — shown to the owner after login."""
    return list(
        session.scalars(
            select(SecurityEvent)
            .where(SecurityEvent.subject == f"card:{card.id}", SecurityEvent.type == events.LOGIN_FAILED,
                   SecurityEvent.at >= now - timedelta(days=days))
            .order_by(SecurityEvent.at.desc())
        ).all()
    )
