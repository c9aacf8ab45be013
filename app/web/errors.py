"""Typed errors raised by services and routes, and the one handler that renders them.

Under /api/ errors are application/problem+json (RFC 9457); elsewhere a French (or English)
HTML page, or for a form a 422 re-render done by the route itself. Nothing ever shows a stack
trace to the visitor.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

log = logging.getLogger(__name__)


class AppError(Exception):
    status_code = 400
    title = N_("Requête invalide")

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(detail or "")
        self.detail = detail
        self.headers = headers or {}


class NotFound(AppError):
    status_code = 404
    title = N_("Page introuvable")


class Forbidden(AppError):
    status_code = 403
    title = N_("Accès refusé")


class CsrfFailed(Forbidden):
    title = N_("Vérification de sécurité échouée")


class Conflict(AppError):
    status_code = 409
    title = N_("Conflit")


class MethodNotAllowed(AppError):
    status_code = 405
    title = N_("Méthode non autorisée")

    def __init__(self, allowed: list[str]):
        super().__init__(
            _("Cette adresse accepte seulement : %(methods)s.", methods=", ".join(allowed)),
            headers={"Allow": ", ".join(allowed)},
        )


class TooManyRequests(AppError):
    status_code = 429
    title = N_("Trop de tentatives")

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


def wait_minutes(retry_after: int) -> int:
    """Seconds to wait, said in whole minutes (rounded up, at least one)."""
    return max(1, (retry_after + 59) // 60)


def too_many_writes(retry_after: int) -> TooManyRequests:
    """A write over a rate limit (app.core.ratelimit, which raises what create_app() gives it)."""
    minutes = wait_minutes(retry_after)
    return TooManyRequests(
        _(
            "Vous êtes allé·e un peu vite : par précaution, cette action est limitée. "
            "Réessayez dans %(minutes)s minute(s).",
            minutes=minutes,
        ),
        retry_after=retry_after,
    )


class Invalid(AppError):
    """Per-field validation errors: {field: message}."""

    status_code = 422
    title = N_("Données invalides")

    def __init__(self, errors: dict[str, str], detail: str | None = None):
        super().__init__(detail)
        self.errors = errors


class LoginRequired(AppError):
    status_code = 401
    title = N_("Connexion nécessaire")


def _wants_problem_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _api_headers(headers: dict[str, str] | None) -> dict[str, str]:
    """Every API error carries the CORS headers (a partner's page must read why it failed),
    whichever handler answers: a route's own error, a malformed body, an unknown address."""
    from app.web.cors import CORS_HEADERS

    return {**CORS_HEADERS, **(headers or {})}


def problem_response(
    status: int,
    title: str,
    detail: str | None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra or {})
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


# Titles and default explanations per status, marked for extraction (N_) and translated
# at render time.
_STATUS_TEXT = {
    400: (N_("Requête invalide"), N_("La requête n'a pas pu être comprise.")),
    401: (N_("Connexion nécessaire"), N_("Connectez-vous pour continuer.")),
    403: (N_("Accès refusé"), N_("Vous n'avez pas le droit de faire cette action.")),
    404: (N_("Page introuvable"), N_("Cette page n'existe pas ou plus. Vérifiez l'adresse.")),
    405: (N_("Méthode non autorisée"), N_("Cette adresse n'accepte pas ce type de requête.")),
    408: (
        N_("Délai dépassé"),
        N_("La requête est arrivée trop lentement et a été interrompue. Réessayez."),
    ),
    409: (N_("Conflit"), N_("Cette action entre en conflit avec une autre modification.")),
    413: (N_("Envoi trop volumineux"), N_("Le contenu envoyé dépasse la taille autorisée.")),
    414: (N_("Adresse trop longue"), N_("L'adresse demandée dépasse la longueur autorisée.")),
    431: (
        N_("En-têtes trop volumineux"),
        N_("Les en-têtes de la requête dépassent la taille autorisée."),
    ),
    422: (N_("Données invalides"), N_("Certaines informations envoyées ne sont pas valables.")),
    429: (N_("Trop de tentatives"), N_("Veuillez patienter avant de réessayer.")),
    500: (
        N_("Erreur interne"),
        N_("Une erreur inattendue s'est produite. L'équipe a été prévenue."),
    ),
    503: (
        N_("Service indisponible"),
        N_("Le service est momentanément indisponible. Réessayez bientôt."),
    ),
}


def status_text(status: int) -> tuple[str, str]:
    """A status's title and explanation, in the current locale (what its error page says)."""
    title, detail = _STATUS_TEXT.get(status, _STATUS_TEXT[400])
    return _(title), _(detail)


def error_page(
    request: Request,
    status: int,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    title: str | None = None,
) -> Response:
    from app.web.templating import render  # late import: templating imports settings state

    default_title, default_detail = _STATUS_TEXT.get(status, _STATUS_TEXT[400])
    title = title or default_title
    if _wants_problem_json(request):
        return problem_response(
            status, _(title), detail or _(default_detail), headers=_api_headers(headers)
        )
    try:
        from app.web.deps import load_user

        load_user(request)
    except Exception:  # the error page must render even when the database is down
        log.debug("could not load the user for an error page", exc_info=True)
        request.state.user = None
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": _(title), "detail": detail or _(default_detail)},
        status_code=status,
        headers=headers,
    )


