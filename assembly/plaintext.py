"""Titles, names and texts people type: no invisible control characters.

A NUL cannot be stored in PostgreSQL text and cuts strings elsewhere; U+202E and the other bidi
controls make `1-1-101 张三` display reversed or hide what a title says ("Trojan Source"); other
control and format characters are invisible in pages, PDFs and spreadsheets. Titles and names may
hold none of them; multi-line texts may hold line breaks and tabs only.
"""

from __future__ import annotations

import unicodedata

from assembly.errors import InvalidInput

_HIDDEN = ("Cc", "Cf", "Cs")  # controls, format characters (bidi, zero-width), lone surrogates
_LINE_BREAKS = frozenset("\n\r\t")


def hidden_character(text: str, *, multiline: bool = False) -> str | None:
    """The first invisible control character of the text as `U+XXXX`, or None."""
    for char in text:
        if multiline and char in _LINE_BREAKS:
            continue
        if unicodedata.category(char) in _HIDDEN:
            return f"U+{ord(char):04X}"
    return None


def hidden_message(chinese: str, english: str, found: str) -> str:
    return (f"{chinese}含有不可见的控制字符（{found}），请删除后再试 / "
            f"{english} contains an invisible control character ({found}); remove it and try again")


def check_visible(text: str, *, chinese: str, english: str, code: str, multiline: bool = False) -> None:
    """InvalidInput naming the field and the character when the text holds a hidden one."""
    found = hidden_character(text, multiline=multiline)
    if found:
        raise InvalidInput(hidden_message(chinese, english, found), code=code)
