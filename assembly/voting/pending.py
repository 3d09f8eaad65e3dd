"""Paper sheets still unsettled when the grace period ends 未完成复核的纸质选票: could they change an
outcome? Pure functions over tally documents (tally-format.md), no database, no clock.

A sheet handed in on time is a vote (rules.md, "Paper ballots"): it is never dropped for a delay in
entering it. When sheets are unsettled at the end of the grace period, each of their members could
still go any way, so the result may be announced only if no outcome depends on them. The question
is answered with the very `tally()` the count uses, on the motion's tally document with every
pending sheet put in its place (by hand-in time) as a paper ballot, once with each extreme choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from assembly.law.tally import tally

Tally = Callable[[dict], dict]


@dataclass(frozen=True)
class PendingSheet:
    """An unsettled sheet: the unit it names, and where it stands among the motion's ballots (the
    tally file's order: hand-in time for paper)."""

    unit: str
    position: int  # index into the confirmed ballots before which it stands (len(ballots): after all)


def _with(document: dict, sheets: Sequence[PendingSheet], say: Callable[[PendingSheet], dict]) -> dict:
    ballots = list(document["ballots"])
    for sheet in sorted(sheets, key=lambda s: s.position, reverse=True):  # from the back: positions stay valid
        ballots.insert(sheet.position, {"unit": sheet.unit, **say(sheet), "by": "paper"})
    return {**document, "ballots": ballots}


def _choosing(name: str) -> Callable[[PendingSheet], dict]:
    """Every pending sheet choosing `name` alone."""
    return lambda _sheet: {"choices": [name]}


def could_change(document: dict, sheets: Sequence[PendingSheet], *, count: Tally = tally) -> bool:
    """True when some way the pending sheets could still be settled would give another outcome
    than the count of `document` without them (quorum, passed or not; for an election who is
    elected, or a tie for the last seat): then the result must wait for them.

    Each pending member participates whatever the sheet says (a settled sheet is their ballot, or
    loses to their own other ballot under the meeting's revote rule: either way they took part), so
    participation with the sheets does not depend on their choices. A motion is decided when it
    passes with every pending sheet saying "agree" exactly when it passes with every one saying
    "oppose" — the thresholds only grow with agreement — and exactly when it passes without them.
    An election is decided when, without the sheets and with all of them choosing nobody, the same
    candidates pass and are elected with no tie; every candidate passes or fails alike whether all
    pending sheets choose them or none does; and every elected candidate stays ahead, with none of
    the pending sheets, of every passing candidate not elected with all of them — a sufficient
    condition (an exact search is exponential): when it fails the result is held."""
    if not sheets:
        return False
    without = count(document)
    if document["kind"] == "motion":
        agreeing = count(_with(document, sheets, lambda _s: {"choice": "agree"}))
        opposing = count(_with(document, sheets, lambda _s: {"choice": "oppose"}))
        return any((result["passed"], result["quorum"]) != (without["passed"], without["quorum"])
                   for result in (agreeing, opposing))
    none = count(_with(document, sheets, lambda _s: {"choices": []}))
    if none["tie"] or without["tie"] or none["quorum"] != without["quorum"]:
        return True
    if [(c["passed"], c["elected"]) for c in none["candidates"]] != \
            [(c["passed"], c["elected"]) for c in without["candidates"]]:
        return True
    least = {c["id"]: c for c in none["candidates"]}
    most = {}
    for candidate in document["candidates"]:
        chosen = count(_with(document, sheets, _choosing(candidate)))
        if chosen["tie"]:
            return True
        most[candidate] = next(c for c in chosen["candidates"] if c["id"] == candidate)
    if any(least[c]["passed"] != most[c]["passed"] for c in least):
        return True
    elected = [c for c in least.values() if c["elected"]]
    trailing = [most[c["id"]] for c in least.values() if c["passed"] and not c["elected"]]
    return any(not _ahead(leader, runner) for leader in elected for runner in trailing)


def _ahead(leader: dict, runner: dict) -> bool:
    """Ranked by heads, then area (rules.md, "Elections"): strictly ahead, so no tie is possible."""
    return (leader["heads"], Decimal(leader["area"])) > (runner["heads"], Decimal(runner["area"]))
