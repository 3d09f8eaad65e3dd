"""Printing 业主一卡通: a batch of cards issued (or reissued) at once, as two PDFs handed over once.

Residents'-committee and street-office staff pick owners of record; one request issues their cards
(a card in force is reissued: the old one stops working at once) and renders both documents — the
card sheet (QR codes) and the sealed activation slips. The plain tokens and activation codes exist
only inside those two PDFs, which wait for at most PICKUP_LIFETIME, for the staff member who made
them, and are handed over once each (assembly.auth.pickups: in the database, so any server process
hands them over, encrypted under a key only the download's token gives). Each handover is an audit entry (`cards.printed`, `slips.printed`: batch, card numbers,
count — never a token or code) in the transaction of the download.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from assembly import pdf
from assembly.audit import store as audit_log
from assembly.auth import cards
from assembly.auth.models import OwnerCard
from assembly.errors import AssemblyError, InvalidInput, NotFound
from assembly.identity import mask_name
from assembly.permissions import Action, Principal, check
from assembly.register import service as register
from assembly.register.models import Building, Community, Estate, Ownership, Person, Unit

MAX_BATCH = 100  # one request hashes one activation code per card with argon2id (~0.1 s each)
PICKUP_LIFETIME = timedelta(minutes=10)
CARDS, SLIPS = "cards", "slips"
CARDS_PRINTED, SLIPS_PRINTED = "cards.printed", "slips.printed"  # audit-log entry types
REPRINT_REASON = "reprinted"


class PickupGone(AssemblyError):
    status = 410
    code = "download_gone"


@dataclass(frozen=True)
class OwnerOfRecord:
    """A row of the print page: an owner of record, their units, and the card they hold (if any)."""

    person: Person
    units: tuple[str, ...]
    building: str
    card: OwnerCard | None

    @property
    def masked(self) -> str:
        return mask_name(self.person.name)


@dataclass(frozen=True)
class PrintBatch:
    batch: str
    estate_id: int
    numbers: tuple[str, ...]
    reissued: tuple[str, ...]  # numbers of the cards that stopped working because of this batch
    cards_pdf: bytes = field(repr=False)
    slips_pdf: bytes = field(repr=False)


def owners_of_record(session: Session, *, estate: Estate, building: str | None = None) -> list[OwnerOfRecord]:
    """The estate's owners of record in its latest register version, by first unit, with their cards."""
    version = register.latest_version(session, estate_id=estate.id)
    if version is None:
        return []
    query = (
        select(Person, Unit.code, Building.code)
        .join(Ownership, Ownership.person_id == Person.id)
        .join(Unit, Unit.id == Ownership.unit_id)
        .join(Building, Building.id == Unit.building_id)
        .where(Ownership.version_id == version.id, Person.estate_id == estate.id)
    )
    if building:
        query = query.where(Building.code == building)
    held: dict[int, tuple[Person, list[str], str]] = {}
    for person, unit, building_code in session.execute(query).all():
        entry = held.setdefault(person.id, (person, [], building_code))
        entry[1].append(unit)
    in_force = {
        card.person_id: card
        for card in session.scalars(
            select(OwnerCard).where(OwnerCard.estate_id == estate.id, OwnerCard.revoked_at.is_(None),
                                    OwnerCard.person_id.in_(list(held) or [-1]))
        )
    }
    rows = [
        OwnerOfRecord(person, tuple(sorted(units, key=_unit_order)), building_code, in_force.get(person.id))
        for person, units, building_code in held.values()
    ]
    return sorted(rows, key=lambda row: _unit_order(row.units[0]))


def buildings(session: Session, *, estate: Estate) -> list[str]:
    codes = session.scalars(select(Building.code).where(Building.estate_id == estate.id)).all()
    return sorted(codes, key=_unit_order)


def _unit_order(code: str) -> tuple:
    """1-1-101 before 1-1-1001 and 2-1-101: numbers compare as numbers."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in code.replace("-", " ").split())


def new_batch_id(now: datetime) -> str:
    return now.strftime("%Y%m%d") + "-" + secrets.token_hex(3).upper()


def print_cards(session: Session, *, estate: Estate, persons: list[Person], by: Principal, site_url: str,
                now: datetime, ip: str | None = None) -> PrintBatch:
    """Issue (or reissue) a card for each person and render the card sheet and the slips."""
    check(by, Action.CARD_ISSUE, estate_id=estate.id)
    if not persons:
        raise InvalidInput("请至少选择一位业主 / choose at least one owner", code="nobody_chosen")
    if len(persons) > MAX_BATCH:
        raise InvalidInput(
            f"一次最多打印 {MAX_BATCH} 张，请分批打印（可按楼栋筛选） / at most {MAX_BATCH} cards per batch",
            code="batch_too_large",
        )
    community = session.get(Community, estate.community_id)
    issuer = community.residents_committee if community else "社区居委会"
    batch = new_batch_id(now)
    faces, slips, numbers, replaced = [], [], [], []
    for person in persons:
        if person.estate_id != estate.id:
            raise NotFound("该小区没有这位业主 / no such owner in this estate", code="person_not_found")
        current = cards.active_card(session, person_id=person.id)
        if current is None:
            issued = cards.issue_card(session, person=person, issued_by=by, now=now, ip=ip)
        else:
            issued = cards.reissue_card(session, card=current, issued_by=by, now=now, ip=ip, reason=REPRINT_REASON)
            replaced.append(current.number)
        units = tuple(unit["code"] for unit in cards.owner_units(session, person=person))
        number = cards.format_number(issued.card.number)
        holder = mask_name(person.name)
        faces.append(pdf.CardFace(number, issued.url(site_url), holder, units, estate.name, issuer))
        slips.append(pdf.Slip(number, cards.format_activation_code(issued.activation_code), holder, units, estate.name,
                              issuer))
        numbers.append(issued.card.number)
    return PrintBatch(batch, estate.id, tuple(numbers), tuple(replaced), pdf.card_sheet(faces, batch=batch),
                      pdf.slip_sheet(slips, batch=batch))


def record_printed(session: Session, *, estate_id: int, kind: str, batch: str, numbers: tuple[str, ...],
                   reissued: tuple[str, ...], by: Principal, now: datetime) -> int:
    """The audit entry of one handover, in the caller's transaction; returns its index."""
    fields: dict[str, object] = {"batch": batch, "cards": list(numbers), "count": len(numbers)}
    if kind == CARDS:
        fields["reissued"] = list(reissued)
    return audit_log.append(
        session, estate_id=estate_id, type=CARDS_PRINTED if kind == CARDS else SLIPS_PRINTED,
        actor=audit_log.Actor(by.pseudonym or "unknown", by.role.value if by.role else "unknown"), at=now, **fields,
    )


# --- the handover: once each, to the one who printed, within minutes ------------------------------


@dataclass(frozen=True)
class Pickup:
    kind: str
    batch: str
    estate_id: int
    session_id: int | None
    numbers: tuple[str, ...]
    reissued: tuple[str, ...]
    expires_at: datetime
    document: bytes = field(repr=False)

    @property
    def filename(self) -> str:
        return f"{'owner-cards' if self.kind == CARDS else 'activation-slips'}-{self.batch}.pdf"
