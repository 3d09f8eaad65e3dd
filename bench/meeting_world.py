"""What the voting benchmarks share: an estate of N single-owner units (one voting member each) and
a meeting with one ordinary motion whose voting is open on the frozen roll. Setup only, not timed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


def default_unit(serial: int) -> str:
    return f"{serial // 1000 + 1}-1-{serial % 1000 + 1}"


def register_rows(count: int, unit: Callable[[int], str] = default_unit) -> list:
    """`count` units of 88.50 ㎡, each held by its own owner (valid mainland identity numbers)."""
    from assembly import identity
    from assembly.register.rows import RegisterRow

    rows = []
    for serial in range(count):
        first17 = f"1101051980{serial:07d}"
        rows.append(RegisterRow(unit=unit(serial), registry=Decimal("88.50"), owner_name="业主",
                                id_number=first17 + identity.mainland_check_character(first17)))
    return rows


@dataclass
class OpenMeeting:
    estate: object
    meeting: object
    motion: object
    roll: dict  # member key -> (area, heads, units), as meetings.roll_members gives it


def open_meeting(session, *, rows: list, published: datetime, opened: datetime, closes_at: datetime,
                 code: str = "bench", paper_grace_days: int = 0) -> OpenMeeting:
    """Onboard the estate, apply the register, draft, publish and open a one-motion meeting."""
    from assembly.config import get_settings
    from assembly.permissions import Principal, Role
    from assembly.register import service
    from assembly.register.estates import onboard_estate
    from assembly.voting import meetings

    estate = onboard_estate(session, code=code, name="基准小区", district="基准区", street_office="基准街道",
                            community="基准社区", residents_committee="基准居委会")
    service.apply_register(session, estate=estate, rows=rows, reason="基准", evidence_ref="bench", actor="bench",
                           id_key=get_settings().id_hash_key)
    chair = Principal(kind="account", role=Role.COMMITTEE_CHAIR, estate_ids=frozenset({estate.id}), account_id=1,
                      pseudonym="bench-chair")
    meeting = meetings.create_meeting(
        session, estate=estate, principal=chair, title="基准会议", now=published,
        closes_at=closes_at() if callable(closes_at) else closes_at,
        motions=[meetings.MotionDraft(item=4, title="续聘物业", text="续聘三年")], paper_grace_days=paper_grace_days)
    meetings.publish(session, meeting=meeting, estate=estate, principal=chair, now=published)
    from assembly.voting import attachments, posting  # the notice posted in the estate too (Beijing Art. 35 ¶4)

    posting.record(session, meeting=meeting, principal=chair, place="基准小区公告栏", posted_at=published, now=published,
                   photo=attachments.check_upload(filename="p.png", content=b"\x89PNG\r\n\x1a\n" + b"0" * 64))
    meetings.open_voting(session, meeting=meeting, estate=estate, principal=chair, now=opened)
    (motion,) = meetings.motions_of(session, meeting=meeting)
    return OpenMeeting(estate, meeting, motion, meetings.roll_members(session, meeting=meeting))
