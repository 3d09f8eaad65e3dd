"""The one CSV writer: every text cell that a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from assembly.spreadsheet import BOM, csv_text, safe_cell


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1+1", "\r=1+1",
                                  '=HYPERLINK("http://evil.example")'])
def test_cells_that_start_a_formula_are_written_as_text(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(("value", "written"), [("1-1-101", "1-1-101"), ("续聘物业", "续聘物业"), (None, ""),
                                                (Decimal("89.5000"), "89.5000"), (-1, "-1"), (3, "3")])
def test_ordinary_cells_and_our_own_numbers_are_written_as_they_are(value, written):
    assert safe_cell(value) == written


def test_csv_text_has_a_bom_crlf_and_quotes_what_needs_it():
    text = csv_text([["房号", "议题"], ["1-1-101", '\t=cmd|"x",y']])
    assert text.startswith(BOM) and text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text.removeprefix(BOM)))) == [["房号", "议题"], ["1-1-101", '\'\t=cmd|"x",y']]
