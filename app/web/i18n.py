"""Translations and locale selection.

Interface strings are written in French (the product's first language) and translated through
gettext catalogues under app/translations/<locale>/LC_MESSAGES/messages.po. The .po files are
compiled in memory at start-up, so no compiled .mo file can go stale in the repository.

The current locale lives in a context variable set once per request (and around e-mails sent
to someone in their own language), so templates and Python code share one `gettext`.
"""

from __future__ import annotations

import gettext as _gettext
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.dates import format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from app.core.db import utcnow
from app.web import freshness

SUPPORTED_LOCALES = ("fr", "en")
SOURCE_LOCALE = "fr"
LOCALE_COOKIE = "bourse_lang"
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"

_current_locale: ContextVar[str] = ContextVar("locale", default=SOURCE_LOCALE)


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    if locale == SOURCE_LOCALE:
        return _gettext.NullTranslations()
    po_path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def get_locale() -> str:
    return _current_locale.get()


def set_locale(locale: str) -> None:
    _current_locale.set(locale if locale in SUPPORTED_LOCALES else SOURCE_LOCALE)


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _current_locale.set(locale if locale in SUPPORTED_LOCALES else SOURCE_LOCALE)
    try:
        yield
    finally:
        _current_locale.reset(token)


# French typography: a non-breaking space before « : » and inside guillemets, a narrow one
# before « ; ? ! », so a line never starts with punctuation. Source strings are written with
# plain spaces (easy to type and to translate); this is applied when French is rendered.
_FR_SPACES = [
    (re.compile(r" ([;?!])"), "\u202f\\1"),
    (re.compile(r" (:)(?=\s|$)"), "\u00a0\\1"),
    (re.compile(r"« "), "«\u00a0"),
    (re.compile(r" »"), "\u00a0»"),
]


@lru_cache(maxsize=4096)  # applied to the catalogue's strings only: a finite set
def french_spacing(text: str) -> str:
    for pattern, replacement in _FR_SPACES:
        text = pattern.sub(replacement, text)
    return text


def _translate(text: str) -> str:
    return french_spacing(text) if get_locale() == "fr" else text


def gettext(message: str, **variables: object) -> str:
    text = _translate(translations(get_locale()).gettext(message))
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    if get_locale() == SOURCE_LOCALE:
        # The source strings are French, whose singular covers 0 and 1 (« 0 soutien »);
        # gettext's fallback would apply the English rule.
        text = _translate(singular if abs(n) <= 1 else plural)
    else:
        text = _translate(translations(get_locale()).ngettext(singular, plural, n))
    # Numbers are shown the local way (« 1 234 » in French, "1,234" in English).
    variables.setdefault("num", format_number(n))
    return text % variables


def lazy_gettext(message: str) -> str:
    """Marks a string for extraction where it is defined; translate it with gettext() later."""
    return message


_ = gettext


def negotiate_locale(cookie: str | None, accept_language: str | None, default: str) -> str:
    """Cookie first (the language link), then the browser's Accept-Language, then the default."""
    if cookie in SUPPORTED_LOCALES:
        return cookie  # type: ignore[return-value]
    if accept_language:
        ranked: list[tuple[float, str]] = []
        for part in accept_language.split(","):
            piece, _sep, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            lang = piece.strip().lower().split("-")[0]
            if lang in SUPPORTED_LOCALES:
                ranked.append((quality, lang))
        if ranked:
            return max(ranked, key=lambda item: item[0])[1]
    return default


@cache
def babel_locale(code: str) -> Locale:
    """Babel parses a locale name on every call that is given one: a board page formats some
    sixty numbers and dates, so the parsed Locale is kept (a fifth of a signed-in board's
    rendering time went to parsing "fr" again)."""
    return Locale.parse(code)


def format_date(value: datetime | None, format: str = "long") -> str:
    return _format_date(value, format=format, locale=babel_locale(get_locale())) if value else ""


def format_datetime(value: datetime | None, format: str = "medium") -> str:
    if not value:
        return ""
    return _format_datetime(
        value, format=format, tzinfo="Europe/Paris", locale=babel_locale(get_locale())
    )


def format_number(value: int | float) -> str:
    if type(value) is int and -1000 < value < 1000:
        # What Babel answers below a thousand in every shipped locale (tested), 10× cheaper.
        return str(value)
    return format_decimal(value, locale=babel_locale(get_locale()))


def localized_name(thing: Any) -> str:
    """A theme's or a territory's name in the current language: `name_en` in English when
    given, `name` otherwise (the French name is the one always filled)."""
    name_en = thing.name_en
    return name_en if name_en and get_locale() == "en" else thing.name


def iso(value: datetime | None) -> str:
    """RFC 3339 to the second, for `<time datetime>` (validators refuse microseconds)."""
    return value.replace(microsecond=0).isoformat() if value else ""


TIMEAGO_THRESHOLD = 1.1
# Babel's words for a relative age, by what decides them: (locale, future?, unit, rounded
# count). A board formats twenty of them and Babel walks its CLDR tables for each; there are
# only a few hundred different answers in practice. Cleared if it ever grows past the bound.
_relative_words: dict[tuple[str, bool, int, int], str] = {}
_RELATIVE_WORDS_MAX = 10_000


def relative_key(seconds: int, threshold: float = TIMEAGO_THRESHOLD) -> tuple[bool, int, int]:
    """What babel.dates.format_timedelta(add_direction=True) prints depends on alone: the
    direction, the unit it picks (the largest whose count reaches the threshold) and the count
    rounded as it rounds it (seconds as Babel counts them: whole, a past age rounded up)."""
    age = abs(seconds)
    for unit in freshness.UNITS:
        value = age / unit
        if value >= threshold or unit == 1:
            if unit == 1 and value > 0:
                value = max(1, value)
            return seconds >= 0, unit, round(value)
    raise AssertionError("unreachable: the last unit is the second")


def timeago(value: datetime | None) -> str:
    """Relative age: « il y a 3 jours » / "3 days ago"."""
    if not value:
        return ""
    now = utcnow()
    delta = value - now
    age = delta.total_seconds()
    # The words change with the clock: a cached page saying them is exact until then.
    freshness.expires_at(now.timestamp() + freshness.relative_text_lasts(age, TIMEAGO_THRESHOLD))
    return relative_words(delta, get_locale())


def relative_words(delta: timedelta, locale: str) -> str:
    """format_timedelta(delta, add_direction=True, threshold=1.1) in `locale`, remembered by
    what decides the words (relative_key)."""
    key = (locale, *relative_key(delta.days * 86400 + delta.seconds))
    words = _relative_words.get(key)
    if words is None:
        words = format_timedelta(
            delta, add_direction=True, threshold=TIMEAGO_THRESHOLD, locale=babel_locale(locale)
        )
        if len(_relative_words) >= _RELATIVE_WORDS_MAX:
            _relative_words.clear()
        _relative_words[key] = words
    return words


def set_locale_cookie(response: Any, locale: str | None, *, secure: bool) -> None:
    """The language preference cookie, read before Accept-Language (None forgets it)."""
    if locale in SUPPORTED_LOCALES:
        response.set_cookie(
            LOCALE_COOKIE,
            locale,
            max_age=365 * 24 * 3600,
            samesite="lax",
            httponly=True,
            secure=secure,
        )
    else:
        response.delete_cookie(LOCALE_COOKIE, samesite="lax", httponly=True, secure=secure)


def language_name(locale: str) -> str:
    """A language named in its own language ("Français", "English"), for the switch link."""
    return Locale.parse(locale).get_display_name(locale).capitalize()
