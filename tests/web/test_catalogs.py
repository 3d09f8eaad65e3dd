"""The message catalogs are complete: no string reaches a page without its English translation.

Each failure names the command that fixes it: `make i18n` (extract and update the catalogs), then
translate the new entries of assembly/locale/en/LC_MESSAGES/messages.po (docs/i18n.md).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from assembly.web import i18n

ROOT = Path(__file__).resolve().parents[2]
FIX = ("run `make i18n`, then write the English of the empty entries in "
       "assembly/locale/en/LC_MESSAGES/messages.po (docs/i18n.md)")
HAN = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# Chinese a template may show outside _(): the language switch names Chinese in Chinese.
ALLOWED_BARE = {"_language.html": {"切换到中文", "中文"}}


def _extracted() -> dict[str, set[str]]:
    """msgid → files, as `make i18n` extracts them (babel.cfg)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config, str(ROOT / "babel.cfg"))
    found: dict[str, set[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        key = message if isinstance(message, str) else tuple(message)
        found.setdefault(key, set()).add(filename)
    return found


def _catalog(locale: str):
    with i18n.catalog_path(locale).open("rb") as source:
        return read_po(source, locale=locale)


@pytest.fixture(scope="module")
def extracted():
    return _extracted()


def test_every_string_is_in_both_catalogs(extracted):
    for locale in i18n.LOCALES:
        catalog = _catalog(locale)
        missing = sorted((str(msgid), sorted(files)) for msgid, files in extracted.items()
                         if catalog.get(msgid) is None)
        assert not missing, f"{locale}: {len(missing)} string(s) not in the catalog, e.g. {missing[:5]}: {FIX}"


def test_english_translates_every_string_and_keeps_its_placeholders(extracted):
    catalog = _catalog("en")
    problems = []
    for msgid in extracted:
        message = catalog.get(msgid)
        if message is None:
            continue  # reported by the test above
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated{' (fuzzy)' if message.fuzzy else ''}: {msgid!r}")
            continue
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        wanted = set(PLACEHOLDER.findall(" ".join(ids)))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"placeholders differ: {msgid!r} → {string!r}")
    assert not problems, f"{len(problems)} problem(s) in the English catalog: {problems[:8]}: {FIX}"


def test_english_translations_are_english(extracted):
    catalog = _catalog("en")
    chinese = [m.id for m in catalog if m.id in extracted and isinstance(m.string, str) and HAN.search(m.string)]
    assert not chinese, f"Chinese left in English translations: {chinese[:8]}"


def test_templates_have_no_chinese_outside_gettext():
    """Chinese words written straight into a template would never reach the catalogs."""
    problems = []
    for path in sorted((ROOT / "web" / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)  # comments
        text = re.sub(r"""_\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""", "_(", text)  # ids passed to _()
        allowed = ALLOWED_BARE.get(path.relative_to(ROOT / "web" / "templates").as_posix(), set())
        for number, line in enumerate(text.splitlines(), 1):
            words = set(re.findall(r"[\u3400-\u9fff]+", line)) - allowed
            if words:
                problems.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert not problems, (f"{len(problems)} template line(s) with Chinese outside _(): {problems[:8]}; "
                          f"wrap each sentence as {{{{ _(\"…\") }}}} (docs/i18n.md), then {FIX}")


TABLES = [  # Python tables whose labels pages show through `| translate`: each label must be in the glossary
    ("assembly.permissions", "ROLE_LABELS"),
    ("assembly.audit.observer_routes", "TYPE_LABELS"),
    ("assembly.audit.observer_routes", "ROLE_NAMES"),
    ("assembly.notify.service", "EVENTS"),
    ("assembly.notify.owners", "EVENTS"),
    ("assembly.notify.owners", "DELIVERY_LABELS"),
    ("assembly.voting.meetings", "STATE_LABELS"),
    ("assembly.voting.casting", "CHOICE_LABELS"),
    ("assembly.voting.casting", "REVOTE_RULES"),
    ("assembly.proxies.service", "STATUS_LABELS"),
    ("assembly.voting.paper", "STATE_LABELS"),
    ("assembly.voting.paper", "BY_LABELS"),
    ("assembly.voting.attachments", "TYPE_LABELS"),
    ("assembly.law.rules", "ITEM_NAMES"),
]


@pytest.mark.parametrize(("module", "table"), TABLES)
def test_labels_from_python_tables_are_translated(module, table, extracted):
    """Marked N_("…") where they are defined, or listed in assembly/web/glossary.py; translated either way."""
    labels = set(getattr(importlib.import_module(module), table).values())
    unmarked = sorted(labels - set(extracted))
    assert not unmarked, (f"{module}.{table}: {unmarked} are not marked for the catalogs; mark them N_(\"…\") "
                          f"where they are defined (or list them in assembly/web/glossary.py), then {FIX}")
    english = {m.id: m.string for m in _catalog("en") if m.id in labels}
    untranslated = sorted(label for label in labels if not english.get(label))
    assert not untranslated, f"{module}.{table}: no English for {untranslated}: {FIX}"
