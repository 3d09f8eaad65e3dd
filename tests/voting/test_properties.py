"""Properties the law must keep for any roll and any ballots (hypothesis)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import assume, given
from hypothesis import strategies as st

from assembly.law.rules import RollUnit, derive_members
from assembly.law.tally import TallyFormatError, _plain_unit, _unit, tally

from .builders import motion

SOURCES = ("registry", "survey", "contract")
OWNERS = ("p1", "p2", "p3", "p4", "p5")


@st.composite
def areas(draw) -> str:
    """A positive area with 0 to 4 places, as the file writes it."""
    ten_thousandths = draw(st.integers(1, 10**12))
    text = f"{ten_thousandths // 10_000}.{ten_thousandths % 10_000:04d}"
    return text.rstrip("0").rstrip(".") if draw(st.booleans()) else text


def ten_thousandths(text: str) -> int:
    """An area string read with integers only: the independent check of the exact sums."""
    whole, _, places = text.partition(".")
    return int(whole) * 10_000 + int(places.ljust(4, "0"))


@st.composite
def units(draw, max_size: int = 12) -> list[dict]:
    count = draw(st.integers(0, max_size))
    roll = []
    for number in range(count):
        raw = {"id": f"u{number}", "area": {draw(st.sampled_from(SOURCES)): draw(areas())}}
        if draw(st.integers(0, 5)) == 0:
            raw["developer"] = True
        else:
            raw["owners"] = sorted(draw(st.sets(st.sampled_from(OWNERS), min_size=1, max_size=2)))
        roll.append(raw)
    return roll


@st.composite
def motions(draw) -> dict:
    roll = draw(units())
    unit_ids = [raw["id"] for raw in roll] + ["nowhere"]
    ballots = draw(
        st.lists(
            st.fixed_dictionaries(
                {"unit": st.sampled_from(unit_ids), "choice": st.sampled_from(("agree", "oppose", "abstain", "maybe"))},
                optional={"by": st.sampled_from(("owner", "paper", "proxy"))},
            ),
            max_size=15,
        )
    )
    return motion(roll, ballots, item=draw(st.integers(1, 9)), revote=draw(st.sampled_from(("last", "first"))))


@given(motions(), st.data())
def test_order_of_units_does_not_matter(document, data):
    shuffled = document | {"units": data.draw(st.permutations(document["units"]))}
    assert tally(shuffled) == tally(document)


@given(motions(), st.data())
def test_turning_oppose_into_agree_never_turns_pass_into_fail(document, data):
    ballots = [dict(ballot) for ballot in document["ballots"]]
    if document["units"]:  # always one oppose to turn, somewhere among the others
        where = data.draw(st.integers(0, len(ballots)))
        ballots.insert(where, {"unit": document["units"][0]["id"], "choice": "oppose"})
    document = document | {"ballots": ballots}
    opposing = [index for index, ballot in enumerate(ballots) if ballot["choice"] == "oppose"]
    assume(opposing)
    index = data.draw(st.sampled_from(opposing))
    ballots = [dict(ballot) for ballot in ballots]
    ballots[index]["choice"] = "agree"
    before, after = tally(document), tally(document | {"ballots": ballots})
    assert after["passed"] or not before["passed"]
    assert Decimal(after["agree"]["area"]) >= Decimal(before["agree"]["area"])
    assert after["agree"]["heads"] >= before["agree"]["heads"]


@given(units(max_size=10), st.lists(areas(), min_size=2, max_size=4), st.data())
def test_splitting_a_members_units_never_lowers_heads(raw_units, held_by_p9, data):
    roll = [
        RollUnit(raw["id"], frozenset(raw.get("owners", ())), raw.get("developer", False), Decimal(*raw["area"].values()))
        for raw in raw_units
    ] + [RollUnit(f"p9-{n}", frozenset({"p9"}), False, Decimal(area)) for n, area in enumerate(held_by_p9)]
    members = derive_members(roll)
    shared = [member for member in members if len(member.unit_ids) > 1]
    assume(shared)
    member = data.draw(st.sampled_from(shared))
    moved = data.draw(st.sets(st.sampled_from(member.unit_ids), min_size=1, max_size=len(member.unit_ids) - 1))
    split = [
        RollUnit(unit.id, frozenset({"newcomer"}), False, unit.area) if unit.id in moved else unit for unit in roll
    ]
    after = derive_members(split)
    assert sum(m.heads for m in after) >= sum(m.heads for m in members)
    assert sum(m.area for m in after) == sum(m.area for m in members)


@given(st.lists(areas(), max_size=40))
def test_sums_are_exact(area_texts):
    roll = [{"id": f"u{n}", "owners": [f"p{n % 7}"], "area": {"survey": text}} for n, text in enumerate(area_texts)]
    everyone = [{"unit": raw["id"], "choice": "agree"} for raw in roll]
    result = tally(motion(roll, everyone))
    expected = Fraction(sum(ten_thousandths(text) for text in area_texts), 10_000)
    assert Fraction(Decimal(result["total"]["area"])) == expected
    assert Fraction(Decimal(result["agree"]["area"])) == expected
    assert "E" not in result["total"]["area"]


ODD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.just(""), st.just([]), st.just({}))
AREA_TEXTS = st.one_of(areas(), st.sampled_from(["0", "0.0000", "-1", "1.23456", "1e2", " 1", "١", "+1", "1."]))


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(st.sampled_from(["u1", ""]), ODD_VALUES),
            "owners": st.one_of(st.lists(st.sampled_from(["p1", "p2", "", "a+b", 3]), max_size=3), ODD_VALUES),
            "developer": st.one_of(st.booleans(), ODD_VALUES),
            "area": st.one_of(
                st.dictionaries(st.sampled_from([*SOURCES, "estimate"]), st.one_of(AREA_TEXTS, ODD_VALUES), max_size=3),
                ODD_VALUES,
            ),
            "floor": st.integers(),
        },
    )
)
def test_fast_reading_of_units_accepts_only_what_the_careful_reading_accepts(raw):
    try:
        careful = _unit(raw, "units[0]")
    except TallyFormatError:
        careful = None
    fast = _plain_unit(raw)
    assert fast is None or fast == careful


@given(units(max_size=3))
def test_fast_reading_takes_the_common_units_as_the_careful_reading_does(roll):
    for raw in roll:
        fast = _plain_unit(raw)
        assert fast is not None and fast == _unit(raw, "units[0]")
