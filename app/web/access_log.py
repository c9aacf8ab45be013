"""One line per request in the server's log: method, path, status and duration.

Nothing personal: no address (uvicorn's own access log, turned off by `bourse serve`, wrote the
client's IP and port), no query string (it carries e-mailed tokens and searches), no account.
Paths name public things only (no route takes a secret in its path). A line looks like uvicorn's,
so that tools reading those (bench/load.py) read these:

    INFO bourse.access: "GET /needs/{id}-… HTTP/1.1" 200 12.4 ms

BOURSE_ACCESS_LOG=off leaves the middleware out (a proxy in front may keep its own log).
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("bourse.access")

# Control characters in a decoded path (%0A…) would let a request forge lines of the log.
_CONTROL = dict.fromkeys([*range(32), 127], "?")


class AccessLogMiddleware:
    """Pure ASGI, outermost: the duration covers every layer, a crash logs as 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            log.info(
                '"%s %s HTTP/%s" %d %.1f ms',
                scope["method"],
                scope["path"].translate(_CONTROL),
                scope.get("http_version", "1.1"),
                status,
                (time.perf_counter() - started) * 1000,
            )
