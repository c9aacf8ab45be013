"""Signed-in pages rendered once per shape and content version, then filled in per person.

Signed-in visitors cannot be served from the anonymous response cache (app/web/cache.py), yet
the board a resident sees differs from the next resident's in a handful of places only: the
header (the team's link, the unread count, the form token of « Se déconnecter »), the banner of
an unconfirmed address, and the « soutenu » mark of the cards they support. Rendering the whole
page for each of them was most of a signed-in request's time (bench/README.md, issue 13).

So a route that opts in renders its page once for a *shape* of visitor (role, confirmed or not,
unread notifications or not) with a stand-in for the person, and keeps it in memory with the
content version it was read at (app/web/content_version.py, read inside the route's own
transaction, so the version and the rows come from one snapshot) and the moment its relative
dates change words (app/web/freshness.py). Each request then costs the reads that only concern
the person (who they are, their unread count, which of the page's needs they support) and a
few string replacements:

- the form token and the unread count are holes in the shared text, marked by a per-process
  random string nobody can guess or type into a page;
- the parts that depend on the person's own rows (a card of a need they support) are stored
  twice, as rendered for nobody and for someone concerned, and swapped per person.

Nothing of one person reaches another: the stand-in has no name, address or id, and any
attribute of the person that a template reads beyond the shape raises `NotShared`, which sends
the request back to the ordinary render (tests pin that the opted-in pages render shared).
Blocked accounts (whose banner names their own block) always get the ordinary render.

Memory is bounded: an LRU of at most a quarter of BOURSE_CACHE_MB (0 turns it off).
"""

from __future__ import annotations

import secrets
import threading
import time
import weakref
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.requests import HTTPConnection

from app.web import freshness, i18n
from app.web.antiabuse import HONEYPOT_FIELD, STARTED_FIELD, sign_form_starts
from app.web.cache import ResponseStore
from app.web.content_version import TABLE as CONTENT_VERSION_TABLE
from app.web.templating import FRAGMENT_VARY, page_context, render_to_string, wants_fragment

# Marks of the holes: a random string of this process, so no text written by a person (a title,
# a comment) can ever be taken for one.
_MARK = "\x1e" + secrets.token_hex(8)
CSRF_HOLE = f"{_MARK}csrf\x1e"
UNREAD_HOLE = f"{_MARK}unread\x1e"
# A form's signed rendering time serves one write (app.web.antiabuse): each occurrence is
# signed afresh for each person. The submission key is one per page, as when rendered alone.
GUARD_HOLE = f"{_MARK}guard\x1e"
SUBMISSION_HOLE = f"{_MARK}submission\x1e"
# Request headers that change the bytes of the answer (a fragment for htmx), as for the
# anonymous cache.
_VARY = ("hx-request", "hx-boosted", "hx-history-restore-request", "hx-target")
_STAFF_ROLES = frozenset({"moderator", "staff", "admin"})


class NotShared(Exception):
    """A template read something of the person that the shared render does not know: this
    page is rendered for the person alone (not an AttributeError, which Jinja would swallow)."""


class StandIn:
    """The signed-in person as a shared render sees them: their shape, nothing that is theirs.
    `id` is no one's, so « is this mine? » tests in templates are false for everyone."""

    __slots__ = ("email_verified_at", "role")
    id = -1

    def __init__(self, role: str, verified: bool) -> None:
        self.role = role
        # Templates only test it; a true value that names no date.
        self.email_verified_at = True if verified else None

    def is_blocked(self) -> bool:
        return False  # blocked accounts never get a shared render

    def __getattr__(self, name: str) -> Any:
        raise NotShared(name)


@dataclass
class Shared:
    """One shared render: the text with its holes, what may be swapped per person, and until
    when it is exact."""

    version: int
    expires: float
    status: int
    body: str
    headers: dict[str, str]
    # key → (the text as rendered for nobody, the text for a person concerned)
    variants: dict[Hashable, tuple[str, str]]
    size: int = field(init=False)

    def __post_init__(self) -> None:
        # Characters, counted twice: about what a mostly-ASCII str holds, with its overhead.
        parts = sum(len(a) + len(b) for a, b in self.variants.values())
        self.size = 2 * (len(self.body) + parts)

    def serves(self, version: int | None) -> bool:
        """Exact for a request that read `version`: rendered at it, its dates' words unchanged."""
        return self.version == version and self.expires > time.time()

    def response(self, body: str) -> HTMLResponse:
        """The answer with `body`, this render filled in for one person (`fill`)."""
        return HTMLResponse(body, status_code=self.status, headers=self.headers)


