"""GET /api/v1/stats: the impact figures as JSON (the same computation as /impact).

Read endpoint conventions (SPEC §5), as the rest of /api/v1 (app.syndication.api_routes): the
API's CORS set for any origin (and the preflight), an ETag from the body with 304 on
If-None-Match (app.web.conditional), `Cache-Control: public, max-age=300`, errors as
application/problem+json (app.web.errors renders them under /api/).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.pipeline import impact
from app.web.conditional import API_CORS, json_response, preflight_response
from app.web.deps import SessionDep
from app.web.errors import Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

router = APIRouter()

CACHE_CONTROL = "public, max-age=300"


class BadFilter(Invalid):
    """A filter the API cannot read: 400 with the per-field messages."""

    status_code = 400
    title = N_("Requête invalide")


@router.get("/api/v1/stats")
@router.head("/api/v1/stats", include_in_schema=False)
def stats(request: Request, session: SessionDep) -> Response:
    year, territory, errors = impact.parse_filters(session, request.query_params)
    if errors:
        error = BadFilter(errors, _("Certains filtres ne sont pas valables."))
        error.headers = dict(API_CORS)  # a page on another site must read the error too
        raise error
    figures = impact.impact_figures(
        session, year=year, territory_id=territory.id if territory else None
    )
    return json_response(request, figures.as_json(), cache_control=CACHE_CONTROL, cors=API_CORS)


@router.options("/api/v1/stats")
def stats_preflight() -> Response:
    return preflight_response(API_CORS)
