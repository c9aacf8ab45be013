"""Per-request context: locale and the CSRF cookie, set before any route or error page runs;
and the count of arrivals through a partner's `ref=` link, once the answer is known
(app.syndication.attribution)."""

from __future__ import annotations

import logging
from http.cookies import SimpleCookie

import anyio.to_thread
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web import i18n
from app.web.cache import mark_private
from app.web.security import CSRF_COOKIE, csrf_token_for, new_csrf_cookie

log = logging.getLogger(__name__)

NO_COOKIE_PREFIXES = (
    "/static/",
    "/healthz",
    "/readyz",
    "/api/",
    "/favicon",
    # Public, cacheable answers for partners and feed readers: no CSRF cookie to set.
    "/feeds/",
    "/embed/",
    "/embed.js",
    "/oembed",
)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        settings = conn.app.state.settings
        locale = i18n.negotiate_locale(
            conn.cookies.get(i18n.LOCALE_COOKIE),
            conn.headers.get("accept-language"),
            settings.default_locale,
        )
        i18n.set_locale(locale)

        cookie = conn.cookies.get(CSRF_COOKIE)
        if cookie and len(cookie) > 100:
            cookie = None
        state = scope.setdefault("state", {})
        # Static files, health checks and the API never need a form token: none for them.
        needs_token = not scope["path"].startswith(NO_COOKIE_PREFIXES)
        token = CsrfToken(scope, settings.signing_key, cookie) if needs_token else ""
        state["csrf_token"] = token
        state["locale"] = locale
        ref_slug = _arrival_slug(conn)

        async def send_with_cookie(message: Message) -> None:
            new_cookie = token.new_cookie if isinstance(token, CsrfToken) else None
            if message["type"] == "http.response.start" and new_cookie:
                morsel: SimpleCookie = SimpleCookie()
                morsel[CSRF_COOKIE] = new_cookie
                morsel[CSRF_COOKIE]["path"] = "/"
                morsel[CSRF_COOKIE]["httponly"] = True
                morsel[CSRF_COOKIE]["samesite"] = "Lax"
                if settings.is_production:
                    morsel[CSRF_COOKIE]["secure"] = True
                headers = MutableHeaders(scope=message)
                headers.append("set-cookie", morsel.output(header="").strip())
            if message["type"] == "http.response.start" and ref_slug:
                await _count_arrival(conn, message, ref_slug)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class CsrfToken:
    """The visitor's form token, made when a page first prints it. A page that prints none
    (what anonymous visitors read: the board, needs, ideas) sets no cookie and carries nothing
    of the visitor's, so the anonymous response cache may share it; a page that prints one is
    marked private (app.web.cache.mark_private) and gets the cookie if the visitor had none."""

    __slots__ = ("_scope", "_secret", "_value", "cookie", "new_cookie")

    def __init__(self, scope: Scope, secret: str, cookie: str | None) -> None:
        self._scope = scope
        self._secret = secret
        self.cookie = cookie
        self.new_cookie: str | None = None
        self._value: str | None = None

    def __str__(self) -> str:
        if self._value is None:
            if self.cookie is None:
                self.cookie = self.new_cookie = new_csrf_cookie()
            self._value = csrf_token_for(self._secret, self.cookie)
            mark_private(self._scope)
        return self._value

    __html__ = __str__  # Jinja prints it as is (hex digits: nothing to escape)

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return str(self) == other

    def __hash__(self) -> int:
        return hash(str(self))


def _arrival_slug(conn: HTTPConnection) -> str | None:
    # Imported when used, as templating does for accounts: web/ sits below the domains. Most
    # requests carry no `ref` at all and never get here.
    if "ref=" not in conn.scope.get("query_string", b"").decode("latin-1"):
        return None
    from app.syndication import attribution

    return attribution.arrival_slug(conn, NO_COOKIE_PREFIXES)


async def _count_arrival(conn: HTTPConnection, message: Message, slug: str) -> None:
    """Counts the arrival (a database write, in a worker thread so the event loop never
    waits on it) and sets the attribution cookie. Never breaks the page."""
    from app.syndication import attribution

    headers = MutableHeaders(scope=message)
    if not attribution.counts_as_arrival(message["status"], headers.get("content-type", "")):
        return
    settings = conn.app.state.settings
    try:
        value = await anyio.to_thread.run_sync(
            attribution.record_arrival,
            conn.app.state.engine,
            settings,
            slug,
            conn.cookies.get(attribution.REF_COOKIE),
            # Who arrives, for the dedupe of clients without cookies (never stored as such).
            conn.client.host if conn.client else "",
            conn.headers.get("user-agent", ""),
        )
    except Exception:  # a visitor's page matters more than a counter
        log.exception("partner attribution: could not count an arrival")
        return
    if value:
        headers.append("set-cookie", attribution.cookie_header(settings, value))
