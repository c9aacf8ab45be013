"""Per-request context: locale and the CSRF cookie, set before any route or error page runs."""

from __future__ import annotations

from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web import i18n
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
        new_cookie = None
        # Static files, health checks and the API never need a form token: no cookie for them.
        needs_cookie = not scope["path"].startswith(NO_COOKIE_PREFIXES)
        if needs_cookie and (not cookie or len(cookie) > 100):
            cookie = new_cookie = new_csrf_cookie()
        state = scope.setdefault("state", {})
        state["csrf_token"] = csrf_token_for(settings.signing_key, cookie) if cookie else ""
        state["locale"] = locale

        async def send_with_cookie(message: Message) -> None:
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
