"""A demo estate in every state a page can show, built through the services (the browser tests then
look at it as people do): a meeting in voting with most owners having voted, one in its notice
period, one draft, a fresh owner card, and helpers to log people in."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from assembly import identity
from assembly.auth import cards, totp
from assembly.auth.accounts import get_account
from assembly.auth.sessions import account_principal
from assembly.db import unit_of_work
from assembly.demo import DEMO_CODE
from assembly.models import utcnow
from assembly.permissions import Principal, Role
from assembly.register.models import Estate, Person
from assembly.voting import casting, meetings
from assembly.voting.models import Meeting
from tests.voting.meeting_world import record_posting

PIN = "480913"


class Clock:
    """The server's clock, moved by hand (app.state.clock): no sleeping, no timing."""

    def __init__(self, on_move=None) -> None:
        self._now = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
        self.on_move = on_move  # the job runner's work at the new time (tests/voting/web_world.py)

    @property
    def now(self):
        return self._now

    @now.setter
    def now(self, value) -> None:
        self._now = value
        if self.on_move is not None:
            self.on_move(value)

    def __call__(self):
        return self._now

    def pass_notice_period(self) -> None:
        """On to the first moment voting may open after a notice published at the clock's time now."""
        self.now = meetings.earliest_open(self.now)


@dataclass(frozen=True)
class World:
    voting: int  # meeting in voting, one ordinary motion
    motion: int
    notice: int  # published, notice period running
    draft: int
    token: str  # a fresh card of a one-unit owner: activation code and ID tail below
    activation_code: str
    id_tail: str
    masked_name: str

    def meeting_url(self, base: str, meeting: int) -> str:
        return f"{base}/estate/{DEMO_CODE}/meetings/{meeting}"

    def motion_url(self, base: str) -> str:
        return f"{self.meeting_url(base, self.voting)}/motions/{self.motion}"


def _fresh_owner(session, estate: Estate) -> tuple[Person, str]:
    """A one-unit owner without a card, and the identity number (from the demo register rows)."""
    from assembly.config import get_settings
    from assembly.demo import demo_rows

    held: dict[str, list[str]] = {}
    for row in demo_rows():
        if not row.developer:
            held.setdefault(row.id_number, []).append(row.unit)
    key = get_settings().id_hash_key
    for number, units in held.items():
        if len(units) != 1:
            continue
        person = session.scalars(select(Person).where(Person.estate_id == estate.id,
                                                      Person.id_hash == identity.id_hash(key, number))).one()
        if cards.active_card(session, person_id=person.id) is None and len(cards.owner_units(session, person=person)) == 1:
            return person, number
    raise AssertionError("the demo register has no one-unit owner without a card")


def _draft(session, estate, chair, title: str, now, closes_days: int = 40) -> Meeting:
    return meetings.create_meeting(
        session, estate=estate, principal=chair, title=title, closes_at=now + timedelta(days=closes_days), now=now,
        motions=[meetings.MotionDraft(item=4, title="续聘物业服务企业",
                                      text="续聘花家地物业服务有限公司，服务期三年，收费标准不变。\n合同文本见附件。")])


def _most_owners_agree(session, meeting: Meeting, skip: str, now) -> None:
    """Three members in four vote: agree, agree, oppose (the owner of the fresh card is left to the browser)."""
    (motion,) = meetings.motions_of(session, meeting=meeting)
    keys = [key for key in meetings.roll_members(session, meeting=meeting) if key.startswith("owners:")]
    for number, key in enumerate(keys):
        if number % 4 == 3 or skip in key.split(":")[1].split("+"):
            continue
        owner = Principal(kind="owner", role=Role.OWNER, estate_ids=frozenset({meeting.estate_id}),
                          pseudonym=key.removeprefix("owners:").split("+")[0])
        casting.cast(session, meeting=meeting, motion=motion, principal=owner, member_key=key,
                     choice="oppose" if number % 4 == 2 else "agree", idempotency_key=f"world-{number}", now=now)


def post_in_estate(engine, meeting_id: int, clock: Clock) -> None:
    """The chair records, now, that the meeting's notice was posted in the estate (Beijing Art. 35 ¶4)."""
    with unit_of_work(engine) as session:
        chair = account_principal(session, get_account(session, "demo-chair"))
        record_posting(session, session.get(Meeting, meeting_id), chair, now=clock.now)


def build_world(engine, clock: Clock) -> World:
    """Needs the demo accounts (load_demo_access) to exist. Leaves the clock at the end of the notice
    period (16 days on or more), voting open."""
    with unit_of_work(engine) as session:
        estate = session.scalars(select(Estate).where(Estate.code == DEMO_CODE)).one()
        chair = account_principal(session, get_account(session, "demo-chair"))
        voting = _draft(session, estate, chair, "2026年第一次业主大会会议", clock.now)
        meetings.publish(session, meeting=voting, estate=estate, principal=chair, now=clock.now)
        record_posting(session, voting, chair, now=clock.now)
        voting_id = voting.id
    clock.pass_notice_period()
    with unit_of_work(engine) as session:
        estate = session.scalars(select(Estate).where(Estate.code == DEMO_CODE)).one()
        chair = account_principal(session, get_account(session, "demo-chair"))
        voting = meetings.open_voting(session, meeting=session.get(Meeting, voting_id), estate=estate,
                                      principal=chair, now=clock.now)
        notice = _draft(session, estate, chair, "2026年第二次业主大会会议", clock.now)
        meetings.publish(session, meeting=notice, estate=estate, principal=chair, now=clock.now)
        draft = _draft(session, estate, chair, "2026年第三次业主大会会议（草稿）", clock.now)
        person, number = _fresh_owner(session, estate)
        issued = cards.issue_card(session, person=person, issued_by=account_principal(session, get_account(session, "demo-rc")),
                                  now=clock.now)
        _most_owners_agree(session, voting, person.pseudonym, clock.now)
        (motion,) = meetings.motions_of(session, meeting=voting)
        return World(voting_id, motion.id, notice.id, draft.id, issued.token, issued.activation_code, number[-4:],
                     identity.mask_name(person.name))


def staff_login(page, base: str, username: str, password: str) -> None:
    """Log in on the staff page; street office and admin set up their second factor on first login."""
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(lambda url: "/account" in url or "/login/totp" in url)
    if "/login/totp" in page.url:
        if page.locator("#totp-secret").count():
            page.totp_secret = totp.secret_from_base32(page.locator("#totp-secret").inner_text())
        page.get_by_label("6 位验证码").fill(totp.totp(page.totp_secret, time.time()))
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_url("**/account")


def card_login(page, base: str, token: str, pin: str = PIN) -> None:
    page.goto(f"{base}/c/{token}")
    page.get_by_label("PIN").fill(pin)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/me")
