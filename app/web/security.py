"""Protection at the door: security headers, CSRF, and the client address.

CSRF strategy (documented in README): every visitor gets a random `bourse_csrf` cookie
(HttpOnly, SameSite=Lax). Forms carry `csrf_token` = HMAC(secret, cookie) in a hidden field,
htmx sends the same value in an `X-CSRF-Token` header (static/js/app.js reads it from a meta
tag). A state-changing request must (1) not come from another site according to
Sec-Fetch-Site / Origin when the browser sends them, and (2) carry a token matching its cookie.
The JSON API (/api/, Bearer tokens, no cookie) is not behind this check.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from urllib.parse import urlsplit

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.errors import CsrfFailed
from app.web.i18n import gettext as _
from app.web.urls import split_url

CSRF_COOKIE = "bourse_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_CSP_DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
]
CONTENT_SECURITY_POLICY = "; ".join([*_CSP_DIRECTIVES, "frame-ancestors 'none'"])

# Framing: only the widget pages (/embed/…) may be shown inside another site's page; every
# other page refuses to be framed (clickjacking), with X-Frame-Options for old browsers.
EMBED_PREFIX = "/embed/"
_ORIGIN_SOURCE = re.compile(r"https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?")


def frame_ancestors_for(allowed: str) -> str:
    """The frame-ancestors sources from BOURSE_EMBED_ALLOWED_ORIGINS: `*`, or origins separated
    by spaces or commas (https://mairie-merignac.fr, https://*.example.org). Anything else is
    dropped, so a typo cannot inject a directive; the site itself may always frame its widget
    (the preview on /partners/embed)."""
    # A ";" would start another directive: nothing after it is a source.
    tokens = [t for t in re.split(r"[\s,]+", allowed.split(";", 1)[0].strip()) if t]
    if "*" in tokens:
        return "*"
    kept = [t.rstrip("/") for t in tokens if _ORIGIN_SOURCE.fullmatch(t.rstrip("/"))]
    return " ".join(["'self'", *kept])


def embed_content_security_policy(allowed: str) -> str:
    return "; ".join([*_CSP_DIRECTIVES, f"frame-ancestors {frame_ancestors_for(allowed)}"])


def security_headers(
    *, production: bool, embed_origins: str | None = None
) -> list[tuple[bytes, bytes]]:
    """The headers every response carries (also added by the 500 handler, which Starlette runs
    outside all middleware). `embed_origins` (the setting) is given for /embed/ pages only:
    they may be framed by those origins and send no X-Frame-Options."""
    if embed_origins is None:
        framing = [
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
            (b"x-frame-options", b"DENY"),
        ]
    else:
        framing = [
            (b"content-security-policy", embed_content_security_policy(embed_origins).encode())
        ]
    wanted = [
        *framing,
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if production:
        wanted.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
    return wanted


class SecurityHeadersMiddleware:
    """Adds the security headers to every response, errors and static files included."""

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _value in headers}
                embed_origins = None
                if scope["path"].startswith(EMBED_PREFIX):
                    settings = scope["app"].state.settings
                    embed_origins = settings.embed_allowed_origins
                wanted = security_headers(production=self.production, embed_origins=embed_origins)
                headers.extend((k, v) for k, v in wanted if k not in present)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token_for(secret: str, cookie_value: str) -> str:
    return hmac.new(secret.encode(), cookie_value.encode(), hashlib.sha256).hexdigest()


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(32)


def client_ip(request: Request) -> str:
    # Behind a reverse proxy, run uvicorn with --proxy-headers so this is the real client.
    return request.client.host if request.client else "unknown"


def _same_origin(request: Request, origin: str) -> bool:
    if origin == "null":
        return False
    parts = split_url(origin)
    if parts is None:  # no address a browser sends: not ours
        return False
    host = request.headers.get("host", "")
    base = urlsplit(request.app.state.settings.base_url)
    return parts.netloc in {host, base.netloc}


async def verify_csrf(request: Request) -> None:
    """Dependency on every HTML router: refuses forged state-changing requests."""
    if request.method in SAFE_METHODS:
        return
    # No exemption for Authorization headers here: HTML routes are for browsers, which send
    # the session cookie; API clients with Bearer tokens use /api/, outside this check.
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None and not _from_another_site(request):
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
    refusal = csrf_refusal(request, submitted)
    if refusal is not None:
        raise refusal


def _from_another_site(request: Request) -> bool:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site and fetch_site not in {"same-origin", "none"}:
        return True
    origin = request.headers.get("origin")
    return bool(origin) and not _same_origin(request, origin)  # type: ignore[arg-type]


def csrf_refusal(request: Request, submitted: str | None) -> CsrfFailed | None:
    """What verify_csrf() answers a request whose form token is `submitted` (from its header
    or its form), or None when it may go on; also for « Moi aussi » answered before routing
    (app/board/support_form_path.py), which reads the form itself."""
    if _from_another_site(request):
        return CsrfFailed(_("Cette requête vient d'un autre site : elle a été refusée."))
    cookie = request.cookies.get(CSRF_COOKIE)
    secret = request.app.state.settings.signing_key
    if (
        not cookie
        or not submitted
        or not hmac.compare_digest(submitted, csrf_token_for(secret, cookie))
    ):
        return CsrfFailed(
            _(
                "Le formulaire a expiré ou sa vérification de sécurité a échoué. "
                "Rechargez la page et réessayez."
            )
        )
    return None
