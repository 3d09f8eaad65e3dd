"""The register file importer: encodings, formats, headers, and every problem reported at once."""

from __future__ import annotations

import codecs
import io
import zipfile
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly.register.importer import format_problem, format_problems, parse_register, read_register
from assembly.register.problems import FILE, Problem, RegisterFileError

from .registerfiles import (
    CHINESE,
    ENGLISH,
    LI,
    WANG,
    ZHANG,
    csv_bytes,
    register_rows,
    resident_id,
    table,
    write_csv,
    write_xlsx,
)

LIMIT = 10 * 1024 * 1024


def parse(content: bytes, **options) -> list:
    return parse_register(content, max_bytes=options.pop("max_bytes", LIMIT), **options)


def problems_of(content: bytes, **options) -> list[Problem]:
    with pytest.raises(RegisterFileError) as caught:
        parse(content, **options)
    assert caught.value.code == "register_invalid"
    return caught.value.problems


def where(problems: list[Problem]) -> set[tuple[int, str]]:
    return {(problem.row, problem.column) for problem in problems}


def owner_row(unit: str, owner: tuple[str, str, str], survey: str = "80") -> list[str]:
    name, number, phone = owner
    return [unit, "", survey, "", "", name, number, phone]


# --- Encodings and formats -------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_every_encoding_excel_writes(encoding):
    rows = parse(csv_bytes(CHINESE, table(), encoding=encoding))
    assert rows == register_rows()
    assert rows[1].owner_name == "李四"


