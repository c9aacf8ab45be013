"""Account use cases: accounts, sign in with a password, sessions, profile and API tokens
(signing up and the e-mailed links are app/accounts/links.py).

Services know nothing of HTTP. They validate, write, queue e-mails in the same transaction
(the outbox is delivered after commit by the worker) and commit. Errors are the typed errors
of app.web.errors, with French messages that the routes show next to the fields.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, delete, func, update
from sqlmodel import Session, select

from app.accounts import passwords
from app.accounts.models import (
    ApiToken,
    LoginFailure,
    Role,
    TokenPurpose,
    User,
    UserSession,
    participates,
)
from app.accounts.tokens import hash_secret, new_api_token, new_secret
from app.core.db import as_utc, utcnow
from app.core.ratelimit import address_key
from app.web.errors import Invalid, NotFound, TooManyRequests, wait_minutes
from app.web.i18n import gettext as _

log = logging.getLogger(__name__)

SESSION_LIFETIME = timedelta(days=30)
TOKEN_LIFETIMES = {
    TokenPurpose.verify_email: timedelta(hours=48),
    TokenPurpose.reset_password: timedelta(hours=1),
    TokenPurpose.login_link: timedelta(minutes=20),
}
# Login throttling (issue: 5 failures per account or 20 per address within 15 minutes).
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 20
# At most this many links of one kind are e-mailed to one address per window: enough for a
# lost message, not enough to flood someone's inbox.
MAX_LINKS_PER_WINDOW = 3
DISPLAY_NAME_MAX = 60
API_TOKEN_LABEL_MAX = 80
TOKEN_USE_PRECISION = timedelta(minutes=1)

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


# --- validation --------------------------------------------------------------------------


def normalize_email(raw: str) -> str:
    raw = (raw or "").strip()
    if not raw:
        raise Invalid({"email": _("Indiquez votre adresse e-mail.")})
    if len(raw) > 254:
        raise Invalid({"email": _("Cette adresse e-mail est trop longue.")})
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        raise Invalid(
            {"email": _("Cette adresse e-mail n'est pas valable (exemple : prenom@exemple.fr).")}
        ) from None
    return result.normalized.lower()


def clean_display_name(raw: str) -> str:
    """Display names are plain text: kept as typed (HTML-looking text included, it is escaped
    on output), with invisible control characters removed and spaces collapsed."""
    name = unicodedata.normalize("NFC", _CONTROL_CHARS.sub("", raw or ""))
    name = " ".join(name.split())
    if len(name) < 2:
        raise Invalid({"display_name": _("Indiquez un nom d'au moins 2 caractères.")})
    if len(name) > DISPLAY_NAME_MAX:
        raise Invalid(
            {
                "display_name": _(
                    "Le nom doit faire au plus %(max)s caractères.", max=DISPLAY_NAME_MAX
                )
            }
        )
    return name


def check_password(password: str, field: str = "password") -> str:
    if len(password) < passwords.PASSWORD_MIN:
        raise Invalid(
            {
                field: _(
                    "Le mot de passe doit faire au moins %(min)s caractères.",
                    min=passwords.PASSWORD_MIN,
                )
            }
        )
    if len(password) > passwords.PASSWORD_MAX:
        raise Invalid(
            {
                field: _(
                    "Le mot de passe doit faire au plus %(max)s caractères.",
                    max=passwords.PASSWORD_MAX,
                )
            }
        )
    return password


def collect_errors(*checks: tuple[str, object]) -> None:
    """Runs every check and raises one Invalid with all field errors, so a form shows every
    problem at once instead of one per submission."""
    errors: dict[str, str] = {}
    for _name, check in checks:
        try:
            check()  # type: ignore[operator]
        except Invalid as exc:
            errors.update(exc.errors)
    if errors:
        raise Invalid(errors)


# --- users -------------------------------------------------------------------------------


def user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.lower())).first()


def create_user(
    session: Session,
    email: str,
    *,
    display_name: str | None = None,
    password: str | None = None,
    role: Role = Role.resident,
    verified: bool = False,
    locale: str | None = None,
) -> User:
    """Creates an account (used by signup, the CLI and the demo). Commits."""
    email = normalize_email(email)
    name = clean_display_name(display_name or email.split("@")[0])
    if password is not None:
        check_password(password)
    if user_by_email(session, email):
        raise Invalid({"email": _("Un compte existe déjà avec cette adresse.")})
    user = User(
        email=email,
        display_name=name,
        password_hash=passwords.hash_password(password) if password else None,
        role=role.value,
        email_verified_at=utcnow() if verified else None,
        locale=locale,
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


# --- throttling and sign-in ----------------------------------------------------------------


def _retry_after(oldest: datetime | None, now: datetime) -> int:
    if oldest is None:
        return int(THROTTLE_WINDOW.total_seconds())
    return int((oldest + THROTTLE_WINDOW - now).total_seconds()) + 1


def check_login_throttle(session: Session, email: str, ip: str) -> None:
    ip = address_key(ip)
    now = utcnow()
    since = now - THROTTLE_WINDOW
    for column, value, limit in (
        (LoginFailure.email, email, MAX_FAILURES_PER_ACCOUNT),
        (LoginFailure.ip, ip, MAX_FAILURES_PER_IP),
    ):
        count, oldest = session.exec(
            select(func.count(), func.min(LoginFailure.created_at)).where(
                column == value, LoginFailure.created_at > since
            )
        ).one()
        if count >= limit:
            wait = _retry_after(as_utc(oldest), now)
            minutes = wait_minutes(wait)
            raise TooManyRequests(
                _(
                    "Trop de tentatives de connexion. Par sécurité, réessayez dans "
                    "%(minutes)s minute(s), ou recevez un lien de connexion par e-mail.",
                    minutes=minutes,
                ),
                retry_after=wait,
            )


def authenticate(session: Session, *, email: str, password: str, ip: str) -> User:
    """Checks a password login. Failures are recorded (and committed) for throttling; the
    message never says whether the address exists."""
    try:
        email = normalize_email(email)
    except Invalid:
        raise Invalid({"email": _("Cette adresse e-mail n'est pas valable.")}) from None
    check_login_throttle(session, email, ip)
    user = user_by_email(session, email)
    ok = passwords.verify_password(user.password_hash if user else None, password[:2048])
    if not ok or user is None:
        session.add(LoginFailure(email=email, ip=address_key(ip)))
        session.commit()
        raise Invalid(
            {"password": _("Adresse e-mail ou mot de passe incorrect.")},
        )
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    # A successful login clears the account's failures, so the owner is not locked out later
    # by their own old typos.
    session.exec(delete(LoginFailure).where(LoginFailure.email == email))  # type: ignore[call-overload]
    session.commit()
    return user


def blocked_message(user: User) -> str:
    """Why this account is blocked, and until when, in the reader's language."""
    from app.web.i18n import format_date

    reason = user.blocked_reason or _("aucune raison précisée")
    if user.blocked_until:
        return _(
            "Votre compte est bloqué jusqu'au %(date)s. Motif : %(reason)s",
            date=format_date(user.blocked_until),
            reason=reason,
        )
    return _("Votre compte est bloqué. Motif : %(reason)s", reason=reason)


