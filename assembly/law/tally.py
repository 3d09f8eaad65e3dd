"""Read, check and recount an `assembly-tally/1` file (shared/spec/tally-format.md) with the law
in rules.py; `assembly tally FILE` runs main().

Where the spec leaves room, this reader decides (strictly, so a recount never guesses):
- Areas are JSON strings only ("89.50"): ASCII digits, at most 4 places, greater than zero. JSON
  numbers are refused as areas, so no float ever enters the arithmetic (floats parse as Decimal).
- A unit with `developer: true` is the developer's even when it also names owners: a unit sold
  but not delivered has a buyer of record and still votes with the developer (SPC Art. 9).
- `owners`, when present, is a non-empty list of distinct non-empty ids without "+" (member keys
  join owner ids with "+", so "+" would let two owner sets share a key).
- A value of the wrong JSON type is a file error, also inside a ballot (`"choice": 1`,
  `"choices": "c1"`); a well-typed ballot that cannot count (`"choice": "yes"`, a repeated,
  unknown or surplus candidate) is a rejected ballot, as the spec lists.
- An object with the same key twice, NaN or Infinity, and a BOM are file errors.
- An election also carries `item` (any of 1..9, usually 3); candidates always pass like item 3.
  It needs at least one candidate; more seats than candidates is allowed.
- Each rejected ballot is written `{"index": i, "reason": "..."}`, in file order.
"""

from __future__ import annotations

import gc
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from assembly.law.ballots import BY, CHOICES, REVOTES, Cast, choice_defect, choices_defect, resolve_ballots
from assembly.law.rules import (
    AREA_SOURCES,
    ITEMS,
    CandidateResult,
    Count,
    Member,
    RollUnit,
    decide_election,
    decide_motion,
    derive_members,
    first_area,
)

FORMAT = "assembly-tally/1"
KINDS = ("motion", "election")