def test_gb18030_file_is_not_mistaken_for_utf8():
    content = csv_bytes(CHINESE, table(), encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    assert [row.owner_name for row in parse(content)][:2] == ["张三", "李四"]


def test_excel_unicode_text_is_tab_separated_utf16():
    text = "\r\n".join("\t".join(cells) for cells in [CHINESE, *table()]) + "\r\n"
    assert parse(text.encode("utf-16")) == register_rows()


def test_english_headers_read_the_same(tmp_path):
    path = write_csv(tmp_path / "register.csv", ENGLISH, table())
    assert read_register(path, max_bytes=LIMIT) == register_rows()


def test_xlsx_with_text_and_number_cells(tmp_path):
    rows = [
        ["1-1-101", None, 89.5, None, False, "张三", ZHANG[1], 13800138001],
        ["1-1-102", 100.25, 101, None, "否", "李四", LI[1], "13800138002"],
        ["2-1-101", None, 120, None, True, None, None, None],
        ["2-1-102", 60.5, None, None, 1, None, None, None],
    ]
    path = write_xlsx(tmp_path / "register.xlsx", ENGLISH, rows)
    parsed = read_register(path, max_bytes=LIMIT)
    assert [(row.unit, row.survey, row.registry, row.developer, row.phone) for row in parsed] == [
        ("1-1-101", Decimal("89.5"), None, False, "13800138001"),
        ("1-1-102", Decimal("101"), Decimal("100.25"), False, "13800138002"),
        ("2-1-101", Decimal("120"), None, True, None),
        ("2-1-102", None, Decimal("60.5"), True, None),
    ]


def test_xlsx_is_recognised_by_content_not_name(tmp_path):
    path = write_xlsx(tmp_path / "register.csv", CHINESE, table())
    assert read_register(path, max_bytes=LIMIT) == register_rows()
    renamed = write_csv(tmp_path / "register.xlsx", CHINESE, table())
    assert read_register(renamed, max_bytes=LIMIT) == register_rows()


def test_xlsx_reads_only_the_first_sheet(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    first = workbook.active
    first.append(CHINESE)
    first.append(table()[0])
    second = workbook.create_sheet("说明")
    second.append(["这一页不是名册"])
    path = tmp_path / "two-sheets.xlsx"
    workbook.save(path)
    assert [row.unit for row in read_register(path, max_bytes=LIMIT)] == ["1-1-101"]


def test_xlsx_problems_name_spreadsheet_rows(tmp_path):
    rows = [
        ["1-1-101", None, 89.5, None, None, "张三", ZHANG[1], None],
        [datetime(2024, 3, 2), None, 80, None, None, "李四", LI[1], None],  # Excel took "3-2" for a date
        ["1-1-103", None, 80, None, None, "王小五", 110101198000000300, None],  # ID typed into a number cell
        ["1-1-104", None, 80.123456, None, None, "赵六", resident_id(4), None],
    ]
    path = write_xlsx(tmp_path / "bad.xlsx", CHINESE, rows)
    with pytest.raises(RegisterFileError) as caught:
        read_register(path, max_bytes=LIMIT)
    found = caught.value.problems
    assert where(found) == {(3, "房屋编号"), (4, "证件号码"), (5, "实测面积")}
    assert "日期" in found[0].message and "date" in found[0].message
    assert "15" in found[1].message


# --- Headers ---------------------------------------------------------------------------------


def test_header_matching_ignores_case_spaces_width_and_area_units():
    header = [" ＵＮＩＴ ", "Registry Area", "实测面积（㎡）", "合同面积(m²)", "Developer", "Owner-Name", "身份证号码", "手机号码"]
    assert parse(csv_bytes(header, table())) == register_rows()


def test_only_some_columns_are_required():
    rows = parse(csv_bytes(["房屋编号", "合同面积", "业主姓名", "证件号码"], [["1-1-101", "50", "张三", ZHANG[1]]]))
    assert rows[0].contract == Decimal("50") and not rows[0].developer and rows[0].phone is None


def test_unknown_duplicate_and_missing_columns_are_all_reported():
    header = ["房屋编号", "实测面积", "备注", "unit", "姓名"]
    found = problems_of(csv_bytes(header, [["1-1-101", "80", "x", "1-1-101", "张三"]]))
    assert where(found) == {(1, "备注"), (1, "unit"), (1, "证件号码")}
    assert all(problem.row == 1 for problem in found)


def test_a_file_without_an_area_column_says_so_once():
    found = problems_of(csv_bytes(["房屋编号", "业主姓名", "证件号码"], [["1-1-101", "张三", ZHANG[1]]] * 3))
    assert [(problem.row, problem.column) for problem in found] == [(1, "面积")]


# --- Bad rows --------------------------------------------------------------------------------


def test_every_bad_row_is_reported_with_row_column_and_expectation():
    good = owner_row("1-1-101", ZHANG)
    rows = [
        good,  # row 2
        ["1-1-1-1-1", "", "80", "", "", "李四", LI[1], ""],  # 3: five segments
        ["3号楼-101", "", "80", "", "", "李四", LI[1], ""],  # 4: not letters/digits
        ["1-1-105", "", "abc", "", "", "李四", LI[1], ""],  # 5: not a number
        ["1-1-106", "-5", "", "", "", "李四", LI[1], ""],  # 6: not positive
        ["1-1-107", "", "", "80.12345", "", "李四", LI[1], ""],  # 7: five decimals
        ["1-1-108", "", "", "", "", "李四", LI[1], ""],  # 8: no area at all
        ["1-1-109", "", "80", "", "maybe", "李四", LI[1], ""],  # 9: flag
        ["1-1-110", "", "80", "", "", "", LI[1], ""],  # 10: no name
        ["1-1-111", "", "80", "", "", "李四", "", ""],  # 11: no id
        ["1-1-112", "", "80", "", "", "李四", LI[1][:-1] + ("0" if LI[1][-1] != "0" else "1"), ""],  # 12: check char
        ["1-1-113", "", "80", "", "", "李四", LI[1], "call me"],  # 13: phone
        ["", "", "80", "", "", "李四", LI[1], ""],  # 14: no unit
        ["1-1-115", "", "200000", "", "", "李四", LI[1], ""],  # 15: absurd area
        ["1-1-116", "", "80", "", "", "李四", "1.10101E+17", ""],  # 16: Excel's scientific notation
    ]
    found = problems_of(csv_bytes(CHINESE, rows))
    assert where(found) == {
        (3, "房屋编号"),
        (4, "房屋编号"),
        (5, "实测面积"),
        (6, "不动产登记面积"),
        (7, "合同面积"),
        (8, "不动产登记面积/实测面积/合同面积"),
        (9, "开发建设单位"),
        (10, "业主姓名"),
        (11, "证件号码"),
        (12, "证件号码"),
        (13, "联系电话"),
        (14, "房屋编号"),
        (15, "实测面积"),
        (16, "证件号码"),
    }
    assert len(found) == 14
    assert [problem.row for problem in found] == sorted(problem.row for problem in found)
    by_row = {problem.row: problem for problem in found}
    assert "不是数字" in by_row[5].message and "not a number" in by_row[5].message
    assert "4 位小数" in by_row[7].message
    assert "校验位" in by_row[12].message
    assert "科学计数法" in by_row[16].message
    assert all(problem.expected for problem in found)
    assert "3-2-101" in by_row[3].expected
    # Identity numbers never appear in what is printed back.
    assert LI[1] not in format_problems(found)


def test_developer_rows_need_no_owner_and_ignore_one_given():
    rows = [
        ["2-1-101", "", "120", "", "是", "", "", ""],
        ["2-1-102", "", "60", "", "yes", "某房地产开发有限公司", "91110000MA00000000", ""],
    ]
    parsed = parse(csv_bytes(CHINESE, rows))
    assert all(row.developer and row.owner_name == "" and row.id_number == "" for row in parsed)


@pytest.mark.parametrize(
    ("text", "developer"),
    [("是", True), ("否", False), ("YES", True), ("no", False), ("True", True), ("false", False), ("1", True), ("0", False), ("", False)],
)
def test_developer_flag_spellings(text, developer):
    owner = ("", "", "") if developer else ZHANG
    rows = [["1-1-101", "", "80", "", text, owner[0], owner[1], ""]]
    assert parse(csv_bytes(CHINESE, rows))[0].developer is developer


def test_values_are_normalised():
    assert WANG[1].endswith("X")
    rows = [["１-１-１０１", " 1,089.50 ", "", "", "", " 王小五 ", f" {WANG[1].lower()} ", "138 0013 8001"]]
    (row,) = parse(csv_bytes(CHINESE, rows))
    assert (row.unit, row.registry, row.owner_name, row.id_number, row.phone) == (
        "1-1-101",
        Decimal("1089.50"),
        "王小五",
        WANG[1],
        "13800138001",
    )


def test_unit_codes_with_letters_dashes_and_excel_text_formula():
    rows = [
        owner_row("a3—2—101", ZHANG),
        owner_row("B1-101", LI),
        owner_row('="7-1-2-301"', WANG),
    ]
    assert [row.unit for row in parse(csv_bytes(CHINESE, rows))] == ["A3-2-101", "B1-101", "7-1-2-301"]


def test_blank_rows_are_skipped_but_keep_their_numbers():
    rows = [owner_row("1-1-101", ZHANG), ["", "", "", "", "", "", "", ""], ["1-1-102", "", "x", "", "", "李四", LI[1], ""]]
    assert where(problems_of(csv_bytes(CHINESE, rows))) == {(4, "实测面积")}


def test_cells_outside_the_header_are_refused():
    rows = [owner_row("1-1-101", ZHANG) + ["extra"]]
    assert where(problems_of(csv_bytes(CHINESE, rows))) == {(2, "")}
    assert parse(csv_bytes(CHINESE, [owner_row("1-1-101", ZHANG) + ["", " "]]))[0].unit == "1-1-101"


# --- Rows that contradict each other ---------------------------------------------------------


def test_cross_row_problems_are_all_reported():
    other = ("张三", resident_id(9), "")  # same name, different person: fine
    rows = [
        owner_row("1-1-101", ZHANG, survey="80"),  # 2
        owner_row("1-1-101", LI, survey="81"),  # 3: area disagrees with row 2
        owner_row("1-1-102", LI),  # 4
        ["1-1-102", "", "80", "", "是", "", "", ""],  # 5: developer row mixed with an owner row
        ["2-1-101", "", "80", "", "是", "", "", ""],  # 6
        ["2-1-101", "", "80", "", "是", "", "", ""],  # 7: developer unit listed twice
        owner_row("1-1-103", WANG),  # 8
        owner_row("1-1-103", WANG),  # 9: same owner twice for one unit
        owner_row("1-1-104", ("张叁", ZHANG[1], "")),  # 10: ZHANG's id under another name
        owner_row("1-1-105", (LI[0], LI[1], "13900000000")),  # 11: LI's phone differs from row 3
        owner_row("1-1-106", other),  # 12
        owner_row("1-1-107", (LI[0], LI[1], "")),  # 13: no phone given: fine
    ]
    found = problems_of(csv_bytes(CHINESE, rows))
    assert where(found) == {
        (3, "实测面积"),
        (5, "开发建设单位"),
        (7, "房屋编号"),
        (9, "证件号码"),
        (10, "业主姓名"),
        (11, "联系电话"),
    }
    by_row = {problem.row: problem for problem in found}
    assert "第 2 行" in by_row[3].message and "81 ≠ 80" in by_row[3].message
    assert "第 2 行" in by_row[10].message
    assert "第 8 行" in by_row[9].message


def test_equal_areas_written_differently_agree():
    rows = [owner_row("1-1-101", ZHANG, survey="80.5"), owner_row("1-1-101", LI, survey="80.50")]
    assert len(parse(csv_bytes(CHINESE, rows))) == 2


def test_cross_row_checks_run_alongside_row_problems():
    """One run reports everything: a bad phone on row 2 does not hide that row 3 disagrees with it."""
    rows = [
        [*owner_row("1-1-101", ZHANG, survey="80")[:7], "bad phone"],
        owner_row("1-1-101", LI, survey="81"),
    ]
    assert where(problems_of(csv_bytes(CHINESE, rows))) == {(2, "联系电话"), (3, "实测面积")}


# --- The whole file --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "空"),
        (b"   \r\n\r\n", "空"),
        (csv_bytes(CHINESE, []), "没有数据行"),
        (b"%PDF-1.7 ...", "PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
        (b"\x00\x01\x02binary\x00", "不是文本文件"),
    ],
)
def test_files_that_are_not_registers(content, says):
    (problem,) = problems_of(content)
    assert problem.row == FILE and says in problem.message


def test_a_zip_that_is_not_a_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    (problem,) = problems_of(buffer.getvalue())
    assert "XLSX" in problem.message


def test_size_limit_is_checked_before_reading(tmp_path):
    path = write_csv(tmp_path / "big.csv", CHINESE, table())
    with pytest.raises(RegisterFileError) as caught:
        read_register(path, max_bytes=100)
    (problem,) = caught.value.problems
    assert problem.row == FILE and "100" in problem.expected
    with pytest.raises(RegisterFileError):
        parse(csv_bytes(CHINESE, table()), max_bytes=100)


def test_size_limit_defaults_to_the_upload_setting(monkeypatch):
    from assembly.config import get_settings

    monkeypatch.setenv("ASSEMBLY_UPLOAD_MAX_BYTES", "1024")
    get_settings.cache_clear()
    try:
        with pytest.raises(RegisterFileError):
            parse_register(csv_bytes(CHINESE, table() * 20))
    finally:
        monkeypatch.delenv("ASSEMBLY_UPLOAD_MAX_BYTES")
        get_settings.cache_clear()


def test_row_limit():
    rows = [owner_row(f"1-1-{n}", (f"业主{n}", resident_id(n), "")) for n in range(1, 7)]
    assert len(parse(csv_bytes(CHINESE, rows), max_rows=6)) == 6
    (problem,) = problems_of(csv_bytes(CHINESE, rows), max_rows=5)
    assert problem.row == FILE and "5" in problem.message


def test_unbalanced_quotes_are_refused():
    content = "房屋编号,实测面积,业主姓名,证件号码\n".encode() + b'1-1-101,"80,\xe5\xbc\xa0\xe4\xb8\x89,' + ZHANG[1].encode()
    assert problems_of(content)


def test_row_one_must_be_the_header():
    content = codecs.BOM_UTF8 + "\n".join(["", "房屋编号,实测面积,业主姓名,证件号码", f"1-1-101,80,张三,{ZHANG[1]}"]).encode()
    (problem,) = problems_of(content)
    assert problem.row == 1


# --- The report ------------------------------------------------------------------------------


def test_problem_line_is_chinese_then_english():
    problem = Problem(12, "实测面积", "不是数字 / not a number", "大于 0 的数字 / a number greater than 0")
    assert format_problem(problem) == (
        "第 12 行，列“实测面积”：不是数字 — 应为大于 0 的数字 / row 12, column “实测面积”: not a number — expected a number greater than 0"
    )
    assert format_problem(Problem(FILE, "", "文件是空的 / the file is empty", "")) == "文件：文件是空的 / file: the file is empty"


def test_report_limit_says_how_many_more():
    problems = [Problem(row, "实测面积", "不是数字 / not a number", "数字 / a number") for row in range(2, 12)]
    report = format_problems(problems, limit=3)
    lines = report.splitlines()
    assert len(lines) == 4 and "另有 7 处" in lines[-1] and "7 more" in lines[-1]
    assert len(format_problems(problems).splitlines()) == 10


def test_error_carries_the_problems_for_the_api():
    error = RegisterFileError([Problem(3, "a", "m / m", "e / e"), Problem(2, "b", "m / m", "e / e")])
    assert error.status == 422 and [entry["row"] for entry in error.detail] == [2, 3]


# --- Round trip ------------------------------------------------------------------------------

areas = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999.9999"), places=4)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 30), st.integers(1, 9), st.integers(101, 3299), areas, st.sampled_from(["utf-8", "utf-8-sig", "gb18030"])),
        min_size=1,
        max_size=20,
        unique_by=lambda entry: entry[:3],
    )
)
def test_any_valid_register_reads_back_exactly(units):
    rows = [
        [f"{building}-{entrance}-{room}", "", str(area), "", "", "业主", resident_id(index), ""]
        for index, (building, entrance, room, area, _encoding) in enumerate(units)
    ]
    parsed = parse(csv_bytes(CHINESE, rows, encoding=units[0][4]))
    assert [(row.unit, row.survey) for row in parsed] == [(cells[0], Decimal(cells[2])) for cells in rows]


