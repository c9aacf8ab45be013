"""Writes answered before routing (« Moi aussi » through the API and through the form:
app/syndication/support_path.py, app/board/support_form_path.py): where their transaction
runs, and the client's address for the rate limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import Scope

from app.db import TurnTaken

T = TypeVar("T")


async def write_soon(sqlite: bool, call: Callable[[bool], T | None]) -> T | None:
    """`call(wait)` (a write transaction): on SQLite first on the event loop without waiting
    for the write turn (`wait=False`), and in one of AnyIO's threads if it raised TurnTaken;
    on PostgreSQL in a thread. None after a database error: the route meets the same trouble
    and answers it as it should (a 503)."""
    try:
        if sqlite:
            try:
                return call(False)
            except TurnTaken:
                pass
        return await anyio.to_thread.run_sync(call, True)
    except SQLAlchemyError:
        return None


def rate_address(scope: Scope) -> str | None:
    """The client's address for the rate limits (as app.web.security.client_ip), or None
    when they are off."""
    if scope["app"].state.settings.rate_limits != "on":
        return None
    client = scope.get("client")
    return client[0] if client else "unknown"
