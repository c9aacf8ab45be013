"""GET /api/v1/stats: the impact figures as JSON (the same computation as /impact).

Read endpoint conventions (SPEC §5): CORS for any origin (and the preflight), an ETag from the
body with 304 on If-None-Match, `Cache-Control: public, max-age=300`, errors as
application/problem+json (app.web.errors renders them under /api/). Issue 6 builds the rest of
the API around it.
"""

from __future__ import annotations

import hashlib
import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.pipeline import impact
from app.web.deps import SessionDep
from app.web.errors import Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

router = APIRouter()

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "If-None-Match, Accept, Accept-Language",
    "Access-Control-Expose-Headers": "ETag",
    "Access-Control-Max-Age": "86400",
}
CACHE_CONTROL = "public, max-age=300"


class BadFilter(Invalid):
    """A filter the API cannot read: 400 with the per-field messages."""

    status_code = 400
    title = N_("Requête invalide")


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


@router.get("/api/v1/stats")
@router.head("/api/v1/stats", include_in_schema=False)
def stats(request: Request, session: SessionDep) -> Response:
    year, territory, errors = impact.parse_filters(session, request.query_params)
    if errors:
        error = BadFilter(errors, _("Certains filtres ne sont pas valables."))
        error.headers = dict(CORS_HEADERS)  # a page on another site must read the error too
        raise error
    figures = impact.impact_figures(
        session, year=year, territory_id=territory.id if territory else None
    )
    body = json.dumps(figures.as_json(), ensure_ascii=False, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {**CORS_HEADERS, "ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.options("/api/v1/stats")
def stats_preflight() -> Response:
    return Response(status_code=204, headers=CORS_HEADERS)