def test_identity_numbers_of_companies_and_near_miss_resident_ids():
    rows = [
        owner_row("1-1-101", ("北京小米科技有限责任公司", "91110108551385082Q", "")),  # 统一社会信用代码
        owner_row("1-1-102", ("李四", LI[1][:-1], "")),  # 17 digits: a resident ID missing one
        owner_row("1-1-103", ("Alice Smith", "E12345678", "")),  # passport
    ]
    found = problems_of(csv_bytes(CHINESE, rows))
    assert where(found) == {(3, "证件号码")}
    assert "18" in found[0].message
    rows.pop(1)
    assert [row.id_number for row in parse(csv_bytes(CHINESE, rows))] == ["91110108551385082Q", "E12345678"]


# --- Issue #22: hidden characters, wrong encodings, ZIP bombs -----------------------------------


def _rows(names: list[str]) -> list[list[str]]:
    return [owner_row(f"1-1-{101 + n}", (name, resident_id(n + 1), "")) for n, name in enumerate(names)]


@pytest.mark.parametrize("name", ["\u202e三张", "李\u200f四", "王\u2066小明\u2069", "赵\u200b六"])
def test_names_with_invisible_control_characters_are_refused(name):
    (problem,) = problems_of(csv_bytes(ENGLISH, _rows(["张三", name])))
    assert (problem.row, problem.column) == (3, "owner_name") and "控制字符" in problem.message
    assert f"U+{ord(next(c for c in name if not c.isprintable())):04X}" in problem.message


