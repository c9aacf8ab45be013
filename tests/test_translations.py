"""The English catalogue keeps up with the French source, and pages switch language.

Interface strings are written in French and translated by app/translations/en/LC_MESSAGES/
messages.po. Adding a French string without translating it fails `test_every_message_is_
translated`, which names the strings to add. To fix it:

    pybabel extract -F babel.cfg -k N_ -k lazy_gettext --no-location --sort-output \
        --ignore-dirs=".* __pycache__" -o app/translations/messages.pot .
    pybabel update -i app/translations/messages.pot -d app/translations -l en --ignore-obsolete

then fill in the new empty `msgstr` (and remove any `#, fuzzy` flag once checked).

`--ignore-dirs` matters: by default Babel skips directories whose name starts with "_", so
the strings of templates/_macros/ would never reach the catalogue.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
PO_FILE = "app/translations/en/LC_MESSAGES/messages.po"
PO_PATH = ROOT / PO_FILE
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "lazy_gettext": None}

# %(name)s, %(count)d, %(ratio).1f…: the named placeholders gettext strings are formatted with.
PLACEHOLDER = re.compile(r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]")

# A message id is a string, or a (singular, plural) tuple; with its context (msgctxt).
MessageKey = tuple[str | tuple[str, ...], str | None]


def _directory_filter(top_level: set[str]) -> Callable[[str], bool]:
    """Walk only the trees babel.cfg maps, skipping hidden and cache directories. Unlike Babel's
    default filter this keeps directories starting with "_" (templates/_macros)."""

    def keep(path: str) -> bool:
        parts = Path(path).relative_to(ROOT).parts
        if parts[0] not in top_level:
            return False
        return not any(part.startswith(".") or part == "__pycache__" for part in parts)

    return keep


@cache
def extracted_messages() -> dict[MessageKey, list[str]]:
    """Every translatable message in the source, with where it occurs (path:line)."""
    with BABEL_CFG.open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, filename=str(BABEL_CFG))
    top_level = {pattern.split("/", 1)[0] for pattern, _method in method_map}
    messages: dict[MessageKey, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT,
        method_map,
        options_map,
        keywords=KEYWORDS,
        directory_filter=_directory_filter(top_level),
    ):
        if not (message if isinstance(message, str) else message[0]):
            continue
        key: MessageKey = (message if isinstance(message, str) else tuple(message), context)
        messages.setdefault(key, []).append(f"{filename.replace(os.sep, '/')}:{lineno}")
    return messages


@cache
def english_catalog() -> Catalog:
    with PO_PATH.open("rb") as fh:
        return read_po(fh, locale="en")


def _forms(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """A msgid or msgstr as a tuple: one form, or one per plural form."""
    return (value,) if isinstance(value, str) else tuple(value)


def translated_messages() -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(msgid forms, msgstr forms) of every entry of the English catalogue but the header."""
    for message in english_catalog():
        if message.id:
            yield _forms(message.id), _forms(message.string)


def _placeholders(*texts: str) -> set[str]:
    return {found for text in texts for found in PLACEHOLDER.findall(text or "")}


