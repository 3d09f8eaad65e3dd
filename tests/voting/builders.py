"""Small assembly-tally/1 documents for the tests: a roll and its ballots in a few words."""

from __future__ import annotations


def unit(unit_id: str, *owners: str, area: str = "100", source: str = "registry", developer: bool = False) -> dict:
    """A unit held by `owners` (or by the developer) with one area."""
    raw: dict = {"id": unit_id, "area": {source: area}}
    if owners:
        raw["owners"] = list(owners)
    if developer:
        raw["developer"] = True
    return raw


def ballot(unit_id: str, choice: str | None = None, *, by: str | None = None, choices: list | None = None) -> dict:
    raw: dict = {"unit": unit_id}
    if choices is not None:
        raw["choices"] = choices
    else:
        raw["choice"] = choice
    if by is not None:
        raw["by"] = by
    return raw


def motion(units: list[dict], ballots: list[dict], *, item: int = 4, revote: str | None = None) -> dict:
    document = {"format": "assembly-tally/1", "item": item, "kind": "motion", "units": units, "ballots": ballots}
    if revote is not None:
        document["revote"] = revote
    return document


def election(
    units: list[dict], ballots: list[dict], *, seats: int, candidates: list[str], revote: str | None = None
) -> dict:
    document = motion(units, ballots, item=3, revote=revote)
    document |= {"kind": "election", "seats": seats, "candidates": candidates}
    return document


def owners_roll(count: int, area: str = "100") -> list[dict]:
    """`count` units u1..uN, each its own member p1..pN, all of the same area."""
    return [unit(f"u{n}", f"p{n}", area=area) for n in range(1, count + 1)]