def start_session(session: Session, user: User, *, user_agent: str = "") -> str:
    """Opens a new session (a fresh token at every login: no session fixation)."""
    raw = new_secret()
    now = utcnow()
    session.add(
        UserSession(
            user_id=user.id,  # type: ignore[arg-type]
            token_hash=hash_secret(raw),
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
            user_agent=user_agent[:300],
        )
    )
    user.last_login_at = now
    session.add(user)
    session.commit()
    return raw


# The account of a browser session still valid: bind `p_hash` (hash_secret of the cookie's
# token) and `p_now`.
VALID_SESSION = (
    UserSession.user_id == User.id,
    UserSession.token_hash == bindparam("p_hash"),
    UserSession.expires_at > bindparam("p_now"),
)


def of_valid_session(statement: Any) -> Any:
    """`statement` (a SELECT of `User` or of its columns) limited to the account of a browser
    session still valid (VALID_SESSION)."""
    return statement.join(UserSession, VALID_SESSION[0]).where(*VALID_SESSION[1:])


# Built once: every signed-in request runs it, and building and keying the statement each
# time cost as much as running it.
_USER_FOR_SESSION = of_valid_session(select(User))


def user_for_session(session: Session, raw: str) -> User | None:
    """The signed-in user of a browser session still valid, in one query (every signed-in
    page asks)."""
    return session.exec(
        _USER_FOR_SESSION, params={"p_hash": hash_secret(raw), "p_now": utcnow()}
    ).first()


def end_session(session: Session, raw: str) -> None:
    session.exec(delete(UserSession).where(UserSession.token_hash == hash_secret(raw)))  # type: ignore[call-overload]
    session.commit()


def end_all_sessions(session: Session, user: User) -> int:
    result = session.exec(delete(UserSession).where(UserSession.user_id == user.id))  # type: ignore[call-overload]
    session.commit()
    return result.rowcount or 0


def active_sessions(session: Session, user: User) -> list[UserSession]:
    return list(
        session.exec(
            select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.expires_at > utcnow())
            .order_by(UserSession.last_seen_at.desc())  # type: ignore[attr-defined]
        )
    )


# --- profile -------------------------------------------------------------------------------


def update_profile(session: Session, user: User, *, display_name: str, locale: str) -> User:
    user.display_name = clean_display_name(display_name)
    if locale in ("fr", "en"):
        user.locale = locale
    elif locale == "":
        # "Selon le navigateur" in the form: forget the saved choice.
        user.locale = None
    session.add(user)
    session.commit()
    return user


