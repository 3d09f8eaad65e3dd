"""`make i18n`: extract the message ids, update the catalogs, fill the Chinese one, list what English lacks.

Chinese is the source language: the zh_CN catalog is the identity (msgstr = msgid); the English catalog
is written by people — this only adds the new ids (empty) and drops the ones no longer used.
No network, no compiled .mo files (assembly.web.i18n reads the .po catalogs).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE_DIR = ROOT / "assembly" / "locale"
TEMPLATE = LOCALE_DIR / "messages.pot"
LOCALES = ("zh_CN", "en")


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def catalog_file(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


def main() -> int:
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    before = {path: path.read_text(encoding="utf-8") for path in _files() if path.exists()}
    pybabel("extract", "-F", str(ROOT / "babel.cfg"), "-o", str(TEMPLATE), "--no-location", "--sort-output",
            "--project", "assembly", "--copyright-holder", "Assembly contributors",
            str(ROOT))  # babel.cfg's patterns are relative to the checkout
    for locale in LOCALES:
        if not catalog_file(locale).exists():
            pybabel("init", "-i", str(TEMPLATE), "-d", str(LOCALE_DIR), "-l", locale)
        # No fuzzy matching: a new id stays empty until a person translates it (the catalog test says so).
        pybabel("update", "-i", str(TEMPLATE), "-d", str(LOCALE_DIR), "-l", locale, "--no-fuzzy-matching",
                "--ignore-obsolete", "--width=100")
    identity(catalog_file("zh_CN"))
    for path, old in before.items():  # only a new date in the header: keep the file as it was (no churn)
        if _undated(path.read_text(encoding="utf-8")) == _undated(old):
            path.write_text(old, encoding="utf-8")
    missing = untranslated(catalog_file("en"))
    for message in missing:
        print(f"en: untranslated: {message}")
    print(f"catalogs updated in {LOCALE_DIR.relative_to(ROOT)}; English lacks {len(missing)} translation(s)")
    return 0


def _files() -> list[Path]:
    return [TEMPLATE, *(catalog_file(locale) for locale in LOCALES)]


def _undated(text: str) -> str:
    return re.sub(r'^"(POT-Creation-Date|PO-Revision-Date): .*$', "", text, flags=re.M)


def identity(path: Path) -> None:
    """The source language translates each message to itself (plurals: one form, Chinese has no plural)."""
    with path.open("rb") as source:
        catalog = read_po(source, locale="zh_CN")
    for message in catalog:
        if not message.id:
            continue
        message.string = (message.id[0],) if isinstance(message.id, tuple | list) else message.id
        message.flags.discard("fuzzy")
    with path.open("wb") as target:
        write_po(target, catalog, width=100, omit_header=False, sort_output=True, ignore_obsolete=True)


def untranslated(path: Path) -> list[str]:
    with path.open("rb") as source:
        catalog = read_po(source, locale="en")
    return [str(m.id) for m in catalog if m.id and (m.fuzzy or not m.string or (isinstance(m.string, tuple) and not all(m.string)))]


if __name__ == "__main__":
    sys.exit(main())
