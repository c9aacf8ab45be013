"""Languages: French by default, English on request (browser or language link), dates and
numbers through Babel, and a language link that cannot send anyone to another site."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.messages.extract import extract_from_file

from app import PROJECT_ROOT
from app.web import i18n
from app.web.i18n import LOCALE_COOKIE, negotiate_locale
from tests.web.helpers import INFO_PAGES, html_lang, page_text, parse


def _nav_texts(response) -> list[str]:
    return [a.text(strip=True) for a in parse(response).css("nav.main-nav a")]


def _lang_cookie(response) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{LOCALE_COOKIE}="):
            return header
    return None


# --- choosing the language -----------------------------------------------------------------


def test_pages_are_french_by_default(client):
    response = client.get("/")
    assert html_lang(response) == "fr"
    assert "Se connecter" in _nav_texts(response)


def test_an_english_browser_gets_english_pages(client):
    response = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert response.status_code == 200
    assert html_lang(response) == "en"
    # Needs the English catalogue (app/translations/en/LC_MESSAGES/messages.po).
    assert "Sign in" in _nav_texts(response)
    assert "Se connecter" not in _nav_texts(response)


def test_a_browser_preferring_an_unsupported_language_gets_french(client):
    response = client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert html_lang(response) == "fr"


def test_the_language_cookie_wins_over_accept_language(client):
    client.cookies.set(LOCALE_COOKIE, "fr")
    assert html_lang(client.get("/", headers={"Accept-Language": "en"})) == "fr"
    client.cookies.set(LOCALE_COOKIE, "en")
    assert html_lang(client.get("/", headers={"Accept-Language": "fr"})) == "en"


def test_an_unknown_language_cookie_is_ignored(client):
    client.cookies.set(LOCALE_COOKIE, "xx")
    assert html_lang(client.get("/", headers={"Accept-Language": "en"})) == "en"
    assert html_lang(client.get("/")) == "fr"


def test_the_page_links_to_the_other_language_and_back(client):
    french = client.get("/about")
    link = parse(french).css_first('nav.main-nav a[hreflang="en"]')
    assert link is not None
    href = link.attributes["href"] or ""
    parts = urlsplit(href)
    assert parts.path == "/lang"
    assert parse_qs(parts.query) == {"lang": ["en"], "next": ["/about"]}

    switched = client.get(href, follow_redirects=False)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/about"
    cookie = _lang_cookie(switched)
    assert cookie is not None and cookie.startswith(f"{LOCALE_COOKIE}=en;")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()

    english = client.get("/about")
    assert html_lang(english) == "en"
    back = parse(english).css_first('nav.main-nav a[hreflang="fr"]')
    assert back is not None
    client.get(back.attributes["href"] or "", follow_redirects=False)
    assert html_lang(client.get("/about")) == "fr"


def test_an_unknown_language_on_the_link_is_ignored(client):
    response = client.get("/lang?lang=xx&next=/about", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/about"
    assert _lang_cookie(response) is None


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "https://evil.example/about",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "about",
    ],
)
def test_the_language_link_never_redirects_to_another_site(client, target):
    response = client.get("/lang", params={"lang": "en", "next": target}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert _lang_cookie(response) is not None


@pytest.mark.parametrize(
    ("cookie", "accept_language", "expected"),
    [
        (None, None, "fr"),
        (None, "", "fr"),
        (None, "en", "en"),
        (None, "en-US", "en"),
        (None, "EN-gb", "en"),
        (None, "fr-CA,fr;q=0.9", "fr"),
        (None, "fr;q=0.4, en;q=0.8", "en"),
        (None, "en;q=0.2, fr;q=0.9", "fr"),
        (None, "de, en;q=0.5", "en"),
        (None, "de, es;q=0.5", "fr"),
        (None, "en;q=abc, fr;q=0.1", "fr"),
        (None, "*", "fr"),
        ("en", "fr", "en"),
        ("fr", "en", "fr"),
        ("xx", "en", "en"),
        ("", "en;q=0.7", "en"),
    ],
)
def test_negotiate_locale_follows_cookie_then_q_values_then_default(
    cookie, accept_language, expected
):
    assert negotiate_locale(cookie, accept_language, "fr") == expected


def test_negotiate_locale_falls_back_on_the_configured_default():
    assert negotiate_locale(None, None, "en") == "en"
    assert negotiate_locale(None, "de", "en") == "en"
    assert negotiate_locale(None, "fr", "en") == "fr"


# --- the English catalogue -------------------------------------------------------------------


def test_the_english_catalogue_parses():
    catalogue = i18n.translations("en")
    # Any marked string goes through gettext without error, translated or not.
    assert isinstance(catalogue.gettext("Se connecter"), str)


def test_error_titles_are_marked_for_translation():
    messages = {
        message
        for _lineno, message, _comments, _context in extract_from_file(
            "python",
            PROJECT_ROOT / "app" / "web" / "errors.py",
            keywords={"_": None, "N_": None, "gettext": None},
        )
    }
    for title in ("Page introuvable", "Méthode non autorisée", "Erreur interne", "Accès refusé"):
        assert title in messages


# --- dates and numbers ---------------------------------------------------------------------


def test_dates_are_written_by_babel_in_the_current_language():
    day = datetime(2025, 3, 5, 14, 30, tzinfo=UTC)
    with i18n.use_locale("fr"):
        assert i18n.format_date(day) == "5 mars 2025"
        assert i18n.format_date(day, "short") == "05/03/2025"
    with i18n.use_locale("en"):
        assert i18n.format_date(day) == "March 5, 2025"
        assert i18n.format_date(day, "short") == "3/5/25"


def test_times_are_shown_in_paris_time():
    winter_noon_utc = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    with i18n.use_locale("fr"):
        assert "13:00" in i18n.format_datetime(winter_noon_utc)


def test_numbers_are_written_by_babel_in_the_current_language():
    with i18n.use_locale("fr"):
        assert i18n.format_number(1234.5).replace("\u202f", " ").replace("\xa0", " ") == ("1 234,5")
    with i18n.use_locale("en"):
        assert i18n.format_number(1234.5) == "1,234.5"


def test_a_missing_date_renders_as_nothing():
    assert i18n.format_date(None) == ""
    assert i18n.format_datetime(None) == ""


def test_use_locale_restores_the_previous_language():
    with i18n.use_locale("fr"):
        with i18n.use_locale("en"):
            assert i18n.get_locale() == "en"
        assert i18n.get_locale() == "fr"
        with i18n.use_locale("xx"):
            assert i18n.get_locale() == "fr"


def test_languages_are_named_in_their_own_language():
    assert i18n.language_name("fr") == "Français"
    assert i18n.language_name("en") == "English"


# --- the information pages ------------------------------------------------------------------


@pytest.mark.parametrize("path", INFO_PAGES)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_each_information_page_exists_in_french_and_in_english(client, path, language):
    response = client.get(path, headers={"Accept-Language": language})
    assert response.status_code == 200
    assert html_lang(response) == language
    heading = parse(response).css_first("main h1")
    assert heading is not None and heading.text(strip=True)


@pytest.mark.parametrize("path", INFO_PAGES)
def test_each_information_page_has_its_own_text_in_each_language(client, path):
    french = client.get(path, headers={"Accept-Language": "fr"})
    english = client.get(path, headers={"Accept-Language": "en"})
    french_text, english_text = page_text(french.text), page_text(english.text)
    # A real short text, not a placeholder, and not the French text served to English readers.
    assert len(french_text.split()) > 60
    assert len(english_text.split()) > 60
    french_h1 = parse(french).css_first("main h1")
    english_h1 = parse(english).css_first("main h1")
    assert french_h1 is not None and english_h1 is not None
    assert french_h1.text(strip=True) != english_h1.text(strip=True)


def test_the_footer_links_every_information_page(client):
    hrefs = [a.attributes.get("href") for a in parse(client.get("/")).css("footer a")]
    for path in INFO_PAGES:
        assert path in hrefs


def test_french_punctuation_gets_non_breaking_spaces_and_english_does_not():
    from app.web import i18n

    with i18n.use_locale("fr"):
        assert i18n.gettext("Mot de passe oublié ?") == "Mot de passe oublié\u202f?"
        assert i18n.gettext("Rôle :") == "Rôle\u00a0:"
    with i18n.use_locale("en"):
        assert "\u202f" not in i18n.gettext("Mot de passe oublié ?")


def test_french_spacing_leaves_urls_and_plain_text_alone():
    from app.web.i18n import french_spacing

    assert french_spacing("https://exemple.fr:8000/a?b=c") == "https://exemple.fr:8000/a?b=c"
    assert french_spacing("« Moi aussi »") == "«\u00a0Moi aussi\u00a0»"
    assert (
        french_spacing("Déjà inscrit·e ? Oui ; non !")
        == "Déjà inscrit·e\u202f? Oui\u202f; non\u202f!"
    )


@pytest.mark.parametrize("locale", i18n.SUPPORTED_LOCALES)
def test_numbers_are_formatted_as_babel_formats_them(locale):
    from babel.numbers import format_decimal

    samples = [*range(-1500, 1500), 12_345, 1_000_000, -98_765, 2.5, 1234.5, 0.0]
    with i18n.use_locale(locale):
        assert [i18n.format_number(n) for n in samples] == [
            format_decimal(n, locale=locale) for n in samples
        ]
    with i18n.use_locale("fr"):
        assert i18n.format_number(1234) == format_decimal(1234, locale="fr") != "1234"


def test_relative_ages_are_babels_own_words_from_the_remembered_ones():
    """timeago remembers Babel's words by (direction, unit, rounded count): whatever order the
    ages come in, each answer is the one Babel gives for that very age, at every boundary."""
    import random
    from datetime import timedelta

    from babel.dates import format_timedelta

    boundaries = [0, 1, 2, 59, 60, 65, 66, 89, 90, 91, 3599, 3600, 3960, 3961, 5399, 5400]
    days = [86399, 86400, 95040, 95041, 129599, 129600, 7 * 86400, 665280, 30 * 86400]
    years = [365 * 86400, 365 * 86400 * 1.1, 365 * 86400 * 2.5, 365 * 86400 * 7]
    rng = random.Random(7)
    ages = boundaries + days + years + [rng.uniform(0, 3 * 365 * 86400) for _ in range(3000)]
    ages += [a + 0.5 for a in boundaries + days]
    deltas = [timedelta(seconds=sign * age) for age in ages for sign in (1, -1)]
    rng.shuffle(deltas)
    i18n._relative_words.clear()
    for locale in ("fr", "en"):
        for delta in deltas:
            expected = format_timedelta(delta, add_direction=True, threshold=1.1, locale=locale)
            assert i18n.relative_words(delta, locale) == expected, (locale, delta)
