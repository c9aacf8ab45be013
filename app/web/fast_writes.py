"""Writes answered before routing (« Moi aussi » through the API and through the form:
app/syndication/support_path.py, app/board/support_form_path.py): where their transaction
runs, and the client's address for the rate limits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from app.core.db import TurnTaken

T = TypeVar("T")


# SQLite: how often a write tries for its turn on the event loop, and the pause between
# tries. The turn is usually free again within a millisecond (another process's toggle holds
# it for a few hundred microseconds). Sent to a thread at once, the write then held the turn
# while its thread waited for the GIL, which the loop holds while it parses, renders and
# sends: the other process waited on that, and the form's « Moi aussi » did 489–609 a second
# with a p99 of 203–249 ms; trying again on the loop, 958–1,075 and 91–114 ms (alternated
# 10-s runs, bench/README.md). Counted in tries, not in time: under load a pause lasts as
# long as the loop's round of its other requests, and with a deadline of 20 ms instead the
# same runs did 703–907 with a p99 of 280–390 ms. A write still refused after them (an
# import, a migration holds the turn) waits in a thread, not on the loop.
_LOOP_TRIES = 40
_LOOP_PAUSE = 0.0005


class Unavailable:
    """The answer to a write the database refused, down or locked past the busy timeout: the
    app's own handler of that error (a 503 page, or problem+json under /api/). Handing the
    request to the route instead made it meet the same error after waiting as long again."""

    def __init__(self, error: OperationalError) -> None:
        self.error = error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope["app"].exception_handlers[OperationalError]
        response = await handler(Request(scope, receive), self.error)
        await response(scope, receive, send)


async def write_soon(sqlite: bool, call: Callable[[bool], T | None]) -> T | Unavailable | None:
    """`call(wait)` (a write transaction): on SQLite on the event loop without waiting for
    the write turn (`wait=False`), again after a short pause while it raises TurnTaken, and
    in one of AnyIO's threads if it is still refused after _LOOP_TRIES tries; on PostgreSQL
    in a thread. Unavailable when the database is (the 503 answer); None after another
    database error: the route meets the same trouble and answers it as it should."""
    try:
        if sqlite:
            for _ in range(_LOOP_TRIES):
                try:
                    return call(False)
                except TurnTaken:
                    await asyncio.sleep(_LOOP_PAUSE)
        return await anyio.to_thread.run_sync(call, True)
    except OperationalError as error:
        return Unavailable(error)
    except SQLAlchemyError:
        return None


def rate_address(scope: Scope) -> str | None:
    """The client's address for the rate limits (as app.web.security.client_ip), or None
    when they are off."""
    if scope["app"].state.settings.rate_limits != "on":
        return None
    client = scope.get("client")
    return client[0] if client else "unknown"
