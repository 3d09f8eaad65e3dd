"""Read an owner register file (业主名册) — CSV or XLSX — into RegisterRow, all or nothing.

One row per unit-owner: a co-owned unit has one row per co-owner, a developer-held unit one row.
Row 1 is the header; headers may be Chinese or English (case, spaces, `_`/`-`, full-width forms
and an area-unit suffix such as "(㎡)" do not matter):

    房屋编号        unit            required  "楼号-单元-室号", e.g. 3-2-101: 2 to 4 segments of
                                              letters/digits joined by "-"
    不动产登记面积  registry_area   at least one of the three areas per unit; the first present
    实测面积        survey_area     in this order counts (SPC 法释〔2009〕7号 Art. 8); a number
    合同面积        contract_area   > 0 with at most 4 decimal places
    开发建设单位    developer       optional; 是/否, yes/no, true/false, 1/0, empty = no
    业主姓名        owner_name      required unless developer
    证件号码        id_number       required unless developer; 18-character resident ID with a
                                    valid check character, a unified social credit code (a
                                    company), or a 5-30 character document number
    联系电话        phone           optional

A few common Chinese aliases are accepted too (see HEADER_ALIASES and docs/register-import.md).
Every row is checked and every problem collected, then cross-row checks run (rows of a unit must
agree on areas and the developer flag, an owner is listed once per unit, one id number carries one
name); any problem → RegisterFileError with the full list, and nothing is imported.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from assembly.area import AreaError, parse_area
from assembly.errors import InvalidInput
from assembly.register import identity
from assembly.register.rows import RegisterRow

MAX_ROWS = 200_000
# Column widths of the tables (unit.code, building.code, person.name): PostgreSQL enforces them.
MAX_UNIT_LENGTH = 40
MAX_BUILDING_LENGTH = 20
MAX_NAME_LENGTH = 100

FILE = 0  # Problem.row for problems of the whole file rather than of one row

_UNIT = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+){1,3}$")
_DASHES = str.maketrans({dash: "-" for dash in "‐‑‒–—―−﹣"})
_EXCEL_TEXT = re.compile(r'^="(.*)"$')  # ="110101…" — how some systems force text in Excel
_SCIENTIFIC = re.compile(r"^\d(?:\.\d+)?E\+?\d+$")
_HEADER_SEPARATORS = re.compile(r"[\s_\-*]+")
_HEADER_UNIT_SUFFIX = re.compile(r"\((?:m2|㎡|平方米|平米|sqm)\)$")
_TRUE = {"是", "yes", "y", "true", "1"}
_FALSE = {"否", "no", "n", "false", "0", ""}
# Numbers from a spreadsheet at or above this have lost digits (Excel keeps 15 significant digits).
_EXACT_INTEGER_LIMIT = 10**15


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong where: `row` as a spreadsheet shows it (header = 1; 0 = the whole file),
    `column` the header as written in the file, `message` and `expected` each "中文 / English"."""

    row: int
    column: str
    message: str
    expected: str


class RegisterFileError(InvalidInput):
    """The register file cannot be imported; `problems` lists every reason."""

    code = "register_invalid"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda problem: problem.row)
        count = len(self.problems)
        super().__init__(
            f"名册文件有 {count} 处问题，未导入 / the register file has {count} problem(s); nothing was imported",
            detail=[asdict(problem) for problem in self.problems],
        )


@dataclass(frozen=True)
class Column:
    field: str
    chinese: str
    english: str
    expected: str


EXPECT_UNIT = (
    "楼号-单元-室号，如 3-2-101：2 到 4 段字母或数字，用 - 分隔 / "
    "building-entrance-room such as 3-2-101: 2 to 4 segments of letters or digits joined by -"
)
EXPECT_AREA = "大于 0、最多 4 位小数的数字 / a number greater than 0 with at most 4 decimal places"
EXPECT_DEVELOPER = "是或否（yes/no、true/false、1/0，空白为否） / yes or no (是/否, true/false, 1/0; empty means no)"
EXPECT_NAME = "业主姓名，开发建设单位的房屋可空 / the owner's name; may be empty only for a developer unit"
EXPECT_ID = (
    "18 位居民身份证号码（校验位正确）、统一社会信用代码，或 5-30 位字母数字的其他证件号，以文本格式保存 / "
    "an 18-character resident ID with a valid check character, a unified social credit code, "
    "or a 5-30 character document number, stored as text"
)
EXPECT_PHONE = "电话号码：6-20 位数字，可含空格、- 和开头的 + / a phone number: 6-20 digits, spaces, - and a leading +"

