"""Which units have voted 已投票房屋 — never how: for the committee (to remind non-voters), observers
and the residents' committee. A unit has voted when its voting member has cast at least one ballot
on the motion (owner, proxy or paper; whichever counts is decided only at close). Also the estate
map: buildings → floors → rooms, from unit codes "building-entrance-room".

One query per look (the members with a ballot) once the frozen roll's units are known (one join,
kept in memory: a frozen roll never changes), then Python: fast for the demo's 2,000 units and
linear at 100,000.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import select
from sqlmodel import Session, col

from assembly.register.models import RollMember, RollMemberUnit, RollSnapshot, Unit
from assembly.voting.models import Ballot, Meeting, Motion

# "1-2-1203": building 1, entrance 2, floor 12, room 03; "A-1203" (no entrance) is read too.
UNIT_CODE = re.compile(r"^(?P<building>[^-\s]+)-(?:(?P<entrance>[^-\s]+)-)?(?P<room>\d{3,5})$")


_DIGITS = re.compile(r"(\d+)")


def natural_key(code: str) -> tuple:
    """'2-1-1203' after '2-1-903' and '10-1-101' after '9-1-101': numbers compare as numbers. The
    split alternates text and digits, so equal positions always hold the same type."""
    return tuple(int(part) if odd else part for odd, part in zip(_ALTERNATE, _DIGITS.split(code), strict=False))


_ALTERNATE = [False, True] * 64  # codes are at most 40 characters: at most 21 parts


class UnitVote(NamedTuple):
    """One unit and whether its member has voted (a NamedTuple: a large estate makes 100,000 per look)."""

    unit: str
    voted: bool


@dataclass(frozen=True)
class Participation:
    """Per unit of the frozen roll: voted or not, for one motion, in natural order of unit codes."""

    motion: Motion
    units: tuple[UnitVote, ...]

    @property
    def voted(self) -> list[str]:
        return [u.unit for u in self.units if u.voted]

    @property
    def not_voted(self) -> list[str]:
        return [u.unit for u in self.units if not u.voted]

    @property
    def voted_count(self) -> int:
        return sum(u.voted for u in self.units)


def participation(session: Session, *, meeting: Meeting, motion: Motion) -> Participation | None:
    """None before voting opens (there is no frozen roll yet)."""
    if meeting.roll_snapshot_id is None:
        return None
    voted = set(session.scalars(select(col(Ballot.member_key)).where(col(Ballot.motion_id) == motion.id).distinct()))
    units = roll_units(session, snapshot_id=meeting.roll_snapshot_id)
    return Participation(motion, tuple(UnitVote(code, key in voted) for code, key in units))


_ROLLS: OrderedDict[tuple, tuple[tuple[str, str], ...]] = OrderedDict()
_ROLLS_LOCK = threading.Lock()
ROLLS_KEPT = 4  # a few meetings' rolls at once; 100,000 units take about 20 MB


def roll_units(session: Session, *, snapshot_id: int) -> tuple[tuple[str, str], ...]:
    """(unit code, member key) of every unit of a frozen roll, in natural order of the codes. A
    frozen roll never changes, so the last few are kept: a live page then costs one query (the
    members with a ballot), not a 100,000-row join and sort every 30 seconds."""
    snapshot = session.get_one(RollSnapshot, snapshot_id)  # its id, time and totals name it even if an id is reused
    cache_key = (session.get_bind().engine.url.render_as_string(hide_password=True), snapshot_id,
                 snapshot.frozen_at, snapshot.total_heads, snapshot.total_area)
    with _ROLLS_LOCK:  # requests run in a thread pool
        cached = _ROLLS.get(cache_key)
        if cached is not None:
            _ROLLS.move_to_end(cache_key)
            return cached
    rows = session.execute(
        select(col(Unit.code), col(RollMember.member_key))
        .select_from(RollMemberUnit)
        .join(RollMember, col(RollMember.id) == col(RollMemberUnit.member_id))
        .join(Unit, col(Unit.id) == col(RollMemberUnit.unit_id))
        .where(col(RollMember.snapshot_id) == snapshot_id)
    ).all()
    units = tuple((code, key) for _order, code, key in sorted((natural_key(code), code, key) for code, key in rows))
    with _ROLLS_LOCK:
        _ROLLS[cache_key] = units
        while len(_ROLLS) > ROLLS_KEPT:
            _ROLLS.popitem(last=False)
    return units


# --- the estate map ---------------------------------------------------------------------------


@dataclass
class Floor:
    number: int
    cells: list[UnitVote | None]  # one per column of the building; None where the floor has no such room


@dataclass
class Building:
    name: str
    columns: list[tuple[str, str]]  # (entrance, room number on the floor): ("1", "01"), ...
    floors: list[Floor]  # top floor first, as the building stands
    voted: int = 0
    total: int = 0


@dataclass
class EstateMap:
    buildings: list[Building] = field(default_factory=list)
    unplaced: list[UnitVote] = field(default_factory=list)  # codes that do not read as building-entrance-room


def place(code: str) -> tuple[str, str, int, str] | None:
    """(building, entrance, floor, room on the floor) of a unit code, or None when it does not parse."""
    match = UNIT_CODE.match(code)
    if match is None:
        return None
    room = match["room"]
    return match["building"], match["entrance"] or "", int(room[:-2]), room[-2:]


def estate_map(units: tuple[UnitVote, ...] | list[UnitVote]) -> EstateMap:
    """Buildings in natural order, each a grid of floors (top first) × (entrance, room) columns."""
    grid: dict[str, dict[int, dict[tuple[str, str], UnitVote]]] = defaultdict(lambda: defaultdict(dict))
    result = EstateMap()
    for unit in units:
        where = place(unit.unit)
        if where is None:
            result.unplaced.append(unit)
            continue
        building, entrance, floor, room = where
        grid[building][floor][(entrance, room)] = unit
    for name in sorted(grid, key=natural_key):
        floors = grid[name]
        columns = sorted({column for cells in floors.values() for column in cells},
                         key=lambda c: (natural_key(c[0]), c[1]))
        rows = [Floor(number, [floors[number].get(column) for column in columns])
                for number in sorted(floors, reverse=True)]
        cells = [cell for row in rows for cell in row.cells if cell is not None]
        result.buildings.append(Building(
            name, columns, rows,
            voted=sum(cell.voted for cell in cells), total=len(cells)))
    return result


@dataclass(frozen=True)
class BuildingList:
    name: str
    voted: list[str]
    not_voted: list[str]


def by_building(buildings: list[Building], unplaced: Sequence[UnitVote] = ()) -> list[BuildingList]:
    """The map's units as lists per building (and one for codes that did not parse), for reminding."""
    lists = []
    for building in buildings:
        cells = sorted((cell for floor in building.floors for cell in floor.cells if cell is not None),
                       key=lambda cell: natural_key(cell.unit))
        lists.append(BuildingList(building.name, [c.unit for c in cells if c.voted],
                                  [c.unit for c in cells if not c.voted]))
    if unplaced:
        lists.append(BuildingList("", [u.unit for u in unplaced if u.voted], [u.unit for u in unplaced if not u.voted]))
    return lists
