"""The JSON API under /api/v1 (SPEC §5 "Machine endpoints", issue 6 item 1).

Reads (needs, ideas, themes, territories) start from the public read paths only
(`visible_needs()`, `public_ideas()`), take the board's filters plus `limit` and `cursor`, and
answer `{"items": [...], "next_cursor": ...}` with CORS for any origin, an ETag (304 on
If-None-Match) and `Cache-Control: public, max-age=60`. Need pages use the board's keyset
cursors on (sort key, id), so a client walking the pages never sees a need twice nor misses
one when needs are posted meanwhile.

Writes authenticate with a personal token (`Authorization: Bearer …`) and nothing else: this
router is mounted without the browser CSRF check, so a session cookie never authorises a write
here. Each write calls the same service as its form (validation, moderation state, rate
limits); fields a client may not set (ids, counts, status, author, idea) are ignored.

Errors are application/problem+json (app.web.errors) with `errors` per field; the OpenAPI
description (/api/v1/openapi.json) and the docs page (/api/v1/docs) are generated from the
routes and the ENDPOINTS table below, so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import Session

from app.accounts.models import User
from app.board import queries, reports, service, supports
from app.board.comments import BODY_MAX as COMMENT_BODY_MAX
from app.board.comments import post_comment
from app.board.filters import parse_filters
from app.board.models import Need, ReportReason, ReportTarget
from app.board.queries import get_visible_need
from app.board.service import BODY_MAX as NEED_BODY_MAX
from app.board.service import TITLE_MAX, TITLE_MIN
from app.core.ratelimit import check_rate
from app.syndication import cursors
from app.syndication.serialize import (
    comment_json,
    idea_json,
    ideas_json,
    need_json,
    needs_json,
    territory_json,
    theme_json,
)
from app.web.cors import CORS_HEADERS
from app.web.deps import SessionDep
from app.web.errors import AppError, Invalid, MethodNotAllowed, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import parse_id
from app.web.security import client_ip

router = APIRouter()

PREFIX = "/api/v1"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
CACHE_CONTROL = "public, max-age=60"
NEED_FILTERS = ("sort", "theme", "territory", "status", "q")
IDEA_FILTERS = ("stage", "theme", "territory")


class BadRequest(Invalid):
    """Query parameters the API cannot read: 400 with a message per parameter."""

    status_code = 400
    title = N_("Requête invalide")


class Unauthorized(AppError):
    """No usable personal token: 401 with `WWW-Authenticate: Bearer` (RFC 6750)."""

    status_code = 401
    title = N_("Authentification nécessaire")


@contextmanager
def cors_on_errors() -> Iterator[None]:
    """Errors carry the CORS headers too (a page on another site must be able to read them),
    and always a `detail` (RFC 9457 readers show it)."""
    try:
        yield
    except AppError as exc:
        exc.headers = {**CORS_HEADERS, **exc.headers}
        if not exc.detail:
            if isinstance(exc, Invalid) and exc.errors:
                exc.detail = " ".join(exc.errors.values())
            else:
                exc.detail = _(exc.title)
        raise


# --- responses ----------------------------------------------------------------------------------


def _etag_matches(if_none_match: str, etag: str) -> bool:
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


def read_response(request: Request, payload: Any) -> Response:
    """A cacheable JSON answer: ETag from the body, 304 when the client already has it."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        **CORS_HEADERS,
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        # Stage labels and some names follow the reader's language.
        "Vary": "Accept-Language, Cookie",
    }
    if _etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    if request.method == "HEAD":
        return Response(media_type="application/json", headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def write_response(payload: Any, status_code: int = 200, location: str | None = None) -> Response:
    headers = {**CORS_HEADERS, "Cache-Control": "no-store"}
    if location:
        headers["Location"] = location
    return JSONResponse(payload, status_code=status_code, headers=headers)


def _base_url(request: Request) -> str:
    return request.app.state.settings.base_url


# --- query parameters ---------------------------------------------------------------------------


def _params(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.query_params.get(name, "") for name in names}


def parse_limit(raw: str | None, errors: dict[str, str]) -> int:
    raw = (raw or "").strip()
    if not raw:
        return DEFAULT_LIMIT
    if raw.isascii() and raw.isdigit() and len(raw) <= 6 and 1 <= int(raw) <= MAX_LIMIT:
        return int(raw)
    errors["limit"] = _(
        "La limite doit être un nombre entier de 1 à %(max)s (par défaut %(default)s).",
        max=MAX_LIMIT,
        default=DEFAULT_LIMIT,
    )
    return DEFAULT_LIMIT


def _bad_cursor_message() -> str:
    return _("Ce curseur n'est pas valable : recommencez depuis la première page, sans curseur.")


def _parse_cursor(raw: str | None, errors: dict[str, str]) -> str:
    cursor = (raw or "").strip()
    if len(cursor) > 200:
        errors["cursor"] = _bad_cursor_message()
        return ""
    return cursor


def _raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise BadRequest(errors, _("Certains paramètres ne sont pas valables."))


# --- reads: needs -------------------------------------------------------------------------------


@router.get(f"{PREFIX}/needs")
@router.head(f"{PREFIX}/needs", include_in_schema=False)
def list_needs(request: Request, session: SessionDep) -> Response:
    with cors_on_errors():
        filters, errors = parse_filters(session, _params(request, NEED_FILTERS))
        limit = parse_limit(request.query_params.get("limit"), errors)
        filters.after = _parse_cursor(request.query_params.get("cursor"), errors)
        _raise_if(errors)
        try:
            page = queries.board_needs(session, filters, per_page=limit)
        except queries.BadCursor:
            _raise_if({"cursor": _bad_cursor_message()})
        next_cursor = page.next_cursor if page.has_next else None
        items = needs_json(session, page.needs, _base_url(request))
        return read_response(request, {"items": items, "next_cursor": next_cursor})


def _visible_need(session: Session, raw_id: str) -> Need:
    need_id = parse_id(raw_id)
    if need_id is None:
        raise NotFound(_("Ce besoin n'existe pas ou n'est plus visible."))
    return get_visible_need(session, need_id)


@router.get(f"{PREFIX}/needs/{{need_id}}")
@router.head(f"{PREFIX}/needs/{{need_id}}", include_in_schema=False)
def get_need(request: Request, session: SessionDep, need_id: str) -> Response:
    with cors_on_errors():
        need = _visible_need(session, need_id)
        return read_response(request, need_json(session, need, _base_url(request)))


# --- reads: ideas -------------------------------------------------------------------------------


@router.get(f"{PREFIX}/ideas")
@router.head(f"{PREFIX}/ideas", include_in_schema=False)
def list_ideas(request: Request, session: SessionDep) -> Response:
    from app.pipeline.models import Idea
    from app.pipeline.queries import parse_idea_filters, public_ideas

    with cors_on_errors():
        filters, errors = parse_idea_filters(session, _params(request, IDEA_FILTERS))
        limit = parse_limit(request.query_params.get("limit"), errors)
        cursor = _parse_cursor(request.query_params.get("cursor"), errors)
        _raise_if(errors)
        statement = public_ideas()
        if filters.stage:
            statement = statement.where(Idea.stage == filters.stage)
        if filters.theme:
            statement = statement.where(Idea.theme_id == filters.theme.id)
        if filters.territory:
            statement = statement.where(Idea.territory_id == filters.territory.id)
        if cursor:
            try:
                statement = cursors.ideas_after(statement, cursor)
            except queries.BadCursor:
                _raise_if({"cursor": _bad_cursor_message()})
        rows = list(
            session.exec(
                statement.order_by(Idea.created_at.desc(), Idea.id.desc()).limit(limit + 1)  # type: ignore[attr-defined]
            )
        )
        page = rows[:limit]
        next_cursor = cursors.encode_idea_cursor(page[-1]) if len(rows) > limit else None
        items = ideas_json(session, page, _base_url(request))
        return read_response(request, {"items": items, "next_cursor": next_cursor})


@router.get(f"{PREFIX}/ideas/{{idea_id}}")
@router.head(f"{PREFIX}/ideas/{{idea_id}}", include_in_schema=False)
def get_idea(request: Request, session: SessionDep, idea_id: str) -> Response:
    from app.pipeline.models import Idea
    from app.pipeline.queries import public_ideas

    with cors_on_errors():
        parsed = parse_id(idea_id)
        idea = (
            session.exec(public_ideas().where(Idea.id == parsed)).first()
            if parsed is not None
            else None
        )
        if idea is None:
            raise NotFound(_("Cette idée n'existe pas ou n'est pas publique."))
        return read_response(request, idea_json(session, idea, _base_url(request)))


# --- reads: reference lists -----------------------------------------------------------------------


@router.get(f"{PREFIX}/themes")
@router.head(f"{PREFIX}/themes", include_in_schema=False)
def list_themes(request: Request, session: SessionDep) -> Response:
    """Every theme, archived ones too (flagged): old needs and partners' codes still use them."""
    with cors_on_errors():
        themes, _territories = queries.categories(session, include_archived=True)
        items = [theme_json(t) for t in themes]
        return read_response(request, {"items": items, "next_cursor": None})


@router.get(f"{PREFIX}/territories")
@router.head(f"{PREFIX}/territories", include_in_schema=False)
def list_territories(request: Request, session: SessionDep) -> Response:
    with cors_on_errors():
        _themes, territories = queries.categories(session, include_archived=True)
        items = [territory_json(t) for t in territories]
        return read_response(request, {"items": items, "next_cursor": None})


# --- writes: who is asking ----------------------------------------------------------------------


def api_writer(request: Request, session: SessionDep) -> User:
    """The account of the personal token in `Authorization: Bearer …`. Never the session
    cookie: 401 without a valid, unrevoked token; 403 with the reason for a blocked account."""
    from app.accounts.service import user_for_api_token

    with cors_on_errors():
        scheme, _sep, raw = request.headers.get("authorization", "").partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not raw:
            raise Unauthorized(
                _(
                    "Cette action demande un jeton d'accès personnel, envoyé dans l'en-tête "
                    "« Authorization: Bearer <jeton> ». Créez-en un depuis votre compte."
                ),
                headers={"WWW-Authenticate": 'Bearer realm="bourse"'},
            )
        user = user_for_api_token(session, raw) if len(raw) <= 200 else None
        if user is None:
            raise Unauthorized(
                _("Ce jeton d'accès n'est pas valable ou a été révoqué."),
                headers={"WWW-Authenticate": 'Bearer realm="bourse", error="invalid_token"'},
            )
        service.ensure_can_participate(user)  # 403 with the reason and the end date
        return user


ApiWriter = Annotated[User, Depends(api_writer)]
JsonBody = Annotated[dict[str, Any], Body()]


def _text(data: dict[str, Any], name: str, errors: dict[str, str]) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = _("Ce champ doit être un texte.")
        return ""
    return value


def _optional_id(data: dict[str, Any], name: str, errors: dict[str, str]) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    parsed = None
    if isinstance(value, int) and not isinstance(value, bool):
        parsed = parse_id(str(value))
    elif isinstance(value, str):
        parsed = parse_id(value)
    if parsed is None:
        errors[name] = _("Cet identifiant n'est pas valable.")
    return parsed


def _idempotency_key(request: Request, user: User, scope: str) -> str | None:
    """`Idempotency-Key`: the same key sent twice by one account creates one item (the
    forms' submission key), scoped to the account so nobody can collide with another."""
    key = request.headers.get("idempotency-key", "").strip()[:200]
    if not key:
        return None
    return hashlib.sha256(f"api:{scope}:{user.id}:{key}".encode()).hexdigest()


def _rate_limits(request: Request) -> bool:
    return request.app.state.settings.rate_limits == "on"


# --- writes -------------------------------------------------------------------------------------


@router.post(f"{PREFIX}/needs", status_code=201)
def create_need(request: Request, session: SessionDep, user: ApiWriter, data: JsonBody) -> Response:
    with cors_on_errors():
        errors: dict[str, str] = {}
        values = {f: _text(data, f, errors) for f in ("title", "body", "theme", "territory")}
        if errors:
            raise Invalid(errors, _("Certains champs sont invalides."))
        need = service.create_need(
            session,
            user,
            service.NeedInput(**values),
            submission_key=_idempotency_key(request, user, "need"),
            ip=client_ip(request),
            rate_limits=_rate_limits(request),
        )
        payload = need_json(session, need, _base_url(request))
        return write_response(payload, 201, location=f"{PREFIX}/needs/{need.id}")


def _support_answer(need: Need, supported: bool) -> Response:
    return write_response(
        {"need_id": need.id, "supported": supported, "supports": need.supports_count}
    )


@router.put(f"{PREFIX}/needs/{{need_id}}/support")
def put_support(request: Request, session: SessionDep, user: ApiWriter, need_id: str) -> Response:
    """« Moi aussi »: idempotent, supporting twice counts once."""
    with cors_on_errors():
        need = _visible_need(session, need_id)
        check_rate(
            session,
            "support",
            user_id=user.id,
            ip=client_ip(request),
            enabled=_rate_limits(request),
        )
        supports.add_support(session, need, user)
        return _support_answer(need, True)


@router.delete(f"{PREFIX}/needs/{{need_id}}/support")
def delete_support(
    request: Request, session: SessionDep, user: ApiWriter, need_id: str
) -> Response:
    """Withdraws the support: idempotent, withdrawing twice changes nothing."""
    with cors_on_errors():
        need = _visible_need(session, need_id)
        check_rate(
            session,
            "support",
            user_id=user.id,
            ip=client_ip(request),
            enabled=_rate_limits(request),
        )
        supports.remove_support(session, need, user)
        return _support_answer(need, False)


@router.post(f"{PREFIX}/needs/{{need_id}}/comments", status_code=201)
def create_comment(
    request: Request, session: SessionDep, user: ApiWriter, need_id: str, data: JsonBody
) -> Response:
    with cors_on_errors():
        need = _visible_need(session, need_id)
        errors: dict[str, str] = {}
        body = _text(data, "body", errors)
        parent_id = _optional_id(data, "parent_id", errors)
        if errors:
            raise Invalid(errors, _("Certains champs sont invalides."))
        comment = post_comment(
            session,
            need,
            user,
            body,
            parent_id=parent_id,
            submission_key=_idempotency_key(request, user, "comment"),
            ip=client_ip(request),
            settings=request.app.state.settings,
        )
        payload = comment_json(comment, need, user.display_name, _base_url(request))
        return write_response(payload, 201)


@router.post(f"{PREFIX}/reports", status_code=201)
def create_report(
    request: Request, session: SessionDep, user: ApiWriter, data: JsonBody
) -> Response:
    with cors_on_errors():
        errors: dict[str, str] = {}
        kind = _text(data, "kind", errors)
        reason = _text(data, "reason", errors)
        detail = _text(data, "detail", errors)
        raw_id = data.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, (int, str)):
            errors["id"] = _("Indiquez l'identifiant du contenu à signaler.")
        if errors:
            raise Invalid(errors, _("Certains champs sont invalides."))
        target_kind, target_id = reports.parse_target(kind, str(raw_id))
        subject = reports.load_subject(session, user, target_kind, target_id)
        report = reports.create_report(
            session,
            user,
            subject,
            reason=reason,
            detail=detail,
            ip=client_ip(request),
            rate_limits=_rate_limits(request),
        )
        payload = {
            "id": report.id,
            "kind": target_kind.value,
            "target_id": target_id,
            "reason": report.reason,
            "status": report.status,
        }
        return write_response(payload, 201)


