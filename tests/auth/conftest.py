"""Builders for the auth tests: two estates under two street offices, owners, accounts, cards, clients.

Plain functions (`build_world`, `make_account`, `issue`) over a session; fixtures wrap them for the
rolled-back `session` and for an app on a database of the test's own (`web`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from assembly import identity
from assembly.auth import accounts, cards, totp
from assembly.auth.models import Account
from assembly.auth.sessions import account_principal
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.permissions import Principal, Role
from assembly.register import service
from assembly.register.estates import onboard_estate
from assembly.register.models import Community, Estate, Person, StreetOffice
from assembly.register.rows import RegisterRow

PASSWORD = "correct-horse-battery-staple"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def id_number(serial: int, *, tail_x: bool = False) -> str:
    """A valid resident ID; with tail_x, the first serial from here whose check character is X."""
    while True:
        first17 = f"11010519800101{serial:03d}"
        number = first17 + identity.mainland_check_character(first17)
        if not tail_x or number.endswith("X"):
            return number
        serial += 1


@dataclass
class Owner:
    person: Person
    number: str  # the identity number (the owner knows it; the database never holds it)
    units: list[str]

    @property
    def tail(self) -> str:
        return self.number[-4:]


@dataclass
class Place:
    estate: Estate
    street_office: StreetOffice
    owners: list[Owner] = field(default_factory=list)


@dataclass
class World:
    alpha: Place  # "own" estate of the scoped accounts
    beta: Place  # another estate, under another street office


def _place(session: Session, code: str, serial_base: int, *, extra_owners: int, id_key: str) -> Place:
    estate = onboard_estate(
        session, code=code, name=f"{code} 小区", district="测试区", street_office=f"{code} 街道办事处",
        community=f"{code} 社区", residents_committee=f"{code} 居委会",
    )
    single = id_number(serial_base + 1, tail_x=True)
    wife, husband = id_number(serial_base + 20), id_number(serial_base + 21)
    landlord = id_number(serial_base + 22)
    people = {single: "王小明", wife: "李秀英", husband: "张建国", landlord: "陈大文"}
    rows = [
        RegisterRow(unit="1-1-101", registry=Decimal("89.50"), owner_name=people[single], id_number=single),
        RegisterRow(unit="1-1-102", survey=Decimal("120.25"), owner_name=people[wife], id_number=wife),
        RegisterRow(unit="1-1-102", survey=Decimal("120.25"), owner_name=people[husband], id_number=husband),
        RegisterRow(unit="1-1-103", contract=Decimal("60"), owner_name=people[landlord], id_number=landlord),
        RegisterRow(unit="1-1-104", registry=Decimal("61.5"), owner_name=people[landlord], id_number=landlord),
        RegisterRow(unit="1-1-105", registry=Decimal("75"), developer=True, owner_name="开发商"),
    ]
    units = {single: ["1-1-101"], wife: ["1-1-102"], husband: ["1-1-102"], landlord: ["1-1-103", "1-1-104"]}
    for index in range(extra_owners):
        number = id_number(serial_base + 100 + index)
        unit = f"2-1-{index + 101}"
        rows.append(RegisterRow(unit=unit, registry=Decimal("50"), owner_name=f"业主{index}", id_number=number))
        units[number] = [unit]
    service.apply_register(session, estate=estate, rows=rows, reason="测试名册", evidence_ref="test", actor="test",
                           id_key=id_key)
    office = session.get(StreetOffice, session.get(Community, estate.community_id).street_office_id)
    place = Place(estate, office)
    for number, held in units.items():
        person = session.scalars(
            select(Person).where(Person.estate_id == estate.id, Person.id_hash == identity.id_hash(id_key, number))
        ).one()
        place.owners.append(Owner(person, number, held))
    return place


def build_world(session: Session, *, extra_owners: int = 0) -> World:
    id_key = get_settings().id_hash_key
    return World(
        _place(session, "alpha", 0, extra_owners=extra_owners, id_key=id_key),
        _place(session, "beta", 500, extra_owners=extra_owners, id_key=id_key),
    )


def make_account(session: Session, role: Role | str, world: World | None = None, *, username: str | None = None,
                 estates: list[Estate] | None = None, street_office: StreetOffice | None = None,
                 now: datetime = T0) -> Account:
    """An account created by the operator (the root), password PASSWORD, scoped to alpha by default."""
    role = Role(role)
    if estates is None and world is not None and role not in (Role.ADMIN, Role.STREET_OFFICE):
        estates = [world.alpha.estate]
    if street_office is None and world is not None and role == Role.STREET_OFFICE:
        street_office = world.alpha.street_office
    created = accounts.create_account(
        session, created_by=None, username=username or f"{role.value.replace('_', '-')}-1",
        display_name=f"测试 {role.value}", role=role, now=now, estate_ids={e.id for e in estates or []},
        street_office_id=street_office.id if street_office else None, password=PASSWORD,
    )
    return created.account


def enrol_totp(session: Session, account: Account, *, now: datetime = T0) -> bytes:
    """Set up the second factor directly; returns the secret (the test is the authenticator app)."""
    secret = totp.new_secret()
    account.totp_secret = totp.seal(secret, secret_key=get_settings().secret_key)
    account.totp_enabled_at = now
    session.flush()
    return secret


def principal(session: Session, account: Account) -> Principal:
    return account_principal(session, account)


def issue(session: Session, owner: Owner, issuer: Account, *, now: datetime = T0) -> cards.IssuedCard:
    return cards.issue_card(session, person=owner.person, issued_by=principal(session, issuer), now=now)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_argon2: use the production argon2id parameters (slow)")


@pytest.fixture(autouse=True)
def _fast_argon2(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Cheap argon2id for speed; tests marked `real_argon2` (and the browser tests) use the real parameters."""
    from argon2 import PasswordHasher, Type

    from assembly.auth import hashing

    if request.node.get_closest_marker("real_argon2") is None:
        monkeypatch.setattr(hashing, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1,
                                                              type=Type.ID))
    hashing._dummy_hash.cache_clear()
    yield
    hashing._dummy_hash.cache_clear()


