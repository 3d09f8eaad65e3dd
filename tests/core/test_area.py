"""Exact areas: parsed strictly, stored as integer ten-thousandths, never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assembly.area import AreaError, format_area, from_units, parse_area, to_units


@pytest.mark.parametrize(
    ("text", "expected"),
    [("89.5", "89.5"), ("89.50", "89.50"), ("0.0001", "0.0001"), ("1,234.5", "1234.5"), (" 120 ", "120"), ("7", "7")],
)
def test_parse_accepts_positive_decimals(text, expected):
    assert parse_area(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "abc", "0", "-1", "1.23456", "NaN", "Infinity", "1e400", "100001", None, True])
def test_parse_refuses_what_is_not_an_area(text):
    with pytest.raises(AreaError):
        parse_area(text)


@pytest.mark.parametrize("text", ["1e3", "1E3", "2.5e1", "1e-2", "1_000", "\u0661\u0662\u0663", " 8 9", "89.5.1",
                                  Decimal("1E+3")])
def test_an_area_is_written_in_decimal_digits_never_an_exponent(text):
    """Issue #22: `1e3` was accepted as 1000 m² (areas are decimal strings with at most 4 places)."""
    with pytest.raises(AreaError, match="科学计数法"):
        parse_area(text)


def test_trailing_zero_places_beyond_four_are_harmless():
    assert parse_area("89.500000") == Decimal("89.5")


@given(st.integers(min_value=1, max_value=10**9))
def test_units_round_trip_exactly(units):
    value = from_units(units)
    assert to_units(value) == units
    assert Decimal(format_area(value)) == value
    assert "E" not in format_area(value)


def test_to_units_refuses_rounding():
    with pytest.raises(AreaError):
        to_units(Decimal("1.00001"))