# --- CORS preflight -----------------------------------------------------------------------------


@router.options(f"{PREFIX}/{{rest:path}}", include_in_schema=False)
def preflight(rest: str) -> Response:
    return Response(status_code=204, headers=CORS_HEADERS)


# --- documentation ------------------------------------------------------------------------------

_COUNTED = "counted once control characters are removed and spaces trimmed"
# An id in a body: a number, or its digits as a string (both are read).
_ID: dict[str, Any] = {
    "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^[0-9]+$"}]
}

NEED_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "title": "Un service de transport solidaire pour les rendez-vous médicaux",
    "url": "https://bourse.example.org/needs/42-un-service-de-transport-solidaire",
    "excerpt": "Beaucoup de personnes âgées de Mérignac renoncent à des soins faute de…",
    "body_html": "<p>Beaucoup de personnes âgées de Mérignac renoncent à des soins…</p>",
    "theme": {"slug": "mobilite", "name": "Mobilité"},
    "territory": {"slug": "merignac", "name": "Mérignac"},
    "supports": 17,
    "comments": 4,
    "status": "published",
    "idea": {
        "id": 7,
        "url": "https://bourse.example.org/ideas/7-transport-solidaire",
        "stage": "studying",
    },
    "author": {"display_name": "Camille"},
    "created_at": "2026-10-02T09:15:00+00:00",
    "updated_at": "2026-10-03T18:40:12+00:00",
}
IDEA_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "title": "Transport solidaire",
    "url": "https://bourse.example.org/ideas/7-transport-solidaire",
    "summary_html": "<p>Des chauffeurs bénévoles et salariés en insertion…</p>",
    "stage": "studying",
    "stage_label": "À l'étude",
    "theme": {"slug": "mobilite", "name": "Mobilité"},
    "territory": {"slug": "merignac", "name": "Mérignac"},
    "needs": 3,
    "supports": 41,
    "carrier_call_open": False,
    "enterprise": None,
    "stage_changed_at": "2026-10-20T10:00:00+00:00",
    "created_at": "2026-10-10T08:00:00+00:00",
    "updated_at": "2026-10-20T10:00:00+00:00",
}
PROBLEM_EXAMPLE: dict[str, Any] = {
    "type": "about:blank",
    "title": "Requête invalide",
    "status": 400,
    "detail": "Certains paramètres ne sont pas valables.",
    "errors": {"limit": "La limite doit être un nombre entier de 1 à 100 (par défaut 20)."},
}
CATEGORY_EXAMPLE = {
    "slug": "mobilite",
    "name": "Mobilité",
    "name_en": "Mobility",
    "archived": False,
}

