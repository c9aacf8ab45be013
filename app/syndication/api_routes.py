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
routes, the ENDPOINTS table of app.syndication.api_docs and the shapes of
app.syndication.api_schemas, so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import Session

from app.accounts.models import User
from app.board import queries, reports, service, supports
from app.board.comments import post_comment
from app.board.filters import parse_filters
from app.board.models import Need
from app.board.queries import get_visible_need
from app.core.ratelimit import check_rate
from app.syndication import api_docs, cursors
from app.syndication.api_schemas import DEFAULT_LIMIT, MAX_LIMIT, PREFIX
from app.syndication.serialize import (
    comment_json,
    idea_json,
    ideas_json,
    need_json,
    needs_json,
    territory_json,
    theme_json,
)
from app.web.conditional import API_CORS, json_response, preflight_response
from app.web.deps import SessionDep
from app.web.errors import AppError, Invalid, MethodNotAllowed, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import parse_id
from app.web.security import client_ip

router = APIRouter()

CACHE_CONTROL = "public, max-age=60"
NEED_FILTERS = ("sort", "theme", "territory", "status", "answer", "stage", "q")
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
        exc.headers = {**API_CORS, **exc.headers}
        if not exc.detail:
            if isinstance(exc, Invalid) and exc.errors:
                exc.detail = " ".join(exc.errors.values())
            else:
                exc.detail = _(exc.title)
        raise


# --- responses ----------------------------------------------------------------------------------


def read_response(request: Request, payload: Any) -> Response:
    """A cacheable JSON answer: ETag from the body, 304 when the client already has it."""
    # Stage labels and some names follow the reader's language.
    vary = "Accept-Language, Cookie"
    return json_response(request, payload, cache_control=CACHE_CONTROL, cors=API_CORS, vary=vary)


def write_response(payload: Any, status_code: int = 200, location: str | None = None) -> Response:
    headers = {**API_CORS, "Cache-Control": "no-store"}
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
    from app.pipeline.queries import filtered_public_ideas, parse_idea_filters

    with cors_on_errors():
        filters, errors = parse_idea_filters(session, _params(request, IDEA_FILTERS))
        limit = parse_limit(request.query_params.get("limit"), errors)
        cursor = _parse_cursor(request.query_params.get("cursor"), errors)
        _raise_if(errors)
        statement = filtered_public_ideas(filters.stage, filters.theme, filters.territory)
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
    return _set_support(request, session, user, need_id, True)


@router.delete(f"{PREFIX}/needs/{{need_id}}/support")
def delete_support(
    request: Request, session: SessionDep, user: ApiWriter, need_id: str
) -> Response:
    """Withdraws the support: idempotent, withdrawing twice changes nothing."""
    return _set_support(request, session, user, need_id, False)


def _set_support(
    request: Request, session: SessionDep, user: User, need_id: str, want: bool
) -> Response:
    with cors_on_errors():
        need = _visible_need(session, need_id)
        check_rate(
            session,
            "support",
            user_id=user.id,
            ip=client_ip(request),
            enabled=_rate_limits(request),
        )
        if want:
            supports.add_support(session, need, user)
        else:
            supports.remove_support(session, need, user)
        return _support_answer(need, want)


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
    return preflight_response(API_CORS)


# --- documentation (app.syndication.api_docs) --------------------------------------------------


@router.get(f"{PREFIX}/openapi.json", include_in_schema=False)
def openapi_json(request: Request) -> Response:
    return read_response(request, api_docs.openapi_document(request.app.routes, _base_url(request)))


@router.get(f"{PREFIX}/docs", include_in_schema=False)
def docs_page(request: Request) -> HTMLResponse:
    from app.web.templating import environment, page_context

    context = {**page_context(request), **api_docs.docs_context(_base_url(request))}
    body = environment.get_template("syndication/api_docs.html").render(context)
    return HTMLResponse(body, headers={"Cache-Control": "public, max-age=300"})


__all__ = ["api_writer", "router"]


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
