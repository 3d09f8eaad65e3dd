"""The demo estate (code `demo`): ~2,000 units in ten buildings, as a real register looks.

Deterministic (fixed seed), so screenshots and docs stay stable. It has what the law cares about:
unsold developer units (one member together), co-owned units (one member per owner set), owners
of several units (one head), and areas from each source (registry, survey, contract).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from assembly import identity
from assembly.auth import accounts, cards, hashing
from assembly.auth.sessions import account_principal, revoke_all
from assembly.config import get_settings
from assembly.errors import ConfigurationError
from assembly.identity import mask_name
from assembly.models import utcnow
from assembly.register import service
from assembly.register.estates import onboard_estate
from assembly.register.models import Community, Estate, Person
from assembly.register.rows import RegisterRow

DEMO_CODE = "demo"
SEED = 20111111  # 京建法〔2011〕11号
BUILDINGS, ENTRANCES, FLOORS, ROOMS = 10, 2, 25, 4

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国志红玉兰晓东海燕雪梅春林文斌宇辰浩然子涵欣怡思远佳怡"


@dataclass(frozen=True)
class DemoSummary:
    estate: Estate
    version_number: int
    units: int
    members: int
    created: bool


class _People:
    """Makes plausible, valid, fictitious owners (names, resident IDs with check characters, phones)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.serial = 0

    def new(self) -> tuple[str, str, str]:
        rng = self.rng
        self.serial += 1
        name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))
        birth = f"{rng.randint(1940, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        first17 = f"110105{birth}{self.serial % 1000:03d}"
        number = first17 + identity.mainland_check_character(first17)
        phone = f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}"
        return name, number, phone


def _area(rng: random.Random, room: int) -> Decimal:
    low, high = (90, 300) if room in (1, ROOMS) else (40, 130)
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def demo_rows(seed: int = SEED) -> list[RegisterRow]:
    rng = random.Random(seed)
    people = _People(rng)
    holders: list[list[tuple[str, str, str]]] = []  # owner sets already holding a unit
    rows: list[RegisterRow] = []
    for building in range(1, BUILDINGS + 1):
        for entrance in range(1, ENTRANCES + 1):
            for floor in range(1, FLOORS + 1):
                for room in range(1, ROOMS + 1):
                    unit = f"{building}-{entrance}-{floor}{room:02d}"
                    area = _area(rng, room)
                    source = rng.random()
                    if source < 0.85:
                        areas = {"registry": area, "survey": area + Decimal("0.37") if rng.random() < 0.3 else None}
                    elif source < 0.95:
                        areas = {"survey": area, "contract": area + Decimal("1.20")}
                    else:
                        areas = {"contract": area}
                    draw = rng.random()
                    if draw < 0.03 or (building == BUILDINGS and floor > 22):
                        rows.append(RegisterRow(unit=unit, developer=True, owner_name="北京和谐置业有限公司", **areas))
                        continue
                    if draw < 0.11:
                        owners = [people.new(), people.new()]  # co-owners, e.g. a married couple
                        holders.append(owners)
                    elif draw < 0.17 and holders:
                        owners = rng.choice(holders)  # the same owner set holds another unit
                    else:
                        owners = [people.new()]
                        holders.append(owners)
                    for name, number, phone in owners:
                        rows.append(
                            RegisterRow(unit=unit, owner_name=name, id_number=number, phone=phone, **areas)
                        )
    return rows


def load_demo(session: Session, *, id_key: str) -> DemoSummary:
    """Create the demo estate with its register; a second call changes nothing."""
    existing = session.scalars(select(Estate).where(Estate.code == DEMO_CODE)).first()
    if existing is not None:
        version = service.latest_version(session, estate_id=existing.id)
        return DemoSummary(existing, version.number, version.unit_count, version.member_count, False)
    estate = onboard_estate(
        session,
        code=DEMO_CODE,
        name="和谐家园（示范小区）",
        district="朝阳区",
        street_office="望京街道办事处",
        community="花家地社区",
        residents_committee="花家地社区居民委员会",
        address="北京市朝阳区望京示范路 1 号",
        committee_contact="业主委员会办公室：3 号楼 1 层，工作日 9:00–17:00，电话 010-6400 0000",
    )
    outcome = service.apply_register(
        session,
        estate=estate,
        rows=demo_rows(),
        reason="示范小区初始名册 / demo register",
        evidence_ref="demo:seed-20111111",
        actor="demo",
        id_key=id_key,
    )
    return DemoSummary(estate, outcome.version.number, outcome.version.unit_count, outcome.version.member_count, True)


# --- demo accounts and owner cards (never in production) ---------------------------------------

DEMO_ACCOUNTS = (
    # username, display name, role
    ("demo-admin", "平台管理员（示范）", "admin"),
    ("demo-street", "望京街道办事处（示范）", "street_office"),
    ("demo-rc", "花家地社区居委会（示范）", "residents_committee"),
    ("demo-observer", "观察员（示范）", "observer"),
    ("demo-chair", "业主委员会主任（示范）", "committee_chair"),
    ("demo-member", "业主委员会委员（示范）", "committee_member"),
    ("demo-staff", "业主委员会工作人员（示范）", "committee_staff"),
)
DEMO_CARD_HOLDERS = 3  # one owner of a single unit, one co-owner, one owner of several units


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    password: str


