"""The application over a database of the test's own, with a hand-moved clock, a committee chair,
residents'-committee staff and logged-in owners (for the route tests of meetings and voting)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from assembly.auth import accounts, cards
from assembly.auth.sessions import account_principal
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.permissions import Role

from .meeting_world import PHOTO, Estate1, build_estate, start_time

PASSWORD = "correct-horse-battery-staple"
PIN = "480913"


class Clock:
    """The application's one clock, moved by hand. Moving it runs the meeting jobs at the new time,
    as the server's job runner would within its minute (assembly.jobs): closes and finalisations
    happen there, never on a page view."""

    def __init__(self, now: datetime, on_move=None) -> None:
        self._now, self.on_move = now, on_move

    @property
    def now(self) -> datetime:
        return self._now

    @now.setter
    def now(self, value: datetime) -> None:
        self._now = value
        if self.on_move is not None:
            self.on_move(value)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)

    def pass_notice_period(self) -> None:
        """On to the first moment voting may open after a notice published at the clock's time now."""
        from assembly.voting import meetings

        self.now = meetings.earliest_open(self.now)


@dataclass
class VotingWeb:
    app: object
    engine: object
    clock: Clock
    world: Estate1
    card_tokens: dict[str, str]

    def client(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)

    def staff(self, username: str) -> TestClient:
        client = self.client()
        csrf = client.get("/api/auth/csrf").json()["csrf_token"]
        response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD},
                               headers={"X-CSRF-Token": csrf})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client

    def past_close(self, meeting: int) -> None:
        """On to an hour after the meeting's planned close (whenever the notice period let it open)."""
        from assembly.voting.models import Meeting

        with unit_of_work(self.engine) as session:
            closes_at = session.get(Meeting, meeting).closes_at
        self.clock.now = closes_at + timedelta(hours=1)  # outside the read: moving the clock runs the jobs

    def post_notice(self, chair: TestClient, meeting: int) -> None:
        """The chair records, through the API, that the notice was posted in the estate now."""
        response = chair.post(f"/api/estates/alpha/meetings/{meeting}/posting",
                              data={"place": "各楼栋单元门厅公告栏", "posted_at": self.clock.now.isoformat()},
                              files={"photo": ("posting.png", PHOTO, "image/png")})
        assert response.status_code == 201, response.text

    def owner(self, who: str) -> TestClient:
        client = self.client()
        csrf = client.get("/api/auth/csrf").json()["csrf_token"]
        response = client.post(f"/api/cards/{self.card_tokens[who]}/login", json={"pin": PIN},
                               headers={"X-CSRF-Token": csrf})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client


def make_voting_web(engine, *, owners=("single", "wife", "husband", "landlord", "extra0", "extra1")) -> VotingWeb:
    from assembly.app import create_app

    get_settings.cache_clear()
    clock = Clock(start_time())
    tokens = {}
    with unit_of_work(engine) as session:
        world = build_estate(session, code="alpha", extra=3)
        ids = {world.estate.id}
        for username, role in (("chair", Role.COMMITTEE_CHAIR), ("rc-staff", Role.RESIDENTS_COMMITTEE),
                               ("observer", Role.OBSERVER)):
            accounts.create_account(session, created_by=None, username=username, display_name=f"测试{username}",
                                    role=role, now=clock.now, estate_ids=ids, password=PASSWORD)
        rc = account_principal(session, accounts.get_account(session, "rc-staff"))
        for who in owners:
            issued = cards.issue_card(session, person=world.owners[who], issued_by=rc, now=clock.now)
            cards.set_first_pin(session, card=issued.card, pin=PIN, ip=None, now=clock.now)
            tokens[who] = issued.token
        session.expunge_all()
    app = create_app(settings=get_settings(), engine=engine)
    app.state.clock = clock
    clock.on_move = jobs_runner(engine)
    return VotingWeb(app, engine, clock, world, tokens)


def jobs_runner(engine):
    """What the server's job runner does when the clock reaches `now` (close, finalize)."""
    from assembly.jobs import MEETING_JOBS, run_due

    return lambda now: run_due(engine, get_settings(), now, jobs=MEETING_JOBS)
