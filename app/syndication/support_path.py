"""« Moi aussi » through the API, answered before routing.

`PUT` and `DELETE /api/v1/needs/{id}/support` with a personal token are the API's busiest
writes (a partner's widget, a script relaying a meeting's show of hands). Through the route,
each paid for FastAPI's routing and dependencies, an ORM session and the account as an ORM
object, and four hops between the event loop and AnyIO's threads, for five short statements:
348 toggles a second on SQLite, 200 on PostgreSQL, with the workers' CPU half idle waiting on
one another (bench/README.md, issue 13). This layer, inside the request context and before
routing, runs the same statements on one connection in one transaction: the token's account
(app.accounts.service.token_holder), then app.board.support_writes.toggle_on: the rate limits when
they are on, the need's row taken if it is public, the support given or withdrawn; and it
answers what the route answers.

Only the plain success is answered here. Anything else — no token or an invalid one, a blocked
or unconfirmed account, a need that is not public, a limit reached, a request with a body, a
database error — goes on to the route as if this layer did not exist, and the route gives its
401, 403, 404, 413, 429 or 503 with its own words (what it wrote before that is the token's
« last used » date, which the route writes as well).

On SQLite the transaction runs on the event loop itself when the write turn is free
(app.core.db.WriterTurns: a toggle then holds it for a few hundred microseconds, with no thread of
its process in the way); when another writer has it, the loop tries again after a pause of
half a millisecond, up to 40 times, then hands the write to one of AnyIO's threads, which
waits for its turn (app.web.fast_writes.write_soon). On PostgreSQL, always in a thread: a slow
network, or a row another request holds, never stops the loop; on the engine of quick writes,
whose commits do not wait for the disk (app.core.db.quick_writes_engine_for), and with the rate
limits off in two statements: the token's account, then the toggle in one statement
(app.board.support_writes.toggle_at_once).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from app.accounts.service import token_holder
from app.board.support_writes import toggle_at_once, toggle_on
from app.core.db import NO_WAIT, utcnow
from app.syndication.api_routes import PREFIX, write_response
from app.web.fast_writes import rate_address, write_soon
from app.web.params import parse_id

_PATH = re.compile(re.escape(PREFIX) + r"/needs/([^/]+)/support")
_TOKEN_MAX = 200  # longer ones are refused by the route (api_writer) without a query


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _sep, raw = value.decode("latin-1").partition(" ")
            raw = raw.strip()
            if scheme.lower() == "bearer" and raw and len(raw) <= _TOKEN_MAX:
                return raw
            return None
    return None


def _without_body(scope: Scope) -> bool:
    """The route ignores a body, but the body limit (413) and a chunked stream are its
    business: such requests go to it."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return False
    return True


def support_for(scope: Scope, need_id: int, raw: str, want: bool, *, wait: bool) -> Any | None:
    """Gives (`want`) or withdraws the support of the token's account in one transaction,
    and returns the route's answer; None when the route must answer. Raises TurnTaken (with
    nothing written) on SQLite when `wait` is False and another writer has the turn."""
    app = scope["app"]
    now = utcnow()
    connection = app.state.quick_engine.connect()
    if not wait:
        connection = connection.execution_options(**NO_WAIT)
    address = rate_address(scope)
    if address is None and connection.dialect.name == "postgresql":
        # Two statements in autocommit, no BEGIN and COMMIT around them: the token's account,
        # then the toggle in one statement (app.board.support_writes.toggle_at_once). A token
        # revoked between the two lets this one toggle through, as if it had come first.
        with connection.execution_options(isolation_level="AUTOCOMMIT") as db:
            holder = token_holder(db, raw, now)
            if holder is None or not holder[1]:
                return None
            done = toggle_at_once(db, need_id, holder[0], want, now=now)
    else:
        with connection as db, db.begin():
            holder = token_holder(db, raw, now)
            if holder is None or not holder[1]:
                return None
            done = toggle_on(db, need_id, holder[0], want, now=now, address=address)
    if done is None:
        return None
    return write_response({"need_id": need_id, "supported": want, "supports": done[0]})


class SupportPathMiddleware:
    """Pure ASGI: see the module docstring. Inside RequestContextMiddleware, outside the body
    limit and the routes."""

    def __init__(self, app: ASGIApp, *, sqlite: bool) -> None:
        self.app = app
        self.sqlite = sqlite

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = None
        if scope["type"] == "http" and scope["method"] in ("PUT", "DELETE"):
            answer = await self._answer(scope)
        if answer is None:
            await self.app(scope, receive, send)
            return
        await answer(scope, receive, send)

    async def _answer(self, scope: Scope) -> Any | None:
        match = _PATH.fullmatch(scope["path"])
        if match is None:
            return None
        need_id = parse_id(match[1])
        raw = _bearer(scope)
        if need_id is None or raw is None or not _without_body(scope):
            return None
        want = scope["method"] == "PUT"
        return await write_soon(
            self.sqlite, lambda wait: support_for(scope, need_id, raw, want, wait=wait)
        )
