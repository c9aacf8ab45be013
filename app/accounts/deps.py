"""Who is asking on the site's pages: the session cookie, and nothing else.

Personal API tokens (`Authorization: Bearer …`) are honoured by the JSON API alone
(app.syndication.api_routes.api_writer). On HTML routes any Authorization header is ignored: a
token leaked to a partner's site must never open the account page, mint new tokens, change the
password or reach the back office. (A browser may send `Authorization: Basic …` on its own, to a
site behind an HTTP password: ignoring the header keeps such a site working.)"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, Signer, URLSafeSerializer, URLSafeTimedSerializer
from sqlmodel import Session

from app.accounts import service
from app.accounts.models import Role, TokenPurpose, User
from app.accounts.tokens import hash_secret
from app.web.deps import SessionDep, request_session
from app.web.errors import Forbidden, LoginRequired
from app.web.i18n import gettext as _

SESSION_COOKIE = "bourse_session"


def _signer(request: Request) -> Signer:
    return Signer(request.app.state.settings.signing_key, salt="bourse.session")


def raw_session_token(request: Request) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie or len(cookie) > 200:
        return None
    try:
        return _signer(request).unsign(cookie).decode()
    except BadSignature:
        return None


def session_token_hash(request: Request) -> str | None:
    raw = raw_session_token(request)
    return hash_secret(raw) if raw else None


def set_session_cookie(request: Request, response: Response, raw: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        _signer(request).sign(raw).decode(),
        max_age=int(service.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.is_production,
    )


SIGNUP_COOKIE = "bourse_signup"
# The address a sign-up mail went to, for the page that says so and its « Renvoyer » button:
# an hour, on /account only. The sign-up cookie itself holds a keyed hash, never the address.
SIGNUP_ADDRESS_COOKIE = "bourse_signup_to"
SIGNUP_ADDRESS_AGE = 3600
_COOKIE_MAX = 600


def _signup_serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.settings.signing_key, salt="bourse.signup")


def _address_serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.signing_key, salt="bourse.signup-to")


def _cookie_options(request: Request) -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": request.app.state.settings.is_production,
        "path": "/account",
    }


def set_signup_cookie(
    request: Request, response: Response, email: str, next_path: str = ""
) -> None:
    """Marks the browser that signed up with this address (a keyed hash of it, never the
    address), so the confirmation opens a session there and nowhere else, and takes the person
    back to `next_path`, the page they came from; a second cookie keeps the address an hour for
    the page that says where the mail went."""
    lifetime = int(service.TOKEN_LIFETIMES[TokenPurpose.verify_email].total_seconds())
    response.set_cookie(
        SIGNUP_COOKIE,
        _signup_serializer(request).dumps([hash_secret(email), next_path]),
        max_age=lifetime,
        **_cookie_options(request),
    )
    response.set_cookie(
        SIGNUP_ADDRESS_COOKIE,
        _address_serializer(request).dumps(email),
        max_age=SIGNUP_ADDRESS_AGE,
        **_cookie_options(request),
    )


def _signup_payload(request: Request) -> tuple[str, str] | None:
    cookie = request.cookies.get(SIGNUP_COOKIE)
    if not cookie or len(cookie) > _COOKIE_MAX:
        return None
    try:
        value = _signup_serializer(request).loads(cookie)
    except BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        return None
    return value[0], value[1]


def signup_cookie_matches(request: Request, email: str) -> bool:
    payload = _signup_payload(request)
    return payload is not None and hmac.compare_digest(payload[0], hash_secret(email))


def signup_next(request: Request) -> str:
    """Where the person was when they signed up (a local path, checked again by the caller)."""
    payload = _signup_payload(request)
    return payload[1] if payload else ""


def signup_address(request: Request) -> str | None:
    """The address this browser signed up with, within the hour."""
    cookie = request.cookies.get(SIGNUP_ADDRESS_COOKIE)
    if not cookie or len(cookie) > _COOKIE_MAX:
        return None
    try:
        value = _address_serializer(request).loads(cookie, max_age=SIGNUP_ADDRESS_AGE)
    except BadSignature:  # a forged, altered or expired value
        return None
    return value if isinstance(value, str) else None


def clear_signup_cookie(request: Request, response: Response) -> None:
    for name in (SIGNUP_COOKIE, SIGNUP_ADDRESS_COOKIE):
        response.delete_cookie(name, **_cookie_options(request))


def _user_from_request(request: Request, session: Session) -> User | None:
    raw = raw_session_token(request)
    if not raw:
        return None
    # The app may read more in the same statement (app.main.read_signed_in: what every
    # signed-in page shows besides the person).
    reader = getattr(request.app.state, "signed_in_reader", None)
    if reader is not None:
        return reader(request, session, raw)  # type: ignore[no-any-return]
    return service.user_for_session(session, raw)


def load_user_for_request(request: Request) -> User | None:
    """For pages whose route did not ask who is signed in (and for error pages)."""
    with request_session(request) as session:
        return _user_from_request(request, session)


def optional_user(request: Request, session: SessionDep) -> User | None:
    if not hasattr(request.state, "user"):
        request.state.user = _user_from_request(request, session)
    return request.state.user


def require_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise LoginRequired(_("Connectez-vous pour continuer."))
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(require_user)]


def require_role(minimum: Role):  # type: ignore[no-untyped-def]
    """Dependency factory: `Depends(require_role(Role.staff))`."""

    def _check(user: CurrentUser) -> User:
        if not user.has_role(minimum):
            raise Forbidden()
        if user.is_blocked():
            # A blocked team member keeps reading the public site, not the back office.
            from app.accounts.service import blocked_message

            raise Forbidden(blocked_message(user))
        return user

    return _check
