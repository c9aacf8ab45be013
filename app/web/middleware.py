"""Per-request context: locale and the CSRF cookie, set before any route or error page runs.
(Arrivals through a partner's `ref=` link are counted by app.syndication.arrivals.)"""

from __future__ import annotations

from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web import i18n
from app.web.cache import mark_private
from app.web.security import CSRF_COOKIE, csrf_token_for, new_csrf_cookie

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