def _error_key(err: Any) -> str:
    # A JSON syntax error's location is (body, character offset): the field is the body itself.
    if err.get("type") == "json_invalid":
        return "body"
    return ".".join(str(p) for p in err["loc"][1:]) or "body"


def _error_message(err: Any) -> str:
    kind = err.get("type")
    if kind == "json_invalid":
        return _("Le corps de la requête n'est pas du JSON valable.")
    if err["loc"][1:] == () and kind == "missing":
        return _("Le corps de la requête est vide : envoyez un objet JSON.")
    if err["loc"][1:] == () and kind in ("dict_type", "model_attributes_type"):
        return _("Le corps de la requête doit être un objet JSON.")
    return _("Valeur invalide.")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if _wants_problem_json(request):
            return problem_response(401, _(exc.title), exc.detail, headers=_api_headers(None))
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/account/login?next={quote(target)}", status_code=303)

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        if _wants_problem_json(request):
            extra = {"errors": exc.errors} if isinstance(exc, Invalid) else None
            return problem_response(
                exc.status_code, _(exc.title), exc.detail, extra, headers=_api_headers(exc.headers)
            )
        return error_page(
            request, exc.status_code, exc.detail, headers=exc.headers, title=exc.title
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if exc.status_code not in _STATUS_TEXT else None
        return error_page(request, exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        if exc.errors() and all(err["loc"][:1] == ("path",) for err in exc.errors()):
            # A malformed id in the address (/needs/abc/edit): no such page, not a bad form.
            return error_page(request, 404)
        errors = {_error_key(err): _error_message(err) for err in exc.errors()}
        if _wants_problem_json(request):
            body_errors = [m for k, m in errors.items() if k == "body"]
            return problem_response(
                422,
                _("Données invalides"),
                body_errors[0] if body_errors else _("Certains champs sont invalides."),
                {"errors": errors},
                headers=_api_headers(None),
            )
        return error_page(request, 422)

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError) -> Response:
        # The database is down or unreachable: a temporary condition, not a bug (503, not 500).
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return error_page(request, 503, headers={"Retry-After": "30"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = error_page(request, 500)
        # Starlette runs this handler outside every middleware: add the headers here too.
        from app.web.security import EMBED_PREFIX, security_headers

        settings = request.app.state.settings
        # An /embed/ page lives in a partner's frame: its error page must be allowed there too,
        # or the partner's visitors see the browser's refusal instead of the message.
        embed_origins = (
            settings.embed_allowed_origins if request.url.path.startswith(EMBED_PREFIX) else None
        )
        for name, value in security_headers(
            production=settings.is_production, embed_origins=embed_origins
        ):
            response.headers.setdefault(name.decode(), value.decode())
        return response