_LIMIT = ("limit", N_("Nombre d'éléments par page, de 1 à 100 (20 par défaut)."), "20")
_CURSOR = (
    "cursor",
    N_("La valeur next_cursor de la page précédente ; absent pour la première page."),
    "",
)
_THEME = ("theme", N_("Slug d'une thématique (voir /api/v1/themes)."), "mobilite")
_TERRITORY = ("territory", N_("Slug d'un territoire (voir /api/v1/territories)."), "merignac")

# (method, path) → what the docs page and the OpenAPI description say about it.
ENDPOINTS: list[dict[str, Any]] = [
    {
        "method": "GET",
        "path": f"{PREFIX}/needs",
        "summary": N_("Liste des besoins publics"),
        "description": N_(
            "Les besoins visibles sur le site, avec les filtres du tableau. La pagination par "
            "curseur ne répète ni ne saute aucun besoin, même si d'autres sont publiés entre "
            "deux pages."
        ),
        "params": [
            ("sort", N_("Tri : recent (défaut), top, trending ou discussed."), "recent"),
            _THEME,
            _TERRITORY,
            ("status", N_("open (besoins ouverts) ou covered (déjà couverts)."), "open"),
            ("q", N_("Recherche plein texte dans les titres et descriptions."), "transport"),
            _LIMIT,
            _CURSOR,
        ],
        "example": {
            "items": [NEED_EXAMPLE],
            "next_cursor": "WyIyMDI2LTEwLTAyVDA5OjE1OjAwKzAwOjAwIiw0Ml0",
        },
    },
    {
        "method": "GET",
        "path": f"{PREFIX}/needs/{{need_id}}",
        "summary": N_("Un besoin public"),
        "description": N_("404 si le besoin n'existe pas ou n'est pas public."),
        "params": [],
        "example": NEED_EXAMPLE,
    },
    {
        "method": "GET",
        "path": f"{PREFIX}/ideas",
        "summary": N_("Liste des idées publiques"),
        "description": N_(
            "Les idées que la fabrique a rendues publiques, les plus récentes d'abord."
        ),
        "params": [
            (
                "stage",
                N_(
                    "Étape : detected, studying, seeking_carrier, launching, launched ou abandoned."
                ),
                "studying",
            ),
            _THEME,
            _TERRITORY,
            _LIMIT,
            _CURSOR,
        ],
        "example": {"items": [IDEA_EXAMPLE], "next_cursor": None},
    },
    {
        "method": "GET",
        "path": f"{PREFIX}/ideas/{{idea_id}}",
        "summary": N_("Une idée publique"),
        "description": N_("404 si l'idée n'existe pas ou n'est pas publique."),
        "params": [],
        "example": IDEA_EXAMPLE,
    },
    {
        "method": "GET",
        "path": f"{PREFIX}/themes",
        "summary": N_("Les thématiques"),
        "description": N_("Toutes les thématiques ; les archivées restent utilisables en filtre."),
        "params": [],
        "example": {"items": [CATEGORY_EXAMPLE], "next_cursor": None},
    },
    {
        "method": "GET",
        "path": f"{PREFIX}/territories",
        "summary": N_("Les territoires"),
        "description": N_("Tous les territoires ; les archivés restent utilisables en filtre."),
        "params": [],
        "example": {
            "items": [{"slug": "merignac", "name": "Mérignac", "name_en": None, "archived": False}],
            "next_cursor": None,
        },
    },
    {
        "method": "GET",
        "path": f"{PREFIX}/stats",
        "summary": N_("Les chiffres de l'impact"),
        "description": N_("Les chiffres de la page Impact (filtres year et territory)."),
        "params": [
            ("year", N_("Une année, par exemple 2026."), "2026"),
            _TERRITORY,
        ],
        "example": {
            "ideas": {
                "detected": 110,
                "studied": 54,
                "carrier_found": 14,
                "launched": 10,
                "abandoned": 31,
            },
            "enterprises": 10,
            "jobs": 40,
            "ideas_from_board": 17,
            "board_share": 0.15,
            "needs": 412,
            "supports": 3870,
            "comments": 655,
            "filters": {"year": 2026, "territory": {"slug": "merignac", "name": "Mérignac"}},
        },
    },
    {
        "method": "POST",
        "path": f"{PREFIX}/needs",
        "summary": N_("Proposer un besoin"),
        "description": N_(
            "Mêmes règles que le formulaire : validation, modération (le besoin peut être "
            "« pending » en attendant sa relecture) et limites anti-abus. Un en-tête "
            "Idempotency-Key évite les doublons en cas de nouvel envoi."
        ),
        "auth": True,
        "params": [],
        "request_schema": {
            "type": "object",
            "required": ["title"],
            "properties": {
                # Lengths in words, not minLength / maxLength: they are counted once control
                # characters are removed and spaces collapsed, which a schema cannot say.
                "title": {
                    "type": "string",
                    "description": f"{TITLE_MIN} to {TITLE_MAX} characters, {_COUNTED}",
                },
                "body": {
                    "type": ["string", "null"],
                    "description": f"at most {NEED_BODY_MAX} characters, {_COUNTED}",
                },
                "theme": {"type": ["string", "null"], "description": "slug (GET /api/v1/themes)"},
                "territory": {
                    "type": ["string", "null"],
                    "description": "slug (GET /api/v1/territories)",
                },
            },
        },
        "request": {
            "title": "Un service de transport solidaire pour les rendez-vous médicaux",
            "body": "Beaucoup de personnes âgées renoncent à des soins faute de transport.",
            "theme": "mobilite",
            "territory": "merignac",
        },
        "example": {**NEED_EXAMPLE, "status": "pending", "supports": 1, "comments": 0},
    },
    {
        "method": "PUT",
        "path": f"{PREFIX}/needs/{{need_id}}/support",
        "summary": N_("Soutenir un besoin (« Moi aussi »)"),
        "description": N_("Idempotent : soutenir deux fois compte une seule fois."),
        "auth": True,
        "params": [],
        "example": {"need_id": 42, "supported": True, "supports": 18},
    },
    {
        "method": "DELETE",
        "path": f"{PREFIX}/needs/{{need_id}}/support",
        "summary": N_("Retirer son soutien"),
        "description": N_("Idempotent : sans soutien, ne change rien."),
        "auth": True,
        "params": [],
        "example": {"need_id": 42, "supported": False, "supports": 17},
    },
    {
        "method": "POST",
        "path": f"{PREFIX}/needs/{{need_id}}/comments",
        "summary": N_("Commenter un besoin"),
        "description": N_(
            "Un commentaire, ou une réponse avec parent_id. Il peut être « pending » s'il "
            "attend la modération."
        ),
        "auth": True,
        "params": [],
        "request_schema": {
            "type": "object",
            "required": ["body"],
            "properties": {
                "body": {
                    "type": "string",
                    "description": f"1 to {COMMENT_BODY_MAX} characters, {_COUNTED}",
                },
                "parent_id": {"anyOf": [_ID, {"type": "null"}]},
            },
        },
        "request": {"body": "Je connais une association qui pourrait aider.", "parent_id": None},
        "example": {
            "id": 310,
            "need_id": 42,
            "parent_id": None,
            "url": "https://bourse.example.org/needs/42-un-service-de-transport-solidaire#comment-310",
            "status": "published",
            "body_html": "<p>Je connais une association qui pourrait aider.</p>",
            "author": {"display_name": "Camille"},
            "created_at": "2026-10-04T12:00:00+00:00",
        },
    },
    {
        "method": "POST",
        "path": f"{PREFIX}/reports",
        "summary": N_("Signaler un contenu"),
        "description": N_(
            "kind : need, comment ou user ; reason : spam, abusive, personal_data, off_topic "
            "ou other (avec detail)."
        ),
        "auth": True,
        "params": [],
        "request_schema": {
            "type": "object",
            "required": ["kind", "id", "reason"],
            "properties": {
                "kind": {"type": "string", "enum": [k.value for k in ReportTarget]},
                "id": _ID,
                "reason": {"type": "string", "enum": [r.value for r in ReportReason]},
                "detail": {
                    "type": ["string", "null"],
                    "description": f"at most {reports.DETAIL_MAX_LENGTH} characters, {_COUNTED}",
                },
            },
        },
        "request": {"kind": "need", "id": 42, "reason": "spam", "detail": ""},
        "example": {"id": 5, "kind": "need", "target_id": 42, "reason": "spam", "status": "open"},
    },
]


