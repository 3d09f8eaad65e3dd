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
    取得依据        basis           optional; 登记/registered (empty) or 交付/delivered
    交付凭证        delivery_evidence  required with 交付 (SPC Art. 1 ¶2)
    包销人          bulk_reseller   optional; 是/否: counts with the developer (SPC Art. 17)
    房屋类型        unit_kind       optional; 住宅/dwelling (empty), 车位/parking, 储藏室/storage

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
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from openpyxl import load_workbook

from assembly.config import get_settings
from assembly.register.cells import parse_row, row_values
from assembly.register.columns import (
    AREA_FIELDS,
    BY_FIELD,
    COLUMNS,
    HEADER_FIELDS,
    MAX_ROWS,
    REQUIRED_FIELDS,
    both,
    header_key,
)
from assembly.register.crossrows import cross_row_problems
from assembly.register.problems import FILE, Problem, RegisterFileError
from assembly.register.rows import RegisterRow

# --- Reading the file ------------------------------------------------------------------------

_ASCII = re.compile(r"[\x00-\x7f]+")
# A 100,000-row register (3.3 MB as XLSX) inflates to 42 MB of XML; a ZIP bomb to gigabytes.
MAX_INFLATED_BYTES = 128 * 1024 * 1024


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


def parse_register(content: bytes, *, max_bytes: int | None = None, max_rows: int = MAX_ROWS,
                   max_inflated: int = MAX_INFLATED_BYTES) -> list[RegisterRow]:
    """Validate a register file's bytes (CSV or XLSX, told apart by content) into rows."""
    limit = _max_bytes(max_bytes)
    if len(content) > limit:
        raise RegisterFileError([_too_big(len(content), limit)])
    if not content.strip():
        raise RegisterFileError([_file_problem("文件是空的 / the file is empty")])
    kind = sniff(content, max_inflated=max_inflated)
    table = _xlsx_rows(content) if kind == "xlsx" else _csv_rows(content)
    return _validate(table, max_rows=max_rows)


def _max_bytes(max_bytes: int | None) -> int:
    if max_bytes is not None:
        return max_bytes
    return get_settings().upload_max_bytes


def _file_problem(message: str, expected: str = "") -> Problem:
    expected = expected or "UTF-8 或 GB18030 编码的 CSV 文件，或 XLSX 工作簿 / a UTF-8 or GB18030 CSV file, or an XLSX workbook"
    return Problem(FILE, "", message, expected)


def _too_big(size: int, limit: int) -> Problem:
    return _file_problem(
        f"文件有 {size} 字节，超过上限 / the file has {size} bytes, over the limit",
        f"不超过 {limit} 字节 / at most {limit} bytes",
    )


def sniff(content: bytes, *, max_inflated: int = MAX_INFLATED_BYTES) -> str:
    """'xlsx' or 'csv' by the file's content; RegisterFileError for anything else, and for a workbook
    that would inflate beyond `max_inflated` bytes (read from the archive's directory, before any
    part is inflated; zipfile stops at the declared size, so a part that lies about it fails its CRC)."""
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                parts = archive.infolist()
        except zipfile.BadZipFile:
            raise RegisterFileError([_file_problem("文件是损坏的压缩包 / the file is a damaged ZIP archive")]) from None
        inflated = sum(part.file_size for part in parts)
        if inflated > max_inflated:
            raise RegisterFileError([_file_problem(
                f"XLSX 工作簿解压后有 {inflated} 字节，超过上限 / the XLSX workbook inflates to {inflated} bytes, "
                "over the limit",
                f"解压后不超过 {max_inflated} 字节；请删除多余的内容或另存为 CSV / at most {max_inflated} bytes "
                "inflated; remove what does not belong or save it as CSV")])
        if "xl/workbook.xml" in {part.filename for part in parts}:
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
        if encoding == "gb18030" and looks_garbled(text):
            raise RegisterFileError([_file_problem(
                "文件似乎不是 UTF-8 或 GB18030 编码（可能是繁体 Big5 或日文 Shift-JIS），读出的姓名是乱码 / the file does "
                "not look UTF-8 or GB18030 encoded (Big5 or Shift-JIS?): the names read from it are garbled",
                "请在 Excel 中另存为“CSV UTF-8”或 XLSX / save it from Excel as 'CSV UTF-8' or as XLSX")])
        return text
    raise RegisterFileError(
        [_file_problem("不是文本文件，或编码既不是 UTF-8 也不是 GB18030 / not a text file, or neither UTF-8 nor GB18030")]
    )


def looks_garbled(text: str) -> bool:
    """Big5 or Shift-JIS bytes read as GB18030: GB18030 takes nearly any byte pair, so such a file
    decodes, but into characters outside GB 2312 (rare, private-use, kana, box drawing). Real
    registers hold a few rare name characters at most; a quarter of the text (and at least three
    characters) outside GB 2312 is a wrong encoding."""
    counts = Counter(_ASCII.sub("", text))  # C speed on a 100,000-row register; few distinct characters
    odd = sum(count for char, count in counts.items() if not _in_gb2312(char))
    return odd >= 3 and odd * 4 >= sum(counts.values())


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


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
        try:
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(cells)
        except zipfile.BadZipFile:  # a part larger than its archive entry says (a disguised ZIP bomb)
            raise RegisterFileError([_file_problem("文件是损坏的压缩包 / the file is a damaged ZIP archive")]) from None
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
        field = HEADER_FIELDS.get(header_key(title))
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
        row, bad = parse_row(number, row_values(cells, positions), written, row_problems)
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
    problems.extend(cross_row_problems(checked, written))
    if problems:
        raise RegisterFileError(problems)
    return [row for _number, row in parsed]


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
