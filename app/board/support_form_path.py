"""« Moi aussi » through the form, answered before routing.

The form's « Moi aussi » (`POST /needs/{id}/support`, `action=add|remove`) is the board's most
frequent write from browsers. Through its route it paid for FastAPI's routing and
dependencies, the form parsed twice, the person and the need loaded as ORM objects, and four
hops between the event loop and AnyIO's threads, for a handful of statements: 235–313 a
second on PostgreSQL, one round trip per statement (bench/README.md, issue 13). This layer,
inside the request context and before routing, reads the small form itself, checks its token
as the route would (app.web.security.csrf_refusal), and runs on one connection, in one
transaction, what the route runs: the need's row taken if it is public and the person of the
browser session (one statement on PostgreSQL: app.board.locks.visible_lock_with), the rate
limits, the support given or withdrawn (app.board.support_writes.toggle_on, as the API's way in);
then, outside the write, the block's reads in one statement (app.board.supports.block_reads:
the demand, the territories, the person's answer when the support was already there). It
answers what the route answers: the support block to htmx, `303` to the need page otherwise.
On PostgreSQL that is five round trips where there were eight (bench/README.md, issue 13),
plus the rate limits' lock (app.core.ratelimit.hold, issue 18); three with the rate limits off
(see below).

Anything else — signed out, a blocked or unconfirmed account, a form token that does not
match, a need that is not public, a limit reached or its counters held by another write of the
same person or address, an `action` other than add or remove, a person who came from a
partner's site (the route credits the partner), a body that is not a small urlencoded form, a
database error — goes on to the route with the body as it came, and the route gives its own
answer with its own words.

As the API's way in: on SQLite on the event loop, trying again for a moment while another
writer has the turn, then in a thread; on PostgreSQL in a thread (app.web.fast_writes.write_soon),
on the engine of quick writes (app.core.db.quick_writes_engine_for), and with the rate limits
off in three round trips: the person, the toggle in one statement, the block's reads.
"""

from __future__ import annotations

import re
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import select
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.accounts.deps import raw_session_token
from app.accounts.models import Role, User, UserSession, blocked_now
from app.accounts.service import VALID_SESSION, of_valid_session
from app.accounts.tokens import hash_secret
from app.board.locks import lock_visible, visible_lock_with
from app.board.support_writes import toggle_at_once, toggle_on
from app.board.supports import block_reads, demand_breakdown
from app.core.db import NO_WAIT, utcnow
from app.web.cache import SESSION_COOKIE
from app.web.fast_writes import rate_address, write_soon
from app.web.params import parse_id
from app.web.security import CSRF_FIELD, csrf_refusal
from app.web.templating import FRAGMENT_VARY, render_to_string, wants_fragment
from app.web.urls import need_url

_PATH = re.compile(r"/needs/([^/]+)/support")
_BODY_MAX = 2048  # the form is a token and a word; anything bigger is not it
_WANT = {"add": True, "remove": False}
_PERSON_COLUMNS = (
    User.id,
    User.role,
    User.email_verified_at,
    User.blocked_at,
    User.blocked_until,
)
# PostgreSQL: the need's row taken if it is public, with the account of the browser session,
# in one round trip for what were two. SQLite: two statements, in-process calls there.
_LOCK_FOR_PERSON = visible_lock_with(*_PERSON_COLUMNS, join=UserSession, where=VALID_SESSION)
_PERSON = of_valid_session(select(*_PERSON_COLUMNS))


def _lock_for_person(db: Connection, need_id: int, raw: str, now: datetime) -> Any | None:
    """(support count, slug, the account's id, role, email_verified_at, blocked_at,
    blocked_until) for the browser session `raw`, the need's row taken; None, nothing taken,
    when the session is not valid or the need not public."""
    params = {"p_need": need_id, "p_hash": hash_secret(raw), "p_now": now}
    if db.dialect.name == "postgresql":
        return db.execute(_LOCK_FOR_PERSON, params).first()
    # The lock first: when the write turn is taken (TurnTaken), nothing was read in vain.
    locked = lock_visible(db, need_id)
    if locked is None:
        return None
    person = db.execute(_PERSON, params).first()
    return (*locked, *person) if person is not None else None


class _Person(SimpleNamespace):
    """What the support block reads of the person: that someone is signed in."""


def _form(scope: Scope, body: bytes) -> tuple[str, bool] | None:
    """(the form token, the wanted state) from the form, or None when it is not the form."""
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    tokens, actions = fields.get(CSRF_FIELD, []), fields.get("action", [])
    if len(tokens) != 1 or len(actions) != 1 or actions[0] not in _WANT:
        return None
    return tokens[0], _WANT[actions[0]]


