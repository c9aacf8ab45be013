"""Site-wide pages that belong to no domain: the informational pages, language switch, health."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import text

from app.accounts.routes import safe_next
from app.web.errors import NotFound
from app.web.i18n import SUPPORTED_LOCALES, get_locale, set_locale_cookie
from app.web.templating import render

router = APIRouter()

# Long texts are written per language (templates/pages/<locale>/<name>.html) rather than cut
# into gettext strings: a legal or privacy text is read and reviewed as a whole.
INFO_PAGES = ("about", "charter", "privacy", "accessibility", "legal")


def _info_page(request: Request, name: str) -> Response:
    if name not in INFO_PAGES:
        raise NotFound()
    return render(request, f"pages/{get_locale()}/{name}.html", {"page_name": name})


@router.get("/about")
def about(request: Request) -> Response:
    return _info_page(request, "about")


@router.get("/charter")
def charter(request: Request) -> Response:
    return _info_page(request, "charter")


@router.get("/privacy")
def privacy(request: Request) -> Response:
    return _info_page(request, "privacy")


@router.get("/accessibility")
def accessibility(request: Request) -> Response:
    return _info_page(request, "accessibility")


@router.get("/legal")
def legal(request: Request) -> Response:
    return _info_page(request, "legal")


@router.get("/lang")
def switch_language(request: Request, lang: str = Query("fr"), next: str = "/") -> Response:
    """The language link. A GET is fine here: it only sets a preference cookie, nothing is
    written on the server, and the cookie is read before Accept-Language."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in SUPPORTED_LOCALES:
        set_locale_cookie(response, lang, secure=request.app.state.settings.is_production)
    return response


@router.get("/healthz", include_in_schema=False)
def healthz() -> Response:
    return PlainTextResponse("ok")


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> Response:
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/robots.txt", include_in_schema=False)
def robots(request: Request) -> Response:
    sitemap = request.app.state.settings.base_url + "/sitemap.xml"
    return PlainTextResponse(
        f"User-agent: *\nDisallow: /account/\nDisallow: /moderation/\n\nSitemap: {sitemap}\n"
    )
