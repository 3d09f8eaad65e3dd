"""Builders for the meeting tests: an estate with a small register, a committee and owner principals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from assembly import identity
from assembly.config import get_settings
from assembly.models import utcnow
from assembly.permissions import Principal, Role
from assembly.register import service
from assembly.register.estates import onboard_estate
from assembly.register.models import Estate, Person
from assembly.register.rows import RegisterRow
from assembly.voting import attachments, meetings, posting
from assembly.voting.meetings import MotionDraft


def start_time() -> datetime:
    """Entry times must not go backwards: the register is logged at the real time, so the test
    clock starts after it (on a whole second)."""
    return (utcnow() + timedelta(seconds=1)).replace(microsecond=0)


def id_number(serial: int) -> str:
    first17 = f"11010519800101{serial:03d}"
    return first17 + identity.mainland_check_character(first17)


@dataclass
class Estate1:
    estate: Estate
    owners: dict[str, Person] = field(default_factory=dict)  # single, wife, husband, landlord, extraN
    chair: Principal | None = None
    member: Principal | None = None  # a second committee person (paper ballots need two)

    def owner(self, name: str) -> Principal:
        person = self.owners[name]
        return Principal(kind="owner", role=Role.OWNER, estate_ids=frozenset({self.estate.id}),
                         person_id=person.id, pseudonym=person.pseudonym, display_name=name)


def build_estate(session: Session, *, code: str = "vote", extra: int = 2) -> Estate1:
    estate = onboard_estate(
        session, code=code, name=f"{code} 小区", district=f"{code} 区", street_office=f"{code} 街道",
        community=f"{code} 社区", residents_committee=f"{code} 居委会",
    )
    people = {"single": id_number(1), "wife": id_number(20), "husband": id_number(21), "landlord": id_number(22)}
    rows = [
        RegisterRow(unit="1-1-101", registry=Decimal("89.50"), owner_name="王小明", id_number=people["single"]),
        RegisterRow(unit="1-1-102", survey=Decimal("120.25"), owner_name="李秀英", id_number=people["wife"]),
        RegisterRow(unit="1-1-102", survey=Decimal("120.25"), owner_name="张建国", id_number=people["husband"]),
        RegisterRow(unit="1-1-103", contract=Decimal("60"), owner_name="陈大文", id_number=people["landlord"]),
        RegisterRow(unit="1-1-104", registry=Decimal("61.5"), owner_name="陈大文", id_number=people["landlord"]),
        RegisterRow(unit="1-1-105", registry=Decimal("75"), developer=True, owner_name="开发商"),
    ]
    for index in range(extra):
        people[f"extra{index}"] = id_number(100 + index)
        rows.append(RegisterRow(unit=f"2-1-{101 + index}", registry=Decimal("50"), owner_name=f"业主{index}",
                                id_number=people[f"extra{index}"]))
    id_key = get_settings().id_hash_key
    service.apply_register(session, estate=estate, rows=rows, reason="测试名册", evidence_ref="test", actor="test",
                           id_key=id_key)
    world = Estate1(estate)
    for name, number in people.items():
        world.owners[name] = session.scalars(select(Person).where(
            Person.estate_id == estate.id, Person.id_hash == identity.id_hash(id_key, number))).one()
    world.chair = Principal(kind="account", role=Role.COMMITTEE_CHAIR, estate_ids=frozenset({estate.id}),
                            account_id=1, pseudonym="a-chair", display_name="主任")
    world.member = Principal(kind="account", role=Role.COMMITTEE_MEMBER, estate_ids=frozenset({estate.id}),
                             account_id=2, pseudonym="a-member", display_name="委员")
    return world


def draft_meeting(session: Session, world: Estate1, *, now: datetime, revote: str = "last", item: int = 4,
                  election: bool = False, paper_grace_days: int = 3):
    motions = [MotionDraft(item=item, title="续聘物业服务企业", text="续聘某物业公司三年。")]
    if election:
        motions.append(MotionDraft(item=3, title="选举业主委员会", text="选三名委员。", kind="election", seats=1,
                                   candidates=("c1", "c2")))
    return meetings.create_meeting(session, estate=world.estate, principal=world.chair, title="2026年第一次业主大会",
                                   closes_at=now + timedelta(days=30), motions=motions, now=now, revote=revote,
                                   paper_grace_days=paper_grace_days)


def estate_rules_publish_units(monkeypatch) -> None:
    """An estate whose rules adopted by the assembly provide for publishing each unit's choice: no
    estate's do until the platform holds the estate's rules (the city-law-and-rules issue), so the
    tests of what such a meeting publishes put the rules' answer in place by hand."""
    monkeypatch.setattr(meetings, "estate_rules_publish_units", lambda estate: True)


PHOTO = b"\x89PNG\r\n\x1a\n" + b"posted notice" * 8  # a PNG by its first bytes, as the upload check reads it


def post_notice(session: Session, world: Estate1, meeting, *, now: datetime):
    """The committee records the notice's posting in the estate (Beijing Art. 35 ¶4) at `now`."""
    return record_posting(session, meeting, world.chair, now=now)


def record_posting(session: Session, meeting, principal: Principal, *, now: datetime):
    photo = attachments.check_upload(filename="posting.png", content=PHOTO)
    return posting.record(session, meeting=meeting, principal=principal, place="各楼栋单元门厅公告栏", posted_at=now,
                          photo=photo, now=now)


def open_meeting(session: Session, world: Estate1, *, now: datetime, **options):
    """A meeting published at `now` and opened as soon as the notice period has run (the 15 days,
    and any rest days its last day falls on); returns (meeting, opened_at)."""
    meeting = draft_meeting(session, world, now=now, **options)
    meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=now)
    post_notice(session, world, meeting, now=now)
    opened = meetings.earliest_open(now)
    meetings.open_voting(session, meeting=meeting, estate=world.estate, principal=world.chair, now=opened)
    return meeting, opened


UTC_ = UTC
