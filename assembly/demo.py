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

from assembly.register import identity, service
from assembly.register.models import Community, District, Estate, StreetOffice
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


def _place(session: Session) -> Community:
    district = session.scalars(select(District).where(District.name == "朝阳区")).first()
    if district is None:
        district = District(name="朝阳区")
        session.add(district)
        session.flush()
    office = StreetOffice(district_id=district.id, name="望京街道办事处")
    session.add(office)
    session.flush()
    community = Community(street_office_id=office.id, name="花家地社区", residents_committee="花家地社区居民委员会")
    session.add(community)
    session.flush()
    return community


def load_demo(session: Session, *, id_key: str) -> DemoSummary:
    """Create the demo estate with its register; a second call changes nothing."""
    existing = session.scalars(select(Estate).where(Estate.code == DEMO_CODE)).first()
    if existing is not None:
        version = service.latest_version(session, estate_id=existing.id)
        return DemoSummary(existing, version.number, version.unit_count, version.member_count, False)
    community = _place(session)
    estate = Estate(
        code=DEMO_CODE,
        name="和谐家园（示范小区）",
        community_id=community.id,
        address="北京市朝阳区望京示范路 1 号",
        committee_contact="业主委员会办公室：3 号楼 1 层，工作日 9:00–17:00，电话 010-6400 0000",
    )
    session.add(estate)
    session.flush()
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
