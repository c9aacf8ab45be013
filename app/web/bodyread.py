"""A request's body is received before the request takes one of the worker's slots, and a
client that sends it too slowly is cut off.

Why: a request is admitted (app/web/admission.py: BOURSE_CONCURRENCY at once, 4 by default)
before its route reads the body. Four clients that announced a small form and then sent it one
byte at a time held the four slots of a worker for as long as they liked: measured before this
module, every other request of that worker — the board, /readyz — waited more than 15 s.

- A body of at most MAX_BODY_BYTES (app/web/bodylimit.py) is received here, outside the
  slots, then handed to the application exactly as it came. A body announced larger is not
  read here: the body limit inside refuses it unread. Upload routes (their own, larger limits,
  staff only) still receive theirs inside their slot, as before, under the same rate rule.
- The rate rule (Apache's mod_reqtimeout, `body=20,MinRate=500`): a body has BODY_TIMEOUT
  seconds (BOURSE_BODY_TIMEOUT, 20 by default), one more per MIN_RATE bytes received (500), and
  an ordinary body at most three times BODY_TIMEOUT in all; a 10 MB document on a 1 Mbit/s
  uplink is well inside it, a client one byte a second is not. Past the deadline: 408, French
  page or problem+json, and the connection is closed.
- Memory: at most PREREAD_BUDGET bytes of bodies held at once per worker (the declared length,
  or the whole limit for a chunked body); past it a request is answered 503 with Retry-After
  rather than let in to wait for its body inside a slot.
"""

from __future__ import annotations

import logging
import math
import time

import anyio
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.bodylimit import CLOSE, MAX_BODY_BYTES, declared_length, is_upload

log = logging.getLogger(__name__)

MIN_RATE = 500  # bytes a second a slow client must keep up, beyond BODY_TIMEOUT
PREREAD_BUDGET = 64 * 1024 * 1024
RETRY_AFTER = "5"


class BodyTimeout(StarletteHTTPException):
    """Raised by `receive` once the body's deadline has passed: an HTTPException, so FastAPI
    lets it through while it parses a body and the app's handler renders the 408."""

    def __init__(self) -> None:
        super().__init__(status_code=408, headers=CLOSE)


class Overloaded(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=503, headers={"Retry-After": RETRY_AFTER})


def has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


class Deadline:
    """When a body must have arrived: `seconds` from the first wait, one more per MIN_RATE
    bytes received, never past `ceiling` seconds in all."""

    def __init__(self, seconds: float, ceiling: float = math.inf) -> None:
        self.seconds, self.ceiling = seconds, ceiling
        self.started: float | None = None
        self.received = 0

    def left(self) -> float:
        now = time.monotonic()
        if self.started is None:
            self.started = now
        allowed = min(self.seconds + self.received / MIN_RATE, self.ceiling)
        return self.started + allowed - now

    def timed(self, receive: Receive) -> Receive:
        async def timed_receive() -> Message:
            with anyio.move_on_after(max(0.0, self.left())):
                message = await receive()
                if message["type"] == "http.request":
                    self.received += len(message.get("body", b""))
                return message
            raise BodyTimeout()

        return timed_receive


class BodyReadMiddleware:
    def __init__(self, app: ASGIApp, *, body_timeout: float) -> None:
        self.app = app
        self.body_timeout = body_timeout
        self.held = 0  # bytes of bodies being received here (this worker's event loop only)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if is_upload(scope["method"], scope["path"]) or (
            declared is not None and declared > MAX_BODY_BYTES
        ):
            # Refused unread by the body limit, or an upload read by its route: in its slot.
            timed = Deadline(self.body_timeout).timed(receive)
            await self._call(scope, timed, send)
            return
        reserved = MAX_BODY_BYTES if declared is None else declared
        if self.held + reserved > PREREAD_BUDGET:
            log.warning("request bodies over %d bytes in waiting: 503", PREREAD_BUDGET)
            await self._call(scope, _raising(Overloaded()), send)
            return
        self.held += reserved
        try:
            deadline = Deadline(self.body_timeout, 3 * self.body_timeout)
            received = await _receive_body(deadline.timed(receive))
        except BodyTimeout:
            log.warning("request body too slow: 408 (%s %s)", scope["method"], scope["path"])
            await self._call(scope, _raising(BodyTimeout()), send, close=True)
            return
        finally:
            self.held -= reserved
        await self._call(scope, _replaying(received, receive), send)

    async def _call(
        self, scope: Scope, receive: Receive, send: Send, *, close: bool = False
    ) -> None:
        """Calls the app; with `close`, its answer closes the connection (the rest of a slow
        body is not waited for, whether the route read it or not)."""
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if close:
                    headers = [h for h in message.get("headers", ()) if h[0] != b"connection"]
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except (BodyTimeout, Overloaded) as exc:
            # Read outside the app's error handlers (a middleware that answers before routing):
            # no page, but the same status, never a 500.
            if started:
                raise
            await send(
                {
                    "type": "http.response.start",
                    "status": exc.status_code,
                    "headers": [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()],
                }
            )
            await send({"type": "http.response.body", "body": b""})


async def _receive_body(receive: Receive) -> list[Message]:
    """The body's messages, up to its end or to the first one past MAX_BODY_BYTES (the body
    limit inside then refuses it as it would have), or a disconnect."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if not message.get("more_body", False) or size > MAX_BODY_BYTES:
            return messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """The messages already received, then the connection's own `receive` (the rest of a body
    over the limit, or the disconnect a streaming response waits for)."""
    pending = list(messages)
    if len(pending) > 1 and all(m["type"] == "http.request" for m in pending):
        # One message for the whole body: what a body received at once looks like.
        whole = b"".join(m.get("body", b"") for m in pending)
        pending = [{**pending[-1], "body": whole}]

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _raising(error: Exception) -> Receive:
    async def refuse() -> Message:
        raise error

    return refuse
