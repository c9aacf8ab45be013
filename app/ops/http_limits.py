"""The HTTP/1.1 protocol `bourse serve` gives uvicorn: uvicorn's own (httptools), with the limits
on a request's head that it does not set.

Measured on uvicorn's httptools protocol (the one it picks whenever httptools is installed, as
uvicorn[standard] does) before this module: a 20 MB header was read whole and answered 200, so
were 100,000 headers; a client sending its head one byte a second kept its connection as long as
it liked, and so did one that connected and sent nothing. (uvicorn's h11 protocol bounds a head
to 16 KiB but has no time limit either, and is several times slower.)

- MAX_HEAD_BYTES (32 KiB): the request line and the headers together; a browser sends 1 to 4.
  Past it: 414 while the request line itself is not finished, else 431; the connection closed.
  (A request line over 8 KiB but under this reaches the application, which answers 414 with its
  own page: app/web/bodylimit.py.)
- BOURSE_HEADER_TIMEOUT (10 s): from a connection's opening, or from the first byte of the next
  request on a kept-alive one, to the end of the head. Past it: 408, the connection closed; a
  connection kept alive with nothing to send is closed after KEEP_ALIVE_SECONDS.
These answers come before the application, so they are short: the status's French title and
explanation (BOURSE_DEFAULT_LOCALE), as problem+json when the address starts with /api/. A
body's limits (size, rate) are the application's: app/web/bodylimit.py, app/web/bodyread.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from app.core.settings import Settings

log = logging.getLogger("bourse")

MAX_HEAD_BYTES = 32 * 1024
KEEP_ALIVE_SECONDS = 5  # uvicorn's default, given explicitly (app/ops/cli.py)
_API = re.compile(rb"[A-Z]+ /api/")


@cache
def _settings() -> tuple[float, str]:
    """This process's header timeout and locale, read once (the protocol is made per
    connection, by uvicorn, without the app's settings)."""
    settings = Settings()
    return settings.header_timeout, settings.default_locale


def refusal(status: int, api: bool) -> bytes:
    """A whole HTTP/1.1 answer that closes the connection: the status's title and explanation
    in the default language, as text or, under /api/, as problem+json."""
    from app.web.errors import status_text
    from app.web.i18n import use_locale

    with use_locale(_settings()[1]):
        title, detail = status_text(status)
    if api:
        kind = b"application/problem+json"
        problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        body = json.dumps(problem, ensure_ascii=False).encode()
    else:
        kind = b"text/plain; charset=utf-8"
        body = f"{title} : {detail}\n".encode()
    head = [
        STATUS_LINE[status],
        b"content-type: " + kind + b"\r\n",
        b"content-length: " + str(len(body)).encode() + b"\r\n",
        b"connection: close\r\n\r\n",
    ]
    return b"".join(head) + body


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, counting each request's head in bytes and in time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # between two requests, or inside a head
        self._head_bytes = 0
        self._head_start = b""  # the first bytes: the method and the start of the address
        self._line_done = False
        self._heads_done = 0
        self._head_timer: asyncio.TimerHandle | None = None

    # --- the clock ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_clock()
        super().connection_lost(exc)

    def _start_head_clock(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(_settings()[0], self._head_too_slow)

    def _stop_head_clock(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # The previous answer is still being written: close once it is.
            self.cycle.keep_alive = False
            return
        log.warning("a request's head took more than %s s: 408, connection closed", _settings()[0])
        self._refuse(408)

    # --- the size ---------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if not self._in_head:
            super().data_received(data)
            return
        self._start_head_clock()
        room = MAX_HEAD_BYTES - self._head_bytes
        part = data[:room] if len(data) > room else data
        self._head_bytes += len(part)
        if len(self._head_start) < 16:
            self._head_start += part[:16]
        self._line_done = self._line_done or b"\n" in part
        heads = self._heads_done
        super().data_received(part)
        if len(data) <= room or self.transport.is_closing():
            return
        if self._heads_done == heads:  # the head is still not over, and the client sent more
            log.warning("a request's head passed %d bytes: refused", MAX_HEAD_BYTES)
            self._refuse(431 if self._line_done else 414)
            return
        self.data_received(data[room:])  # the body, or the next request

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._heads_done += 1
        self._stop_head_clock()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # The next head is counted from its first byte (until then, the keep-alive timeout).
        self._in_head = True
        self._head_bytes = 0
        self._head_start = b""
        self._line_done = False

    def _refuse(self, status: int) -> None:
        self._stop_head_clock()
        api = bool(_API.match(self._head_start))
        self.transport.write(refusal(status, api))
        self.transport.close()
