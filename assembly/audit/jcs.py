"""RFC 8785 canonical JSON (JCS) for audit-log entries: one value, one byte string.

An entry's bytes are what the Merkle tree hashes, so two programs that agree on an entry's
content must agree on its bytes. We support exactly the JSON our entries use: objects with
string keys, arrays, strings, integers, booleans and null. Floats are refused (areas and money
are decimal strings; a float would make the bytes depend on binary rounding), and so are
integers beyond ±(2**53 - 1), which RFC 8785 / I-JSON readers cannot hold exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1

# RFC 8785 3.2.2.2: the ECMAScript JSON.stringify escapes, nothing else.
_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


class NotCanonical(ValueError):
    """Bytes that are not the RFC 8785 form of the JSON value they hold."""


def canonical(value: object) -> bytes:
    """The RFC 8785 bytes of `value` (UTF-8, keys sorted by UTF-16 code units, no white space).

    Fast path: once a walk over the containers has checked every value (no floats, integers in
    range, string keys), the standard library's C encoder writes the same bytes RFC 8785 asks for —
    its string escapes are exactly ECMAScript's, and for keys within the Basic Multilingual Plane
    code-point order is UTF-16 order. Keys beyond it, or containers other than dict/list/tuple,
    take the writer below. tests/audit/test_jcs.py checks both paths agree.
    """
    if _plain(value):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    else:
        parts: list[str] = []
        _write(value, parts)
        text = "".join(parts)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate cannot be written as UTF-8
        raise ValueError(f"string holds an unpaired surrogate: {exc}") from None


def canonical_slow(value: object) -> bytes:
    """The reference writer alone (for tests comparing it with the fast path)."""
    parts: list[str] = []
    _write(value, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"string holds an unpaired surrogate: {exc}") from None


def _plain(value: object) -> bool:
    """Check `value` as _write would (raising the same errors); True when json.dumps may write it."""
    stack: list[Any] = [value]
    plain = True
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                raise ValueError(f"integer {item} is outside ±(2**53 - 1) and not exact in JSON")
        elif kind is dict:
            for key in item:
                if type(key) is not str:
                    if not isinstance(key, str):
                        raise TypeError(f"object keys must be strings, not {type(key).__name__}")
                    plain = False
                elif key and max(key) > "\uffff":
                    plain = False
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        elif isinstance(item, float):
            raise TypeError("floats are not allowed in audit entries; write decimals as strings")
        else:
            plain = False  # subclasses and other mappings/sequences: the reference writer decides
            if isinstance(item, Mapping):
                stack.extend(item.values())
            elif isinstance(item, Sequence) and not isinstance(item, str | bytes | bytearray):
                stack.extend(item)
    return plain


def loads_canonical(data: bytes) -> object:
    """Parse `data` and insist it is already canonical: the verifier's test that an entry line
    is exactly its own JCS form (no reordered keys, spaces, duplicate keys, floats, escapes
    beyond the mandatory ones)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotCanonical(f"not UTF-8: {exc}") from None
    try:
        value = json.loads(
            text,
            parse_float=_refuse_float,
            parse_constant=_refuse_float,
            object_pairs_hook=_no_duplicate_keys,
        )
    except json.JSONDecodeError as exc:
        raise NotCanonical(f"not JSON: {exc.msg} at character {exc.pos}") from None
    except (TypeError, ValueError) as exc:
        raise NotCanonical(str(exc)) from None
    try:
        again = canonical(value)
    except (TypeError, ValueError) as exc:
        raise NotCanonical(str(exc)) from None
    if again != data:
        raise NotCanonical("not in canonical form (RFC 8785): key order, spacing or escapes differ")
    return value


def _refuse_float(text: str) -> object:
    raise NotCanonical(f"number {text} is not an integer; entries hold decimals as strings")


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise NotCanonical(f"duplicate key {key!r}")
        result[key] = value
    return result


def _utf16_key(key: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly like sequences of UTF-16 code units.
    return key.encode("utf-16-be", "surrogatepass")


def _write(value: object, parts: list[str]) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, float):
        raise TypeError("floats are not allowed in audit entries; write decimals as strings")
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise ValueError(f"integer {value} is outside ±(2**53 - 1) and not exact in JSON")
        parts.append(str(int(value)))
    elif isinstance(value, str):
        _write_string(value, parts)
    elif isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"object keys must be strings, not {type(key).__name__}")
        parts.append("{")
        for position, key in enumerate(sorted(value, key=_utf16_key)):
            if position:
                parts.append(",")
            _write_string(key, parts)
            parts.append(":")
            _write(value[key], parts)
        parts.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        parts.append("[")
        for position, item in enumerate(value):
            if position:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not a JSON value for an audit entry")


def _write_string(text: str, parts: list[str]) -> None:
    parts.append('"')
    for char in text:
        escape = _SHORT_ESCAPES.get(char)
        if escape is not None:
            parts.append(escape)
        elif char < " ":
            parts.append(f"\\u{ord(char):04x}")
        else:
            parts.append(char)
    parts.append('"')
