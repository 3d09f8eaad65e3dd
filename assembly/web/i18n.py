"""Languages of the pages: Chinese (zh-CN, the source) first, English second.

The locale of a request comes from the `lang` cookie (set by the switch in the header), else the
browser's Accept-Language, else Chinese. Message ids are the Chinese text; the English catalog
(assembly/locale/en/LC_MESSAGES/messages.po) translates them. Catalogs are read from the .po files
with Babel when first needed, so there is no compiled .mo file to go stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as _babel_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from starlette.requests import HTTPConnection

CHINESE, ENGLISH = "zh_CN", "en"
LOCALES = (CHINESE, ENGLISH)
DEFAULT = CHINESE
COOKIE = "lang"
TAGS = {CHINESE: "zh-CN", ENGLISH: "en"}  # BCP 47, for <html lang> and the cookie
NAMES = {CHINESE: "中文", ENGLISH: "English"}  # each language named in itself, on the switch
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "messages"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DATETIME_PATTERNS = {CHINESE: "y年M月d日 HH:mm", ENGLISH: "d MMM y, HH:mm"}
DATE_PATTERNS = {CHINESE: "y年M月d日", ENGLISH: "d MMM y"}
WAN = Decimal(10_000)

_current: ContextVar[str] = ContextVar("assembly_locale", default=DEFAULT)


# --- which language ---------------------------------------------------------------------------

def from_tag(tag: str | None) -> str | None:
    """'en-GB' → en, 'zh-Hans-CN' or 'zh-TW' → zh_CN (the only Chinese we write); None when neither."""
    primary = (tag or "").strip().replace("_", "-").split("-")[0].lower()
    return {"zh": CHINESE, "en": ENGLISH}.get(primary)


def parse_accept_language(header: str | None) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (q=0 dropped)."""
    ranked = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag.strip() and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The cookie if it names a language we have, else the browser's first one we have, else Chinese."""
    chosen = from_tag(cookie)
    if chosen:
        return chosen
    for tag in parse_accept_language(accept_language):
        if tag == "*":
            return DEFAULT
        chosen = from_tag(tag)
        if chosen:
            return chosen
    return DEFAULT


def locale_of(request) -> str:
    """The request's locale, decided once and kept on request.state."""
    known = getattr(request.state, "locale", None)
    if known is None:
        known = negotiate(request.cookies.get(COOKIE), request.headers.get("accept-language"))
        request.state.locale = known
    return known


def current_locale() -> str:
    return _current.get()


@contextmanager
def use_locale(locale: str) -> Iterator[str]:
    """Render or format in `locale` (rendering sets it per request; the default is Chinese)."""
    token = _current.set(locale if locale in LOCALES else DEFAULT)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


# --- catalogs ---------------------------------------------------------------------------------

def catalog_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> dict[object, object]:
    """msgid → msgstr of a locale's catalog (plural ids as tuples); untranslated and fuzzy entries left out."""
    path = catalog_path(locale)
    if not path.exists():
        return {}
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    table: dict[object, object] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple | list):
            forms = tuple(message.string or ())
            if forms and all(forms):
                table[tuple(message.id)] = forms
        elif message.string:
            table[message.id] = message.string
    return table


def gettext(message: str) -> str:
    return translations(current_locale()).get(message, message)


def ngettext(singular: str, plural: str, count: int) -> str:
    forms = translations(current_locale()).get((singular, plural))
    if forms:
        # Both our languages: one form for 1 (English) or a single form (Chinese).
        return forms[0] if count == 1 or len(forms) == 1 else forms[1]
    return singular if count == 1 else plural


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Marks a string for extraction where it is defined; translate with gettext() where it is shown."""
    return message


def pick(message: str | None) -> str:
    """The half of a "中文 / english" message (assembly.errors style) for the current locale."""
    if not message:
        return message or ""
    chinese, separator, english = message.partition(" / ")
    if not separator:
        return message
    return english.strip() if current_locale() == ENGLISH else chinese.strip()


# --- figures and times ------------------------------------------------------------------------

def _exact(value: Decimal | int | str) -> Decimal:
    """Exact figures only: a float here is a bug upstream (areas and tallies never pass through floats)."""
    if isinstance(value, float):
        raise TypeError(f"a float reached a display filter ({value!r}); pass a Decimal")
    return value if isinstance(value, Decimal) else Decimal(value)


def format_number(value: Decimal | int | str | None, *, grouping: bool = True) -> str:
    """Exact digits (no rounding, no trailing zeros), grouped for the locale: 123,456.75."""
    if value is None:
        return "—"
    number = _exact(value)
    number = number.normalize() if number == number.to_integral_value() else number
    text = format_decimal(number, locale=current_locale(), decimal_quantization=False, group_separator=grouping)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_area(value: Decimal | int | str | None) -> str:
    """An area in square metres, exact: 1,234.5 ㎡ (the sign ㎡ in both languages)."""
    return "—" if value is None else f"{format_number(value)} ㎡"


def format_wan(value: Decimal | int | str | None) -> str:
    """Large figures: 12.35 万 in Chinese from 123456, 123,456 in English; small ones as they are."""
    if value is None:
        return "—"
    number = _exact(value)
    if current_locale() == CHINESE:
        if abs(number) >= WAN:
            return f"{format_number((number / WAN).quantize(Decimal('0.01')), grouping=False)} 万"
        return format_number(number, grouping=False)
    return format_number(number)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # the database keeps UTC


def format_datetime(value: datetime | None) -> str:
    """Beijing time: 2026年11月24日 10:02, or 24 Nov 2026, 10:02."""
    if value is None:
        return "—"
    locale = current_locale()
    return _babel_datetime(_aware(value), DATETIME_PATTERNS[locale], tzinfo=SHANGHAI, locale=locale)


def format_date(value: datetime | None) -> str:
    if value is None:
        return "—"
    locale = current_locale()
    return _babel_datetime(_aware(value), DATE_PATTERNS[locale], tzinfo=SHANGHAI, locale=locale)


class RequestLocale:
    """Pure ASGI middleware: the whole request runs in its visitor's locale (routes that shorten an
    error with `pick` before rendering speak the page's language, not only the templates)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        with use_locale(negotiate(connection.cookies.get(COOKIE), connection.headers.get("accept-language"))):
            await self.app(scope, receive, send)
