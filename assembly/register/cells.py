"""One register row's cells checked and parsed: unit codes, areas, flags, identity numbers, phones."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal

from assembly import identity
from assembly.area import AreaError, parse_area
from assembly.plaintext import hidden_character
from assembly.register.columns import AREA_FIELDS, BASES, BY_FIELD, KINDS, MAX_EVIDENCE_LENGTH
from assembly.register.problems import Problem
from assembly.register.rows import RegisterRow

# Numbers from a spreadsheet at or above this have lost digits (Excel keeps 15 significant digits).
_EXACT_INTEGER_LIMIT = 10**15
MAX_UNIT_LENGTH = 40
MAX_BUILDING_LENGTH = 20
MAX_NAME_LENGTH = 100
_UNIT = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+){1,3}$")
_DASHES = str.maketrans({dash: "-" for dash in "‐‑‒–—―−﹣"})
_EXCEL_TEXT = re.compile(r'^="(.*)"$')  # ="110101…" — how some systems force text in Excel
_SCIENTIFIC = re.compile(r"^\d(?:\.\d+)?E\+?\d+$")
_TRUE = {"是", "yes", "y", "true", "1"}
_FALSE = {"否", "no", "n", "false", "0", ""}


def row_values(cells: list[object], positions: dict[str, int]) -> dict[str, object]:
    """field → the cell's value, stripped; None for an empty cell or a column the file lacks."""
    values: dict[str, object] = {}
    size = len(cells)
    for field, position in positions.items():
        value = cells[position] if position < size else None
        if isinstance(value, str):
            value = value.strip() or None
        values[field] = value
    return values


def _nfkc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _text(value: object) -> str:
    """A code-like cell as text: NFKC (full-width digits, letters and dashes), Excel's ="…" unwrapped."""
    text = _nfkc(str(value)).strip()
    if text.startswith('="'):
        match = _EXCEL_TEXT.match(text)
        return match.group(1).strip() if match else text
    return text


def parse_row(
    number: int, values: dict[str, object], written: dict[str, str], problems: list[Problem]
) -> tuple[RegisterRow, set[str]]:
    """The row, and the fields that had a problem (reported into `problems`)."""
    bad: set[str] = set()

    def problem(field: str, message: str) -> None:
        bad.add(field)
        problems.append(Problem(number, written.get(field, BY_FIELD[field].chinese), message, BY_FIELD[field].expected))

    unit = _parse_unit(values.get("unit"), lambda message: problem("unit", message))

    areas: dict[str, Decimal | None] = {}
    area_given = False
    for field in AREA_FIELDS:
        value = values.get(field)
        areas[field] = None
        if value is None:
            continue
        area_given = True
        if isinstance(value, str):
            value = _nfkc(value)
        elif isinstance(value, bool | datetime | date | time):
            problem(field, "不是数字 / not a number")
            continue
        try:
            areas[field] = parse_area(value)
        except AreaError as error:
            problem(field, str(error))
    if not area_given:
        present = "/".join(written[field] for field in AREA_FIELDS if field in written)
        bad.update(AREA_FIELDS)
        problems.append(
            Problem(
                number,
                present,
                "没有面积 / no area",
                "不动产登记面积、实测面积、合同面积至少填一项 / at least one of the registry, survey or contract area",
            )
        )

    developer = _parse_flag(values.get("developer"))
    if developer is None:
        problem("developer", "不是“是”或“否” / not yes or no")
        developer = False

    basis, evidence, reseller, kind = _ownership_basis(values, problem)
    # A bulk reseller's units count with the developer's (SPC Art. 17): a developer row, flagged.
    developer = developer or reseller
    name_value = values.get("owner_name")
    id_value = values.get("id_number")
    phone_value = values.get("phone")
    owner_name = id_number = ""
    phone = None
    if developer:
        # A developer unit votes with the developer (SPC Art. 9) whoever is named on the row; the
        # owner columns may carry the buyer of an undelivered unit, and are not imported.
        pass
    else:
        owner_name = "" if name_value is None else " ".join(str(name_value).split())
        if not owner_name:
            problem("owner_name", "缺少业主姓名 / the owner's name is missing")
        elif len(owner_name) > MAX_NAME_LENGTH:
            problem("owner_name", f"超过 {MAX_NAME_LENGTH} 个字 / longer than {MAX_NAME_LENGTH} characters")
        elif hidden := hidden_character(owner_name):
            problem("owner_name", f"含有不可见的控制字符（{hidden}），请删除 / holds an invisible control character "
                                  f"({hidden}): remove it")
        id_number = _parse_id(id_value, lambda message: problem("id_number", message))
        if phone_value is not None:
            try:
                phone = identity.normalize_phone(_phone_text(phone_value))
            except (identity.IdentityError, _CellError) as error:
                problem("phone", str(error))
    row = RegisterRow(
        unit=unit,
        registry=areas["registry"],
        survey=areas["survey"],
        contract=areas["contract"],
        developer=developer,
        owner_name=owner_name,
        id_number=id_number,
        phone=phone,
        basis=basis,
        evidence=evidence,
        reseller=reseller,
        kind=kind,
    )
    return row, bad


