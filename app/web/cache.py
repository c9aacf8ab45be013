"""The anonymous response cache: what signed-out visitors, feed readers and partners' sites ask
for, served from memory before routing, and never stale.

A pure ASGI layer at the outside of the stack. For an anonymous GET or HEAD of a public address
with a query it knows, it looks up the answer stored for (path, query, language, htmx headers)
and serves it when the content version (app/web/content_version.py: one primary-key read) is
still the one the answer was rendered at, and the answer's own clock has not run out (a page
saying « il y a 5 minutes » changes on its own: app.web.i18n.timeago notes when). A hit costs
no routing, no dependency, no session and no ORM.

Invalidation is exact, across workers and instances: every write to a public table bumps the
version in the write's own transaction (database triggers), so the next request after a
support given through any worker of any instance sees the new count.

Nothing personal is stored or replayed:
- requests with a session cookie, an Authorization header, a `ref=` attribution or any query
  parameter not in KNOWN_PARAMS go straight to the app;
- an answer is stored only if it sets no cookie, is not marked private (the page used the
  visitor's CSRF token: app.web.middleware), says nothing like `private`/`no-store`, and has a
  status worth keeping.

HTTP caching for the rest of the chain: stored answers carry an ETag (the app's, or a hash of
the body), Last-Modified (the version's time), `Cache-Control: public, max-age=0,
must-revalidate, s-maxage=5` (a reverse proxy may keep them a few seconds; browsers revalidate)
and `Vary: Accept-Language, Cookie, HX-Request`. Conditional requests get 304 from the cache.

Memory is bounded: an LRU of at most BOURSE_CACHE_MB megabytes (0 turns the cache off).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.cookies import SimpleCookie
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web import freshness, i18n
from app.web.content_version import AsyncVersionReader, SharedRead, VersionReader

SESSION_COOKIE = "bourse_session"  # app.accounts.deps (imported by name: web/ sits below)

# The public addresses whose answers may be stored. Anything else (accounts, moderation,
# forms, static files served by their own handler) goes to the app untouched.
CACHEABLE_PATHS = re.compile(
    r"^/("
    r"|needs/\d+(-[^/]*)?"
    r"|ideas|ideas/[^/]+"
    r"|impact|partners|partners/embed|partners/[^/]+/logo"
    r"|embed/(needs|ideas)(/[^/]+)?|embed/accent\.css|embed\.js|oembed"
    r"|feeds/[^/]+"
    r"|api/v1/(needs|ideas)(/\d+)?|api/v1/(themes|territories|stats|openapi\.json|docs)"
    r"|about|charter|privacy|accessibility|legal|robots\.txt|sitemap\.xml|sitemaps/[^/]+\.xml"
    r")$"
)
# Query parameters the public pages read (filters, sorts, pages, widget options, oEmbed).
# Another one (`ref` first: counting an arrival is a write) sends the request to the app.
KNOWN_PARAMS = frozenset(
    {
        *("theme", "territory", "q", "sort", "status", "answer", "stage", "year"),
        *("page", "after", "before", "cursor", "limit"),
        *("accent", "lang", "url", "format", "maxwidth", "maxheight", "notice"),
    }
)
# Where `ref` names the partner for links only (app.syndication.attribution counts arrivals on
# the site's pages, never on these): the partner's widget and feeds stay cacheable.
REF_FREE_PREFIXES = ("/embed/", "/embed.js", "/feeds/", "/api/", "/oembed")
# Request headers that change the bytes of an answer besides the language: htmx asks for a
# fragment, a boosted navigation or a history restore of the same address.
VARY_HEADERS = (b"hx-request", b"hx-boosted", b"hx-history-restore-request", b"hx-target")
STORED_STATUSES = frozenset({200, 301, 308, 404, 410})
MAX_ENTRY_BYTES = 2 * 1024 * 1024
CACHE_CONTROL = b"public, max-age=0, must-revalidate, s-maxage=5"
VARY = b"Accept-Language, Cookie, HX-Request, HX-Boosted, HX-History-Restore-Request"
# Headers that describe one transfer, not the content: never stored.
_NOT_STORED = frozenset({b"date", b"server", b"set-cookie", b"content-length", b"connection"})


def mark_private(scope: Scope) -> None:
    """The answer carries something of this visitor's (their form token): never store it."""
    scope.setdefault("state", {})["cache_private"] = True