COLUMNS = (
    Column("unit", "房屋编号", "unit", EXPECT_UNIT),
    Column("registry", "不动产登记面积", "registry_area", EXPECT_AREA),
    Column("survey", "实测面积", "survey_area", EXPECT_AREA),
    Column("contract", "合同面积", "contract_area", EXPECT_AREA),
    Column("developer", "开发建设单位", "developer", EXPECT_DEVELOPER),
    Column("owner_name", "业主姓名", "owner_name", EXPECT_NAME),
    Column("id_number", "证件号码", "id_number", EXPECT_ID),
    Column("phone", "联系电话", "phone", EXPECT_PHONE),
)
BY_FIELD = {column.field: column for column in COLUMNS}
AREA_FIELDS = ("registry", "survey", "contract")
REQUIRED_FIELDS = ("unit", "owner_name", "id_number")
# Other headers seen in real exports, mapped to the same columns.
HEADER_ALIASES = {
    "unit": ("房号", "房屋编码", "unit_code", "unit_id"),
    "registry": ("不动产登记簿面积", "登记面积", "registry"),
    "survey": ("survey",),
    "contract": ("买卖合同面积", "contract"),
    "developer": ("是否开发建设单位", "建设单位", "developer_held"),
    "owner_name": ("姓名", "业主", "name", "owner"),
    "id_number": ("身份证号码", "身份证号", "id", "id_no"),
    "phone": ("手机号码", "手机", "电话", "mobile"),
}


def _header_key(text: object) -> str:
    key = unicodedata.normalize("NFKC", "" if text is None else str(text)).strip().lower()
    key = _HEADER_SEPARATORS.sub("", key)
    return _HEADER_UNIT_SUFFIX.sub("", key)


_HEADER_FIELDS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.chinese, _column.english, *HEADER_ALIASES.get(_column.field, ())):
        _HEADER_FIELDS[_header_key(_name)] = _column.field


def both(column: Column) -> str:
    return f"{column.chinese} / {column.english}"


# --- Reading the file ------------------------------------------------------------------------


def read_register(path: Path | str, *, max_bytes: int | None = None, max_rows: int = MAX_ROWS) -> list[RegisterRow]:
    """Read and validate a register file from disk (size checked before it is read)."""
    return parse_register(read_limited(path, max_bytes=max_bytes), max_bytes=max_bytes, max_rows=max_rows)


def read_limited(path: Path | str, *, max_bytes: int | None = None) -> bytes:
    """A file's bytes, refusing one over the upload limit before reading it."""
    path = Path(path)
    limit = _max_bytes(max_bytes)
    size = path.stat().st_size
    if size > limit:
        raise RegisterFileError([_too_big(size, limit)])
    return path.read_bytes()


def parse_register(content: bytes, *, max_bytes: int | None = None, max_rows: int = MAX_ROWS) -> list[RegisterRow]:
    """Validate a register file's bytes (CSV or XLSX, told apart by content) into rows."""
    limit = _max_bytes(max_bytes)
    if len(content) > limit:
        raise RegisterFileError([_too_big(len(content), limit)])
    if not content.strip():
        raise RegisterFileError([_file_problem("文件是空的 / the file is empty")])
    kind = sniff(content)
    table = _xlsx_rows(content) if kind == "xlsx" else _csv_rows(content)
    return _validate(table, max_rows=max_rows)


def _max_bytes(max_bytes: int | None) -> int:
    if max_bytes is not None:
        return max_bytes
    from assembly.config import get_settings

    return get_settings().upload_max_bytes


def _file_problem(message: str, expected: str = "") -> Problem:
    expected = expected or "UTF-8 或 GB18030 编码的 CSV 文件，或 XLSX 工作簿 / a UTF-8 or GB18030 CSV file, or an XLSX workbook"
    return Problem(FILE, "", message, expected)


def _too_big(size: int, limit: int) -> Problem:
    return _file_problem(
        f"文件有 {size} 字节，超过上限 / the file has {size} bytes, over the limit",
        f"不超过 {limit} 字节 / at most {limit} bytes",
    )