@dataclass(frozen=True)
class DemoCard:
    units: tuple[str, ...]
    masked_name: str
    number: str
    url: str
    activation_code: str
    id_tail: str  # printed for the demo only: a real owner knows their own


@dataclass(frozen=True)
class DemoAccess:
    logins: list[DemoLogin]
    cards: list[DemoCard]

    def lines(self) -> list[str]:
        """What `assembly demo` and `make run` print, once: the passwords exist nowhere else."""
        out = ["  示范账户（密码只显示这一次；再次运行 `assembly demo` 会重新生成） / demo logins, shown once:"]
        for login in self.logins:
            out.append(f"    {login.role:<20} {login.username:<14} {login.password}")
        out.append("    街道办事处和平台管理员首次登录时须设置两步验证（TOTP） / street office and admin set up TOTP first")
        out.append("  示范业主一卡通（扫码地址 · 激活码 · 身份证后四位） / demo owner cards:")
        for card in self.cards:
            out.append(f"    {card.masked_name} {'、'.join(card.units)}")
            out.append(f"      {card.url}  激活码 {card.activation_code}  后四位 {card.id_tail}")
        return out


def _demo_card_holders(session: Session, estate: Estate, id_key: str) -> list[tuple[Person, list[str], str]]:
    """Deterministic picks from the demo register: (person, their units, the identity number)."""
    units_of: dict[str, list[str]] = {}
    owners_of: dict[str, int] = {}
    for row in demo_rows():
        if not row.developer:
            units_of.setdefault(row.id_number, []).append(row.unit)
            owners_of[row.unit] = owners_of.get(row.unit, 0) + 1
    picks: list[str] = []
    tests = (
        lambda units: len(units) == 1 and owners_of[units[0]] == 1,
        lambda units: owners_of[units[0]] > 1,
        lambda units: len(units) > 1,
    )
    for test in tests[:DEMO_CARD_HOLDERS]:
        picks.append(next(number for number, units in units_of.items() if test(units) and number not in picks))
    chosen = []
    for number in picks:
        hashed = identity.id_hash(id_key, number)
        person = session.scalars(select(Person).where(Person.estate_id == estate.id, Person.id_hash == hashed)).one()
        chosen.append((person, sorted(set(units_of[number])), number))
    return chosen


def _settings():
    return get_settings()


def load_demo_access(session: Session, *, settings=None, now=None, site_url: str | None = None) -> DemoAccess:
    """One account per role and a few owner cards for the demo estate, with fresh secrets each call.

    Refused in production. Existing demo accounts get a new password (and lose their TOTP set-up),
    existing demo cards are reissued: what is printed is always what works.
    """
    settings = settings or _settings()
    if settings.is_production:
        raise ConfigurationError(
            "生产环境不能创建示范账户 / demo accounts are never created in production", code="demo_in_production"
        )
    now = now or utcnow()
    estate = session.scalars(select(Estate).where(Estate.code == DEMO_CODE)).first()
    if estate is None:
        raise ConfigurationError("请先加载示范小区 / load the demo estate first", code="demo_missing")
    community = session.get(Community, estate.community_id)
    logins = []
    for username, display_name, role in DEMO_ACCOUNTS:
        account = accounts.get_account(session, username)
        if account is not None and not account.demo:
            raise ConfigurationError(f"用户名 {username} 已被真实账户使用 / taken by a real account", code="demo_clash")
        if account is None:
            created = accounts.create_account(
                session,
                created_by=None,
                username=username,
                display_name=display_name,
                role=role,
                estate_ids=set() if role in ("admin", "street_office") else {estate.id},
                street_office_id=community.street_office_id if role == "street_office" else None,
                demo=True,
                now=now,
            )
            password = created.password
        else:
            password = hashing.generate_password()
            account.password_hash = hashing.hash_secret(password)
            account.totp_secret = account.totp_enabled_at = account.totp_last_step = None
            account.disabled_at = None
            revoke_all(session, now=now, reason="demo_reset", account_id=account.id)
        logins.append(DemoLogin(username, role, password))
    session.flush()
    issuer = account_principal(session, accounts.get_account(session, "demo-rc"))
    demo_cards = []
    for person, units, number in _demo_card_holders(session, estate, settings.id_hash_key):
        current = cards.active_card(session, person_id=person.id)
        if current is None:
            issued = cards.issue_card(session, person=person, issued_by=issuer, now=now)
        else:
            issued = cards.reissue_card(session, card=current, issued_by=issuer, now=now, reason="demo_reset")
        demo_cards.append(
            DemoCard(
                units=tuple(units),
                masked_name=mask_name(person.name),
                number=cards.format_number(issued.card.number),
                url=issued.url(site_url or settings.site_url),
                activation_code=issued.activation_code,
                id_tail=number[-4:],
            )
        )
    return DemoAccess(logins, demo_cards)
