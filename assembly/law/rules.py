"""The law of an owners' assembly vote as pure functions: unit areas, voting members, quorum,
thresholds and elections (民法典第二百七十八条, 法释〔2009〕7号 Art. 8-9). Exact arithmetic only."""

from __future__ import annotations

import decimal
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from operator import attrgetter

ITEMS = range(1, 10)  # 民法典第二百七十八条第一款 (一)-(九)
MAJOR_ITEMS = frozenset({6, 7, 8})
ELECTION_ITEM = 3  # 选举业主委员会: each candidate passes like a motion of this item
AREA_SOURCES = ("registry", "survey", "contract")  # 不动产登记簿 > 实测 > 买卖合同 (SPC Art. 8)
DEVELOPER = "developer"

ITEM_NAMES = {
    1: "制定和修改业主大会议事规则",
    2: "制定和修改管理规约",
    3: "选举业主委员会或者更换业主委员会成员",
    4: "选聘和解聘物业服务企业或者其他管理人",
    5: "使用建筑物及其附属设施的维修资金",
    6: "筹集建筑物及其附属设施的维修资金",
    7: "改建、重建建筑物及其附属设施",
    8: "改变共有部分的用途或者利用共有部分从事经营活动",
    9: "有关共有和共同管理权利的其他重大事项",
}

QUORUM = Fraction(2, 3)  # 参与表决：面积和人数均占三分之二以上
MAJOR = Fraction(3, 4)  # 第六项至第八项：参与表决面积和人数均四分之三以上同意
HALF = Fraction(1, 2)  # 其他事项：过半数 (more than half, not half)
BASIS = "民法典第二百七十八条第二款"

# Each unit's choice is personal information 个人信息: publishing it to every owner needs a legal
# basis or the person's consent (个人信息保护法第十三条), and the law's own duty of confidentiality
# bars disclosing it otherwise (第二十五条). The estate's rules adopted by the assembly
# (议事规则, 民法典第二百七十八条第一款第一项) are that basis when they provide for publication.
UNIT_PUBLICATION_BASIS = "《个人信息保护法》第十三条、第二十五条"

# Sums of areas must never round silently: this context raises instead of rounding.
EXACT = decimal.Context(
    prec=decimal.MAX_PREC,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.Inexact, decimal.Rounded, decimal.InvalidOperation],
)


def exact_sum(areas: Iterable[Decimal]) -> Decimal:
    """The sum of areas, exact however many and however large."""
    with decimal.localcontext(EXACT):
        return sum(areas, Decimal(0))


def per_unit_publication_allowed(*, estate_rules_provide: bool) -> bool:
    """Whether a meeting may publish each unit's room, area and choice to the estate's owners: only
    where the rules the assembly adopted provide for it (UNIT_PUBLICATION_BASIS); never by default,
    never by the committee's choice alone."""
    return estate_rules_provide


# --- The register 业主名册 -------------------------------------------------------------------


@dataclass(frozen=True)
class UnitAreas:
    """The areas on record for one unit (专有部分); any of them may be missing."""

    registry: Decimal | None = None
    survey: Decimal | None = None
    contract: Decimal | None = None


def unit_area(areas: UnitAreas) -> tuple[Decimal, str]:
    """The area that counts and where it comes from: the first present of registry, survey,
    contract (SPC 法释〔2009〕7号 Art. 8)."""
    return first_area(vars(areas))


def first_area(areas: Mapping[str, Decimal | None]) -> tuple[Decimal, str]:
    """unit_area() for areas given by source name, as a reader of files has them."""
    for source in AREA_SOURCES:
        value = areas.get(source)
        if value is not None:
            return value, source
    raise ValueError("a unit needs a registry, survey or contract area")


@dataclass(frozen=True)
class RollUnit:
    """One unit of the frozen roll: who holds it and the area that counts.

    A developer unit (unsold, or sold but not delivered) votes with the developer even when a
    buyer is already named in `owners`."""

    id: str
    owners: frozenset[str]
    developer: bool
    area: Decimal


@dataclass(frozen=True)
class Member:
    """A voting member: one head, with the summed area of its units (SPC Art. 9)."""

    key: str
    unit_ids: tuple[str, ...]
    area: Decimal
    heads: int = 1