@pytest.mark.parametrize(("encoding", "names"), [
    ("big5", ["張偉", "李秀英", "王小明", "陳建國"]),
    ("big5", ["張三", "李四"]),
    ("shift_jis", ["山田太郎", "佐藤花子", "鈴木一郎"]),
    ("shift_jis", ["やまだ たろう", "さとう はなこ"]),
])
def test_a_big5_or_shift_jis_register_is_refused_as_garbled(encoding, names):
    """Issue #22: such a file decoded as GB18030 and imported silently with garbled names."""
    (problem,) = problems_of(csv_bytes(ENGLISH, _rows(names), encoding=encoding))
    assert problem.row == FILE and "乱码" in problem.message and "garbled" in problem.message
    assert "UTF-8" in problem.expected


def test_a_gb18030_register_with_a_few_rare_name_characters_still_reads():
    rows = parse(csv_bytes(ENGLISH, _rows(["王喆", "李堃", "张三", "欧阳娜娜"]), encoding="gb18030"))
    assert [row.owner_name for row in rows] == ["王喆", "李堃", "张三", "欧阳娜娜"]


def test_an_xlsx_that_would_inflate_beyond_the_cap_is_refused_before_inflating(tmp_path, monkeypatch):
    """Issue #22: an XLSX with one 300 MB cell inflated to 660 MB before it was refused."""
    path = write_xlsx(tmp_path / "bomb.xlsx", ENGLISH, table())
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"0" * 3_000_000)  # compresses to a few KB
    content = path.read_bytes()
    assert len(content) < 100_000

    def never(*args, **kwargs):
        raise AssertionError("the workbook was opened")

    monkeypatch.setattr("openpyxl.load_workbook", never)
    (problem,) = problems_of(content, max_inflated=2_000_000)
    assert problem.row == FILE and "解压后" in problem.message and "2000000" in problem.expected


def test_an_xlsx_part_larger_than_its_entry_says_is_refused(tmp_path):
    path = write_xlsx(tmp_path / "liar.xlsx", ENGLISH, table())
    content = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(content))) as archive:
        sheet = next(part for part in archive.infolist() if part.filename.startswith("xl/worksheets/"))
    # The sheet's declared size, in its local header (offset 22) and its central directory record (offset 24).
    local = sheet.header_offset
    central = next(at for at in range(len(content) - 46) if content[at:at + 4] == b"PK\x01\x02"
                   and int.from_bytes(content[at + 42:at + 46], "little") == local)
    for offset in (local + 22, central + 24):
        content[offset:offset + 4] = (100).to_bytes(4, "little")
    (problem,) = problems_of(bytes(content))  # a clean refusal, never an exception out of zipfile
    assert problem.row == FILE and ("损坏" in problem.message or "无法读取" in problem.message)
