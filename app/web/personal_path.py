"""The way in before routing for signed-in pages rendered once per shape (app/web/personal.py).

A signed-in request that the shared render can answer still paid for everything around it:
FastAPI's routing and dependencies, an ORM session, four or five hops between the event loop
and AnyIO's threads, the person loaded as an ORM object. Profiled on the board at 100,000
needs, that was most of its time (bench/README.md, issue 13). This layer, inside the request
context (locale, form token) and before routing, answers such a request with one connection
and one statement: the person with their unread count and the content version, and what of
the page is theirs (the needs they support among the page's, or their support of one need). It
answers only from a render the route itself stored for this shape, page and version; anything
else (signed out, blocked, a page nobody rendered yet, a person who wrote on the page, an error)
goes on to the route as if this layer did not exist.

Pages opt in with `register()` (the board, the need page, the staff idea board, the moderation
dashboard), giving what to read with the person (`reads`), what the route adds to the store's
key beyond the shape (`extras`) and which of the shared text's variants are the person's
(`mine`). The board's reads name its needs in advance, as the last render served held them
(the same for every shape); when they changed, a second statement reads them again.

The reads run in one of AnyIO's threads, on both engines. On SQLite they first ran on the
event loop itself (a few indexed lookups in a local file, no thread hop): 12 % more requests
a second, but the loop then ran the reads of all its connections in each turn, and the
slowest requests grew over a run — the need page with 50 comments, alternated three times,
10 s each: p99 128 / 151 / 216 ms and max 283 / 653 / 837 ms on the loop, 125 / 86 / 101 ms
and 240 / 116 / 126 ms in a thread (bench/README.md, issue 13).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from app.web.cache import SESSION_COOKIE
from app.web.personal import Shared, fill, page_key, shape_of, store_for_app


@dataclass(frozen=True)
class Person:
    """What the way in knows of the signed-in person: their shape and their id, for the reads
    of what is theirs; no name, no address."""

    id: int
    role: str
    email_verified_at: object  # only tested for None (app.web.personal.shape_of)
    blocked: bool
    unread: int
    version: int | None


@dataclass(frozen=True)
class Reads:
    """What of a page is the person's, read in the person's own statement (one round trip):
    `build(person_id_column)` gives scalar subqueries correlated to it, `params` their bind
    values; `key` names the statement, built once per key."""

    key: Hashable
    build: Callable[[Any], Sequence[Any]]
    params: Mapping[str, Any]


# The person of a request, read on a connection with a page's reads: set by the app (app.main),
# which knows sessions and notifications (this layer does not import them).
PersonReader = Callable[
    [HTTPConnection, Connection, Reads | None], tuple[Person, tuple[Any, ...]] | None
]


@dataclass(frozen=True)
class FastPage:
    """A page the way in may answer; `path` is matched in full.

    - `reads(match, hint)`: what to read with the person (None: nothing, or for a page with
      `extras`, this request goes to the route); `hint` is what the last render of this page
      served held (its variants' keys), for reads that depend on the page's content;
    - `extras(values, person_id, match)`: from those values, what the route adds to the key
      with `SharedPage.refine()` (None: this person gets the route);
    - `mine(values, reads, entry)`: the keys of the variants that are the person's, or None when
      the values do not fit this entry: then `mine_again(db, person_id, entry)` reads them."""

    name: str
    path: re.Pattern[str]
    roles: frozenset[str] | None = None
    reads: Callable[[re.Match[str], tuple[Hashable, ...]], Reads | None] | None = None
    extras: Callable[[tuple[Any, ...], int, re.Match[str]], tuple[Hashable, ...] | None] | None = (
        None
    )
    mine: Callable[[tuple[Any, ...], Reads | None, Shared], Iterable[Hashable] | None] | None = None
    mine_again: Callable[[Connection, int, Shared], Iterable[Hashable]] | None = None


_PAGES: dict[str, FastPage] = {}
# (page, path, query, language, htmx headers) → the variants' keys of its last render served:
# the same for every shape, so the next person's reads can name them in advance.
_HINTS: dict[tuple[Any, ...], tuple[Hashable, ...]] = {}
_MAX_HINTS = 4096


def register(page: FastPage) -> None:
    """Called by the module of the route, once (again on reload: the newest wins)."""
    _PAGES[page.name] = page


def _match(path: str) -> tuple[FastPage, re.Match[str]] | None:
    for page in _PAGES.values():
        found = page.path.fullmatch(path)
        if found is not None:
            return page, found
    return None


def answer_for(scope: Scope, page: FastPage, match: re.Match[str]) -> tuple[Shared, str] | None:
    """The stored render for this person and its text filled in for them, or None."""
    app = scope["app"]
    store = store_for_app(app)
    reader: PersonReader | None = getattr(app.state, "person_reader", None)
    if store is None or reader is None or not len(store):
        return None
    connection = HTTPConnection(scope)
    # The key but for the shape: known before the person is.
    page_of = page_key(page.name, connection, ())[:-1]
    reads = page.reads(match, _HINTS.get(page_of, ())) if page.reads is not None else None
    if reads is None and page.extras is not None:
        return None
    # Autocommit: one statement (two when the hint missed), no BEGIN and ROLLBACK round trips
    # around it on PostgreSQL.
    with app.state.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        found = reader(connection, db, reads)
        if found is None:
            return None
        person, values = found
        if person.blocked or person.version is None:
            return None
        if page.roles is not None and person.role not in page.roles:
            return None
        key = (*page_of, shape_of(person.role, person, person.unread))
        if page.extras is not None:
            extra = page.extras(values, person.id, match)
            if extra is None:
                return None
            key = (*key, extra)
        entry = store.get(key)
        if entry is None or not entry.serves(person.version):
            return None
        mine: Iterable[Hashable] | None = ()
        if page.mine is not None:
            mine = page.mine(values, reads, entry)
            if mine is None and page.mine_again is not None:
                mine = page.mine_again(db, person.id, entry)
                if len(_HINTS) >= _MAX_HINTS:
                    _HINTS.clear()
                _HINTS[page_of] = tuple(entry.variants)
        body = fill(
            entry, mine or (), scope["state"]["csrf_token"], person.unread, app.state.settings
        )
    return entry, body


class SignedInPathMiddleware:
    """Pure ASGI: see the module docstring. Inside RequestContextMiddleware (the locale and the
    form token are set), outside the routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = None
        if scope["type"] == "http" and scope["method"] == "GET" and _has_session(scope):
            found = _match(scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        page, match = found
        try:
            answer = await anyio.to_thread.run_sync(answer_for, scope, page, match)
        except SQLAlchemyError:
            # The route meets the same trouble and answers it as it should (a 503 page).
            answer = None
        if answer is None:
            await self.app(scope, receive, send)
            return
        entry, body = answer
        await entry.response(body)(scope, receive, send)


_SESSION_MARK = f"{SESSION_COOKIE}=".encode()


def _has_session(scope: Scope) -> bool:
    """A quick look (the person reader checks the cookie itself)."""
    return any(name == b"cookie" and _SESSION_MARK in value for name, value in scope["headers"])