def _api_routes(request: Request) -> list[Any]:
    """The /api/v1 routes of the app (included routers flattened), docs routes excepted."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before routers were included lazily
        candidates: list[Any] = list(request.app.routes)
    else:
        candidates = list(iter_route_contexts(request.app.routes))
    return [
        r
        for r in candidates
        if (getattr(r, "path", None) or "").startswith(PREFIX + "/")
        and getattr(r, "include_in_schema", True)
    ]


def openapi_document(request: Request) -> dict[str, Any]:
    """The OpenAPI 3.1 description of /api/v1, with parameters and examples from ENDPOINTS."""
    schema = get_openapi(
        title=_("Bourse à initiatives — API"),
        version="1.0.0",
        description=_(
            "Les besoins et les idées publics en JSON. Lecture libre (CORS pour toute origine, "
            "ETag, Cache-Control) ; écriture avec un jeton d'accès personnel "
            "(Authorization: Bearer). Erreurs au format application/problem+json."
        ),
        routes=_api_routes(request),
        servers=[{"url": _base_url(request)}],
    )
    for operations in schema.get("paths", {}).values():
        operations.pop("options", None)  # CORS preflights are not operations
        operations.pop("head", None)  # every GET answers HEAD too
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": _("Jeton d'accès personnel")}
    }
    problem = {
        "application/problem+json": {
            "schema": {"type": "object"},
            "example": PROBLEM_EXAMPLE,
        }
    }
    for endpoint in ENDPOINTS:
        operation = (
            schema.get("paths", {}).get(endpoint["path"], {}).get(endpoint["method"].lower())
        )
        if operation is None:
            continue
        # Through variables: a literal key inside _() would be extracted as a message.
        summary, description = endpoint["summary"], endpoint["description"]
        operation["summary"] = _(summary)
        operation["description"] = _(description)
        parameters = [p for p in operation.get("parameters", []) if p.get("in") == "path"]
        for name, text, example in endpoint["params"]:
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": False,
                "description": _(text),
                "schema": (
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}
                    if name == "limit"
                    else {"type": "string"}
                ),
            }
            if name == "limit":
                parameter["allowEmptyValue"] = True  # `limit=` is the default, as a form sends
            if example:
                parameter["example"] = int(example) if name == "limit" else example
            parameters.append(parameter)
        for parameter in parameters:
            if parameter.get("in") == "path":
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["example"] = 42
        if parameters:
            operation["parameters"] = parameters
        if "request" in endpoint:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": endpoint.get("request_schema", {"type": "object"}),
                        "example": endpoint["request"],
                    }
                },
            }
        responses: dict[str, Any] = {}
        ok = "201" if endpoint["method"] == "POST" else "200"
        if endpoint["example"] is not None:
            responses[ok] = {
                "description": _("Réponse"),
                "content": {"application/json": {"example": endpoint["example"]}},
            }
        else:
            responses[ok] = {"description": _("Réponse")}
        if endpoint["method"] == "GET":
            responses["304"] = {"description": _("Inchangé depuis l'ETag envoyé (If-None-Match)")}
            responses["400"] = {"description": _("Paramètre invalide"), "content": problem}
        else:
            operation["security"] = [{"bearer": []}]
            responses["401"] = {
                "description": _("Jeton absent, invalide ou révoqué"),
                "content": problem,
            }
            responses["400"] = {"description": _("Corps de requête illisible"), "content": problem}
            responses["403"] = {
                "description": _(
                    "Compte bloqué, ou action non permise (signaler son propre contenu…)"
                ),
                "content": problem,
            }
            responses["422"] = {"description": _("Données invalides"), "content": problem}
            responses["429"] = {"description": _("Trop de requêtes"), "content": problem}
        if endpoint["path"].endswith("/support"):
            # A merge, hiding or deletion committed while the request was running.
            responses["409"] = {
                "description": _("Le besoin a changé pendant la requête : relisez-le"),
                "content": problem,
            }
        if "{" in endpoint["path"] or endpoint["path"].endswith("/reports"):
            responses["404"] = {"description": _("Introuvable ou non public"), "content": problem}
        if endpoint["path"].endswith("/reports"):
            responses["409"] = {
                "description": _("Ce contenu a déjà été signalé par ce compte"),
                "content": problem,
            }
        operation["responses"] = responses
    return schema


@router.get(f"{PREFIX}/openapi.json", include_in_schema=False)
def openapi_json(request: Request) -> Response:
    return read_response(request, openapi_document(request))


def _example_call(request: Request, endpoint: dict[str, Any]) -> str:
    path = endpoint["path"].replace("{need_id}", "42").replace("{idea_id}", "7")
    url = _base_url(request) + path
    query = [f"{name}={example}" for name, _text, example in endpoint["params"] if example][:2]
    if query:
        url += "?" + "&".join(query)
    lines = [f"curl -X {endpoint['method']} '{url}'"]
    if endpoint.get("auth"):
        lines.append("  -H 'Authorization: Bearer bourse_…'")
    if "request" in endpoint:
        lines.append("  -H 'Content-Type: application/json'")
        lines.append("  -d '" + json.dumps(endpoint["request"], ensure_ascii=False) + "'")
    return " \\\n".join(lines)


_VERIFY_PYTHON = """import hashlib, hmac, time

