"""The French catalogue must translate every user-facing string of the sources.

After adding or changing a string: `make extract-messages`, then fill the new entries of
programme/translations/fr/LC_MESSAGES/messages.po (no "#, fuzzy", no empty msgstr)."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
BABEL_CFG = ROOT / "babel.cfg"
FR_PO = ROOT / "programme" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
# Same keywords as `make extract-messages` (pybabel extract -k _l -k lazy_gettext).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
# %(name)s, %(num)d, %(mb).1f ... ("%%" is a literal percent sign, not a placeholder).
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa]")
FIX = "Run `make extract-messages`, then translate in " + str(FR_PO.relative_to(ROOT))


def _method_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    """The [method: pattern] sections of babel.cfg, as pybabel reads them."""
    parser = configparser.RawConfigParser()
    parser.optionxform = str  # keep option names as written
    parser.read(BABEL_CFG, encoding="utf-8")
    method_map, options_map = [], {}
    for section in parser.sections():
        method, pattern = (part.strip() for part in section.split(":", 1))
        method_map.append((pattern, method))
        options_map[pattern] = dict(parser.items(section))
    return method_map, options_map


def _describe(message) -> str:
    ident = message.id if isinstance(message.id, str) else " / ".join(message.id)
    where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
    context = f" [context {message.context!r}]" if message.context else ""
    return f"  {ident!r}{context}" + (f"  ({where})" if where else "")


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text.replace("%%", "")))


@pytest.fixture(scope="module")
def catalog():
    with FR_PO.open("rb") as f:
        return read_po(f, locale="fr")


@pytest.fixture(scope="module")
def source_messages():
    """{(msgid, context): (is_plural, first location)} extracted afresh from the sources."""
    method_map, options_map = _method_map()
    assert method_map, f"{BABEL_CFG} lists no source files to extract from"
    found: dict[tuple[str, str | None], tuple[bool, str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, (list, tuple)) else message
        plural = isinstance(message, (list, tuple)) and len(message) > 1
        was_plural, where = found.get((msgid, context), (False, f"{filename}:{lineno}"))
        found[(msgid, context)] = (was_plural or plural, where)
    assert found, "no translatable string was extracted: check babel.cfg and the keywords"
    return found


def test_every_entry_is_translated_and_not_fuzzy(catalog):
    problems = []
    for message in catalog:
        if not message.id:
            continue  # the header
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.fuzzy:
            problems.append(_describe(message) + "  is fuzzy")
        elif not strings or not all(s and s.strip() for s in strings):
            problems.append(_describe(message) + "  has no (or an incomplete) French translation")
    assert not problems, (
        f"{len(problems)} French entr{'y' if len(problems) == 1 else 'ies'} to fix in "
        f"{FR_PO.relative_to(ROOT)} (fill msgstr and remove '#, fuzzy'):\n" + "\n".join(problems)
    )


def test_every_source_string_is_in_the_french_catalogue(catalog, source_messages):
    missing = []
    for (msgid, context), (plural, where) in sorted(
        source_messages.items(), key=lambda item: item[1][1]
    ):
        entry = catalog.get(msgid, context=context)
        label = f"  {msgid!r}" + (f" [context {context!r}]" if context else "") + f"  ({where})"
        if entry is None:
            missing.append(label)
        elif plural and not entry.pluralizable:
            missing.append(label + "  is now plural (ngettext) but the catalogue entry is not")
    assert not missing, (
        f"{len(missing)} string(s) of the sources are not in the French catalogue. {FIX}:\n"
        + "\n".join(missing)
    )


def test_placeholders_are_kept(catalog):
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        expected = set().union(*(_placeholders(i) for i in ids))
        for index, string in enumerate(strings):
            if not string:
                continue  # reported by test_every_entry_is_translated_and_not_fuzzy
            got = _placeholders(string)
            form = f" msgstr[{index}]" if len(strings) > 1 else ""
            if expected - got:
                names = ", ".join(sorted(expected - got))
                problems.append(_describe(message) + f"{form} lacks %({names})")
            if got - expected:
                names = ", ".join(sorted(got - expected))
                problems.append(_describe(message) + f"{form} has unknown %({names})")
    assert not problems, "French translations with wrong placeholders:\n" + "\n".join(problems)


def test_catalogue_passes_babel_checks(catalog):
    """The checks `pybabel compile` runs (placeholder types, number of plural forms)."""
    problems = [
        _describe(message) + f"  {error}" for message, errors in catalog.check() for error in errors
    ]
    assert not problems, "French catalogue errors:\n" + "\n".join(problems)
