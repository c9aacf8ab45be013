"""CORS for the JSON API (SPEC §5: read endpoints answer any origin, preflight included). Its
errors carry the same headers, or a page on a partner's site could not read why it failed."""

from __future__ import annotations

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": (
        "Authorization, Content-Type, If-None-Match, Accept, Accept-Language, Idempotency-Key"
    ),
    "Access-Control-Expose-Headers": "ETag, Location, Retry-After, WWW-Authenticate",
    "Access-Control-Max-Age": "86400",
}