def sniff(content: bytes) -> str:
    """'xlsx' or 'csv' by the file's content; RegisterFileError for anything else."""
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            raise RegisterFileError([_file_problem("文件是损坏的压缩包 / the file is a damaged ZIP archive")]) from None
        if "xl/workbook.xml" in names:
            return "xlsx"
        raise RegisterFileError([_file_problem("文件是压缩包，但不是 XLSX 工作簿 / a ZIP archive that is not an XLSX workbook")])
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise RegisterFileError(
            [
                _file_problem(
                    "旧版 Excel（.xls）文件 / an old-style Excel (.xls) file",
                    "请在 Excel 中另存为 .xlsx 或 CSV / save it as .xlsx or CSV",
                )
            ]
        )
    if content.startswith(b"%PDF"):
        raise RegisterFileError([_file_problem("文件是 PDF / the file is a PDF")])
    return "csv"


def _decode(content: bytes) -> str:
    if content.startswith(codecs.BOM_UTF8):
        candidates = (("utf-8", content[len(codecs.BOM_UTF8) :]),)
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = (("utf-16", content),)  # Excel's "Unicode text" (tab-separated)
    else:
        candidates = (("utf-8", content), ("gb18030", content))
    for encoding, data in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise RegisterFileError(
        [_file_problem("不是文本文件，或编码既不是 UTF-8 也不是 GB18030 / not a text file, or neither UTF-8 nor GB18030")]
    )


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[object]]]:
    text = _decode(content)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise RegisterFileError(
                [
                    Problem(
                        number, "", f"CSV 格式错误：{error} / malformed CSV: {error}", "引号成对的 CSV / CSV with balanced quotes"
                    )
                ]
            ) from None
        yield number, cells


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[object]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds for a broken workbook
        message = f"无法读取 XLSX 工作簿 / cannot read the XLSX workbook ({type(error).__name__})"
        raise RegisterFileError([_file_problem(message)]) from None
    try:
        if not workbook.worksheets:
            raise RegisterFileError([_file_problem("工作簿没有工作表 / the workbook has no worksheet")])
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # declared dimensions are often wrong; read every cell there is
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(cells)
    finally:
        workbook.close()


# --- Validating ------------------------------------------------------------------------------