def _ownership_basis(values: dict[str, object], problem) -> tuple[str, str, bool, str]:
    """The basis (registered or delivered, with the evidence), the bulk-reseller flag and the kind."""
    basis_text = "" if values.get("basis") is None else _nfkc(str(values["basis"])).strip().lower()
    basis = BASES.get(basis_text, "registered" if not basis_text else "")
    if not basis:
        problem("basis", f"“{_shown(basis_text)}”不是“登记”或“交付” / “{_shown(basis_text)}” is not registered or delivered")
        basis = "registered"
    evidence = "" if values.get("evidence") is None else " ".join(str(values["evidence"]).split())
    if basis == "delivered" and not evidence:
        problem("evidence", "依据为“交付”的业主须写明交付凭证（最高人民法院法释〔2009〕7号第一条第二款） / "
                            "a delivered buyer needs the delivery evidence (SPC Art. 1 ¶2)")
    elif len(evidence) > MAX_EVIDENCE_LENGTH:
        problem("evidence", f"超过 {MAX_EVIDENCE_LENGTH} 个字 / longer than {MAX_EVIDENCE_LENGTH} characters")
    elif hidden := hidden_character(evidence):
        problem("evidence", f"含有不可见的控制字符（{hidden}），请删除 / holds an invisible control character ({hidden})")
    reseller = _parse_flag(values.get("reseller"))
    if reseller is None:
        problem("reseller", "不是“是”或“否” / not yes or no")
        reseller = False
    kind_text = "" if values.get("kind") is None else _nfkc(str(values["kind"])).strip().lower()
    kind = KINDS.get(kind_text, "dwelling" if not kind_text else "")
    if not kind:
        problem("kind", f"“{_shown(kind_text)}”不是住宅、车位或储藏室 / “{_shown(kind_text)}” is not dwelling, parking or storage")
        kind = "dwelling"
    return basis, evidence if basis == "delivered" else "", reseller, kind


class _CellError(ValueError):
    pass


def _parse_unit(value: object, report) -> str:
    if value is None:
        report("缺少房屋编号 / the unit is missing")
        return ""
    if isinstance(value, datetime | date | time):
        report(
            "被 Excel 识别成了日期，请把该列设为文本格式后重新输入 / "
            "Excel turned it into a date; format the column as text and re-enter it"
        )
        return ""
    if isinstance(value, float) or isinstance(value, int):
        report(f"“{value}”不是“楼号-单元-室号” / “{value}” is not building-entrance-room")
        return ""
    text = _text(value)
    if not text.isascii():
        text = text.translate(_DASHES)
    text = text.upper()
    if " " in text:
        text = re.sub(r"\s*-\s*", "-", text)
    if not _UNIT.match(text):
        report(f"“{_shown(text)}”不是“楼号-单元-室号” / “{_shown(text)}” is not building-entrance-room")
        return ""
    if len(text) > MAX_UNIT_LENGTH or len(text.split("-", 1)[0]) > MAX_BUILDING_LENGTH:
        report(
            f"超过 {MAX_UNIT_LENGTH} 个字符或楼号超过 {MAX_BUILDING_LENGTH} 个字符 / "
            f"longer than {MAX_UNIT_LENGTH} characters, or a building code over {MAX_BUILDING_LENGTH}"
        )
        return ""
    return text


def _shown(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _parse_flag(value: object) -> bool | None:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _number_text(value: object) -> str:
    """A code typed into a number cell, as text, refusing numbers that lost digits."""
    if isinstance(value, bool):
        raise _CellError("不是号码 / not a number string")
    if isinstance(value, float):
        if not value.is_integer():
            raise _CellError("被存成了带小数的数字 / stored as a decimal number")
        value = int(value)
    if isinstance(value, int) and abs(value) >= _EXACT_INTEGER_LIMIT:
        raise _CellError(
            "被存成了数字，超过 15 位的部分已丢失；请把该列设为文本格式后重新输入 / "
            "stored as a number, digits beyond the 15th are lost; format the column as text and re-enter it"
        )
    return str(value)


def _parse_id(value: object, report) -> str:
    if value is None:
        report("缺少证件号码 / the identity number is missing")
        return ""
    try:
        text = _number_text(value) if isinstance(value, int | float) else _text(value)
    except _CellError as error:
        report(str(error))
        return ""
    if _SCIENTIFIC.match(text.upper()):
        report(
            "被转成了科学计数法，末几位已丢失；请从原始数据重新导出 / "
            "turned into scientific notation, the last digits are lost; export it again from the source"
        )
        return ""
    if text.startswith("'"):
        text = text[1:]
    try:
        return identity.normalize_id_number(text)
    except identity.IdentityError as error:
        number = re.sub(r"\s+", "", text)
        if not number or number[:17].isdigit():
            report(str(error))  # check character or digit count: says exactly what is wrong
        else:
            report("格式不对 / not a valid identity number")
        return ""


def _phone_text(value: object) -> str:
    if isinstance(value, int | float):
        return _number_text(value)
    text = _text(value)
    return text[1:] if text.startswith("'") else text


