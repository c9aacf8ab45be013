"""Next/previous links carry a keyset cursor: walking the board visits every public need once,
in order, whatever is posted meanwhile; a bare page=N still works; a forged cursor is a clear
400, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.board.models import Need
from app.board.queries import PER_PAGE
from app.core.db import utcnow
from tests.factories import make_need, make_user

SORTS = ["recent", "top", "trending", "discussed"]


def _ids_and_links(html: str) -> tuple[list[int], str | None, str | None]:
    tree = LexborHTMLParser(html)
    ids = [
        int(a.attributes["href"].split("/")[2].split("-")[0])  # type: ignore[union-attr]
        for a in tree.css("#results .need-card-title a")
    ]
    nxt = tree.css_first("#results a[rel=next]")
    prev = tree.css_first("#results a[rel=prev]")
    return (
        ids,
        nxt.attributes["href"] if nxt else None,  # type: ignore[return-value]
        prev.attributes["href"] if prev else None,  # type: ignore[return-value]
    )


@pytest.fixture
def many_needs(session):  # type: ignore[no-untyped-def]
    author = make_user(session)
    now = utcnow()
    needs = []
    for n in range(PER_PAGE * 2 + 7):
        need = make_need(session, author=author, created_at=now - timedelta(minutes=n % 9))
        # Many ties on every sort key: only the id breaks them.
        need.supports_count = n % 4
        need.comments_count = n % 3
        need.trending_score = float(n % 5)
        session.add(need)
    session.commit()
    return needs


@pytest.mark.parametrize("sort", SORTS)
def test_next_links_visit_every_need_once_in_order_and_back_links_return(client, many_needs, sort):
    pages = []
    url: str | None = f"/?sort={sort}"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        ids, url, _prev = _ids_and_links(response.text)
        pages.append(ids)
    seen = [i for page in pages for i in page]
    assert len(seen) == len(set(seen)) == PER_PAGE * 2 + 7
    # The same order as the plain offset pages.
    offset_order = []
    for number in range(1, len(pages) + 1):
        offset_order += _ids_and_links(client.get(f"/?sort={sort}&page={number}").text)[0]
    assert seen == offset_order

    # From the last page, the previous links walk back through the same pages.
    last = client.get(f"/?sort={sort}&page={len(pages)}").text
    back, prev = [], _ids_and_links(last)[2]
    while prev:
        ids, _next, prev = _ids_and_links(client.get(prev).text)
        back.append(ids)
    assert back == pages[-2::-1]


def test_a_need_posted_while_reading_is_neither_repeated_nor_skips_one(client, session, many_needs):
    first_ids, next_url, _ = _ids_and_links(client.get("/").text)
    make_need(session)  # goes to the top of "recent"
    second_ids, _, _ = _ids_and_links(client.get(next_url).text)  # type: ignore[arg-type]
    assert not set(first_ids) & set(second_ids)
    everything = list(
        session.exec(
            select(Need.id).order_by(Need.created_at.desc(), Need.id.desc())  # type: ignore[attr-defined]
        )
    )
    # The second page starts right after the last need of the first, as it was shown.
    start = everything.index(first_ids[-1]) + 1
    assert second_ids == everything[start : start + len(second_ids)]


@pytest.mark.parametrize(
    "cursor",
    ["x", "%%%", "WzEsMl0", "bnVsbA", "WyJhIiwxXQ", "WzEuNSwidHJ1ZSJd", "W10", "e30", "A" * 300],
)
@pytest.mark.parametrize("direction", ["after", "before"])
def test_a_forged_cursor_is_a_clear_400_with_the_first_page(client, many_needs, cursor, direction):
    response = client.get("/", params={direction: cursor, "page": "3"})
    assert response.status_code == 400
    assert "lien de page" in response.text
    assert len(_ids_and_links(response.text)[0]) == PER_PAGE


# Cursors that decode to values a page could never have written (found by fuzzing: each one
# reached the database as a value it could not bind, and answered 500).
_OUT_OF_RANGE = [
    (
        "recent",
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgMTAwMDAwMDAwMDAwMDAwMDAwMDAwXQ",
    ),  # id 10**20
    ("recent", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgOTIyMzM3MjAzNjg1NDc3NTgwOF0"),  # id 2**63
    ("recent", "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzE0OjAwIiwgMV0"),  # year 1 at +14:00
    ("recent", "WyI5OTk5LTEyLTMxVDIzOjU5OjU5LTE0OjAwIiwgMV0"),  # 31/12/9999 at -14:00
    ("top", "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMCwgNV0"),  # a count of 10**20
    ("discussed", "Wy0xLCA1XQ"),  # a negative count
    ("trending", "WyJpbmYiLCA1XQ"),  # infinity
    ("trending", "WyJuYW4iLCA1XQ"),  # not a number
]


@pytest.mark.parametrize(("sort", "cursor"), _OUT_OF_RANGE)
def test_a_cursor_out_of_range_is_a_clear_400_everywhere(client, many_needs, sort, cursor):
    for direction in ("after", "before"):
        response = client.get("/", params={"sort": sort, direction: cursor})
        assert response.status_code == 400, direction
        assert "lien de page" in response.text
    response = client.get("/api/v1/needs", params={"sort": sort, "cursor": cursor})
    assert response.status_code == 400
    assert response.json()["errors"]["cursor"]
    if sort == "recent":
        assert client.get("/api/v1/ideas", params={"cursor": cursor}).status_code == 400
