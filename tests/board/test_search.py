"""Text search on the board (`q`, issue 3 item 2): one function over SQLite FTS5 and PostgreSQL
full-text search. Case and accents are ignored both ways, words match as prefixes, all words
must match, and no input — quotes, operators, punctuation, emoji, very long strings — is ever
an error."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser

from app.board.filters import BoardFilters
from app.board.queries import board_needs, similar_needs
from app.board.search import MAX_TERMS, search_terms
from tests.factories import make_need, make_theme


def titles(html: str) -> list[str]:
    return [a.text(strip=True) for a in LexborHTMLParser(html).css(".need-card-title a")]


def search(client: TestClient, q: str, **params: str) -> list[str]:
    response = client.get("/", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return sorted(titles(response.text))


@pytest.fixture
def needs(session):  # type: ignore[no-untyped-def]
    make_need(session, title="Crèche le soir pour les parents", body="Horaires décalés.")
    make_need(session, title="creche associative du quartier", body="Gérée par les parents.")
    make_need(session, title="Une épicerie solidaire à Mérignac", body="Produits frais.")
    make_need(session, title="Transport solidaire des aînés", body="Vers l'hôpital de Pessac.")
    make_need(session, title="Une recyclerie de quartier", body="Réparer plutôt que jeter.")


CRECHES = ["Crèche le soir pour les parents", "creche associative du quartier"]


@pytest.mark.parametrize("q", ["creche", "crèche", "CRÈCHE", "CRECHE", "Crèche", "cRéChE"])
def test_case_and_accents_are_ignored_both_ways(client, needs, q):
    assert search(client, q) == CRECHES


@pytest.mark.parametrize("q", ["epicerie", "ÉPICERIE", "merignac", "MÉRIGNAC", "aines", "AÎNÉS"])
def test_accents_are_ignored_in_other_words(client, needs, q):
    assert len(search(client, q)) == 1


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("épic", ["Une épicerie solidaire à Mérignac"]),
        ("EPI", ["Une épicerie solidaire à Mérignac"]),
        ("recycl", ["Une recyclerie de quartier"]),
        ("cre", CRECHES),
        ("solid", ["Transport solidaire des aînés", "Une épicerie solidaire à Mérignac"]),
    ],
)
def test_words_match_as_prefixes(client, needs, q, expected):
    assert search(client, q) == expected


def test_a_prefix_finds_the_longer_word(client, needs):
    assert search(client, "épic") == ["Une épicerie solidaire à Mérignac"]


def test_every_word_must_match(client, needs):
    assert search(client, "crèche soir") == ["Crèche le soir pour les parents"]
    assert search(client, "creche quartier") == ["creche associative du quartier"]
    assert search(client, "crèche épicerie") == []
    assert sorted(search(client, "solidaire")) == [
        "Transport solidaire des aînés",
        "Une épicerie solidaire à Mérignac",
    ]


def test_the_body_is_searched_too(client, needs):
    assert search(client, "hopital pessac") == ["Transport solidaire des aînés"]
    assert search(client, "décalés") == ["Crèche le soir pour les parents"]


def test_french_elisions_do_not_hide_a_need(client, needs):
    # « l'épicerie » must find « Une épicerie… » although no word there starts with « l ».
    assert search(client, "l'épicerie") == ["Une épicerie solidaire à Mérignac"]
    assert search(client, "d'épicerie solidaire") == ["Une épicerie solidaire à Mérignac"]


def test_search_combines_with_filters_and_sorts(client, session, needs):
    theme = make_theme(session, "petite-enfance", "Petite enfance")
    make_need(session, title="Crèche parentale classée", theme_id=theme.id)

    assert search(client, "creche", theme="petite-enfance") == ["Crèche parentale classée"]
    assert len(search(client, "creche", sort="top")) == 3
    assert len(search(client, "creche", sort="trending")) == 3
    assert len(search(client, "creche", sort="discussed")) == 3


def test_no_match_says_so_and_offers_to_post_the_need(client, needs):
    response = client.get("/", params={"q": "piscine municipale"})

    assert response.status_code == 200
    results = LexborHTMLParser(response.text).css_first("#results")
    assert results is not None
    assert "Aucun besoin ne correspond à votre recherche." in results.text()
    offer = results.css_first('a[href^="/needs/new?title="]')
    assert offer is not None
    assert offer.attributes["href"] == "/needs/new?title=piscine%20municipale"


def test_the_query_stays_in_the_search_box(client, needs):
    page = LexborHTMLParser(client.get("/", params={"q": 'crèche "soir'}).text)

    field = page.css_first("input[name=q]")
    assert field is not None and field.attributes["value"] == 'crèche "soir'


def test_an_edited_need_is_found_by_its_new_words(client, session, needs):
    need = make_need(session, title="Un besoin au titre provisoire")
    need.title = "Une laverie solidaire"
    session.add(need)
    session.commit()

    assert search(client, "laverie") == ["Une laverie solidaire"]
    assert search(client, "provisoire") == []


def test_search_also_works_through_the_query_function(session, needs):
    page = board_needs(session, BoardFilters(q="CRECHE"))

    assert sorted(n.title for n in page.needs) == CRECHES


# --- hostile input -----------------------------------------------------------------------------

HOSTILE = [
    '"',
    '""',
    '"""',
    '"creche',
    'creche"',
    "*",
    "creche*",
    "*creche",
    "NEAR(",
    "NEAR(creche soir)",
    "NEAR(creche, 2)",
    "OR",
    "AND",
    "NOT",
    "creche OR",
    "OR creche",
    "creche AND NOT soir",
    "-",
    "-creche",
    "creche -soir",
    "'",
    "''",
    "l'",
    "\\",
    "\\'",
    "%",
    "_",
    "%_%",
    "();--",
    "'; DROP TABLE needs; --",
    "title:creche",
    "{title}: creche",
    "^creche",
    "creche:*",
    "a & b | !c",
    "<->",
    "(((",
    ")",
    "[]{}",
    "$$",
    "\x00",
    "creche\x00",
    "\u200b",
    "🙂",
    "🙂🙂🙂 crèche",
    "!!!???...",
    "…",
    "x²",
    "½",
    "١٢٣",
    "日本語",
    "e\u0301pice\u0301rie",
    "ß",
    "İ",
    "a" * 5000,
    "creche " * 500,
    " ".join(f"mot{i}" for i in range(MAX_TERMS * 10)),
]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_search_input_is_never_an_error(client, needs, q):
    response = client.get("/", params={"q": q})

    assert response.status_code == 200
    assert "Erreur" not in LexborHTMLParser(response.text).css_first("main").text()  # type: ignore[union-attr]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_input_is_never_an_error_with_htmx_or_for_similar_needs(client, needs, q):
    board = client.get("/", params={"q": q, "sort": "top"}, headers={"HX-Request": "true"})
    similar = client.get("/needs/similar", params={"title": q})

    assert board.status_code == similar.status_code == 200