@dataclass
class Entry:
    version: int
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes
    # The version's time, when the cache wrote Last-Modified (and answers If-Modified-Since);
    # None when the route wrote its own (a feed's newest entry), which it alone interprets.
    last_modified: float | None
    expires: float
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 200


class Sized(Protocol):
    size: int


E = TypeVar("E", bound=Sized)


class ResponseStore(Generic[E]):
    """A thread-safe LRU of entries, bounded by their total size in bytes (the anonymous
    answers here, the shared signed-in renders in app/web/personal.py)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[tuple[Any, ...], E] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[Any, ...]) -> E | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[Any, ...], entry: E) -> None:
        if entry.size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= old.size
            self._entries[key] = entry
            self.size += entry.size
            while self.size > self.max_bytes:
                _key, evicted = self._entries.popitem(last=False)
                self.size -= evicted.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size = 0


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _has_session(cookie_header: bytes | None) -> tuple[bool, str | None]:
    """(a session cookie is present, the language cookie's value)."""
    if not cookie_header:
        return False, None
    text = cookie_header.decode("latin-1")
    if SESSION_COOKIE not in text and i18n.LOCALE_COOKIE not in text:
        return False, None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(text)
    except Exception:  # an unparsable cookie header: let the app decide
        return True, None
    locale = jar[i18n.LOCALE_COOKIE].value if i18n.LOCALE_COOKIE in jar else None
    return SESSION_COOKIE in jar, locale


def _only_since(scope: Scope) -> bool:
    """A conditional request by date alone (no ETag to compare)."""
    names = {key for key, _value in scope["headers"]}
    return b"if-modified-since" in names and b"if-none-match" not in names


def _etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    if if_none_match.strip() == b"*":
        return True
    bare = etag.removeprefix(b"W/")
    return any(tag.strip().removeprefix(b"W/") == bare for tag in if_none_match.split(b","))


class AnonymousCacheMiddleware:
    def __init__(self, app: ASGIApp, *, max_mb: int = 64) -> None:
        self.app = app
        self.store: ResponseStore[Entry] = ResponseStore(max_mb * 1024 * 1024)
        self.enabled = max_mb > 0
        self._reader: VersionReader | None = None
        self._async_reader: AsyncVersionReader | None = None
        self._shared: SharedRead | None = None
        # Misses being rendered: (key, version) → the entry it gives (None: not storable).
        self._filling: dict[tuple[Any, ...], asyncio.Future[Entry | None]] = {}
        self._locales: dict[tuple[str | None, bytes | None], str] = {}
        self.hits = 0
        self.misses = 0

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close_all()
        if self._async_reader is not None:
            await self._async_reader.close()
        self.store.clear()

    def reader(self, scope: Scope) -> VersionReader:
        if self._reader is None:
            self._reader = VersionReader(scope["app"].state.engine)
        return self._reader

    async def current_version(self, scope: Scope) -> tuple[int, int] | None:
        """SQLite answers from a local file in microseconds: read at once. PostgreSQL is a
        round trip away: read without blocking the loop, shared between concurrent requests
        (content_version.SharedRead says why that stays exact)."""
        if self._shared is None:
            engine = scope["app"].state.engine
            if engine.dialect.name != "postgresql":
                return self.reader(scope).read()
            self._async_reader = AsyncVersionReader(engine)
            self._shared = SharedRead(self._async_reader.read)
        return await self._shared()

    def _locale(self, cookie: str | None, accept: bytes | None, default: str) -> str:
        key = (cookie, accept)
        found = self._locales.get(key)
        if found is None:
            found = i18n.negotiate_locale(
                cookie, accept.decode("latin-1") if accept else None, default
            )
            if len(self._locales) > 1000:
                self._locales.clear()
            self._locales[key] = found
        return found

    def _key(self, scope: Scope) -> tuple[Any, ...] | None:
        """The entry's key, or None when this request must go to the app."""
        if scope["method"] not in ("GET", "HEAD") or not CACHEABLE_PATHS.match(scope["path"]):
            return None
        # One pass over the headers instead of one per name: this runs on every hit.
        # The first of repeated headers wins, as for Starlette's request.headers.get().
        headers = dict(reversed(scope["headers"]))
        if b"authorization" in headers:
            return None
        has_session, locale_cookie = _has_session(headers.get(b"cookie"))
        if has_session:
            return None
        raw_query = scope.get("query_string", b"")
        pairs: tuple[tuple[str, str], ...] = ()
        if raw_query:
            try:
                parsed = parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True)
            except ValueError:
                return None
            ref_free = scope["path"].startswith(REF_FREE_PREFIXES)
            for name, _value in parsed:
                if name not in KNOWN_PARAMS and not (name == "ref" and ref_free):
                    return None
            pairs = tuple(sorted(parsed))
        settings = scope["app"].state.settings
        locale = self._locale(
            locale_cookie, headers.get(b"accept-language"), settings.default_locale
        )
        varying = tuple(headers.get(name) for name in VARY_HEADERS)
        return (scope["path"], pairs, locale, varying)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        key = self._key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        current = await self.current_version(scope)
        if current is None:
            await self.app(scope, receive, send)
            return
        version, changed_at = current
        entry = self.store.get(key)
        if entry is not None and entry.last_modified is None and _only_since(scope):
            # A date only the route can judge (a feed's newest entry): let it answer.
            await self.app(scope, receive, send)
            return
        if entry is not None and entry.version == version and entry.expires > time.time():
            self.hits += 1
            await self._replay(scope, send, entry)
            return
        self.misses += 1
        if scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        # One render per page and version: when many visitors ask at once for a page that
        # just changed, the others wait for the first one's answer instead of each running the
        # route (a crowd of 64 renders at once is what made the tail of the latency).
        loop = asyncio.get_running_loop()
        filling = self._filling.get((key, version))
        if filling is not None and filling.get_loop() is loop:
            shared = await asyncio.shield(filling)
            if shared is not None and shared.expires > time.time():
                self.hits += 1
                await self._replay(scope, send, shared)
                return
            await self.app(scope, receive, send)  # not shareable: the app answers this one
            return
        future: asyncio.Future[Entry | None] = loop.create_future()
        self._filling[(key, version)] = future
        entry: Entry | None = None
        try:
            entry = await self._fill(scope, receive, send, key, version, changed_at)
        finally:
            del self._filling[(key, version)]
            future.set_result(entry)

    async def _fill(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: tuple[Any, ...],
        version: int,
        changed_at: int,
    ) -> Entry | None:
        """Runs the app, answers the visitor and keeps the answer if it may be shared (then
        returns it, for the visitors who asked meanwhile)."""
        conditional = {b"if-none-match", b"if-modified-since"}
        client_headers = scope["headers"]
        # The app renders the whole answer (the visitor's validators are checked here after).
        inner = dict(scope)
        inner["headers"] = [(k, v) for k, v in client_headers if k not in conditional]
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        streaming = False

        async def capture(message: Message) -> None:
            nonlocal start, size, streaming
            if streaming:
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_ENTRY_BYTES and message.get("more_body", False):
                # Too big to keep: send what we have and let the rest stream through.
                streaming = True
                assert start is not None
                await send(start)
                await send(
                    {"type": "http.response.body", "body": b"".join(chunks), "more_body": True}
                )
                chunks.clear()

        with freshness.collect() as box:
            await self.app(inner, receive, capture)
        if streaming or start is None:
            return None
        body = b"".join(chunks)
        status = start["status"]
        headers = list(start.get("headers", []))
        state = scope.get("state", {})
        if self._storable(status, headers, state, box[0]):
            stored = [(k, v) for k, v in headers if k.lower() not in _NOT_STORED]
            etag = next((v for k, v in stored if k.lower() == b"etag"), None)
            if etag is None:
                etag = b'W/"' + hashlib.blake2b(body, digest_size=10).hexdigest().encode() + b'"'
            own_date = not any(k.lower() == b"last-modified" for k, _v in stored)
            stored = _public_headers(stored, etag, changed_at if own_date else None)
            modified = float(changed_at) if own_date else None
            entry = Entry(version, status, stored, body, etag, modified, box[0])
            self.store.put(key, entry)
            await self._replay({**scope, "headers": client_headers}, send, entry)
            return entry
        await send(start)
        await send({"type": "http.response.body", "body": body})
        return None

    @staticmethod
    def _storable(
        status: int, headers: list[tuple[bytes, bytes]], state: dict[str, Any], expires: float
    ) -> bool:
        if status not in STORED_STATUSES or state.get("cache_private"):
            return False
        if expires <= time.time() + 1:
            return False
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"set-cookie":
                return False
            if lowered == b"cache-control" and (b"private" in value or b"no-store" in value):
                return False
        return True

    async def _replay(self, scope: Scope, send: Send, entry: Entry) -> None:
        if_none_match = _header(scope, b"if-none-match")
        not_modified = False
        if if_none_match is not None:
            not_modified = _etag_matches(if_none_match, entry.etag)
        else:
            since = _header(scope, b"if-modified-since")
            if since is not None and entry.status == 200 and entry.last_modified is not None:
                try:
                    moment = parsedate_to_datetime(since.decode("latin-1")).timestamp()
                except (TypeError, ValueError):
                    moment = None
                not_modified = moment is not None and entry.last_modified <= moment
        if not_modified and entry.status == 200:
            kept = [(k, v) for k, v in entry.headers if k.lower() in _VALIDATOR_HEADERS]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [*entry.headers, (b"content-length", str(len(entry.body)).encode())]
        await send({"type": "http.response.start", "status": entry.status, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else entry.body
        await send({"type": "http.response.body", "body": body})


# What a 304 repeats of the stored answer (RFC 9110 §15.4.5).
_VALIDATOR_HEADERS = frozenset(
    {
        b"etag",
        b"last-modified",
        b"cache-control",
        b"vary",
        b"content-location",
        b"expires",
        b"access-control-allow-origin",
        b"access-control-expose-headers",
    }
)


def _public_headers(
    headers: list[tuple[bytes, bytes]], etag: bytes, changed_at: int | None
) -> list[tuple[bytes, bytes]]:
    """The stored answer's headers: its validators and the shared-cache policy, replacing
    whatever the route said about caching (one policy for every public answer)."""
    replaced = {b"etag", b"cache-control", b"vary"}
    if changed_at is not None:
        replaced.add(b"last-modified")
    policy = CACHE_CONTROL
    for name, value in headers:
        if name.lower() == b"cache-control" and b"immutable" in value:
            # An address that names one version of a file (a partner's logo): it never changes.
            policy = value
    kept = [(k, v) for k, v in headers if k.lower() not in replaced]
    vary = [v for k, v in headers if k.lower() == b"vary"]
    vary_names = {p.strip().lower() for v in vary for p in v.split(b",")}
    extra = [p for p in (b"origin",) if p in vary_names]
    dated = (
        [(b"last-modified", formatdate(max(changed_at, 0), usegmt=True).encode())]
        if changed_at is not None
        else []
    )
    return [
        *kept,
        (b"etag", etag),
        *dated,
        (b"cache-control", policy),
        (b"vary", b", ".join([VARY, *(e.title() for e in extra)])),
    ]


def cache_of(app: Any) -> AnonymousCacheMiddleware | None:
    """The app's cache middleware instance, once the stack is built (tests, health)."""
    stack = getattr(app, "middleware_stack", None)
    while stack is not None:
        if isinstance(stack, AnonymousCacheMiddleware):
            return stack
        stack = getattr(stack, "app", None)
    return None
