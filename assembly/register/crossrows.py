"""Checks across rows: a unit's rows agree, an owner is listed once per unit, one id one name."""

from __future__ import annotations

from decimal import Decimal

from assembly.register.columns import AREA_FIELDS, BY_FIELD
from assembly.register.problems import Problem
from assembly.register.rows import RegisterRow


def cross_row_problems(rows: list[tuple[int, RegisterRow, frozenset[str]]], written: dict[str, str]) -> list[Problem]:
    """Rows that are fine alone but contradict each other; fields in a row's `bad` set are skipped."""

    def header(field: str) -> str:
        return written.get(field, BY_FIELD[field].chinese)

    problems: list[Problem] = []
    by_unit: dict[str, list[tuple[int, RegisterRow, frozenset[str]]]] = {}
    for entry in rows:
        by_unit.setdefault(entry[1].unit, []).append(entry)
    for unit, entries in by_unit.items():
        if len(entries) == 1:
            continue
        first_number, first, first_bad = entries[0]
        for number, row, bad in entries[1:]:
            for field in ("basis", "evidence", "kind"):
                if field not in bad and field not in first_bad and getattr(row, field) != getattr(first, field):
                    problems.append(Problem(
                        number, header(field),
                        f"房屋 {unit} 的{BY_FIELD[field].chinese}与第 {first_number} 行不一致 / "
                        f"unit {unit}: {BY_FIELD[field].english} differs from row {first_number}",
                        "同一房屋的各行一致 / the same on every row of a unit"))
            if "developer" in bad or "developer" in first_bad:
                pass
            elif row.developer != first.developer:
                problems.append(
                    Problem(
                        number,
                        header("developer"),
                        f"房屋 {unit} 在第 {first_number} 行{'是' if first.developer else '不是'}开发建设单位的房屋，本行相反 / "
                        f"unit {unit} is {'' if first.developer else 'not '}a developer unit on row {first_number}, "
                        "this row says the opposite",
                        "开发建设单位的房屋只占一行、不列业主 / a developer unit has one row and no owner rows",
                    )
                )
            elif row.developer:
                problems.append(
                    Problem(
                        number,
                        header("unit"),
                        f"开发建设单位的房屋 {unit} 已在第 {first_number} 行 / "
                        f"developer unit {unit} is already on row {first_number}",
                        "开发建设单位的房屋只占一行 / a developer unit has one row",
                    )
                )
            for field in AREA_FIELDS:
                if field in bad or field in first_bad:
                    continue
                mine, theirs = getattr(row, field), getattr(first, field)
                if mine != theirs:
                    problems.append(
                        Problem(
                            number,
                            header(field),
                            f"房屋 {unit} 的面积与第 {first_number} 行不一致：{_area_text(mine)} ≠ {_area_text(theirs)} / "
                            f"unit {unit}: the area differs from row {first_number}: "
                            f"{_area_text(mine)} ≠ {_area_text(theirs)}",
                            "同一房屋各行的面积相同 / every row of a unit carries the same areas",
                        )
                    )
        owners_seen: dict[str, int] = {}
        for number, row, bad in entries:
            if row.developer or "id_number" in bad or "developer" in bad:
                continue
            if row.id_number in owners_seen:
                problems.append(
                    Problem(
                        number,
                        header("id_number"),
                        f"同一业主已在第 {owners_seen[row.id_number]} 行列为房屋 {unit} 的业主 / "
                        f"the same owner is already listed for unit {unit} on row {owners_seen[row.id_number]}",
                        "每位业主在一个房屋下只列一次 / each owner once per unit",
                    )
                )
            else:
                owners_seen[row.id_number] = number
    names: dict[str, int] = {}
    phones: dict[str, int] = {}
    first_rows = {number: row for number, row, _bad in rows}
    for number, row, bad in rows:
        if row.developer or "id_number" in bad or "developer" in bad:
            continue
        if "owner_name" not in bad:
            seen = names.setdefault(row.id_number, number)
            if seen != number and first_rows[seen].owner_name != row.owner_name:
                problems.append(
                    Problem(
                        number,
                        header("owner_name"),
                        f"与第 {seen} 行证件号码相同而姓名不同 / the same identity number as row {seen} but a different name",
                        "同一证件号码对应同一姓名 / one identity number, one name",
                    )
                )
        if row.phone and "phone" not in bad:
            seen = phones.setdefault(row.id_number, number)
            if seen != number and first_rows[seen].phone != row.phone:
                problems.append(
                    Problem(
                        number,
                        header("phone"),
                        f"与第 {seen} 行同一业主的联系电话不同 / a different phone from row {seen} for the same owner",
                        "同一业主只留一个联系电话 / one phone per owner",
                    )
                )
    return problems


def _area_text(value: Decimal | None) -> str:
    return "空 empty" if value is None else format(value.normalize(), "f")