def store_for_app(app: Any) -> ResponseStore[Shared] | None:
    """The app's store (made on first use), or None when caching is off."""
    state = app.state
    store = getattr(state, "personal_store", None)
    if store is None:
        megabytes = state.settings.cache_mb
        if megabytes <= 0:
            return None
        store = state.personal_store = ResponseStore[Shared](megabytes * 1024 * 1024 // 4)
    return store


_VERSION = text(f"SELECT version FROM {CONTENT_VERSION_TABLE} WHERE id = 1")


def _read_version(session: Any) -> int | None:
    try:
        row = session.connection().execute(_VERSION).first()
    except DBAPIError:  # no such table in an odd test database: render as usual
        session.rollback()
        return None
    return int(row[0]) if row else None


def shape_of(role: str, user: Any, unread: int) -> tuple[str, bool, bool]:
    """What of a person a shared render may show: their role (residents alike), whether their
    address is confirmed (`user` has `email_verified_at`) and whether they have unread news."""
    return (
        role if role in _STAFF_ROLES else "resident",
        user.email_verified_at is not None,
        unread > 0,
    )


def page_key(name: str, connection: HTTPConnection, shape: tuple[Any, ...]) -> tuple[Any, ...]:
    """The store's key of a page: the same for the route (`SharedPage`) and for the way in
    before routing (app/web/personal_path.py). Call with the locale of the request set."""
    headers = connection.headers
    return (
        name,
        connection.url.path,
        tuple(sorted(connection.query_params.multi_items())),
        i18n.get_locale(),
        tuple(headers.get(h) for h in _VARY),
        shape,
    )


def fill(
    entry: Shared, mine: Iterable[Hashable], csrf_token: object, unread: int, settings: Any
) -> str:
    """The shared text filled in for one person: their form token, their unread count, fresh
    form signatures, and the variants of the keys that concern them (`mine`)."""
    body = entry.body
    for key in mine:
        pair = entry.variants.get(key)
        if pair is not None:
            body = body.replace(pair[0], pair[1], 1)
    if CSRF_HOLE in body:
        body = body.replace(CSRF_HOLE, str(csrf_token))
    if unread:
        body = body.replace(UNREAD_HOLE, str(unread))
    if SUBMISSION_HOLE in body:
        body = body.replace(SUBMISSION_HOLE, secrets.token_urlsafe(16))
    if GUARD_HOLE in body:
        pieces = body.split(GUARD_HOLE)
        signed = sign_form_starts(settings, len(pieces) - 1)
        body = "".join(p + s for p, s in zip(pieces, [*signed, ""], strict=True))
    return body


class _Flights:
    """One render at a time per key and version, in a worker. When a shared render ends (a
    write, or its relative dates changing words), every request in flight for that page missed
    at once and rendered it: 32 renders of the need page queued behind the worker's four
    threads, which made the p99 of a signed-in page (bench/README.md, issue 13). Now the first
    miss renders, the others wait for it and take its entry; if it could not be shared, or
    takes longer than WAIT_SECONDS, they render the page themselves as before."""

    WAIT_SECONDS = 2.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[Hashable, threading.Event] = {}

    def lead(self, flight: Hashable) -> bool:
        """True when the caller is to render (nobody is): it must `land()` afterwards."""
        with self._lock:
            if flight in self._events:
                return False
            self._events[flight] = threading.Event()
            return True

    def wait(self, flight: Hashable) -> None:
        with self._lock:
            event = self._events.get(flight)
        if event is not None:
            event.wait(self.WAIT_SECONDS)

    def land(self, flight: Hashable) -> None:
        with self._lock:
            event = self._events.pop(flight, None)
        if event is not None:
            event.set()


_FLIGHTS = _Flights()


class SharedPage:
    """One request's use of a shared render; see the module docstring. The route calls
    `lookup()`, and on a miss `store()` with what it built, then `answer()`."""

    def __init__(self, request: Request, session: Any, user: Any, name: str) -> None:
        self.request = request
        self.session = session
        self.user = user
        self.name = name
        self.store = store_for_app(request.app)
        self.unread = 0
        self.key: tuple[Any, ...] | None = None
        self.version: int | None = None

    def usable(self) -> bool:
        user = self.user
        if self.store is None or user is None or user.is_blocked():
            return False
        # Inside the route's transaction: the version and the rows come from one snapshot (on
        # SQLite the snapshot began with the read of the user), never newer rows under an
        # older version than they are.
        read_with_user = getattr(self.request.state, "signed_in_reads", None)
        if read_with_user is not None and read_with_user[0] is self.session:
            # Read in the same statement as the person (app.main.read_signed_in), the first of
            # this transaction: before any row the page shows.
            _session, self.version, self.unread = read_with_user
        else:
            self.version = _read_version(self.session)
            counter = getattr(self.request.app.state, "unread_counter", None)
            self.unread = counter(self.request, user) if counter is not None else 0
        if self.version is None:
            return False
        self.key = page_key(self.name, self.request, shape_of(user.role, user, self.unread))
        return True

    def refine(self, *shape: Hashable) -> None:
        """Adds what else of the person the page shows (their support, whether they follow)
        to the shape: people who differ there get their own render."""
        assert self.key is not None
        self.key = (*self.key, shape)

    def lookup(self) -> Shared | None:
        """The stored render for this shape and version; on a miss, waits for the render of a
        request already making it (see `_Flights`), or returns None: this request renders."""
        if self.store is None or self.key is None:
            return None
        entry = self._stored()
        if entry is not None:
            return entry
        flight = (self.key, self.version)
        if _FLIGHTS.lead(flight):
            # Ended by render(), or when this request is done with its page, whatever happens.
            self._landing = weakref.finalize(self, _FLIGHTS.land, flight)
            return None
        _FLIGHTS.wait(flight)
        return self._stored()

    def _stored(self) -> Shared | None:
        assert self.store is not None and self.key is not None
        entry = self.store.get(self.key)
        return entry if entry is not None and entry.serves(self.version) else None

    def render(
        self,
        template_name: str,
        context: Mapping[str, Any],
        *,
        block: str | None = None,
        status_code: int = 200,
        variants: Mapping[Hashable, tuple[str, str]] | None = None,
    ) -> Shared | None:
        """Renders the page for the visitor's shape and keeps it; None when the page reads
        something of the person (then the route renders it for them as usual)."""
        assert self.store is not None and self.key is not None and self.version is not None
        shape_role, verified, _unread = self.key[5]
        ctx = page_context(self.request)
        ctx.update(context)
        ctx["current_user"] = StandIn(shape_role, verified)
        ctx["csrf_token"] = CSRF_HOLE
        ctx["unread_count"] = UNREAD_HOLE if self.unread else 0
        partial = block is not None and wants_fragment(self.request)
        try:
            with freshness.collect() as box:
                body = render_to_string(template_name, ctx, block if partial else None)
        except NotShared:
            self._land()
            return None
        headers = {"Vary": FRAGMENT_VARY} if block is not None else {}
        entry = Shared(
            version=self.version,
            expires=box[0],
            status=status_code,
            body=body,
            headers=headers,
            variants=dict(variants or {}),
        )
        # Kept even when its dates change words within a second or two: on a busy board, the
        # twenty cards' ages end their words every few seconds, and a render serves hundreds
        # of requests meanwhile.
        if entry.expires > time.time():
            self.store.put(self.key, entry)
        self._land()
        return entry

    def _land(self) -> None:
        landing = getattr(self, "_landing", None)
        if landing is not None:
            landing()  # once: a finalizer runs at most once

    def answer(self, entry: Shared, mine: Iterable[Hashable] = ()) -> HTMLResponse:
        """The shared text filled in for this person: their form token, their unread count,
        and the variants of the keys that concern them (`mine`)."""
        body = fill(
            entry,
            mine,
            self.request.state.csrf_token,
            self.unread,
            self.request.app.state.settings,
        )
        return entry.response(body)


def shared_form_state() -> dict[str, Any]:
    """What app.board.comment_routes.comment_form_state gives a page rendered alone, with holes
    for the values that must be new for each person and each form."""
    guard = {
        "started_field": STARTED_FIELD,
        "started": GUARD_HOLE,
        "honeypot_field": HONEYPOT_FIELD,
    }
    return {**guard, "new_guard": lambda: dict(guard), "submission_key": SUBMISSION_HOLE}


def shared_page(request: Request, session: Any, user: Any, name: str) -> SharedPage | None:
    """A shared render for this request, or None when the page must be rendered for the
    person alone (signed out, blocked, caching off, no version)."""
    page = SharedPage(request, session, user, name)
    return page if page.usable() else None