class _AnyValue(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> int:
        return 1


# --- the catalogue -------------------------------------------------------------------------


def test_source_has_messages_to_translate():
    messages = extracted_messages()
    assert len(messages) > 100
    # Macros live in templates/_macros/, a directory Babel skips unless told otherwise.
    assert any("templates/_macros/" in where for places in messages.values() for where in places)
    # lazy_gettext / N_ strings (notices shown after a redirect) are extracted too.
    assert ("Vous êtes déconnecté·e.", None) in messages


def test_every_message_is_translated():
    catalog = english_catalog()
    missing = []
    for (msgid, context), places in sorted(extracted_messages().items(), key=str):
        message = catalog.get(msgid, context=context)
        strings = () if message is None else _forms(message.string)
        if message is None or not all(s and s.strip() for s in strings) or message.fuzzy:
            state = "missing" if message is None else ("fuzzy" if message.fuzzy else "empty")
            missing.append(f"  [{state}] {msgid!r}  ({', '.join(sorted(set(places))[:3])})")
    assert not missing, (
        f"{len(missing)} French string(s) without an English translation in "
        f"{PO_FILE}:\n" + "\n".join(missing) + "\n"
        "Run the extract + update commands in this file's docstring and translate them."
    )


def test_catalogue_has_no_fuzzy_entry():
    fuzzy = [m.id for m in english_catalog() if m.id and m.fuzzy]
    assert not fuzzy, f"review these translations and remove their `#, fuzzy` flag: {fuzzy}"


def test_translations_keep_the_placeholders():
    wrong = []
    for ids, strings in translated_messages():
        expected = _placeholders(*ids)
        found = _placeholders(*strings)
        if found != expected or any(not _placeholders(s) <= expected for s in strings):
            wrong.append(f"  {ids[0]!r}: expects {sorted(expected)}, has {sorted(found)}")
    assert not wrong, "translations whose %(…)s placeholders differ:\n" + "\n".join(wrong)


def test_translations_format_like_their_message():
    """Jinja formats every gettext string with %, so a lone % in a translation breaks a page."""
    broken = []
    for ids, strings in translated_messages():
        try:
            for msgid in ids:
                msgid % _AnyValue()
        except (ValueError, TypeError):
            continue  # the source itself is not a format string: nothing to compare
        for string in strings:
            try:
                string % _AnyValue()
            except (ValueError, TypeError) as exc:
                broken.append(f"  {string!r}: {exc}")
    assert not broken, "translations that cannot be formatted:\n" + "\n".join(broken)


# --- pages ---------------------------------------------------------------------------------


def _page_text(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    return html.unescape(response.text)


def _french_left_in(text: str) -> list[str]:
    """French source strings (of two words or more) still showing on an English page."""
    return sorted(
        ids[0]
        for ids, strings in translated_messages()
        if " " in ids[0] and ids[0] != strings[0] and ids[0] in text
    )


def _english_in(text: str) -> list[str]:
    """English translations (of two words or more) showing on a French page."""
    return sorted(
        strings[0]
        for ids, strings in translated_messages()
        if " " in strings[0] and ids[0] != strings[0] and strings[0] in text
    )


def test_home_page_in_english(client):
    text = _page_text(client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"}))
    assert '<html lang="en">' in text
    assert "Sign in" in text
    assert "Create an account" in text
    assert "Se connecter" not in text
    assert "Créer un compte" not in text
    assert _french_left_in(text) == []


def test_login_page_in_english(client):
    text = _page_text(client.get("/account/login", headers={"Accept-Language": "en"}))
    assert '<html lang="en">' in text
    assert "<title>Sign in · Bourse à initiatives</title>" in text
    assert "E-mail address" in text
    assert "Forgotten your password?" in text
    assert "Se connecter" not in text
    assert "Mot de passe" not in text
    assert _french_left_in(text) == []


def test_notice_marked_with_lazy_gettext_is_translated(client):
    response = client.get("/account/login?notice=logged_out", headers={"Accept-Language": "en"})
    text = _page_text(response)
    assert "You are signed out." in text
    assert "déconnecté" not in text


def test_french_page_has_no_english_navigation(client):
    text = _page_text(client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"}))
    assert '<html lang="fr">' in text
    assert "Se connecter" in text
    catalog = english_catalog()
    nav = [
        "Les besoins",
        "La fabrique",
        "Se connecter",
        "Créer un compte",
        "À propos",
        "Charte de participation",
        "Données personnelles",
        "Mentions légales",
        "Aller au contenu",
        "Navigation principale",
    ]
    for msgid in nav:
        english = catalog.get(msgid).string  # type: ignore[union-attr]
        assert english and english != msgid
        assert not re.search(rf"\b{re.escape(english)}\b", text), english
    assert _english_in(text) == []