@pytest.mark.parametrize("q", ['"', '""', "*", "-", "'", "\\", "%", "_", "();--", "🙂", "…"])
def test_operators_and_punctuation_alone_show_the_whole_board(client, needs, q):
    # No word to search for: the list is simply not filtered.
    assert len(search(client, q)) == 5


@pytest.mark.parametrize("q", ['"creche"', "creche*", "(creche)", "-creche", "creche;", "«creche»"])
def test_operators_around_a_word_are_ignored(client, needs, q):
    assert search(client, q) == CRECHES


def test_emoji_and_punctuation_around_words_are_ignored(client, needs):
    assert search(client, "🙂 crèche !!!") == CRECHES


def test_a_very_long_query_is_cut_not_refused(client, needs):
    # Up to the address's limit (8 KiB, then 414: tests/reliability/test_limits.py).
    assert search(client, "creche " + "x" * 7_000) == []
    assert search(client, "creche " * 1000) == CRECHES


@pytest.mark.parametrize("q", ["or", "and", "near", "not"])
def test_operator_words_in_lower_case_are_plain_words(client, session, q):
    make_need(session, title=f"Un besoin qui contient le mot {q} seul")

    assert search(client, q) != []


def test_search_terms_are_plain_lowercase_words():
    assert search_terms('"Crèche" OR NEAR(soir, 20) -x *') == [
        "crèche",
        "or",
        "near",
        "soir",
        "20",
    ]
    assert search_terms("l'épicerie d'à côté") == ["épicerie", "côté"]
    assert search_terms("a b") == ["a", "b"]  # one-letter words alone are kept
    assert search_terms("_ %") == []
    assert len(search_terms("mot " * 100)) == MAX_TERMS


def test_similar_needs_use_the_same_accent_insensitive_search(session, needs):
    found = [n.title for n in similar_needs(session, "Une CRÈCHE de nuit")]

    assert sorted(found) == CRECHES


# --- the plan for searches with many matches ---------------------------------------------------


def pages_of(session, sort: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """Every page of a search for « vélo » in `sort` order, following the next-page cursors."""
    pages: list[list[str]] = []
    filters = BoardFilters(q="velo", sort=sort)
    while True:
        page = board_needs(session, filters, per_page=4)
        pages.append([n.title for n in page.needs])
        if not page.has_next:
            return pages
        filters = BoardFilters(q="velo", sort=sort, after=page.next_cursor)


@pytest.mark.parametrize("sort", ["recent", "top", "discussed"])
def test_many_matches_give_the_same_pages_as_few(session, monkeypatch, sort):
    """A search matching many needs reads the sort's index instead of each match by id (on
    SQLite): same needs, same order, same cursors; hidden needs still left out."""
    from datetime import timedelta

    from app.board import search as search_module
    from app.core.db import utcnow

    start = utcnow() - timedelta(days=30)
    for i in range(14):
        need = make_need(
            session,
            title=f"Atelier vélo numéro {i}",
            created_at=start + timedelta(hours=(i * 7) % 13),  # not in insertion order
            status="hidden" if i % 5 == 0 else "published",
        )
        need.supports_count = (i * 3) % 4  # ties, broken by id
        need.comments_count = i % 3
        session.add(need)
    make_need(session, title="Une épicerie solidaire")
    session.commit()

    monkeypatch.setattr(search_module, "MANY_MATCHES", 10**9)
    by_id = pages_of(session, sort)
    monkeypatch.setattr(search_module, "MANY_MATCHES", 3)
    by_index = pages_of(session, sort)

    assert by_index == by_id
    titles = [title for page in by_id for title in page]
    assert len(titles) == 11 and len(set(titles)) == 11  # 14 minus the 3 hidden, no repeat
    assert len(by_id) == 3