class _Shape:
    """The fields one kind of object has; a missing one is reported in the order given."""

    def __init__(self, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
        self.required, self.optional = required, optional
        self.needed, self.allowed = frozenset(required), frozenset(required + optional)

    def check(self, raw: Any, where: str) -> None:
        if type(raw) is dict and self.allowed >= raw.keys() >= self.needed:
            return
        if type(raw) is not dict:
            raise TallyFormatError(where or "the document", f"not an object: {_show(raw)}")
        for name in raw:  # first: a misspelt field explains the missing one
            if name not in self.allowed:
                raise TallyFormatError(where, f"unknown field {_show(name)}")
        missing = next(name for name in self.required if name not in raw)
        raise TallyFormatError(where, f'missing field "{missing}"')


_HEADER = ("format", "item", "kind", "units", "ballots")
_DOCUMENT = {"motion": _Shape(_HEADER, ("revote",)), "election": _Shape(_HEADER + ("seats", "candidates"), ("revote",))}
_UNIT = _Shape(("id", "area"), ("owners", "developer"))
_AREAS = _Shape((), AREA_SOURCES)
_BALLOT = {"motion": _Shape(("unit", "choice"), ("by",)), "election": _Shape(("unit", "choices"), ("by",))}
_AREA = re.compile(r"[0-9]+(?:\.[0-9]{1,4})?")


class TallyFormatError(ValueError):
    """The file is not assembly-tally/1. str() is the one line for stderr, naming where and what."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"tally: {where}: {problem}" if where else f"tally: {problem}")


def main(path: Path) -> int:
    """Print the recount of the file at `path` as JSON and return 0; for a malformed file print
    one line on stderr, nothing on stdout, and return 2."""
    try:
        with _gc_paused():
            result = tally(load(path))
    except TallyFormatError as error:
        print(error, file=sys.stderr)
        return 2
    sys.stdout.write(dumps(result))
    return 0


def load(path: Path | str) -> dict:
    """The JSON object in the file: UTF-8, no duplicate keys, no NaN, numbers never as floats."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as error:
        raise TallyFormatError(str(path), f"cannot read the file: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise TallyFormatError(str(path), f"not UTF-8 text: {error.reason} at byte {error.start}") from None
    try:
        document = json.loads(text, parse_float=Decimal, parse_constant=_no_constant, object_pairs_hook=_object)
    except TallyFormatError:
        raise
    except (ValueError, RecursionError) as error:
        raise TallyFormatError("", f"not valid JSON: {error}") from None
    if type(document) is not dict:
        raise TallyFormatError("", f"not a JSON object but {_show(document)}")
    return document


def dumps(result: dict) -> str:
    """The result as the JSON text `assembly tally` prints."""
    return json.dumps(result, ensure_ascii=False, indent=2) + "\n"


def tally(document: dict) -> dict:
    """Check the document and recount it: the spec's output object, areas as decimal strings."""
    kind = _header(document)
    seats, candidates = _election(document) if kind == "election" else (0, ())
    members, member_of = roll_of(_list(document["units"], "units"))
    casts, said = _ballots(_list(document["ballots"], "ballots"), kind, member_of, candidates, seats)
    resolution = resolve_ballots(casts, revote=document.get("revote", "last"))
    areas = {member.key: member.area for member in members}
    total = Count.of(list(areas.values()))
    participating = Count.of([areas[member] for member in resolution.counted])
    outcome: dict[str, Any]
    if kind == "motion":
        counts = _motion_counts(resolution.counted, said, areas)
        decision = decide_motion(item=document["item"], total=total, participating=participating, agree=counts["agree"])
        quorum = decision.quorum
        outcome = {choice: _count_json(counts[choice]) for choice in CHOICES} | {"passed": decision.passed}
    else:
        selections = _selections(resolution.counted, said, areas, candidates)
        result = decide_election(seats=seats, total=total, participating=participating, agree=selections)
        quorum = result.quorum
        outcome = {"candidates": [_candidate_json(candidate) for candidate in result.candidates], "tie": list(result.tie)}
    return {
        "total": _count_json(total),
        "participating": _count_json(participating),
        "quorum": quorum,
        **outcome,
        "rejected": [{"index": index, "reason": reason} for index, reason in resolution.rejected],
    }


# --- reading the document ------------------------------------------------------------------


def _header(document: dict) -> str:
    """Check the top-level fields; return the kind."""
    if type(document) is not dict:
        raise TallyFormatError("", f"not a JSON object but {_show(document)}")
    if "format" not in document:
        raise TallyFormatError("", 'missing field "format"')
    if document["format"] != FORMAT:
        raise TallyFormatError("format", f'not "{FORMAT}": {_show(document["format"])}')
    kind = document.get("kind")
    if type(kind) is not str or kind not in KINDS:
        raise TallyFormatError("kind", f"unknown kind (motion or election): {_show(kind)}")
    _DOCUMENT[kind].check(document, "")
    item = document["item"]
    if type(item) is not int or item not in ITEMS:
        raise TallyFormatError("item", f"unknown item (an integer 1..9): {_show(item)}")
    revote = document.get("revote", "last")
    if type(revote) is not str or revote not in REVOTES:
        raise TallyFormatError("revote", f"unknown revote (last or first): {_show(revote)}")
    return kind


def _election(document: dict) -> tuple[int, tuple[str, ...]]:
    seats = document["seats"]
    if type(seats) is not int or seats < 1:
        raise TallyFormatError("seats", f"not a whole number of seats, at least 1: {_show(seats)}")
    candidates = _list(document["candidates"], "candidates")
    if not candidates:
        raise TallyFormatError("candidates", "an election needs at least one candidate")
    for index, candidate in enumerate(candidates):
        _id(candidate, f"candidates[{index}]")
    if len(set(candidates)) != len(candidates):
        repeated = next(c for i, c in enumerate(candidates) if c in candidates[:i])
        raise TallyFormatError("candidates", f"candidate {_show(repeated)} listed twice")
    return seats, tuple(candidates)


def roll_of(raw_units: list) -> tuple[list[Member], dict[str, str]]:
    """The voting members, and the member key of every unit id."""
    units = [_plain_unit(raw) or _unit(raw, f"units[{index}]") for index, raw in enumerate(raw_units)]
    if len({unit.id for unit in units}) != len(units):
        index = _first_repeat([unit.id for unit in units])
        unit = units[index]
        raise TallyFormatError(f"units[{index}].id", f"duplicate unit id {_show(unit.id)}")
    members = derive_members(units)
    return members, {unit_id: member.key for member in members for unit_id in member.unit_ids}


def _plain_unit(raw: Any) -> RollUnit | None:
    """The common, well-formed unit, read fast; None for anything else, which _unit() then reads
    slowly and either accepts or names what is wrong. Both must agree on what they accept."""
    if type(raw) is not dict or not raw.keys() <= _UNIT.allowed:
        return None
    unit_id, developer, areas = raw.get("id"), raw.get("developer", False), raw.get("area")
    if type(unit_id) is not str or not unit_id or type(developer) is not bool or type(areas) is not dict:
        return None
    owners = _plain_owners(raw["owners"]) if "owners" in raw else frozenset()
    if owners is None or not (owners or developer) or not areas or not areas.keys() <= _AREAS.allowed:
        return None
    given = {}
    for source, value in areas.items():
        if type(value) is not str or not _AREA.fullmatch(value):
            return None
        given[source] = area = Decimal(value)
        if not area:
            return None
    return RollUnit(unit_id, owners, developer, first_area(given)[0])


def _plain_owners(raw: Any) -> frozenset[str] | None:
    if type(raw) is not list or not raw:
        return None
    for owner in raw:
        if type(owner) is not str or not owner or "+" in owner:
            return None
    owners = frozenset(raw)
    return owners if len(owners) == len(raw) else None


def _unit(raw: Any, where: str) -> RollUnit:
    _UNIT.check(raw, where)
    unit_id = _id(raw["id"], f"{where}.id")
    developer = raw.get("developer", False)
    if type(developer) is not bool:
        raise TallyFormatError(f"{where}.developer", f"not true or false: {_show(developer)}")
    owners = _owners(raw["owners"], f"{where}.owners") if "owners" in raw else frozenset()
    if not owners and not developer:
        raise TallyFormatError(where, "a unit with neither owners nor developer")
    return RollUnit(unit_id, owners, developer, _area(raw["area"], f"{where}.area"))


def _owners(raw: Any, where: str) -> frozenset[str]:
    owners = _list(raw, where)
    if not owners:
        raise TallyFormatError(where, "an empty list of owners")
    for index, owner in enumerate(owners):
        if "+" in _id(owner, f"{where}[{index}]"):
            raise TallyFormatError(f"{where}[{index}]", f'an owner id with "+": {_show(owner)}')
    distinct = frozenset(owners)
    if len(distinct) != len(owners):
        raise TallyFormatError(where, "an owner listed twice")
    return distinct


def _area(raw: Any, where: str) -> Decimal:
    """The unit's area that counts; every area given must be well formed, used or not."""
    _AREAS.check(raw, where)
    if not raw:
        raise TallyFormatError(where, "no registry, survey or contract area")
    given = {source: _decimal(value, f"{where}.{source}") for source, value in raw.items()}
    return first_area(given)[0]


def _decimal(value: Any, where: str) -> Decimal:
    if type(value) is str and _AREA.fullmatch(value):
        area = Decimal(value)
        if area > 0:
            return area
    raise TallyFormatError(where, f"not a positive decimal string with at most 4 places: {_show(value)}")


def _ballots(
    raw_ballots: list, kind: str, member_of: dict[str, str], candidates: tuple[str, ...], seats: int
) -> tuple[list[Cast], list]:
    """Each ballot as a Cast for resolve_ballots, and what each one says (its choice or choices)."""
    casts: list[Cast] = []
    said: list = []
    shape = _BALLOT[kind]
    electing = kind == "election"
    known = frozenset(candidates)
    for index, ballot in enumerate(raw_ballots):
        where = f"ballots[{index}]"
        shape.check(ballot, where)
        unit = ballot["unit"]
        if type(unit) is not str:
            raise TallyFormatError(f"{where}.unit", f"not a unit id string: {_show(unit)}")
        by = ballot.get("by", "owner")
        if type(by) is not str or by not in BY:
            raise TallyFormatError(f"{where}.by", f"unknown by (owner, paper or proxy): {_show(by)}")
        if electing:
            choices = _strings(ballot["choices"], f"{where}.choices")
            defect = choices_defect(choices, candidates=known, seats=seats)
            said.append(choices)
        else:
            choice = ballot["choice"]
            if type(choice) is not str:
                raise TallyFormatError(f"{where}.choice", f"not a string: {_show(choice)}")
            defect = choice_defect(choice)
            said.append(choice)
        casts.append(Cast(member_of.get(unit), by, defect))
    return casts, said


# --- counting ----------------------------------------------------------------------------------


def _motion_counts(counted: Mapping[str, int], said: list, areas: dict[str, Decimal]) -> dict[str, Count]:
    by_choice: dict[str, list[Decimal]] = {choice: [] for choice in CHOICES}
    for member, index in counted.items():
        by_choice[said[index]].append(areas[member])
    return {choice: Count.of(member_areas) for choice, member_areas in by_choice.items()}


def _selections(
    counted: Mapping[str, int], said: list, areas: dict[str, Decimal], candidates: tuple[str, ...]
) -> dict[str, Count]:
    """Each candidate's count of the members whose counted ballot chose them, in candidate order."""
    chosen_by: dict[str, list[Decimal]] = {candidate: [] for candidate in candidates}
    for member, index in counted.items():
        for candidate in said[index]:
            chosen_by[candidate].append(areas[member])
    return {candidate: Count.of(member_areas) for candidate, member_areas in chosen_by.items()}


def _candidate_json(candidate: CandidateResult) -> dict:
    return {"id": candidate.id, **_count_json(candidate.agree), "passed": candidate.passed, "elected": candidate.elected}


def _count_json(count: Count) -> dict:
    """A count as the spec writes it; "f" never gives exponent notation such as "1E+2"."""
    return {"area": format(count.area, "f"), "heads": count.heads}


# --- small checks -------------------------------------------------------------------------------


def _list(raw: Any, where: str) -> list:
    if type(raw) is not list:
        raise TallyFormatError(where, f"not a list: {_show(raw)}")
    return raw


def _id(raw: Any, where: str) -> str:
    if type(raw) is not str or not raw:
        raise TallyFormatError(where, f"not a non-empty string: {_show(raw)}")
    return raw


def _strings(raw: Any, where: str) -> list[str]:
    for value in _list(raw, where):
        if type(value) is not str:
            raise TallyFormatError(where, f"not a list of strings: {_show(raw)}")
    return raw


def _show(value: Any) -> str:
    """A value as it was written, short enough for one line."""
    text = str(value) if isinstance(value, Decimal) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _object(pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object, refusing a key given twice: which of the two counts would be a guess."""
    document = dict(pairs)
    if len(document) != len(pairs):
        repeated = pairs[_first_repeat([key for key, _ in pairs])][0]
        raise TallyFormatError("", f"not valid JSON: key {_show(repeated)} given twice in one object")
    return document


def _no_constant(name: str) -> None:
    raise TallyFormatError("", f"not valid JSON: {name} is not a JSON value")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing allocates hundreds of thousands of acyclic objects; collecting meanwhile only costs time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _first_repeat(items: Sequence[str]) -> int:
    """The index of the first item that an earlier one equals (the caller knows there is one)."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item in seen:
            return index
        seen.add(item)
    raise ValueError("no repeated item")
