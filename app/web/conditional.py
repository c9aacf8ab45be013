"""Conditional GET and CORS for what other sites read from us: the JSON API, the feeds and the
embeds (the widget pages, their stylesheet, embed.js and oEmbed). One answer builder for all of
them, so a 304 and its headers cannot differ from one surface to the next.

Conditional GET. The ETag is strong and is a hash of the body, so it changes with anything the
answer shows, the reader's language included. If-None-Match is compared weakly (`W/"x"` matches
`"x"`; `*` matches anything: RFC 9110 §13.1.2) and, when present, decides alone (§13.2.2).
Without it, If-Modified-Since is honoured only where the caller gives the moment the content
really changed (`changed_at`): a date in the future or not a date is ignored (§13.1.3). A 304
carries the same headers as the 200, without a body. HEAD gets the GET's answer and the server
drops the body, so its headers, Content-Length included, are the GET's.

CORS: which headers each surface sends, decided once here (tests/syndication/test_conditional.py
checks each surface against it). Never credentials: the origin is `*` and no
Access-Control-Allow-Credentials is sent, so a browser never joins our cookies to another
site's request.
- API_CORS: the JSON API under /api/v1, every address of it (/api/v1/stats too), on its
  answers, its errors (app.web.errors adds the same set) and its preflights. Any origin; the
  methods and request headers of the reads and of the token-authenticated writes; the answer's
  headers a script needs (ETag, Location, Retry-After, WWW-Authenticate).
- FEED_CORS: the feeds. Any origin may read them (a partner's page listing the needs), and sees
  ETag and Last-Modified to revalidate. GET and HEAD without custom headers are simple
  requests: no preflight to answer.
- EMBED_CORS: embed.js and oEmbed. Any origin may fetch them; nothing to expose.
- NO_CORS: the widget pages and their stylesheet, framed or linked by other sites, never read
  by their scripts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from types import MappingProxyType
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.web.cors import CORS_HEADERS

API_CORS: Mapping[str, str] = MappingProxyType(CORS_HEADERS)
FEED_CORS: Mapping[str, str] = MappingProxyType(
    {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag, Last-Modified"}
)
EMBED_CORS: Mapping[str, str] = MappingProxyType({"Access-Control-Allow-Origin": "*"})
NO_CORS: Mapping[str, str] = MappingProxyType({})


def body_etag(body: bytes) -> str:
    """A strong ETag for an answer's body."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison) or is `*`."""
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


def http_date(moment: datetime) -> str:
    """An HTTP date (Last-Modified), a naive datetime read as UTC."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return format_datetime(aware.astimezone(UTC), usegmt=True)


def unchanged_since(if_modified_since: str, changed_at: datetime) -> bool:
    """Whether content changed at `changed_at` is older than an If-Modified-Since date."""
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # not an HTTP date: ignored
    since = since.replace(tzinfo=UTC) if since.tzinfo is None else since
    changed = changed_at.replace(tzinfo=UTC) if changed_at.tzinfo is None else changed_at
    # A date in the future is a client's clock error, not a copy it holds: ignored too.
    return since <= datetime.now(UTC) and changed <= since


def is_not_modified(request: Request, etag: str, changed_at: datetime | None = None) -> bool:
    """Whether the client's copy is current: If-None-Match when sent, else If-Modified-Since
    (only with `changed_at`)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    since = request.headers.get("if-modified-since", "")
    return changed_at is not None and bool(since) and unchanged_since(since, changed_at)


def conditional_response(
    request: Request,
    body: bytes | str,
    *,
    media_type: str,
    cache_control: str,
    cors: Mapping[str, str] = NO_CORS,
    vary: str | None = None,
    last_modified: datetime | None = None,
    changed_at: datetime | None = None,
) -> Response:
    """A cacheable answer with its ETag, or a 304 with the same headers when the client already
    has it. `last_modified` is the date sent in Last-Modified; `changed_at`, when If-Modified-
    Since may be honoured, the moment the content last changed (it may be later than the date
    sent: a feed's date is held back a few seconds, and a change within them must not look
    old). `vary` names the request headers the body depends on."""
    data = body.encode() if isinstance(body, str) else body
    etag = body_etag(data)
    headers = {**cors, "ETag": etag, "Cache-Control": cache_control}
    if vary:
        headers["Vary"] = vary
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified)
    if is_not_modified(request, etag, changed_at):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


def json_response(
    request: Request,
    payload: Any,
    *,
    cache_control: str,
    cors: Mapping[str, str] = NO_CORS,
    vary: str | None = None,
) -> Response:
    """`conditional_response` for a JSON answer, written compact and in UTF-8."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return conditional_response(
        request,
        body,
        media_type="application/json",
        cache_control=cache_control,
        cors=cors,
        vary=vary,
    )


def preflight_response(cors: Mapping[str, str]) -> Response:
    """The answer to a CORS preflight (OPTIONS) of a surface: 204 with its headers."""
    return Response(status_code=204, headers=dict(cors))
