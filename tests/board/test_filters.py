"""One table of sorts (app/board/filters.py): the board, the embed builder and the feeds offer
and name the same sorts, in the same words, and the URL's filters are read the same way."""

from __future__ import annotations

import feedparser
import pytest
from selectolax.lexbor import LexborHTMLParser

from app.board.filters import DEFAULT_SORT, SORTS, parse_filters
from app.web.i18n import gettext as _
from app.web.i18n import use_locale
from tests.factories import make_need, make_theme


def offered(html: str, select_id: str) -> list[tuple[str, str]]:
    """(value, label) of each option of a <select>, as the page shows them."""
    options = LexborHTMLParser(html).css(f"select#{select_id} option")
    return [(o.attributes.get("value") or "", o.text(strip=True)) for o in options]


def test_the_board_offers_every_sort_of_the_table_in_its_order(client):
    expected = [(sort.key, sort.label) for sort in SORTS]

    assert offered(client.get("/").text, "f-sort") == expected


def test_the_embed_builder_names_the_sorts_as_the_board_does(client):
    board = offered(client.get("/").text, "f-sort")

    assert offered(client.get("/partners/embed").text, "e-sort") == board
    assert ("discussed", "Les plus discutés") in board


@pytest.mark.parametrize("sort", [s for s in SORTS if s.key != DEFAULT_SORT], ids=lambda s: s.key)
def test_a_sorted_feed_names_its_sort_in_its_title(client, session, sort):
    make_need(session)

    parsed = feedparser.parse(client.get("/feeds/needs.atom", params={"sort": sort.key}).content)

    assert parsed.feed.title == f"Besoins ({sort.phrase}) — Bourse à initiatives"


def test_the_default_sort_goes_without_saying_in_a_feed_title(client, session):
    make_need(session)

    parsed = feedparser.parse(client.get("/feeds/needs.atom", params={"sort": "recent"}).content)

    assert parsed.feed.title == "Besoins — Bourse à initiatives"


def test_sort_labels_and_phrases_are_translated():
    with use_locale("en"):
        labels = [_(s.label) for s in SORTS]
        assert labels == ["Newest", "Most supported", "Trending", "Most discussed"]
        assert [_(s.phrase) for s in SORTS if s.phrase] == [
            "most supported",
            "trending",
            "most discussed",
        ]


# --- reading the URL ---------------------------------------------------------------------------

FILTERS = [
    # (query, the field in error or "", what is kept)
    ({}, "", {"sort": "recent", "status": "", "page": 1}),
    ({"sort": "discussed", "status": "covered"}, "", {"sort": "discussed", "status": "covered"}),
    ({"sort": "commented"}, "sort", {"sort": "recent"}),
    ({"status": "closed"}, "status", {"status": ""}),
    ({"page": "0"}, "page", {"page": 1}),
    ({"page": "²"}, "page", {"page": 1}),
    ({"page": "7"}, "", {"page": 7}),
    ({"page": "9" * 40}, "", {"page": 10**18}),  # any page: past the last one, empty
    ({"q": "x" * 300}, "", {"q": "x" * 200}),
    ({"after": "abc", "before": "def"}, "", {"after": "abc", "before": ""}),
]


@pytest.mark.parametrize(("query", "error", "kept"), FILTERS)
def test_filters_read_from_the_url(session, query, error, kept):
    filters, errors = parse_filters(session, query)

    assert list(errors) == ([error] if error else [])
    assert {name: getattr(filters, name) for name in kept} == kept


def test_an_archived_theme_still_filters_an_unknown_one_is_refused(session):
    from app.core.db import utcnow

    theme = make_theme(session)
    theme.archived_at = utcnow()
    session.add(theme)
    session.commit()

    filters, errors = parse_filters(session, {"theme": theme.slug})
    assert filters.theme is not None and filters.theme.id == theme.id and not errors
    filters, errors = parse_filters(session, {"theme": "inconnue"})
    assert filters.theme is None and list(errors) == ["theme"]
