"""Counting the arrivals through a partner's `ref=` link (app/syndication/attribution.py says
what counts), once the answer is known, and setting the attribution cookie on it. Its own
middleware, placed by create_app just outside app.web.middleware.RequestContextMiddleware: the
web layer knows nothing of partners."""

from __future__ import annotations

import logging

import anyio.to_thread
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.syndication import attribution
from app.web.middleware import NO_COOKIE_PREFIXES

log = logging.getLogger(__name__)


class PartnerArrivalMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Most requests carry no `ref` at all: they pass untouched.
        if scope["type"] != "http" or b"ref=" not in scope.get("query_string", b""):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        slug = attribution.arrival_slug(conn, NO_COOKIE_PREFIXES)
        if slug is None:
            await self.app(scope, receive, send)
            return

        async def send_counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                await _count_arrival(conn, message, slug)
            await send(message)

        await self.app(scope, receive, send_counting)


async def _count_arrival(conn: HTTPConnection, message: Message, slug: str) -> None:
    """Counts the arrival (a database write, in a worker thread so the event loop never
    waits on it) and sets the attribution cookie. Never breaks the page."""
    headers = MutableHeaders(scope=message)
    if not attribution.counts_as_arrival(message["status"], headers.get("content-type", "")):
        return
    settings = conn.app.state.settings
    try:
        value = await anyio.to_thread.run_sync(
            attribution.record_arrival,
            conn.app.state.engine,
            settings,
            slug,
            conn.cookies.get(attribution.REF_COOKIE),
            # Who arrives, for the dedupe of clients without cookies (never stored as such).
            conn.client.host if conn.client else "",
            conn.headers.get("user-agent", ""),
        )
    except Exception:  # a visitor's page matters more than a counter
        log.exception("partner attribution: could not count an arrival")
        return
    if value:
        headers.append("set-cookie", attribution.cookie_header(settings, value))