def current_password_ok(session: Session, user: User, password: str, ip: str) -> bool:
    """The signed-in person's password, asked again before a sensitive change. A wrong one
    counts as a failed login (committed), throttled like the login form (TooManyRequests), so a
    stolen session cannot try passwords there. For accounts that have a password."""
    check_login_throttle(session, user.email, ip)
    if passwords.verify_password(user.password_hash, password[:2048]):
        return True
    session.add(LoginFailure(email=user.email, ip=address_key(ip)))
    session.commit()
    return False


def change_password(
    session: Session,
    user: User,
    *,
    current: str,
    new: str,
    keep_session_hash: str | None,
    ip: str = "",
) -> None:
    """Changing a password signs out every other browser, keeping the current one."""
    if user.password_hash and not current_password_ok(session, user, current, ip):
        raise Invalid({"current_password": _("Le mot de passe actuel est incorrect.")})
    check_password(new, field="new_password")
    user.password_hash = passwords.hash_password(new)
    session.add(user)
    stmt = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_session_hash:
        stmt = stmt.where(UserSession.token_hash != keep_session_hash)
    session.exec(stmt)  # type: ignore[call-overload]
    session.commit()


# --- API tokens ------------------------------------------------------------------------------


def create_api_token(session: Session, user: User, label: str) -> str:
    # Plain text like display names: control characters (NUL included, which PostgreSQL
    # refuses to store) are removed.
    label = " ".join(_CONTROL_CHARS.sub("", label or "").split())
    if not label:
        label = _("Jeton personnel")
    if len(label) > API_TOKEN_LABEL_MAX:
        raise Invalid(
            {"label": _("Le nom doit faire au plus %(max)s caractères.", max=API_TOKEN_LABEL_MAX)}
        )
    raw = new_api_token()
    session.add(
        ApiToken(
            user_id=user.id,  # type: ignore[arg-type]
            label=label,
            token_hash=hash_secret(raw),
            prefix=raw[:12],
        )
    )
    session.commit()
    return raw


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.exec(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())  # type: ignore[attr-defined]
        )
    )


def revoke_api_token(session: Session, user: User, token_id: int) -> None:
    from app.accounts.permissions import can_manage_token

    token = session.get(ApiToken, token_id)
    if token is None or not can_manage_token(user, token):
        raise NotFound(_("Ce jeton n'existe pas."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        session.commit()


def _token_use(
    connection: Any, token_id: int, last_used_at: datetime | None, now: datetime
) -> None:
    """Notes when a token was last used. The account page shows it; to the minute is enough,
    and a script making many calls then costs one write a minute, not one per call."""
    last = as_utc(last_used_at)
    if last is None or now - last >= TOKEN_USE_PRECISION:
        connection.execute(_TOKEN_USED, {"p_id": token_id, "p_now": now})


def _of_live_token(statement: Any) -> Any:
    """`statement` (a SELECT of `User` or of its columns) limited to the account of an
    unrevoked token: bind `p_hash` (hash_secret of the token)."""
    return statement.join(ApiToken, ApiToken.user_id == User.id).where(
        ApiToken.token_hash == bindparam("p_hash"),
        ApiToken.revoked_at.is_(None),  # type: ignore[union-attr]
    )


# Built once: every API write runs one of them.
_USER_FOR_TOKEN = _of_live_token(select(User, ApiToken.id, ApiToken.last_used_at))
_HOLDER_OF_TOKEN = _of_live_token(
    select(
        User.id,
        User.email_verified_at,
        User.blocked_at,
        User.blocked_until,
        ApiToken.id,
        ApiToken.last_used_at,
    )
)
_TOKEN_USED = (
    update(ApiToken)
    .where(ApiToken.id == bindparam("p_id"))  # type: ignore[arg-type]
    .values(last_used_at=bindparam("p_now"))
)


def user_for_api_token(session: Session, raw: str) -> User | None:
    """The account of an unrevoked personal token, in one query (every API write asks)."""
    found = session.exec(_USER_FOR_TOKEN, params={"p_hash": hash_secret(raw)}).first()
    if found is None:
        return None
    user, token_id, last_used_at = found
    _token_use(session.connection(), token_id, last_used_at, utcnow())
    session.commit()
    return user


def token_holder(connection: Any, raw: str, now: datetime) -> tuple[int, bool] | None:
    """user_for_api_token() on a Core connection, in the caller's transaction, reading only
    columns: (account id, whether it may participate), or None for no live token."""
    found = connection.execute(_HOLDER_OF_TOKEN, {"p_hash": hash_secret(raw)}).first()
    if found is None:
        return None
    user_id, verified_at, blocked_at, blocked_until, token_id, last_used_at = found
    _token_use(connection, token_id, last_used_at, now)
    return user_id, participates(verified_at, blocked_at, blocked_until, now)
