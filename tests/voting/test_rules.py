"""The law, one row per legal case (rules.md "The register" and "Meetings, motions, ballots")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assembly.law.ballots import Cast, choices_defect, resolve_ballots
from assembly.law.rules import (
    Count,
    RollUnit,
    UnitAreas,
    decide_election,
    decide_motion,
    derive_members,
    motion_passes,
    quorum_reached,
    unit_area,
)
from assembly.law.tally import tally

from .builders import ballot, election, motion, owners_roll, unit


def count(area: str, heads: int) -> Count:
    return Count(Decimal(area), heads)


# --- quorum and thresholds (民法典第二百七十八条第二款; 第一千二百五十九条) -------------------------

DECISIONS = [
    # item, total, participating, agree -> quorum, passed
    pytest.param(4, count("300", 3), count("200", 2), count("200", 2), True, True, id="exactly-two-thirds-quorum"),
    pytest.param(4, count("300", 3), count("199.9999", 2), count("199.9999", 2), False, False,
                 id="area-one-ten-thousandth-short-of-two-thirds"),
    pytest.param(4, count("300", 6), count("290", 3), count("290", 3), False, False,
                 id="heads-short-of-two-thirds-though-area-reached"),
    pytest.param(4, count("300", 6), count("150", 6), count("150", 6), False, False,
                 id="area-short-of-two-thirds-though-heads-reached"),
    pytest.param(4, count("300", 3), count("300", 3), count("300", 3), True, True, id="everyone-agrees"),
    pytest.param(4, count("0", 0), count("0", 0), count("0", 0), False, False, id="empty-roll-has-no-quorum"),
    pytest.param(7, count("400", 4), count("400", 4), count("300", 3), True, True,
                 id="exactly-three-quarters-on-major-item-passes"),
    pytest.param(7, count("400", 4), count("400", 4), count("299.9999", 3), True, False,
                 id="major-item-area-one-ten-thousandth-short"),
    pytest.param(8, count("400", 4), count("400", 4), count("350", 2), True, False,
                 id="major-item-one-unit-short-in-heads"),
    pytest.param(6, count("300", 3), count("300", 3), count("200", 2), True, False,
                 id="major-item-two-thirds-is-not-enough"),
    pytest.param(4, count("200", 4), count("200", 4), count("100", 2), True, False,
                 id="exactly-half-fails-more-than-half-required"),
    pytest.param(4, count("200", 4), count("200", 4), count("100.0001", 3), True, True,
                 id="just-over-half-passes"),
    pytest.param(4, count("200", 4), count("200", 4), count("100", 3), True, False,
                 id="half-the-area-fails-though-heads-over-half"),
    pytest.param(4, count("200", 4), count("200", 4), count("180", 2), True, False,
                 id="half-the-heads-fails-though-area-over-half"),
    pytest.param(9, count("200", 4), count("200", 4), count("100.0001", 3), True, True,
                 id="item-9-needs-only-more-than-half"),
    pytest.param(5, count("300", 3), count("100", 1), count("100", 1), False, False,
                 id="no-quorum-no-decision-though-all-participants-agree"),
    pytest.param(4, count("600", 6), count("400", 4), count("300", 3), True, True,
                 id="thresholds-count-participants-not-the-whole-roll"),
]


@pytest.mark.parametrize(("item", "total", "participating", "agree", "quorum", "passed"), DECISIONS)
def test_decision(item, total, participating, agree, quorum, passed):
    decision = decide_motion(item=item, total=total, participating=participating, agree=agree)
    assert (decision.quorum, decision.passed) == (quorum, passed)
    assert quorum_reached(participating, total) == quorum
    if quorum:
        assert motion_passes(item, agree, participating) == passed


def test_reasons_state_the_figures_and_the_law():
    decision = decide_motion(item=7, total=count("400", 4), participating=count("400", 4), agree=count("300", 3))
    assert decision.passed
    assert any("400 平方米" in reason and "三分之二以上" in reason for reason in decision.reasons)
    assert any("300 平方米" in reason and "75.00%" in reason and "达到四分之三以上" in reason for reason in decision.reasons)
    assert all("民法典第二百七十八条" in reason for reason in decision.reasons)
    assert "获得通过" in decision.reasons[-1]


def test_reasons_say_why_without_quorum():
    decision = decide_motion(item=4, total=count("300", 3), participating=count("199.9999", 2), agree=count("1", 1))
    assert "未达到三分之二以上" in decision.reasons[0]
    assert "66.66…%" in decision.reasons[0]
    assert "不能作出决定" in decision.reasons[-1]


@pytest.mark.parametrize("item", [0, 10, -1])
def test_unknown_item_is_refused(item):
    with pytest.raises(ValueError, match="1..9"):
        decide_motion(item=item, total=count("1", 1), participating=count("1", 1), agree=count("1", 1))


# --- the register: which area counts, who is one member (SPC 法释〔2009〕7号 Art. 8-9) -----------

AREA_SOURCES = [
    pytest.param(UnitAreas(Decimal("89.5"), Decimal("90"), Decimal("91")), ("89.5", "registry"),
                 id="registry-beats-survey-and-contract"),
    pytest.param(UnitAreas(survey=Decimal("90.10"), contract=Decimal("91")), ("90.10", "survey"),
                 id="survey-beats-contract"),
    pytest.param(UnitAreas(registry=Decimal("88"), contract=Decimal("91")), ("88", "registry"),
                 id="registry-beats-contract-without-survey"),
    pytest.param(UnitAreas(contract=Decimal("120.0001")), ("120.0001", "contract"), id="contract-when-alone"),
]


@pytest.mark.parametrize(("areas", "expected"), AREA_SOURCES)
def test_unit_area_source_order(areas, expected):
    value, source = unit_area(areas)
    assert (value, source) == (Decimal(expected[0]), expected[1])


def test_unit_without_any_area_is_refused():
    with pytest.raises(ValueError):
        unit_area(UnitAreas())


def roll_unit(unit_id: str, *owners: str, area: str = "100", developer: bool = False) -> RollUnit:
    return RollUnit(unit_id, frozenset(owners), developer, Decimal(area))


MEMBERS = [
    # units -> [(key, unit ids, area)]
    pytest.param(
        [roll_unit("1-101", developer=True, area="80"), roll_unit("2-101", developer=True, area="90.5"),
         roll_unit("3-101", "p1")],
        [("developer", ("1-101", "2-101"), "170.5"), ("owners:p1", ("3-101",), "100")],
        id="developer-units-are-one-member",
    ),
    pytest.param(
        [roll_unit("1-102", "p1", area="89.50"), roll_unit("1-101", "p1", area="90.10")],
        [("owners:p1", ("1-101", "1-102"), "179.60")],
        id="owner-of-several-units-is-one-member",
    ),
    pytest.param(
        [roll_unit("1-101", "p3", "p4"), roll_unit("1-102", "p4", "p3")],
        [("owners:p3+p4", ("1-101", "1-102"), "200")],
        id="co-owners-same-set-are-one-member",
    ),
    pytest.param(
        [roll_unit("1-101", "p3", "p4"), roll_unit("1-102", "p3"), roll_unit("1-103", "p4")],
        [("owners:p3", ("1-102",), "100"), ("owners:p3+p4", ("1-101",), "100"), ("owners:p4", ("1-103",), "100")],
        id="co-owners-different-sets-are-different-members",
    ),
    pytest.param(
        [roll_unit("1-101", "buyer", developer=True), roll_unit("1-102", "buyer")],
        [("developer", ("1-101",), "100"), ("owners:buyer", ("1-102",), "100")],
        id="sold-not-delivered-unit-still-votes-with-developer",
    ),
    pytest.param(
        [roll_unit("a", "p1", area="0.0001"), roll_unit("b", "p1", area="0.0002"), roll_unit("c", "p1", area="99999.9997")],
        [("owners:p1", ("a", "b", "c"), "100000")],
        id="member-area-is-the-exact-sum",
    ),
    pytest.param([], [], id="empty-roll-no-members"),
]


@pytest.mark.parametrize(("units", "expected"), MEMBERS)
def test_members(units, expected):
    members = derive_members(units)
    assert [(m.key, m.unit_ids, m.area, m.heads) for m in members] == [
        (key, unit_ids, Decimal(area), 1) for key, unit_ids, area in expected
    ]


def test_unit_with_neither_owners_nor_developer_is_refused():
    with pytest.raises(ValueError, match="neither owners nor developer"):
        derive_members([roll_unit("1-101")])


# --- which ballot counts (rules.md "Ballots") ----------------------------------------------------

BALLOTS = [
    # casts, revote -> counted {member: index}, rejected [(index, reason)]
    pytest.param([Cast("m"), Cast("m")], "last", {"m": 1}, [], id="revote-last-replaces-earlier-ballot"),
    pytest.param([Cast("m"), Cast("m")], "first", {"m": 0}, [(1, "duplicate")], id="revote-first-rejects-later-ballot"),
    pytest.param([Cast("m", "proxy"), Cast("m", "owner")], "last", {"m": 1}, [],
                 id="owner-after-proxy-counts-proxy-not-listed"),
    pytest.param([Cast("m", "proxy"), Cast("m", "owner")], "first", {"m": 1}, [],
                 id="owner-after-proxy-counts-even-under-revote-first"),
    pytest.param([Cast("m", "owner"), Cast("m", "proxy")], "last", {"m": 0}, [(1, "owner voted")],
                 id="proxy-after-owner-rejected-under-revote-last"),
    pytest.param([Cast("m", "owner"), Cast("m", "proxy")], "first", {"m": 0}, [(1, "owner voted")],
                 id="proxy-after-owner-rejected-under-revote-first"),
    pytest.param([Cast("m", "paper"), Cast("m", "proxy")], "last", {"m": 0}, [(1, "owner voted")],
                 id="proxy-after-paper-rejected"),
    pytest.param([Cast("m", "proxy"), Cast("m", "paper")], "first", {"m": 1}, [], id="paper-beats-earlier-proxy"),
    pytest.param([Cast("m", "owner"), Cast("m", "paper")], "last", {"m": 1}, [], id="later-paper-counts-under-last"),
    pytest.param([Cast("m", "owner"), Cast("m", "paper")], "first", {"m": 0}, [(1, "duplicate")],
                 id="earlier-electronic-counts-under-first"),
    pytest.param([Cast("m", "proxy"), Cast("m", "proxy")], "last", {"m": 1}, [], id="proxy-revote-replaces"),
    pytest.param([Cast("m", "proxy"), Cast("m", "proxy"), Cast("m", "owner"), Cast("m", "proxy")], "first",
                 {"m": 2}, [(1, "duplicate"), (3, "owner voted")], id="duplicate-proxy-then-owner-then-proxy"),
    pytest.param([Cast(None), Cast("m", defect="invalid choice"), Cast("m")], "first", {"m": 2},
                 [(0, "unknown unit"), (1, "invalid choice")], id="refused-ballots-do-not-take-the-first-place"),
    pytest.param([Cast("m"), Cast("n"), Cast("m")], "last", {"m": 2, "n": 1}, [], id="members-are-counted-apart"),
]


@pytest.mark.parametrize(("casts", "revote", "counted", "rejected"), BALLOTS)
def test_ballot_resolution(casts, revote, counted, rejected):
    resolution = resolve_ballots(casts, revote=revote)
    assert dict(resolution.counted) == counted
    assert [tuple(r) for r in resolution.rejected] == rejected


CHOICES = [
    pytest.param([], None, id="blank-election-ballot-is-valid"),
    pytest.param(["a", "b"], None, id="as-many-as-seats"),
    pytest.param(["a", "a"], "invalid choices", id="repeated-candidate"),
    pytest.param(["a", "z"], "invalid choices", id="unknown-candidate"),
    pytest.param(["a", "b", "c"], "invalid choices", id="more-than-seats"),
]


@pytest.mark.parametrize(("choices", "defect"), CHOICES)
def test_election_ballot_validity(choices, defect):
    assert choices_defect(choices, candidates={"a", "b", "c"}, seats=2) == defect


# --- elections: each candidate like an item-3 motion, ranked by heads then area ------------------

ELECTIONS = [
    # seats, {candidate: (area, heads)} with 10 members of 100 m² all taking part -> elected, tie
    pytest.param(2, {"a": ("900", 9), "b": ("800", 8), "c": ("800", 8)}, ["a"], ["b", "c"],
                 id="tie-straddling-last-seat-none-elected"),
    pytest.param(3, {"a": ("900", 9), "b": ("800", 8), "c": ("800", 8), "d": ("700", 7)}, ["a", "b", "c"], [],
                 id="tie-inside-the-seats-both-elected"),
    pytest.param(2, {"a": ("600", 6), "b": ("800", 8), "c": ("800", 8)}, ["b", "c"], [],
                 id="tie-filling-the-last-seats-exactly-both-elected"),
    pytest.param(1, {"a": ("700", 7), "b": ("750", 7)}, ["b"], [], id="equal-heads-larger-area-wins"),
    pytest.param(1, {"a": ("900", 8), "b": ("700", 9)}, ["b"], [], id="heads-rank-before-area"),
    pytest.param(3, {"a": ("600", 6), "b": ("500", 5), "c": ("900", 9)}, ["a", "c"], [],
                 id="half-is-not-enough-seat-stays-empty"),
    pytest.param(1, {"a": ("500", 5), "b": ("400", 4)}, [], [], id="nobody-over-half-nobody-elected"),
]


@pytest.mark.parametrize(("seats", "selections", "elected", "tie"), ELECTIONS)
def test_election(seats, selections, elected, tie):
    total = participating = count("1000", 10)
    agree = {candidate: count(*figures) for candidate, figures in selections.items()}
    result = decide_election(seats=seats, total=total, participating=participating, agree=agree)
    assert [c.id for c in result.candidates] == list(selections)
    assert [c.id for c in result.candidates if c.elected] == elected
    assert list(result.tie) == tie
    assert all(c.passed for c in result.candidates if c.elected or c.id in tie)


def test_election_without_quorum_elects_nobody():
    result = decide_election(seats=1, total=count("300", 3), participating=count("100", 1), agree={"a": count("100", 1)})
    assert not result.quorum
    assert [(c.passed, c.elected) for c in result.candidates] == [(False, False)]


# --- whole recounts: the same law through a tally file ------------------------------------------

RECOUNTS = [
    # document -> expected subset of the output
    pytest.param(
        motion(owners_roll(4), [ballot("u1", "agree"), ballot("u2", "agree"), ballot("u3", "abstain"),
                                ballot("u4", "abstain")]),
        {"participating": {"area": "400", "heads": 4}, "passed": False},
        id="abstentions-count-as-participating",
    ),
    pytest.param(
        motion([unit("d1", developer=True), unit("d2", developer=True), unit("u1", "p1"), unit("u2", "p2")],
               [ballot("d1", "agree"), ballot("d2", "oppose"), ballot("u1", "agree")]),
        {"total": {"area": "400", "heads": 3}, "participating": {"area": "300", "heads": 2},
         "agree": {"area": "100", "heads": 1}, "oppose": {"area": "200", "heads": 1}, "passed": False},
        id="developer-units-vote-once-as-one-member",
    ),
    pytest.param(
        motion([unit("u1", "p1"), unit("u2", "p1"), unit("u3", "p2")],
               [ballot("u1", "oppose"), ballot("u2", "agree"), ballot("u3", "agree")]),
        {"total": {"area": "300", "heads": 2}, "agree": {"area": "300", "heads": 2}, "passed": True},
        id="owner-of-two-units-votes-once-last-counts",
    ),
    pytest.param(
        motion(owners_roll(3), [ballot("u1", "agree", by="paper"), ballot("u2", "agree"),
                                ballot("u1", "oppose", by="proxy")]),
        {"agree": {"area": "200", "heads": 2}, "rejected": [{"index": 2, "reason": "owner voted"}]},
        id="paper-ballot-beats-later-proxy",
    ),
    pytest.param(
        motion(owners_roll(3), [ballot("u1", "oppose", by="proxy"), ballot("u2", "agree"), ballot("u1", "agree")],
               revote="first"),
        {"agree": {"area": "200", "heads": 2}, "oppose": {"area": "0", "heads": 0}, "rejected": []},
        id="owner-beats-earlier-proxy-not-listed",
    ),
    pytest.param(
        motion(owners_roll(3), [ballot("u1", "agree"), ballot("u2", "agree"), ballot("u1", "oppose")], revote="first"),
        {"agree": {"area": "200", "heads": 2}, "rejected": [{"index": 2, "reason": "duplicate"}]},
        id="revote-first-keeps-the-first",
    ),
    pytest.param(
        motion(owners_roll(3), [ballot("u1", "agree"), ballot("zz", "agree"), ballot("u2", "yes")]),
        {"participating": {"area": "100", "heads": 1}, "quorum": False,
         "rejected": [{"index": 1, "reason": "unknown unit"}, {"index": 2, "reason": "invalid choice"}]},
        id="refused-ballots-do-not-participate",
    ),
    pytest.param(
        election(owners_roll(3), [ballot("u1", choices=[]), ballot("u2", choices=["a"]), ballot("u3", choices=["a"])],
                 seats=1, candidates=["a", "b"]),
        {"participating": {"area": "300", "heads": 3}, "tie": [],
         "candidates": [{"id": "a", "area": "200", "heads": 2, "passed": True, "elected": True},
                        {"id": "b", "area": "0", "heads": 0, "passed": False, "elected": False}]},
        id="blank-election-ballot-participates",
    ),
    pytest.param(
        election(owners_roll(3), [ballot("u1", choices=["a", "a"]), ballot("u2", choices=["z"]),
                                  ballot("u3", choices=["a", "b"])], seats=1, candidates=["a", "b"]),
        {"participating": {"area": "0", "heads": 0},
         "rejected": [{"index": 0, "reason": "invalid choices"}, {"index": 1, "reason": "invalid choices"},
                      {"index": 2, "reason": "invalid choices"}]},
        id="invalid-election-ballots-rejected",
    ),
    pytest.param(
        election(owners_roll(5), [ballot(f"u{n}", choices=chosen) for n, chosen in
                                  enumerate([["a", "b"], ["a", "c"], ["a", "b"], ["a", "c"], ["c", "b"]], start=1)],
                 seats=2, candidates=["c", "b", "a"]),
        {"tie": ["c", "b"], "candidates": [
            {"id": "c", "area": "300", "heads": 3, "passed": True, "elected": False},
            {"id": "b", "area": "300", "heads": 3, "passed": True, "elected": False},
            {"id": "a", "area": "400", "heads": 4, "passed": True, "elected": True}]},
        id="election-tie-for-the-last-seat-goes-to-runoff",
    ),
]


@pytest.mark.parametrize(("document", "expected"), RECOUNTS)
def test_recount(document, expected):
    result = tally(document)
    assert {key: result[key] for key in expected} == expected
