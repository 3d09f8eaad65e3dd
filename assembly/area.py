"""Floor areas as exact decimals (up to 4 places), stored as integer ten-thousandths of a m².

No floats anywhere: SQLite has no exact decimal type, so both databases store a BIGINT count of
0.0001 m² and Python sees `Decimal`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

PLACES = 4
SCALE = 10**PLACES
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")  # ASCII digits only, no exponent
MAX_AREA = Decimal("100000")  # m² for one unit: far above any dwelling, catches unit slips


class AreaError(ValueError):
    """An area that is not a positive decimal with at most four places."""


def parse_area(text: object) -> Decimal:
    """A positive area from text ('89.5', '89.50', '1,234.5'); AreaError with the reason otherwise."""
    if isinstance(text, float):
        # Floats from spreadsheets are exact only when they round-trip through repr.
        text = repr(text)
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str | Decimal):
        raise AreaError("不是数字 / not a number")
    written = str(text).strip().replace(",", "").replace("，", "")
    if not _DECIMAL.fullmatch(written):
        # Decimal() would also take '1e3', 'NaN' and '0x10'-like spellings: an area is digits and a point.
        raise AreaError("不是数字（只能写成 89.5 这样的小数，不能用科学计数法） / not a number "
                        "(write it as a decimal like 89.5, no exponent)")
    try:
        value = Decimal(written)
    except InvalidOperation:
        raise AreaError("不是数字 / not a number") from None
    if not value.is_finite():
        raise AreaError("不是数字 / not a number")
    if value <= 0:
        raise AreaError("面积必须大于 0 / must be greater than 0")
    if value.as_tuple().exponent < -PLACES and value != value.quantize(Decimal(1).scaleb(-PLACES)):
        raise AreaError(f"最多 {PLACES} 位小数 / at most {PLACES} decimal places")
    if value > MAX_AREA:
        raise AreaError(f"超过 {MAX_AREA} ㎡ / more than {MAX_AREA} m²")
    return value


def to_units(value: Decimal) -> int:
    """Decimal m² → integer ten-thousandths, refusing anything that would round."""
    scaled = value * SCALE
    if scaled != scaled.to_integral_value():
        raise AreaError(f"最多 {PLACES} 位小数 / at most {PLACES} decimal places")
    return int(scaled)


def from_units(units: int) -> Decimal:
    return (Decimal(units) / SCALE).quantize(Decimal(1).scaleb(-PLACES))


def format_area(value: Decimal) -> str:
    """'89.5' for 89.5000, '120' for 120.0000: exact, no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return text


class ExactArea(TypeDecorator):
    """A Decimal area column stored as BIGINT ten-thousandths of a square metre."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return to_units(Decimal(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return from_units(int(value))
