"""Site-wide pages that belong to no domain: the informational pages, language switch, health."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from sqlalchemy import text

from app.pipeline.uploads import (  # a leaf module: files only, no domain
    logo_response,
    logos_dir,
    stored_path,
)
from app.web import site_identity
from app.web.colours import is_hex_colour
from app.web.deps import SessionDep
from app.web.errors import NotFound
from app.web.i18n import SUPPORTED_LOCALES, get_locale, set_locale_cookie
from app.web.i18n import gettext as _
from app.web.site_identity import INFO_PAGES
from app.web.templating import render
from app.web.urls import safe_next

router = APIRouter()


# Long texts are written per language, in Markdown, rather than cut into gettext strings: a
# legal or privacy text is read and reviewed as a whole. An admin writes them from the
# moderation area; until then the shipped defaults are shown (app/web/site_identity.py).
def _info_page(request: Request, session: SessionDep, name: str) -> Response:
    if name not in INFO_PAGES:
        raise NotFound()
    locale = get_locale()
    page = site_identity.render_page(
        site_identity.page_source(session, locale, name),
        site_identity.read_identity(session),
        locale,
        request.app.state.settings,
    )
    return render(request, "pages/info.html", {"page_name": name, "page": page})


@router.get("/about")
def about(request: Request, session: SessionDep) -> Response:
    return _info_page(request, session, "about")


@router.get("/charter")
def charter(request: Request, session: SessionDep) -> Response:
    return _info_page(request, session, "charter")


@router.get("/privacy")
def privacy(request: Request, session: SessionDep) -> Response:
    return _info_page(request, session, "privacy")


@router.get("/accessibility")
def accessibility(request: Request, session: SessionDep) -> Response:
    return _info_page(request, session, "accessibility")


@router.get("/legal")
def legal(request: Request, session: SessionDep) -> Response:
    return _info_page(request, session, "legal")


@router.get("/site/logo")
def site_logo(request: Request, session: SessionDep) -> Response:
    """The fabrique's logo (checked as partner logos are: PNG, JPEG or WebP by content)."""
    identity = site_identity.read_identity(session)
    path = stored_path(logos_dir(request.app.state.settings), identity.logo_file)
    if path is None or not path.is_file():
        raise NotFound(_("Ce logo n'existe pas."))
    return logo_response(path, identity.logo_type)


@router.get("/site/theme.css")
def site_theme(session: SessionDep) -> Response:
    """The accent colour as custom properties over app.css (a stylesheet of this site, as the
    CSP wants). Pages link it with ?v=<colour>: a new colour is a new address."""
    accent = site_identity.read_identity(session).accent
    css = site_identity.theme_css(accent) if is_hex_colour(accent) else ""
    return Response(
        css,
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


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
