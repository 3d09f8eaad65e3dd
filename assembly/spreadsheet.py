"""The one CSV writer for every CSV the platform produces (results, per-unit lines, voted units).

Text that meeting titles, motion titles, candidate names or unit codes carry reaches observers',
street offices' and owners' spreadsheets; a cell starting with `=`, `+`, `-`, `@`, a tab or a
carriage return would be read there as a formula (CSV/formula injection, OWASP). Such a text cell
is written with a leading apostrophe, which spreadsheets show as text. Numbers we computed
(int, Decimal) are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

BOM = "\ufeff"  # spreadsheet programs read the Chinese headers as UTF-8 only with it
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell as text a spreadsheet shows and never runs; None is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    """Rows as CSV text (CRLF line ends, BOM first), every cell through `safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return BOM + out.getvalue()
