"""Register files for tests: valid identity numbers, a sample register, CSV and XLSX writers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from assembly.identity import mainland_check_character
from assembly.register.rows import RegisterRow

CHINESE = ["房屋编号", "不动产登记面积", "实测面积", "合同面积", "开发建设单位", "业主姓名", "证件号码", "联系电话"]
ENGLISH = ["unit", "registry_area", "survey_area", "contract_area", "developer", "owner_name", "id_number", "phone"]


def resident_id(n: int) -> str:
    """A distinct, valid 18-character resident identity number for each n."""
    first17 = f"1101011980{n:07d}"
    return first17 + mainland_check_character(first17)


ZHANG = ("张三", resident_id(1), "13800138001")
LI = ("李四", resident_id(2), "13800138002")
WANG = ("王小五", resident_id(3), "")
ZHAO = ("赵六", resident_id(4), "13800138004")

# unit, registry, survey, contract, developer, owner
SAMPLE = [
    ("1-1-101", "", "89.5", "", "否", ZHANG),
    ("1-1-102", "100.25", "101", "", "否", LI),
    ("1-1-102", "100.25", "101", "", "否", WANG),
    ("1-1-103", "", "", "75.1234", "否", ZHANG),
    ("2-1-101", "", "120", "", "是", None),
    ("2-1-102", "60.5", "", "", "是", None),
    ("2-1-201", "", "88", "", "", WANG),
    ("2-1-201", "", "88", "", "", LI),
    ("2-1-202", "", "70", "", "no", LI),
]
# Members: {张三} 1-1-101 + 1-1-103 = 164.6234; {李四, 王小五} 1-1-102 + 2-1-201 = 188.25;
# developer 2-1-101 + 2-1-102 = 180.5; {李四} 2-1-202 = 70. Total 603.3734 m², 4 heads.
SAMPLE_TOTAL_AREA = Decimal("603.3734")
SAMPLE_MEMBERS = {
    ("1-1-101", "1-1-103"),
    ("1-1-102", "2-1-201"),
    ("2-1-101", "2-1-102"),
    ("2-1-202",),
}


def table(entries=SAMPLE) -> list[list[str]]:
    """File rows (without header) in the CHINESE/ENGLISH column order."""
    rows = []
    for unit, registry, survey, contract, developer, owner in entries:
        name, number, phone = owner or ("", "", "")
        rows.append([unit, registry, survey, contract, developer, name, number, phone])
    return rows


def register_rows(entries=SAMPLE) -> list[RegisterRow]:
    """The same register as the service takes it."""
    rows = []
    for unit, registry, survey, contract, developer, owner in entries:
        name, number, phone = owner or ("", "", "")
        rows.append(
            RegisterRow(
                unit=unit,
                registry=Decimal(registry) if registry else None,
                survey=Decimal(survey) if survey else None,
                contract=Decimal(contract) if contract else None,
                developer=developer in ("是", "yes"),
                owner_name=name,
                id_number=number,
                phone=phone or None,
            )
        )
    return rows


def csv_bytes(header: list[str], rows: list[list[object]], *, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def write_csv(path: Path, header: list[str], rows: list[list[object]], *, encoding: str = "utf-8") -> Path:
    path.write_bytes(csv_bytes(header, rows, encoding=encoding))
    return path


def write_xlsx(path: Path, header: list[object], rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "业主名册"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path
