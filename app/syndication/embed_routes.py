"""What partners put on their own sites: the iframe widget (/embed/needs, /embed/ideas and one
item, /embed/needs/{id}, /embed/ideas/{id}), the script that inserts it (/embed.js), oEmbed
(/oembed) and the page that writes the code for them (/partners/embed).

Only /embed/* may be framed by other sites (app.web.security sets the headers per path). The
widget pages carry no site chrome, no cookie-dependent content and no form token, so their
HTML is cached (app.syndication.embed) and served with an ETag.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from app import RESOURCES
from app.board import queries as board_queries
from app.board.badges import badges_for
from app.board.models import Need
from app.pipeline.models import Idea
from app.pipeline.partners import active_partners
from app.pipeline.queries import public_ideas
from app.pipeline.service import STAGE_LABELS, stage_label
from app.syndication import embed
from app.web import i18n
from app.web.conditional import EMBED_CORS, NO_CORS, conditional_response, json_response
from app.web.deps import SessionDep
from app.web.errors import problem_response
from app.web.i18n import gettext as _
from app.web.params import parse_id
from app.web.templating import render, render_to_string

router = APIRouter()

CACHE_CONTROL = "public, max-age=60"
EMBED_JS = RESOURCES / "static" / "js" / "embed.js"
OEMBED_WIDTH, OEMBED_HEIGHT = 480, 260


def _etagged(
    request: Request,
    body: str,
    media_type: str,
    max_age: str = CACHE_CONTROL,
    cors: Mapping[str, str] = NO_CORS,
) -> Response:
    return conditional_response(
        request, body, media_type=media_type, cache_control=max_age, cors=cors
    )


def _locale(params: embed.EmbedParams, request: Request) -> str:
    return params.lang or request.app.state.settings.default_locale


def _ref_query(params: embed.EmbedParams) -> str:
    """`?ref=<slug>` for the widget's links to the site (none of them has a query of its own)."""
    return "?" + urlencode({"ref": params.ref}) if params.ref else ""


def _base_context(request: Request, params: embed.EmbedParams) -> dict[str, Any]:
    return {
        "base_url": request.app.state.settings.base_url,
        "ref_query": _ref_query(params),
        "params": params,
        "accent_query": params.accent[1:] if params.accent else "",
        "locale": i18n.get_locale(),
        "stage_label": stage_label,
    }


def _categories(session: SessionDep) -> dict[str, Any]:
    themes, territories = board_queries.categories(session, include_archived=True)
    return {
        "themes_by_id": {t.id: t for t in themes},
        "territories_by_id": {t.id: t for t in territories},
    }


def _error(request: Request, params: embed.EmbedParams) -> HTMLResponse:
    """400 with the French (or English) messages, inside the widget's own small page."""
    lang = params.lang or request.app.state.settings.default_locale
    with i18n.use_locale(lang if "lang" not in params.errors else "fr"):
        body = render_to_string(
            "syndication/embed_base.html",
            {
                "base_url": request.app.state.settings.base_url,
                "ref_query": "",
                "params": params,
                "accent_query": "",
                "locale": i18n.get_locale(),
                "page_title": _("Paramètres du widget invalides"),
                "errors": params.errors,
            },
        )
    return HTMLResponse(body, status_code=400, headers={"Cache-Control": "no-store"})


def _not_found(request: Request, lang: str) -> HTMLResponse:
    params = embed.EmbedParams(lang=lang)
    with i18n.use_locale(lang or request.app.state.settings.default_locale):
        body = render_to_string(
            "syndication/embed_base.html",
            {
                "base_url": request.app.state.settings.base_url,
                "ref_query": "",
                "params": params,
                "accent_query": "",
                "locale": i18n.get_locale(),
                "page_title": _("Contenu introuvable"),
                "errors": {"": _("Ce contenu n'existe pas ou n'est plus visible.")},
            },
        )
    return HTMLResponse(body, status_code=404, headers={"Cache-Control": "no-store"})


def _site_filters(params: embed.EmbedParams) -> dict[str, str]:
    """The query of the widget's « see all » link: its filters, and the partner's ref."""
    return {**params.filters(), **({"ref": params.ref} if params.ref else {})}


def _cached(request: Request, session: SessionDep, params: embed.EmbedParams, make) -> str:  # type: ignore[no-untyped-def]
    """Renders the widget in its language. Stored and invalidated by the anonymous response
    cache (app/web/cache.py), like every public answer: a widget never misses a write."""
    with i18n.use_locale(_locale(params, request)):
        return make()


@router.get("/embed/needs")
def embed_needs(request: Request, session: SessionDep) -> Response:
    params = embed.parse_params(session, "needs", dict(request.query_params))
    if params.errors:
        return _error(request, params)

    def make() -> str:
        needs = embed.widget_needs(session, params)
        badges = badges_for(session, [n.id for n in needs])  # type: ignore[misc]
        query = urlencode(_site_filters(params))
        return render_to_string(
            "syndication/embed_needs.html",
            {
                **_base_context(request, params),
                **_categories(session),
                "needs": needs,
                "badges": badges,
                "more_url": request.app.state.settings.base_url
                + "/"
                + (f"?{query}" if query else ""),
                "single": False,
            },
        )

    return _etagged(request, _cached(request, session, params, make), "text/html")