def signature_is_valid(secret: str, header: str, body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(","))
    if abs(time.time() - int(parts["t"])) > 300:  # refuse replays
        return False
    signed = parts["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])"""

_VERIFY_PHP = """<?php
// WordPress ou PHP : $body = file_get_contents('php://input');
function bourse_signature_is_valid(string $secret, string $header, string $body): bool {
    parse_str(str_replace(',', '&', $header), $parts);
    if (abs(time() - (int) $parts['t']) > 300) return false;
    $expected = hash_hmac('sha256', $parts['t'] . '.' . $body, $secret);
    return hash_equals($expected, $parts['v1'] ?? '');
}"""


def _webhooks_docs() -> dict[str, Any]:
    from app.syndication import webhooks

    example = {
        "id": "5f0c6a9e-2b7e-4d55-9a55-0d1c2f6b8e41",
        "event": "need.published",
        "created_at": "2026-10-02T09:15:00.000000+00:00",
        "site": "https://bourse.example.org",
        "data": {"need": NEED_EXAMPLE},
    }
    request_lines = [
        "POST https://partenaire.example/bourse-webhook",
        "Content-Type: application/json; charset=utf-8",
        f"{webhooks.EVENT_HEADER}: need.published",
        f"{webhooks.DELIVERY_HEADER}: 5f0c6a9e-2b7e-4d55-9a55-0d1c2f6b8e41",
        f"{webhooks.SIGNATURE_HEADER}: t=1790000000,v1=3b9f…",
        "",
        json.dumps(example, ensure_ascii=False, indent=2),
    ]
    return {
        "title": _("Webhooks : être prévenu des changements"),
        "intro": _(
            "L'équipe de la fabrique peut enregistrer l'adresse HTTPS de votre site pour qu'il "
            "reçoive un appel POST en JSON à chaque événement choisi, plutôt que d'interroger "
            "l'API. Demandez-le à l'équipe : elle vous donnera le secret qui signe les appels."
        ),
        "events_caption": _("Événements"),
        "events": [
            ("need.published", _("Un besoin vient d'être publié (data.need).")),
            (
                "need.status_changed",
                _(
                    "Le statut public d'un besoin a changé (data.need, data.previous_status) : "
                    "déjà couvert, masqué, fusionné, supprimé…"
                ),
            ),
            (
                "idea.stage_changed",
                _(
                    "Une idée publique est passée à une autre étape (data.idea, "
                    "data.previous_stage)."
                ),
            ),
            (
                "idea.published",
                _(
                    "Une idée est devenue publique : créée publique ou rendue publique par "
                    "l'équipe (data.idea)."
                ),
            ),
            (
                "idea.unpublished",
                _(
                    "Une idée publique a été retirée du public : retirez-la aussi "
                    "(data.idea ne contient que son identifiant)."
                ),
            ),
            ("comment.published", _("Un commentaire a été publié (data.comment, data.need).")),
            ("ping", _("Un essai envoyé depuis la page de l'équipe.")),
        ],
        "request_title": _("Exemple d'appel reçu"),
        "request": "\n".join(request_lines),
        "privacy": _(
            "Les données ont la même forme que dans l'API. Rien de caché n'est envoyé : un "
            "besoin qui n'est plus public n'est décrit que par son identifiant et son statut, "
            "une idée retirée du public par son seul identifiant, et les idées non publiques "
            "ne donnent lieu à aucun autre appel."
        ),
        "verify_title": _("Vérifier la signature"),
        "verify": _(
            "L'en-tête {header} contient t (l'heure d'envoi, en secondes Unix) et v1, le "
            "HMAC-SHA256 en hexadécimal, avec votre secret, du texte « t.corps » où corps est "
            "le corps brut reçu. Refusez les appels dont la signature ne correspond pas ou dont "
            "t a plus de cinq minutes. L'identifiant {delivery} reste le même à chaque nouvel "
            "essai : il permet d'ignorer un événement déjà traité."
        ).format(header=webhooks.SIGNATURE_HEADER, delivery=webhooks.DELIVERY_HEADER),
        "python": _VERIFY_PYTHON,
        "php": _VERIFY_PHP,
        "retries": _(
            "Répondez par un code 2xx dans les 10 secondes. Sinon (erreur, délai dépassé, "
            "redirection), l'envoi est retenté plus tard, à intervalles croissants : dix "
            "essais en tout, sur environ huit heures et demie."
        ),
    }


@router.get(f"{PREFIX}/docs", include_in_schema=False)
def docs_page(request: Request) -> HTMLResponse:
    from app.web.templating import environment, page_context

    endpoints = [
        {
            "anchor": f"{e['method'].lower()}-"
            + e["path"].strip("/").replace("/", "-").replace("{", "").replace("}", ""),
            "method": e["method"],
            "path": e["path"],
            "summary": _(e["summary"]),
            "description": _(e["description"]),
            "auth": e.get("auth", False),
            "params": [{"name": n, "text": _(t), "example": x} for n, t, x in e["params"]],
            "call": _example_call(request, e),
            "response": json.dumps(e["example"], ensure_ascii=False, indent=2)
            if e["example"] is not None
            else "",
        }
        for e in ENDPOINTS
    ]
    context = {
        **page_context(request),
        "intro": _(
            "Les besoins et les idées publics de la Bourse à initiatives, en JSON, pour vos "
            "sites et applications. La lecture est libre : aucune clé n'est nécessaire, et "
            "les réponses peuvent être lues depuis n'importe quel site (CORS)."
        ),
        "auth_note": _(
            "Pour écrire (proposer un besoin, soutenir, commenter, signaler), créez un jeton "
            "d'accès personnel depuis votre compte et envoyez-le dans l'en-tête "
            "« Authorization: Bearer <jeton> ». Le cookie de session du navigateur ne suffit pas."
        ),
        "errors_note": _(
            'Les listes répondent {"items": [...], "next_cursor": ...} : passez '
            "next_cursor dans le paramètre cursor pour la page suivante ; null signifie la "
            "dernière page. Les erreurs sont au format application/problem+json, avec un "
            "message par champ dans « errors »."
        ),
        "endpoints": endpoints,
        "webhooks": _webhooks_docs(),
        "labels": {
            "title": _("API de la Bourse à initiatives"),
            "openapi": _("Description OpenAPI (openapi.json)"),
            "toc": _("Points d'accès"),
            "auth": _("jeton d'accès personnel nécessaire"),
            "params": _("Paramètres"),
            "name": _("Nom"),
            "meaning": _("Signification"),
            "example": _("Exemple"),
            "call": _("Exemple d'appel"),
            "response": _("Exemple de réponse"),
        },
    }
    body = environment.get_template("syndication/api_docs.html").render(context)
    return HTMLResponse(body, headers={"Cache-Control": "public, max-age=300"})


__all__ = ["ENDPOINTS", "api_writer", "router"]


# --- anything else under /api/ (registered last: every real route matches first) --------------


def _route_patterns(app: Any) -> list[tuple[Any, set[str]]]:
    """(compiled path, methods) of every route of the app but the catch-alls, once per app.
    FastAPI 0.16x keeps included routers' routes behind an object of their own."""
    cached = getattr(app.state, "api_route_patterns", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    from fastapi.routing import APIRoute
    from starlette.routing import compile_path

    entries: list[tuple[str, set[str]]] = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            entries.append((route.path, set(route.methods)))
        elif hasattr(route, "effective_route_contexts"):
            entries.extend((c.path, set(c.methods or ())) for c in route.effective_route_contexts())
    patterns = [
        (compile_path(path)[0], methods) for path, methods in entries if "{rest:path}" not in path
    ]
    app.state.api_route_patterns = patterns
    return patterns


@router.api_route(
    f"{PREFIX}/{{rest:path}}",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
def unknown_endpoint(request: Request, rest: str) -> Response:
    """404 problem+json with CORS for an address the API does not have; 405 (with Allow) when
    the address exists for other methods. Without this, the preflight route above (any path,
    OPTIONS) made Starlette answer 405 to every unknown address."""
    path = request.url.path
    allowed: set[str] = set()
    for pattern, methods in _route_patterns(request.app):
        if pattern.match(path):
            allowed |= methods
    with cors_on_errors():
        if allowed:
            raise MethodNotAllowed(sorted(allowed | {"OPTIONS"}))
        raise NotFound(
            _("Cette adresse n'existe pas dans l'API : voir %(docs)s.", docs=f"{PREFIX}/docs")
        )
