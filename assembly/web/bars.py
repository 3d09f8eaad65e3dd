"""Pictures of turnout and results as plain HTML/CSS bars (no JavaScript, no images, no inline
styles: the CSP forbids them, so widths are classes `w-0` … `w-100` from assembly.css).

Each bar carries its exact figures and the threshold in words; the bar itself is decoration
(aria-hidden) and its width is cut to a whole percent (display only: decisions are exact, in
assembly/law/rules.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from assembly.law.rules import HALF, MAJOR, MAJOR_ITEMS, QUORUM, percent
from assembly.web.i18n import N_, format_area, gettext, ngettext  # called while a page renders: its language

# Where each legal share sits on a bar (a class of assembly.css) and how the law words it.
MARKS = {QUORUM: "mark-2-3", MAJOR: "mark-3-4", HALF: "mark-1-2"}
SHARE_WORDS = {QUORUM: N_("三分之二以上"), MAJOR: N_("四分之三以上"), HALF: N_("过半数")}


def bar_width(part, whole) -> str:
    """A CSS width for a turnout bar: whole percent, cut (display only; decisions are exact)."""
    if not whole:
        return "0%"
    return f"{min(100, int(Decimal(part) * 100 / Decimal(whole)))}%"


@dataclass(frozen=True)
class Bar:
    """One measure against its threshold: `part` of `whole` (both already formatted with units)."""

    label: str
    part: str
    whole: str
    share: str  # "61.73%", cut (rules.percent)
    width: str  # CSS class w-NN
    mark: str  # CSS class of the threshold line
    threshold: str  # "三分之二以上", in the language of the page
    reached: bool
    missing: str  # what is still missing to reach the line ("" when reached or unknown)

    @property
    def verdict(self) -> str:
        if self.mark == MARKS[HALF]:
            return gettext("已过半数") if self.reached else gettext("未过半数")
        words = gettext("已达到%(share)s") if self.reached else gettext("未达到%(share)s")
        return words % {"share": self.threshold}


def _reaches(part: Fraction, whole: Fraction, share: Fraction, strictly: bool) -> bool:
    return part > whole * share if strictly else part >= whole * share


def _missing_heads(part: int, whole: int, share: Fraction, strictly: bool) -> int:
    need = whole * share
    smallest = math.floor(need) + 1 if strictly else math.ceil(need)
    return max(0, smallest - part)


def _missing_area(part: Decimal, whole: Decimal, share: Fraction, strictly: bool) -> Decimal:
    """The smallest area (in the register's ten-thousandths of a ㎡) that would reach the line."""
    gap = (Fraction(whole) * share - Fraction(part)) * 10_000
    smallest = math.floor(gap) + 1 if strictly else math.ceil(gap)
    return Decimal(max(0, smallest)) / 10_000


def area_bar(label: str, part: Decimal | str, whole: Decimal | str, share: Fraction, *, strictly: bool = False,
             show_missing: bool = True) -> Bar:
    part, whole = Decimal(part), Decimal(whole)
    reached = whole > 0 and _reaches(Fraction(part), Fraction(whole), share, strictly)
    missing = "" if reached or whole == 0 or not show_missing else \
        format_area(_missing_area(part, whole, share, strictly))
    return Bar(gettext(label), format_area(part), format_area(whole), percent(part, whole),
               "w-" + bar_width(part, whole).rstrip("%"), MARKS[share], gettext(SHARE_WORDS[share]), reached, missing)


def heads_bar(label: str, part: int | str, whole: int | str, share: Fraction, *, strictly: bool = False,
              show_missing: bool = True) -> Bar:
    part, whole = int(part), int(whole)
    reached = whole > 0 and _reaches(Fraction(part), Fraction(whole), share, strictly)
    missing = "" if reached or whole == 0 or not show_missing else \
        _people(_missing_heads(part, whole, share, strictly))
    return Bar(gettext(label), _people(part), _people(whole), percent(part, whole),
               "w-" + bar_width(part, whole).rstrip("%"), MARKS[share], gettext(SHARE_WORDS[share]), reached, missing)


def _people(count: int) -> str:
    return ngettext("%(count)s 人", "%(count)s 人", count) % {"count": count}


def turnout_bars(turnout) -> list[Bar]:
    """Live turnout (meetings.Turnout): participating area and heads against the 2/3 line."""
    if turnout is None:
        return []
    return [area_bar(N_("参与表决的面积"), turnout.participating.area, turnout.total.area, QUORUM),
            heads_bar(N_("参与表决的人数"), turnout.participating.heads, turnout.total.heads, QUORUM)]


def agree_share(item: int) -> tuple[Fraction, bool]:
    """The share of participants that must agree (rules._threshold, as the pictures need it)."""
    return (MAJOR, False) if item in MAJOR_ITEMS else (HALF, True)


def result_bars(result: dict, *, item: int) -> dict[str, list[Bar]]:
    """After close: the quorum pair (participating of total, 2/3) and, for a motion, the agreement
    pair (agree of participating, 1/2 or 3/4); for an election, each candidate's pair."""
    total, participating = result["total"], result["participating"]
    quorum = [area_bar(N_("参与表决的面积"), participating["area"], total["area"], QUORUM, show_missing=False),
              heads_bar(N_("参与表决的人数"), participating["heads"], total["heads"], QUORUM, show_missing=False)]
    share, strictly = agree_share(item)
    bars: dict[str, list[Bar]] = {"quorum": quorum}
    if "agree" in result:
        agree = result["agree"]
        bars["agree"] = [
            area_bar(N_("同意的面积"), agree["area"], participating["area"], share, strictly=strictly, show_missing=False),
            heads_bar(N_("同意的人数"), agree["heads"], participating["heads"], share, strictly=strictly,
                      show_missing=False)]
    for candidate in result.get("candidates", []):
        bars[f"candidate:{candidate['id']}"] = [
            area_bar(N_("面积"), candidate["area"], participating["area"], share, strictly=strictly, show_missing=False),
            heads_bar(N_("人数"), candidate["heads"], participating["heads"], share, strictly=strictly,
                      show_missing=False)]
    return bars