def derive_members(units: Iterable[RollUnit]) -> list[Member]:
    """Group the roll into voting members, sorted by key.

    All developer units together are one member; otherwise units with the same set of owners
    of record are one member, whatever order the owners are listed in (SPC Art. 9)."""
    holdings: defaultdict[frozenset[str] | None, list[RollUnit]] = defaultdict(list)
    for unit in units:
        if unit.developer:
            holdings[None].append(unit)
        elif unit.owners:
            holdings[unit.owners].append(unit)
        else:
            raise ValueError(f"unit {unit.id!r} has neither owners nor developer")
    with decimal.localcontext(EXACT):  # once for the whole roll: it costs a microsecond per entry
        members = [_member(owners, held) for owners, held in holdings.items()]
    if len({member.key for member in members}) != len(members):
        raise ValueError("owner ids containing '+' make two owner sets share a member key")
    members.sort(key=attrgetter("key"))
    return members


def _member(owners: frozenset[str] | None, held: list[RollUnit]) -> Member:
    """One member from its units; sums in the caller's EXACT context."""
    if len(held) == 1:  # most members hold one unit: spare them a sort and a sum
        return Member(member_key(owners), (held[0].id,), held[0].area)
    unit_ids = tuple(sorted(unit.id for unit in held))
    return Member(member_key(owners), unit_ids, sum((unit.area for unit in held), Decimal(0)))


def member_key(owners: frozenset[str] | None) -> str:
    """The member's stable key: "developer", or "owners:" and the sorted owner ids."""
    if owners is None:
        return DEVELOPER
    return "owners:" + "+".join(sorted(owners))


# --- Decisions 表决 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """Area and heads of a group of members: the two measures every threshold applies to."""

    area: Decimal
    heads: int

    @classmethod
    def of(cls, areas: Sequence[Decimal]) -> Count:
        """The count of members with these areas, one head each."""
        return cls(exact_sum(areas), len(areas))


def _reaches(part: Decimal | int, whole: Decimal | int, share: Fraction, *, strictly: bool) -> bool:
    """part/whole ≥ share ("以上" includes the number), or > share ("过半数"), exactly."""
    left = Fraction(part) * share.denominator
    right = Fraction(whole) * share.numerator
    return left > right if strictly else left >= right


def quorum_reached(participating: Count, total: Count) -> bool:
    """Area and heads taking part are each at least two thirds of the total. An empty roll has
    no quorum: nobody can decide for nobody."""
    if total.heads == 0 or total.area == 0:
        return False
    return _reaches(participating.area, total.area, QUORUM, strictly=False) and _reaches(
        participating.heads, total.heads, QUORUM, strictly=False
    )


def _threshold(item: int) -> tuple[Fraction, bool]:
    """The share of participants that must agree, and whether it must be exceeded."""
    if item not in ITEMS:
        raise ValueError(f"item must be 1..9 (民法典第二百七十八条第一款), not {item!r}")
    return (MAJOR, False) if item in MAJOR_ITEMS else (HALF, True)


def motion_passes(item: int, agree: Count, participating: Count) -> bool:
    """Agreement reaches the item's threshold in both area and heads of those taking part:
    items 6, 7, 8 need 3/4 or more, the others more than half. Abstentions take part."""
    share, strictly = _threshold(item)
    if participating.heads == 0:
        return False
    return _reaches(agree.area, participating.area, share, strictly=strictly) and _reaches(
        agree.heads, participating.heads, share, strictly=strictly
    )


@dataclass(frozen=True)
class Decision:
    """Quorum and outcome, with the reasons a person can read (figures and legal basis)."""

    quorum: bool
    passed: bool
    reasons: tuple[str, ...]


