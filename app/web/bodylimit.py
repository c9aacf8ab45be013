"""A ceiling on every request body, enforced before anything reads it; and one on the address.

Without it a 20 MB form posted to /account/login, or 20 MB of JSON sent to /api/v1/needs
without a token, would be read whole (the CSRF check parses forms, FastAPI parses JSON and
python-multipart spools files to disk) before being refused.

- MAX_BODY_BYTES (1 MiB): no form or JSON write of the site comes near it (a need's
  description is at most 5,000 characters).
- A request whose Content-Length is above the limit is answered 413 at once: the application
  is never called, so no byte of the body is read.
- A body without Content-Length (chunked) is counted while the application receives it and
  cut off with a 413 as soon as it passes the limit.
- Either 413 says `Connection: close`, so the server stops receiving the rest of the body
  instead of reading it to keep the connection alive.
- Uploads are exempt, and only they (UPLOAD_ROUTES, an allow-list): their route class
  (`app.pipeline.uploads.UploadRoute`) applies their own, larger limit in the same two ways —
  BOURSE_MAX_UPLOAD_MB for idea documents, 2 MB for partner and site logos, plus 256 KiB for
  the rest of the form. A test checks that this list and the routes marked with
  `upload_limit` match.
- The 413 is the site's error page (French by default) or, under /api/,
  application/problem+json with the CORS headers, like every other error.
- An address (path and query string, as sent) longer than MAX_URL_BYTES (8 KiB, the request
  line Apache and nginx accept) is answered 414 the same way, before any route parses it:
  the longest the site makes (a board filtered every way, an API cursor, a `next=`) is under
  1 KiB. The server closes a request whose head passes 32 KiB (app/ops/http_limits.py).
"""

from __future__ import annotations

import logging
import re

import anyio.to_thread
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.errors import error_page, status_text

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_URL_BYTES = 8 * 1024

# (method, path) of the routes that take files. Each applies its own limit (see the module
# docstring); nothing else may send more than MAX_BODY_BYTES.
UPLOAD_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    # An idea's document (app/pipeline/document_routes.py): BOURSE_MAX_UPLOAD_MB.
    ("POST", re.compile(r"/moderation/ideas/\d+/documents")),
    # A partner's logo, new or edited (app/pipeline/partner_routes.py): 2 MB.
    ("POST", re.compile(r"/moderation/partners/new")),
    ("POST", re.compile(r"/moderation/partners/\d+")),
    # The site's logo, with its identity (app/moderation/identity_routes.py): 2 MB.
    ("POST", re.compile(r"/moderation/site")),
)

CLOSE = {"Connection": "close"}


def is_upload(method: str, path: str) -> bool:
    """Whether this request goes to a route that enforces its own, larger upload limit."""
    return any(method == m and pattern.fullmatch(path) for m, pattern in UPLOAD_ROUTES)


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            # The server refuses a malformed length; the counting below still applies.
            return int(text) if text.isdigit() else None
    return None


class BodyTooLarge(StarletteHTTPException):
    """Raised by the counting `receive` once a body passes the limit. An HTTPException, so that
    FastAPI lets it through unchanged while it parses a body (it turns any other error there
    into a 400) and the app's handler renders the 413 page or problem+json."""

    def __init__(self) -> None:
        super().__init__(status_code=413, headers=CLOSE)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("raw_path") or b"") + len(scope["query_string"]) > MAX_URL_BYTES:
            await self._refuse(scope, send, 414)
            return
        if is_upload(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send)
            return

        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def send_closing(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                if exceeded and not any(name.lower() == b"connection" for name, _v in headers):
                    message["headers"] = [*headers, (b"connection", b"close")]
            await send(message)

        try:
            await self.app(scope, counting_receive, send_closing)
        except BodyTooLarge:
            # Normally the app's HTTPException handler has answered already; this is for a
            # reader outside it.
            if started:
                log.warning("body over the limit after the response started: %s", scope["path"])
                return
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send, status: int = 413) -> None:
        # A Request without `receive`: reading its body here would raise, not wait for it.
        request = Request(scope)
        headers = CLOSE if status == 413 else None
        try:
            # The page loads the signed-in user (a database read): off the event loop.
            response = await anyio.to_thread.run_sync(_error_page, request, status, headers)
        except Exception:  # the refusal must never turn into a 500
            log.exception("could not render the %d page for %s", status, scope["path"])
            title, detail = status_text(status)
            response = PlainTextResponse(
                f"{title} : {detail}",
                status_code=status,
                headers=headers,
            )
        await response(scope, _no_body, send)


def _error_page(request: Request, status: int, headers: dict[str, str] | None) -> Response:
    return error_page(request, status, headers=headers)


async def _no_body() -> Message:
    raise RuntimeError("the body of a refused request is never read")
