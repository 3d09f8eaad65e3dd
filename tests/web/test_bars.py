"""The turnout and result pictures: widths cut to a whole percent, the legal line in its place, the
verdict and what is still missing computed exactly (one row per legal edge)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assembly.law.rules import HALF, MAJOR, QUORUM, Count
from assembly.voting.meetings import Turnout
from assembly.web.bars import area_bar, heads_bar, result_bars, turnout_bars


@pytest.mark.parametrize(("part", "whole", "share", "strictly", "reached", "missing", "width"), [
    (2, 3, QUORUM, False, True, "", "w-66"),  # exactly two thirds is enough ("以上")
    (1, 3, QUORUM, False, False, "1 人", "w-33"),
    (199, 300, QUORUM, False, False, "1 人", "w-66"),
    (5, 10, HALF, True, False, "1 人", "w-50"),  # half is not "过半数"
    (6, 10, HALF, True, True, "", "w-60"),
    (3, 4, MAJOR, False, True, "", "w-75"),
    (0, 0, QUORUM, False, False, "", "w-0"),  # an empty roll reaches nothing and misses nothing
])
def test_heads_against_the_line(part, whole, share, strictly, reached, missing, width):
    bar = heads_bar("人数", part, whole, share, strictly=strictly)
    assert (bar.reached, bar.missing, bar.width) == (reached, missing, width)


def test_area_missing_is_exact_to_the_registers_precision():
    bar = area_bar("面积", Decimal("0.0001"), Decimal("3"), QUORUM)
    assert not bar.reached and bar.missing == "1.9999 ㎡" and bar.share == "0.00…%"
    assert area_bar("面积", Decimal("200"), Decimal("300"), QUORUM).verdict == "已达到三分之二以上"
    assert area_bar("面积", "50", "100", HALF, strictly=True).verdict == "未过半数"
    assert area_bar("面积", "50", "100", HALF, strictly=True).missing == "0.0001 ㎡"


def test_marks_and_widths_are_classes_never_inline_styles():
    (area, heads) = turnout_bars(Turnout(Count(Decimal("150.5"), 2), Count(Decimal("301"), 4)))
    assert (area.mark, area.width, heads.width) == ("mark-2-3", "w-50", "w-50")
    assert turnout_bars(None) == []


def test_result_pictures_use_the_items_threshold():
    result = {"total": {"area": "400", "heads": 4}, "participating": {"area": "300", "heads": 3},
              "agree": {"area": "225", "heads": 2}}
    major = result_bars(result, item=7)  # items 6–8: three quarters or more
    assert [b.mark for b in major["agree"]] == ["mark-3-4", "mark-3-4"]
    assert [b.reached for b in major["agree"]] == [True, False]
    ordinary = result_bars(result, item=4)
    assert [b.mark for b in ordinary["agree"]] == ["mark-1-2", "mark-1-2"]
    assert [b.reached for b in ordinary["quorum"]] == [True, True] and ordinary["quorum"][0].missing == ""