@router.get("/embed/ideas")
def embed_ideas(request: Request, session: SessionDep) -> Response:
    params = embed.parse_params(session, "ideas", dict(request.query_params))
    if params.errors:
        return _error(request, params)

    def make() -> str:
        query = urlencode(_site_filters(params))
        return render_to_string(
            "syndication/embed_ideas.html",
            {
                **_base_context(request, params),
                **_categories(session),
                "ideas": embed.widget_ideas(session, params),
                "more_url": request.app.state.settings.base_url
                + "/ideas"
                + (f"?{query}" if query else ""),
                "single": False,
            },
        )

    return _etagged(request, _cached(request, session, params, make), "text/html")


def _single_params(session: SessionDep, kind: str, request: Request) -> embed.EmbedParams:
    raw = dict(request.query_params)
    # One item: only the presentation parameters and the partner's ref apply.
    return embed.parse_params(
        session, kind, {k: raw[k] for k in ("accent", "lang", "ref") if k in raw}
    )


@router.get("/embed/needs/{ref}")
def embed_one_need(request: Request, session: SessionDep, ref: str) -> Response:
    return _embed_one(
        request,
        session,
        ref,
        "needs",
        lambda need_id: session.exec(board_queries.visible_needs().where(Need.id == need_id)),
        lambda need: {"badges": badges_for(session, [need.id])},
        more_path="/",
    )


@router.get("/embed/ideas/{ref}")
def embed_one_idea(request: Request, session: SessionDep, ref: str) -> Response:
    return _embed_one(
        request,
        session,
        ref,
        "ideas",
        lambda idea_id: session.exec(public_ideas().where(Idea.id == idea_id)),
        lambda idea: {},
        more_path="/ideas",
    )


def _embed_one(
    request: Request,
    session: SessionDep,
    ref: str,
    kind: str,
    find: Callable[[int], Any],
    extra: Callable[[Any], dict[str, Any]],
    *,
    more_path: str,
) -> Response:
    """One need or idea in a widget (`kind`: needs or ideas, as the widget of a list names
    them): `find` the public ones with an id, `extra` what its template needs besides."""
    params = _single_params(session, kind, request)
    if params.errors:
        return _error(request, params)
    item_id = parse_id(ref.split("-", 1)[0])
    item = find(item_id).first() if item_id is not None else None
    if item is None:
        return _not_found(request, params.lang)

    def make() -> str:
        return render_to_string(
            f"syndication/embed_{kind}.html",
            {
                **_base_context(request, params),
                **_categories(session),
                kind: [item],
                **extra(item),
                "more_url": request.app.state.settings.base_url + more_path + _ref_query(params),
                "single": True,
            },
        )

    return _etagged(request, _cached(request, session, params, make), "text/html")


@router.get("/embed/accent.css")
def accent_stylesheet(request: Request, c: str = "") -> Response:
    """The accent colour's custom properties: a stylesheet from this site, as the CSP wants
    (no inline style), computed so links and button text keep a 4.5:1 contrast."""
    try:
        accent = embed.parse_accent("#" + c)
    except ValueError:
        return Response(
            "/* " + _("Couleur invalide.") + " */\n",
            status_code=400,
            media_type="text/css",
        )
    return _etagged(request, embed.accent_css(accent), "text/css", "public, max-age=86400")


@router.get("/embed.js")
def embed_script(request: Request) -> Response:
    body = EMBED_JS.read_text(encoding="utf-8")
    return _etagged(request, body, "text/javascript", "public, max-age=3600", EMBED_CORS)


# --- oEmbed -------------------------------------------------------------------------------------

_ITEM_PATH = re.compile(r"/(needs|ideas)/(\d{1,10})(?:-[^/]*)?/?")


def _oembed_error(status: int, detail: str) -> Response:
    titles = {
        400: _("Requête invalide"),
        404: _("Page introuvable"),
        501: _("Format non disponible"),
    }
    return problem_response(status, titles[status], detail, headers=dict(EMBED_CORS))


def _dimension(raw: str | None) -> int | str | None:
    if raw is None or raw == "":
        return None
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= 10_000:
        return int(raw)
    return "bad"