def decide_motion(*, item: int, total: Count, participating: Count, agree: Count) -> Decision:
    """Decide one motion and say why, in Chinese, with the figures."""
    share, strictly = _threshold(item)
    if total.heads == 0:
        return Decision(False, False, ("名册中没有业主（总面积和总人数均为零），不能作出决定。",))
    quorum = quorum_reached(participating, total)
    reasons = [
        _sentence("参与表决的业主专有部分面积", participating.area, "总面积", total.area, QUORUM, False),
        _sentence("参与表决的业主", participating.heads, "业主总人数", total.heads, QUORUM, False),
    ]
    if not quorum:
        reasons.append(f"参与表决的业主不足法定比例，不能作出决定（{BASIS}）。")
        return Decision(False, False, tuple(reasons))
    passed = motion_passes(item, agree, participating)
    reasons += [
        _sentence("同意的业主专有部分面积", agree.area, "参与表决面积", participating.area, share, strictly),
        _sentence("同意的业主", agree.heads, "参与表决人数", participating.heads, share, strictly),
    ]
    need = "属重大事项，须四分之三以上同意" if item in MAJOR_ITEMS else "须过半数同意"
    outcome = "获得通过" if passed else "未获通过"
    reasons.append(f"第{'一二三四五六七八九'[item - 1]}项事项（{ITEM_NAMES[item]}）{need}，{outcome}（{BASIS}）。")
    return Decision(quorum, passed, tuple(reasons))


_SHARE_WORDS = {QUORUM: "三分之二", MAJOR: "四分之三", HALF: "半数"}


def _sentence(subject: str, part: Decimal | int, of: str, whole: Decimal | int, share: Fraction, strictly: bool) -> str:
    """One measure against its threshold, e.g. "同意的业主 1 人，占参与表决人数 2 人的 50.00%，未超过半数（…）"."""
    measure = "平方米" if isinstance(part, Decimal) else "人"
    reached = whole != 0 and _reaches(part, whole, share, strictly=strictly)
    if strictly:
        verdict = ("超过" if reached else "未超过") + _SHARE_WORDS[share]
    else:
        verdict = ("达到" if reached else "未达到") + _SHARE_WORDS[share] + "以上"
    return (
        f"{subject} {_figure(part)} {measure}，占{of} {_figure(whole)} {measure}的 {percent(part, whole)}，"
        f"{verdict}（{BASIS}）。"
    )


def _figure(value: Decimal | int) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def percent(part: Decimal | int, whole: Decimal | int) -> str:
    """part/whole as a percentage for people: two places, cut rather than rounded up and marked
    "…" when cut, so 2/3 reads "66.66…%", never "66.67%". Decisions compare exactly instead."""
    if whole == 0:
        return "—"
    share = Fraction(part) * 10000 / Fraction(whole)
    hundredths = int(share)
    return f"{hundredths // 100}.{hundredths % 100:02d}{'' if share == hundredths else '…'}%"


# --- Elections 选举 -------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateResult:
    """One candidate's selections, whether they passed like an item-3 motion, and whether elected."""

    id: str
    agree: Count
    passed: bool
    elected: bool


@dataclass(frozen=True)
class ElectionResult:
    quorum: bool
    candidates: tuple[CandidateResult, ...]  # in the order the candidates were given
    tie: tuple[str, ...]  # equal candidates straddling the last seat: a runoff decides


def decide_election(
    *, seats: int, total: Count, participating: Count, agree: Mapping[str, Count]
) -> ElectionResult:
    """Elect up to `seats` of the candidates (keys of `agree`, in order) that pass like an
    item-3 motion, ranked by heads then area. Candidates equal in both across the last seat
    are none elected: they go to a runoff."""
    if seats < 1:
        raise ValueError("an election needs at least one seat")
    quorum = quorum_reached(participating, total)
    passing = {
        candidate
        for candidate, selected in agree.items()
        if quorum and motion_passes(ELECTION_ITEM, selected, participating)
    }
    elected, tie = _fill_seats(passing, agree, seats)
    candidates = tuple(
        CandidateResult(candidate, selected, candidate in passing, candidate in elected)
        for candidate, selected in agree.items()
    )
    return ElectionResult(quorum, candidates, tuple(c for c in agree if c in tie))


def _fill_seats(
    passing: set[str], agree: Mapping[str, Count], seats: int
) -> tuple[set[str], set[str]]:
    """The elected and the tied among the passing candidates."""

    def standing(candidate: str) -> tuple[int, Decimal]:
        return agree[candidate].heads, agree[candidate].area

    ranked = sorted(passing, key=standing, reverse=True)  # equal standings: order does not matter
    if len(ranked) <= seats or standing(ranked[seats - 1]) != standing(ranked[seats]):
        return set(ranked[:seats]), set()
    last = standing(ranked[seats - 1])
    tie = {candidate for candidate in ranked if standing(candidate) == last}
    return set(ranked[:seats]) - tie, tie
