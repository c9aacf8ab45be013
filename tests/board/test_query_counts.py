"""No N+1 (issue 3, item 9): the number of SQL statements behind the board, the search and a
need page does not grow with the number of needs or comments, signed in or not.

Statements are counted with a `before_cursor_execute` listener on the application's engine,
after one warm-up request (so connection set-up never counts). The anonymous response cache
(app.web.cache) is off here: it would answer the counted request from memory, without running
the route whose statements are counted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from itertools import cycle

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from app.accounts.models import User
from app.board.models import Comment, Need
from app.board.queries import PER_PAGE
from app.board.supports import add_support
from app.core.db import utcnow
from app.core.settings import Settings
from tests.factories import login_as, make_need, make_territory, make_theme, make_user

FEW_NEEDS, MANY_NEEDS = 5, 2 * PER_PAGE  # one short page, then two full pages' worth
FEW_COMMENTS, MANY_COMMENTS = 5, 50


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.cache_mb = 0  # every request runs its route
    return settings


@contextmanager
def counting(engine) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", remember)


def statements_for(client: TestClient, url: str, **params: str) -> list[str]:
    client.get(url, params=params)  # warm-up: pool connections, caches
    with counting(client.app.state.engine) as statements:  # type: ignore[attr-defined]
        response = client.get(url, params=params)
    assert response.status_code == 200, response.text[:500]
    return statements


def describe(statements: list[str]) -> str:
    return "\n".join(" ".join(s.split())[:160] for s in statements)


class Board:
    """Needs spread over themes, territories and authors, some supported by the viewer."""

    def __init__(self, session: Session, viewer: User) -> None:
        self.session = session
        self.viewer = viewer
        self.themes = cycle(
            [make_theme(session, f"theme-{i}", f"Thème {i}").id for i in range(3)] + [None]
        )
        self.territories = cycle(
            [make_territory(session, f"terr-{i}", f"Territoire {i}").id for i in range(3)] + [None]
        )
        self.count = 0

    def grow_to(self, total: int) -> None:
        now = utcnow()
        while self.count < total:
            n = self.count
            need = make_need(
                self.session,
                author=make_user(self.session),
                title=f"Une crèche solidaire numéro {n}",
                theme_id=next(self.themes),
                territory_id=next(self.territories),
                created_at=now - timedelta(minutes=n),
            )
            if n % 2 == 0:
                add_support(self.session, need, self.viewer)
            self.count += 1


@pytest.fixture(autouse=True)
def no_response_cache(settings):  # type: ignore[no-untyped-def]
    """These tests count what the routes run: the anonymous response cache (app/web/cache.py)
    would answer the repeated request without running the route at all."""
    settings.cache_mb = 0


@pytest.fixture(params=["anonymous", "signed in"])
def signed_in(request, client, session) -> User | None:  # type: ignore[no-untyped-def]
    viewer = make_user(session)
    if request.param == "signed in":
        login_as(client, viewer, session)
    return viewer


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"sort": "top"},
        {"sort": "trending"},
        {"sort": "discussed"},
        {"theme": "theme-1"},
        {"territory": "terr-2", "status": "open"},
        {"page": "2"},
    ],
    ids=["recent", "top", "trending", "discussed", "theme", "territory+status", "page-2"],
)
def test_the_board_runs_the_same_statements_for_5_or_40_needs(client, session, signed_in, params):
    board = Board(session, signed_in)
    # Page 2 of 5 needs is empty (and rightly skips the "what I support" query): give it some.
    board.grow_to(FEW_NEEDS + (PER_PAGE if "page" in params else 0))
    few = statements_for(client, "/", **params)

    board.grow_to(MANY_NEEDS)
    many = statements_for(client, "/", **params)

    assert len(few) == len(many), f"5 needs:\n{describe(few)}\n\n40 needs:\n{describe(many)}"


@pytest.mark.parametrize("q", ["crèche", "creche solidaire", "numéro 1"])
def test_the_search_runs_the_same_statements_for_5_or_40_needs(client, session, signed_in, q):
    board = Board(session, signed_in)
    board.grow_to(FEW_NEEDS)
    few = statements_for(client, "/", q=q)

    board.grow_to(MANY_NEEDS)
    many = statements_for(client, "/", q=q)

    assert len(few) == len(many), f"5 needs:\n{describe(few)}\n\n40 needs:\n{describe(many)}"


def test_the_htmx_results_block_runs_the_same_statements_for_5_or_40_needs(
    client, session, signed_in
):
    board = Board(session, signed_in)
    client.headers["HX-Request"] = "true"
    board.grow_to(FEW_NEEDS)
    few = statements_for(client, "/", q="crèche", sort="top")

    board.grow_to(MANY_NEEDS)
    many = statements_for(client, "/", q="crèche", sort="top")

    assert len(few) == len(many)


def test_similar_needs_run_the_same_statements_for_5_or_40_needs(client, session, signed_in):
    board = Board(session, signed_in)
    board.grow_to(FEW_NEEDS)
    few = statements_for(client, "/needs/similar", title="une crèche solidaire")

    board.grow_to(MANY_NEEDS)
    many = statements_for(client, "/needs/similar", title="une crèche solidaire")

    assert len(few) == len(many)


# --- the need page -----------------------------------------------------------------------------


class Discussion:
    """Comments by many different people on one need: top-level ones and replies, some deleted
    (with and without replies), some pending, a few by the viewer."""

    def __init__(self, session: Session, need: Need, viewer: User) -> None:
        self.session = session
        self.need = need
        self.viewer = viewer
        self.tops: list[int] = []
        self.count = 0

    def grow_to(self, total: int) -> None:
        start = utcnow() - timedelta(hours=2)
        while self.count < total:
            n = self.count
            author = self.viewer if n % 10 == 3 else make_user(self.session)
            # Every third comment replies to an earlier top-level one.
            parent = self.tops[n % len(self.tops)] if self.tops and n % 3 == 2 else None
            comment = Comment(
                need_id=self.need.id,  # type: ignore[arg-type]
                author_id=author.id,
                parent_id=parent,
                body=f"Commentaire {n}",
                body_html=f"<p>Commentaire {n}</p>",
                status="pending" if n % 11 == 5 else "published",
                created_at=start + timedelta(seconds=n),
                updated_at=start + timedelta(seconds=n),
                deleted_at=utcnow() if n % 9 == 4 else None,
            )
            self.session.add(comment)
            self.session.commit()
            if parent is None:
                self.tops.append(comment.id)  # type: ignore[arg-type]
            if comment.status == "published" and comment.deleted_at is None:
                self.need.comments_count += 1
            if n % 4 == 0:
                add_support(self.session, self.need, author, commit=False)
            self.session.add(self.need)
            self.session.commit()
            self.count += 1


@pytest.mark.parametrize("viewer_is", ["anonymous", "signed in", "author", "moderator"])
def test_a_need_page_runs_the_same_statements_for_5_or_50_comments(client, session, viewer_is):
    author = make_user(session)
    viewer = {"author": author, "moderator": make_user(session, role="moderator")}.get(
        viewer_is, make_user(session)
    )
    if viewer_is != "anonymous":
        login_as(client, viewer, session)
    need = make_need(
        session,
        author=author,
        title="Une crèche ouverte le soir",
        theme_id=make_theme(session).id,
        territory_id=make_territory(session).id,
    )
    url = f"/needs/{need.id}-{need.slug}"
    discussion = Discussion(session, need, viewer)
    discussion.grow_to(FEW_COMMENTS)
    few = statements_for(client, url)

    discussion.grow_to(MANY_COMMENTS)
    many = statements_for(client, url)

    assert len(few) == len(many), f"5 comments:\n{describe(few)}\n\n50:\n{describe(many)}"
    assert "Commentaire 48" in client.get(url).text  # the comments really are on the page


def test_the_counts_above_are_small(client, session):
    """Not only constant but modest: a regression to a query per card would show here too."""
    viewer = make_user(session)
    login_as(client, viewer, session)
    Board(session, viewer).grow_to(MANY_NEEDS)

    assert len(statements_for(client, "/")) <= 12
    assert len(statements_for(client, "/", q="crèche")) <= 12