def _blank(cells: list[object]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _header(cells: list[object]) -> tuple[dict[str, int], dict[str, str], list[Problem], list[int]]:
    """field → position, field → header as written, problems, positions of unnamed columns."""
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    problems: list[Problem] = []
    unnamed: list[int] = []
    for position, cell in enumerate(cells):
        title = "" if cell is None else str(cell).strip()
        if not title:
            unnamed.append(position)
            continue
        field = _HEADER_FIELDS.get(_header_key(title))
        if field is None:
            problems.append(
                Problem(
                    1,
                    title,
                    "不认识的列 / unknown column",
                    "列名为："
                    + "、".join(column.chinese for column in COLUMNS)
                    + " / columns are: "
                    + ", ".join(column.english for column in COLUMNS),
                )
            )
        elif field in positions:
            problems.append(
                Problem(
                    1,
                    title,
                    f"与“{written[field]}”重复 / repeats “{written[field]}”",
                    f"每列只出现一次 / each column once: {both(BY_FIELD[field])}",
                )
            )
        else:
            positions[field] = position
            written[field] = title
    if not positions and not problems:
        problems.append(Problem(1, "", "第 1 行没有表头 / row 1 has no header", "第 1 行为列名 / row 1 holds the column names"))
        return positions, written, problems, unnamed
    for field in REQUIRED_FIELDS:
        if field not in positions:
            column = BY_FIELD[field]
            problems.append(
                Problem(
                    1,
                    column.chinese,
                    f"缺少必需的列“{column.chinese}” / missing required column “{column.english}”",
                    f"表头含 {both(column)} / a {both(column)} column",
                )
            )
    if not any(field in positions for field in AREA_FIELDS):
        problems.append(
            Problem(
                1,
                "面积",
                "缺少面积列 / no area column",
                "至少一列：不动产登记面积、实测面积或合同面积 / at least one of registry_area, survey_area, contract_area",
            )
        )
    return positions, written, problems, unnamed


def _validate(table: Iterator[tuple[int, list[object]]], *, max_rows: int) -> list[RegisterRow]:
    header = next(table, None)
    if header is None or _blank(header[1]):
        if header is None or all(_blank(cells) for _number, cells in table):
            raise RegisterFileError([_file_problem("文件是空的 / the file is empty")])
        raise RegisterFileError(
            [Problem(1, "", "第 1 行是空的 / row 1 is empty", "第 1 行为列名 / row 1 holds the column names")]
        )
    positions, written, problems, unnamed = _header(header[1])
    if problems:
        raise RegisterFileError(problems)  # without a usable header, row checks would only add noise
    width = len(header[1])
    parsed: list[tuple[int, RegisterRow]] = []
    partial: list[tuple[int, RegisterRow, frozenset[str]]] = []  # rows with problems, for cross-row checks
    count = 0
    for number, cells in table:
        if _blank(cells):
            continue
        count += 1
        if count > max_rows:
            raise RegisterFileError(
                [
                    _file_problem(
                        f"数据行超过 {max_rows} 行 / more than {max_rows} data rows",
                        f"最多 {max_rows} 行，请分批导入 / at most {max_rows} rows",
                    )
                ]
            )
        row_problems: list[Problem] = []
        if len(cells) > width or unnamed:
            extra = [cell for position, cell in enumerate(cells) if (position >= width or position in unnamed)]
            if not _blank(extra):
                row_problems.append(
                    Problem(
                        number,
                        "",
                        "有内容的单元格不在任何列名下 / a cell with content has no column header",
                        "每个单元格都在一个有列名的列中 / every cell under a named column",
                    )
                )
        row, bad = _parse_row(number, _values(cells, positions), written, row_problems)
        if row_problems:
            problems.extend(row_problems)
            if "unit" not in bad:
                partial.append((number, row, bad))
        else:
            parsed.append((number, row))
    if count == 0:
        raise RegisterFileError(
            [_file_problem("只有表头，没有数据行 / a header but no data rows", "每个房屋业主一行 / one row per unit-owner")]
        )
    if problems:
        # Compare the rows with problems too, on the fields they got right: one run reports all.
        checked = sorted([(number, row, frozenset()) for number, row in parsed] + partial, key=lambda entry: entry[0])
    else:
        checked = [(number, row, frozenset()) for number, row in parsed]
    problems.extend(_cross_row_problems(checked, written))
    if problems:
        raise RegisterFileError(problems)
    return [row for _number, row in parsed]


def _values(cells: list[object], positions: dict[str, int]) -> dict[str, object]:
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


def _parse_row(
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
    )
    return row, bad


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


def _cross_row_problems(rows: list[tuple[int, RegisterRow, frozenset[str]]], written: dict[str, str]) -> list[Problem]:
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


# --- Reporting -------------------------------------------------------------------------------


def _split(text: str) -> tuple[str, str]:
    chinese, separator, english = text.partition(" / ")
    return (chinese, english) if separator else (text, text)


def format_problem(problem: Problem) -> str:
    """'第 12 行，列“实测面积”：不是数字 — 应为… / row 12, column “实测面积”: not a number — expected …'."""
    message_zh, message_en = _split(problem.message)
    expected_zh, expected_en = _split(problem.expected) if problem.expected else ("", "")
    if problem.row == FILE:
        where_zh, where_en = "文件", "file"
    else:
        where_zh, where_en = f"第 {problem.row} 行", f"row {problem.row}"
    if problem.column:
        where_zh += f"，列“{problem.column}”"
        where_en += f", column “{problem.column}”"
    spacer = " " if expected_zh[:1].isascii() else ""  # 应为 18 位…, 应为大于 0…
    zh = f"{where_zh}：{message_zh}" + (f" — 应为{spacer}{expected_zh}" if expected_zh else "")
    en = f"{where_en}: {message_en}" + (f" — expected {expected_en}" if expected_en else "")
    return f"{zh} / {en}"


def format_problems(problems: list[Problem], limit: int | None = None) -> str:
    """One line per problem, Chinese then English; past `limit`, one line saying how many more."""
    shown = problems if limit is None else problems[:limit]
    lines = [format_problem(problem) for problem in shown]
    hidden = len(problems) - len(shown)
    if hidden > 0:
        lines.append(f"…… 另有 {hidden} 处问题未列出 / … and {hidden} more problem(s)")
    return "\n".join(lines)
