"""Paper ballots on a phone, against the real server with the demo estate and a hand-moved clock:
after close the chair enters a sheet with its scan, a committee member confirms it from the scan
(never shown the chair's choice), an observer watches the entry, and the chair declares paper entry
finished, which counts and announces."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import timedelta

from sqlalchemy import select

from assembly.db import unit_of_work
from assembly.voting import meetings
from assembly.voting.models import Ballot, Meeting

from .conftest import open_page
from .world import staff_login


def _png(width: int = 60, height: int = 80) -> bytes:
    """A real (grey) PNG, so that the browser draws the scan."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([200]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = _png()


def _non_voter_unit(engine, meeting_id: int) -> str:
    """A unit of an owners' member of the roll that has not voted online."""
    with unit_of_work(engine) as session:
        meeting = session.get(Meeting, meeting_id)
        (motion,) = meetings.motions_of(session, meeting=meeting)
        voted = set(session.scalars(select(Ballot.member_key).where(Ballot.motion_id == motion.id)))
        roll = meetings.roll_members(session, meeting=meeting)
        return next(units[0] for key, (_area, _heads, units) in roll.items()
                    if key.startswith("owners:") and key not in voted)


def test_two_committee_people_enter_and_confirm_a_paper_ballot_then_announce(live_server, demo_engine, demo_logins,
                                                                             world, clock, chromium, screenshot):
    base = live_server.url
    meeting_url = world.meeting_url(base, world.voting)
    unit = _non_voter_unit(demo_engine, world.voting)
    with unit_of_work(demo_engine) as session:
        opened, closes = session.get(Meeting, world.voting).opens_at, session.get(Meeting, world.voting).closes_at
    handed_in = (opened + timedelta(hours=2)).astimezone(meetings.SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    clock.now = closes + timedelta(hours=1)  # past closes_at: electronic voting has ended, paper entry runs 3 days
    chair_context, chair = open_page(chromium)
    member_context, member = open_page(chromium)
    try:
        staff_login(chair, base, "demo-chair", demo_logins["demo-chair"])
        chair.goto(meeting_url)
        assert chair.locator("#stage").inner_text() == "投票已截止，纸质选票录入中"
        chair.locator("#paper-link").click()
        chair.wait_for_url("**/paper")
        chair.get_by_label("房号（按纸质选票填写）").fill(unit)
        chair.get_by_label("同意").check()
        chair.get_by_label("投入票箱的时间（北京时间）").fill(handed_in)
        chair.get_by_label("扫描件（PDF、JPEG 或 PNG，不超过 5 MB）").set_input_files(
            {"name": "sheet.png", "mimeType": "image/png", "buffer": PNG})
        chair.get_by_label(re.compile("我已核对选票上的业主签名")).check()  # 指导规则 Art. 22
        screenshot(chair, "paper-enter")
        chair.get_by_role("button", name="录入", exact=True).click()
        chair.wait_for_url("**done=entered*")
        assert "已录入，待复核" in chair.locator("#entries").locator("xpath=following-sibling::ul[1]").inner_text()
        assert chair.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        staff_login(member, base, "demo-member", demo_logins["demo-member"])
        member.goto(f"{meeting_url}/paper")
        member.get_by_role("link", name="对照扫描件复核").click()
        assert member.locator("#entry-unit").inner_text() == unit
        assert member.locator("#scan-link img").evaluate("img => img.complete && img.naturalWidth") == 60  # shown
        assert not member.get_by_label("同意").is_checked()  # the chair's choice is not shown
        screenshot(member, "paper-confirm")
        member.get_by_label("同意").check()
        member.get_by_role("button", name="确认复核").click()
        member.wait_for_url("**done=confirmed*")
        assert "复核一致" in member.get_by_role("status").first.inner_text()

        observer_context, observer = open_page(chromium)
        staff_login(observer, base, "demo-observer", demo_logins["demo-observer"])
        observer.goto(f"{meeting_url}/paper")
        watched = observer.inner_text("main")
        assert unit in watched and "已复核，计入选票" in watched and "录入一张纸质选票" not in watched
        observer_context.close()

        chair.goto(f"{meeting_url}/paper")
        chair.get_by_role("button", name="纸质选票录入完毕，开票计票").click()
        chair.wait_for_url("**?done=counted")
        assert "结果已公告" in chair.locator("#stage").inner_text()
        screenshot(chair, "paper-counted")
    finally:
        chair_context.close()
        member_context.close()
    with unit_of_work(demo_engine) as session:
        paper_ballots = session.scalars(select(Ballot).where(Ballot.by == "paper")).all()
        assert [(b.unit, b.choice) for b in paper_ballots] == [(unit, "agree")]
        assert session.get(Meeting, world.voting).announced_at is not None