def support_by_form(
    scope: Scope,
    need_id: int,
    submitted: str,
    want: bool,
    *,
    wait: bool,
    route_cookies: tuple[str, ...] = (),
) -> Response | None:
    """The route's answer to this form, or None when the route must answer (see the module
    docstring). Raises TurnTaken as app.syndication.support_path.support_for."""
    app = scope["app"]
    request = Request(scope)
    if any(request.cookies.get(name) is not None for name in route_cookies):
        return None
    if csrf_refusal(request, submitted) is not None:
        return None
    raw = raw_session_token(request)
    if raw is None:
        return None
    now = utcnow()
    connection = app.state.quick_engine.connect()
    if not wait:
        connection = connection.execution_options(**NO_WAIT)
    address = rate_address(scope)
    at_once = address is None and connection.dialect.name == "postgresql"
    with connection as db:
        if at_once:
            # The person, then the toggle in one statement, in autocommit: two round trips
            # where a transaction took four (app.board.support_writes.toggle_at_once).
            db = db.execution_options(isolation_level="AUTOCOMMIT")
            person = db.execute(_PERSON, {"p_hash": hash_secret(raw), "p_now": now}).first()
            if person is None:
                return None
            user_id, role, verified_at, blocked_at, blocked_until = person
            if verified_at is None or blocked_now(blocked_at, blocked_until, now):
                return None
            done = toggle_at_once(db, need_id, user_id, want, now=now)
        else:
            with db.begin():
                found = _lock_for_person(db, need_id, raw, now)
                if found is None:
                    return None
                count, slug, user_id, role, verified_at, blocked_at, blocked_until = found
                if verified_at is None or blocked_now(blocked_at, blocked_until, now):
                    return None
                done = toggle_on(
                    db, need_id, user_id, want, now=now, address=address, locked=(count, slug)
                )
        if done is None:
            return None
        count, slug, changed = done
        need = SimpleNamespace(id=need_id, slug=slug, supports_count=count)
        if not wants_fragment(request):
            return RedirectResponse(f"{need_url(need)}#soutien", status_code=303)  # type: ignore[arg-type]
        # The block, read after the write as the route reads it, in one statement and in
        # autocommit: no BEGIN and ROLLBACK round trips around it on PostgreSQL.
        if not at_once:  # else the connection is in autocommit already
            db = db.execution_options(isolation_level="AUTOCOMMIT")
        territories, demand, answer = block_reads(db, need_id, user_id)
        if Role(role).rank >= Role.staff.rank:
            demand = demand_breakdown(db, need, by_territory=True)
        context = {
            "request": request,
            "current_user": _Person(),
            "csrf_token": scope["state"]["csrf_token"],
            "need": need,
            "supported": want,  # an add that changed nothing: supported all the same
            # The person's answer to the block's question: none on a support given now.
            "support": answer if changed is None else None,
            "error": None,
            "territories": territories,
            "demand": demand,
        }
    body = render_to_string("board/_support.html", context)
    return HTMLResponse(body, headers={"Vary": FRAGMENT_VARY})


class SupportFormPathMiddleware:
    """Pure ASGI: see the module docstring. Inside RequestContextMiddleware (the locale and the
    form token are set), outside the body limit and the routes."""

    def __init__(self, app: ASGIApp, *, sqlite: bool, route_cookies: tuple[str, ...] = ()) -> None:
        """`route_cookies`: a request carrying one of them goes to the route (the partner's
        referral, which the route credits by announcing SupportGiven)."""
        self.app = app
        self.sqlite = sqlite
        self.route_cookies = route_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _candidate(scope):
            await self.app(scope, receive, send)
            return
        match = _PATH.fullmatch(scope["path"])
        need_id = parse_id(match[1]) if match is not None else None
        if need_id is None:
            await self.app(scope, receive, send)
            return
        body, complete = await _read_small(receive)
        answer = None
        if complete:
            form = _form(scope, body)
            if form is not None:
                submitted, want = form
                answer = await write_soon(
                    self.sqlite,
                    lambda wait: support_by_form(
                        scope, need_id, submitted, want, wait=wait, route_cookies=self.route_cookies
                    ),
                )
        if answer is None:
            await self.app(scope, _replay(body, complete, receive), send)
            return
        await answer(scope, receive, send)


_SESSION_MARK = f"{SESSION_COOKIE}=".encode()


def _candidate(scope: Scope) -> bool:
    """A signed-in browser's small urlencoded form, at a glance."""
    cookie = length = kind = False
    for name, value in scope["headers"]:
        if name == b"cookie":
            cookie = cookie or _SESSION_MARK in value
        elif name == b"content-length":
            length = value.strip().isdigit() and int(value) <= _BODY_MAX
        elif name == b"content-type":
            kind = value.split(b";")[0].strip().lower() == b"application/x-www-form-urlencoded"
        elif name == b"transfer-encoding":
            return False
    return cookie and length and kind


async def _read_small(receive: Receive) -> tuple[bytes, bool]:
    """The body, if it ends within _BODY_MAX bytes (complete), else what was read."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > _BODY_MAX:
            return b"".join(chunks), False
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """The request's body for the route as it came: what this layer read, then the rest."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replayed