@router.get("/oembed")
def oembed(request: Request, session: SessionDep) -> Response:
    """oEmbed 1.0 (https://oembed.com/) for a public need or idea of this site: a rich item
    whose html is the one-item widget in an iframe."""
    query = request.query_params
    settings = request.app.state.settings
    fmt = query.get("format", "json") or "json"
    if fmt != "json":
        if fmt == "xml":
            return _oembed_error(501, _("Seul le format JSON est disponible."))
        return _oembed_error(400, _("Le format doit être « json »."))
    url = query.get("url", "")
    if not url:
        return _oembed_error(400, _("Le paramètre « url » est obligatoire."))
    max_width, max_height = _dimension(query.get("maxwidth")), _dimension(query.get("maxheight"))
    if max_width == "bad" or max_height == "bad":
        return _oembed_error(
            400, _("« maxwidth » et « maxheight » doivent être des entiers positifs.")
        )
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed host, such as "http://[::1/…": not one of our pages
        parts = urlsplit("")
    base = urlsplit(settings.base_url)
    match = _ITEM_PATH.fullmatch(parts.path)
    if (
        parts.netloc.lower() != base.netloc.lower()
        or parts.scheme not in ("http", "https")
        or not match
    ):
        return _oembed_error(
            404, _("Cette adresse n'est pas celle d'un besoin ou d'une idée du site.")
        )
    kind, item_id = match.group(1), parse_id(match.group(2))
    item: Need | Idea | None = None
    if item_id is not None:
        statement = (
            board_queries.visible_needs().where(Need.id == item_id)
            if kind == "needs"
            else public_ideas().where(Idea.id == item_id)
        )
        item = session.exec(statement).first()  # type: ignore[attr-defined]
    if item is None:
        return _oembed_error(404, _("Ce contenu n'existe pas ou n'est pas public."))
    width = min(OEMBED_WIDTH, max_width) if isinstance(max_width, int) else OEMBED_WIDTH
    height = min(OEMBED_HEIGHT, max_height) if isinstance(max_height, int) else OEMBED_HEIGHT
    src = f"{settings.base_url}/embed/{kind}/{item.id}"
    title = item.title
    html = (
        f'<iframe src="{escape(src)}" width="{width}" height="{height}" '
        f'title="{escape(title)}" loading="lazy" '
        'style="border:0;max-width:100%"></iframe>'
    )
    body = {
        "version": "1.0",
        "type": "rich",
        "provider_name": _("Bourse à initiatives"),
        "provider_url": settings.base_url + "/",
        "title": title,
        "html": html,
        "width": width,
        "height": height,
        "cache_age": 3600,
    }
    return json_response(request, body, cache_control="public, max-age=300", cors=EMBED_CORS)


# --- /partners/embed ----------------------------------------------------------------------------


@router.get("/partners/embed")
def partners_embed(request: Request, session: SessionDep) -> Response:
    """The code builder: filters, a live preview (the iframe itself), copy-ready codes."""
    raw = dict(request.query_params)
    kind = raw.get("kind", "needs") or "needs"
    errors: dict[str, str] = {}
    if kind not in embed.KINDS:
        errors["kind"] = _("Choisissez « besoins » ou « idées ».")
        kind = "needs"
    # Empty fields of the form mean "no filter".
    wanted = {k: v for k, v in raw.items() if v and k != "kind"}
    params = embed.parse_params(session, kind, wanted)
    errors.update(params.errors)
    if errors:
        params = embed.EmbedParams(kind=kind)
    settings = request.app.state.settings
    base = settings.base_url
    query = params.query()
    filters = urlencode(_site_filters(params))
    iframe_src = f"{base}/embed/{kind}" + (f"?{query}" if query else "")
    data_attrs = "".join(
        f' data-{name}="{html.escape(value, quote=True)}"'
        for name, value in [
            *([("kind", "ideas")] if kind == "ideas" else []),
            *sorted(params.filters().items()),
            *([("limit", str(params.limit))] if params.limit != embed.LIMIT_DEFAULT else []),
            *([("accent", params.accent)] if params.accent else []),
            *([("lang", params.lang)] if params.lang else []),
            *([("ref", params.ref)] if params.ref else []),
        ]
    )
    title = _("Besoins du territoire") if kind == "needs" else _("Idées de la fabrique")
    themes, territories = board_queries.categories(session)
    # The public list; an archived partner only when staff's link pre-selects it.
    choices = active_partners(session)
    if params.partner is not None and params.partner.archived_at is not None:
        choices.append(params.partner)
    return render(
        request,
        "syndication/partners_embed.html",
        {
            "params": params,
            "kind": kind,
            "errors": errors,
            "themes": themes,
            "territories": territories,
            "partners": choices,
            "stages": list(STAGE_LABELS),
            "stage_label": stage_label,
            "limit_max": embed.LIMIT_MAX,
            "preview_src": f"/embed/{kind}" + (f"?{query}" if query else ""),
            "script_code": f'<script src="{base}/embed.js"{data_attrs} async></script>',
            "iframe_code": (
                f'<iframe src="{iframe_src}" title="{title}" width="100%" height="600" '
                'style="border:0" loading="lazy"></iframe>'
            ),
            "feed_url": f"{base}/feeds/{kind}.atom" + (f"?{filters}" if filters else ""),
            "api_url": f"{base}/api/v1/{kind}"
            + (f"?{urlencode({**params.filters(), 'limit': params.limit})}"),
        },
        status_code=400 if errors else 200,
    )