@pytest.fixture
def settings():
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


@pytest.fixture
def issuer(session: Session, world: World) -> Account:
    """Residents'-committee staff of alpha: the usual card issuer."""
    return make_account(session, Role.RESIDENTS_COMMITTEE, world, username="rc-alpha")


# --- the application over a database of the test's own ---------------------------------------------


class Clock:
    """The application's clock in tests: moved by hand, never slept on."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)

    def pass_notice_period(self) -> None:
        """On to the first moment voting may open after a notice published at the clock's time now."""
        from assembly.voting import meetings

        self.now = meetings.earliest_open(self.now)


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """The CSRF token a page hands this browser (the form field)."""
    match = CSRF_FIELD.search(client.get(path).text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def api_csrf(client: TestClient) -> str:
    return client.get("/api/auth/csrf").json()["csrf_token"]


@dataclass
class Web:
    app: object
    engine: object
    clock: Clock
    world: World

    def client(self, *, ip: str = "10.0.0.1", https: bool = False) -> TestClient:
        base = "https://testserver" if https else "http://testserver"
        return TestClient(self.app, base_url=base, client=(ip, 50000), raise_server_exceptions=False,
                          follow_redirects=False)

    def session(self):
        return unit_of_work(self.engine)

    def login(self, username: str, password: str = PASSWORD, *, ip: str = "10.0.0.1", secret: bytes | None = None,
              https: bool = False) -> TestClient:
        """A client logged in through the pages (password, then TOTP when `secret` is given)."""
        client = self.client(ip=ip, https=https)
        response = client.post("/login", data={"username": username, "password": password,
                                               "csrf_token": csrf_of(client)})
        assert response.status_code == 303, response.text
        if response.headers["location"].startswith("/login/totp"):
            assert secret is not None, "this account needs a TOTP secret"
            code = totp.totp(secret, self.clock.now)
            response = client.post("/login/totp", data={"code": code, "csrf_token": csrf_of(client, "/login/totp")})
            assert response.status_code == 303, response.text
        return client


def make_web(engine, *, site_url: str = "http://testserver", extra_owners: int = 0) -> Web:
    from assembly.app import create_app

    get_settings.cache_clear()
    settings = get_settings().model_copy(update={"site_url": site_url})
    with unit_of_work(engine) as session:
        world = build_world(session, extra_owners=extra_owners)
        session.expunge_all()
    app = create_app(settings=settings, engine=engine)
    clock = Clock()
    app.state.clock = clock
    return Web(app, engine, clock, world)


@pytest.fixture
def web(engine_copy) -> Web:
    return make_web(engine_copy)


@pytest.fixture
def web_https(engine_copy) -> Web:
    return make_web(engine_copy, site_url="https://assembly.example")


def flat_routes(routes, prefix: str = ""):
    """(path, methods) of every route of an application, through included routers (FastAPI nests them)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from flat_routes(inner.routes, prefix + (getattr(route.include_context, "prefix", "") or ""))
        elif getattr(route, "methods", None) and getattr(route, "path", None):
            yield prefix + route.path, frozenset(route.methods) - {"HEAD"}


@pytest.fixture
def cli_engine(engine_copy, monkeypatch):
    """The `assembly` command's engine is this test's database (the command reads ASSEMBLY_DATABASE_URL)."""
    from assembly.runtime import get_engine

    monkeypatch.setenv("ASSEMBLY_DATABASE_URL", engine_copy.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield engine_copy
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def kit():
    """The builders and constants above, for test modules (conftest is not importable under importlib)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        T0=T0, PASSWORD=PASSWORD, build_world=build_world, make_account=make_account, enrol_totp=enrol_totp,
        principal=principal, issue=issue, id_number=id_number, csrf_of=csrf_of, api_csrf=api_csrf, make_web=make_web,
        Clock=Clock, flat_routes=flat_routes,
    )
