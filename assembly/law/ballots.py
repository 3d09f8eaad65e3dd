"""Which ballot counts for each voting member: one ballot per member per motion, the owner's own
(or paper) ballot beats a proxy's, and `revote` settles equal ones. Pure; the server reuses it."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

CHOICES = ("agree", "oppose", "abstain")
BY = {"owner": 1, "paper": 1, "proxy": 0}  # rank: a member's own or paper ballot beats a proxy's
REVOTES = ("last", "first")

UNKNOWN_UNIT = "unknown unit"
INVALID_CHOICE = "invalid choice"
INVALID_CHOICES = "invalid choices"
DUPLICATE = "duplicate"
OWNER_VOTED = "owner voted"


class Cast(NamedTuple):
    """One ballot as it arrived, in arrival order: whose it is, how it was cast, and what, if
    anything, is wrong with what it says (a NamedTuple: a tally builds tens of thousands)."""

    member: str | None  # the voting member's key; None when the unit is not on the roll
    by: str = "owner"
    defect: str | None = None  # INVALID_CHOICE or INVALID_CHOICES


class Rejection(NamedTuple):
    index: int  # type: ignore[assignment]  # the field shadows tuple.index; callers read .index
    reason: str


@dataclass(frozen=True)
class Resolution:
    counted: Mapping[str, int]  # member key -> index of the ballot that counts
    rejected: tuple[Rejection, ...]  # in arrival order


def resolve_ballots(casts: Iterable[Cast], *, revote: str = "last") -> Resolution:
    """Keep one ballot per member. A ballot refused on arrival is rejected with its reason; a
    ballot later replaced (by a revote under "last", or by the owner over their proxy) was
    valid when cast and is simply no longer counted, so it is not listed."""
    if revote not in REVOTES:
        raise ValueError(f"revote must be 'last' or 'first', not {revote!r}")
    replace_equal = revote == "last"
    counted: dict[str, tuple[int, int]] = {}  # member -> (index, rank)
    rejected: list[Rejection] = []
    for index, (member, by, defect) in enumerate(casts):
        if member is None:
            rejected.append(Rejection(index, UNKNOWN_UNIT))
            continue
        if defect is not None:
            rejected.append(Rejection(index, defect))
            continue
        rank = BY.get(by)
        if rank is None:
            raise ValueError(f"a ballot is cast by owner, paper or proxy, not {by!r}")
        held = counted.get(member)
        if held is None or rank > held[1] or (rank == held[1] and replace_equal):
            counted[member] = (index, rank)
        elif rank < held[1]:
            rejected.append(Rejection(index, OWNER_VOTED))
        else:
            rejected.append(Rejection(index, DUPLICATE))
    return Resolution({member: index for member, (index, _) in counted.items()}, tuple(rejected))


def choice_defect(choice: str) -> str | None:
    """Why a motion ballot's choice cannot count, or None."""
    return None if choice in CHOICES else INVALID_CHOICE


def choices_defect(choices: Sequence[str], *, candidates: Collection[str], seats: int) -> str | None:
    """Why an election ballot cannot count, or None: more than `seats` names, a name twice, or
    someone who is not a candidate. An empty list is a valid blank ballot."""
    if len(choices) > seats or len(set(choices)) != len(choices):
        return INVALID_CHOICES
    if any(choice not in candidates for choice in choices):
        return INVALID_CHOICES
    return None


def superseded_by_transfer(casts: Sequence[tuple[str, Any]], transfers: Mapping[str, Sequence[Any]]) -> set[int]:
    """The ballots a sale registered during voting set aside (民法典第二百七十三条第二款): `casts` are
    (member, time) in any order, `transfers` the times from which each transferred member's ballot
    passed to new holders. A member's ballots fall into periods cut at those times; the ballots of
    the latest period that has any count (one of them, as resolve_ballots decides) and those of the
    earlier periods are set aside: the seller's ballot stands until the buyer votes, whatever the
    meeting's revote rule. Returns the indexes into `casts` set aside."""
    periods: dict[str, list[tuple[int, int]]] = {}
    for index, (member, when) in enumerate(casts):
        moments = transfers.get(member)
        if moments:
            periods.setdefault(member, []).append((index, bisect_right(sorted(moments), when)))
    aside: set[int] = set()
    for found in periods.values():
        latest = max(period for _index, period in found)
        aside.update(index for index, period in found if period < latest)
    return aside
