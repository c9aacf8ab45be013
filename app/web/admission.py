"""At most `BOURSE_CONCURRENCY` requests of a worker inside the application at once; the
others wait their turn on the event loop, in order of arrival.

Why: a route runs in one of AnyIO's threads and its session holds one pooled database
connection from its first query until the answer is sent (the session dependency closes after
the response, in a thread of its own). Unbounded, 64 concurrent requests started 40 threads
(AnyIO's default) for a pool of 15 connections: requests that had a connection waited for a
thread to close their session while every thread waited for a connection, until the pool's
30-s timeout answered 500. With at most N requests admitted, N threads and N connections always
suffice, so nothing waits for one while holding the other; and fewer threads fighting for the
GIL serve the same load faster (4 per worker measured about 30 % faster than 40, half the p99,
on a minimal page on this project's 2-core machine).

The anonymous response cache sits outside this layer: a hit costs no slot. Static files and
`/healthz` touch no database and pass by, so a page's styles never queue behind slow pages.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

# Paths that never open a database session.
UNLIMITED_PREFIXES = ("/static/", "/healthz")


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        # Created on first use: a Semaphore belongs to the running event loop (the app may be
        # built before the server's loop starts, and tests run several loops).
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._slots = asyncio.Semaphore(self.limit)
            self._loop = loop
        return self._slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNLIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        async with self._semaphore():
            await self.app(scope, receive, send)
