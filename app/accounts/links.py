"""Signing up and the e-mailed single-use links: confirming the address, signing in without a
password, resetting a password. A link is a random secret stored hashed (EmailToken), valid once
and for a while (service.TOKEN_LIFETIMES); how many an address receives is limited, and the
answers never tell whether an address has an account.

Services know nothing of HTTP: they validate, write, queue e-mails in the same transaction and
commit.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts import passwords
from app.accounts.models import (
    ApiToken,
    EmailToken,
    LoginFailure,
    Role,
    TokenPurpose,
    User,
    UserSession,
)
from app.accounts.service import (
    MAX_LINKS_PER_WINDOW,
    THROTTLE_WINDOW,
    TOKEN_LIFETIMES,
    check_password,
    clean_display_name,
    collect_errors,
    normalize_email,
    user_by_email,
)
from app.accounts.tokens import hash_secret, new_secret
from app.core.db import serialise_on, utcnow
from app.mail.models import OutboxMessage
from app.mail.service import queue_mail
from app.web.errors import NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

log = logging.getLogger(__name__)


def signup(session: Session, *, email: str, display_name: str, password: str, locale: str) -> None:
    """Registers a person, or — when the address already has an account — tells that address
    by e-mail instead. Both cases look the same to the visitor, so the form cannot be used to
    find out who has an account. An empty password makes a link-only account."""
    holder: dict[str, str] = {}

    def _email() -> None:
        holder["email"] = normalize_email(email)

    def _name() -> None:
        holder["name"] = clean_display_name(display_name)

    def _password() -> None:
        if password:
            check_password(password)

    collect_errors(("email", _email), ("display_name", _name), ("password", _password))
    # Hashed first, on both paths and even without a password: a new account costs one hash,
    # so a known address must cost one too, or the answer's timing would tell which addresses
    # have an account.
    password_hash = passwords.hash_password(password or passwords.DUMMY_PASSWORD)
    # Sign-ups of one address at once (a double click, or a flood naming someone's address
    # from many clients) one after the other: each sees the account the first made, and the
    # cap on the links mailed to it holds (tests/reliability/test_floods.py: on PostgreSQL one
    # of forty answered 500 on the unique index).
    serialise_on(session, "signup:" + holder["email"])
    existing = user_by_email(session, holder["email"])
    if existing is None:
        user = User(
            email=holder["email"],
            display_name=holder["name"],
            password_hash=password_hash if password else None,
            role=Role.resident.value,
            locale=locale,
        )
        try:
            # SQLite with the rate limits off counts nothing first, so nothing holds its turn
            # before the read above: the unique index then tells.
            with session.begin_nested():
                session.add(user)
                session.flush()
        except IntegrityError:
            existing = user_by_email(session, holder["email"])
            if existing is None:
                raise
        else:
            _mail_link(session, user, TokenPurpose.verify_email, locale)
            session.commit()
            return
    _tell_already_registered(session, existing, locale)
    session.commit()


# --- e-mailed single-use links -----------------------------------------------------------------


def _recent_links(session: Session, user: User, purpose: TokenPurpose) -> int:
    since = utcnow() - THROTTLE_WINDOW
    return session.exec(
        select(func.count()).where(
            EmailToken.user_id == user.id,
            EmailToken.purpose == purpose.value,
            EmailToken.created_at > since,
        )
    ).one()


def _recent_mails_to(session: Session, address: str) -> int:
    """E-mails queued to an address without an account: the same cap as links, so these forms
    cannot be used to flood a stranger's inbox."""
    since = utcnow() - THROTTLE_WINDOW
    return session.exec(
        select(func.count()).where(
            OutboxMessage.to_address == address, OutboxMessage.created_at > since
        )
    ).one()


def _issue_token(session: Session, user: User, purpose: TokenPurpose) -> str:
    """A new single-use link; older unused links of the same kind stop working."""
    now = utcnow()
    session.exec(
        update(EmailToken)  # type: ignore[call-overload]
        .where(
            EmailToken.user_id == user.id,
            EmailToken.purpose == purpose.value,
            EmailToken.used_at.is_(None),  # type: ignore[union-attr]
        )
        .values(used_at=now)
    )
    raw = new_secret()
    session.add(
        EmailToken(
            user_id=user.id,  # type: ignore[arg-type]
            purpose=purpose.value,
            token_hash=hash_secret(raw),
            created_at=now,
            expires_at=now + TOKEN_LIFETIMES[purpose],
        )
    )
    return raw


# What each kind of link says by default: (subject, template).
_LINK_MAILS = {
    TokenPurpose.verify_email: (N_("Confirmez votre adresse e-mail"), "mail/verify_email.txt"),
    TokenPurpose.login_link: (N_("Votre lien de connexion"), "mail/login_link.txt"),
    TokenPurpose.reset_password: (
        N_("Réinitialisation du mot de passe"),
        "mail/reset_password.txt",
    ),
}


def _mail_link(
    session: Session,
    user: User,
    purpose: TokenPurpose,
    locale: str | None,
    *,
    subject: str | None = None,
    template: str | None = None,
) -> bool:
    """Issues a link and queues its e-mail, in the person's language. Returns False (and sends
    nothing) when this address already got MAX_LINKS_PER_WINDOW links of this kind lately.
    Does not commit."""
    if _recent_links(session, user, purpose) >= MAX_LINKS_PER_WINDOW:
        return False
    raw = _issue_token(session, user, purpose)
    default_subject, default_template = _LINK_MAILS[purpose]
    queue_mail(
        session,
        to=user.email,
        subject=subject or default_subject,
        template=template or default_template,
        context={"user": user, "token": raw},
        locale=user.locale or locale,
    )
    return True


def _request_link(
    session: Session, email: str, locale: str, purpose: TokenPurpose, no_account_subject: str
) -> None:
    email = normalize_email(email)
    user = user_by_email(session, email)
    if user is None:
        if _recent_mails_to(session, email) < MAX_LINKS_PER_WINDOW:
            queue_mail(
                session,
                to=email,
                subject=no_account_subject,
                template="mail/no_account.txt",
                context={"email": email},
                locale=locale,
            )
    else:
        _mail_link(session, user, purpose, locale)
    session.commit()


_INVALID_LINK = N_(
    "Ce lien n'est pas valable : il a peut-être expiré ou déjà servi. Demandez-en un nouveau."
)


def peek_token(session: Session, raw: str, purpose: TokenPurpose) -> EmailToken:
    """The token behind a link, if it can still be used (for pages that ask to confirm)."""
    token = session.exec(
        select(EmailToken).where(
            EmailToken.token_hash == hash_secret(raw or ""), EmailToken.purpose == purpose.value
        )
    ).first()
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        raise NotFound(_(_INVALID_LINK))
    return token


def consume_token(session: Session, raw: str, purpose: TokenPurpose) -> User:
    """Marks a link used, exactly once even when two requests race (conditional UPDATE).
    Does not commit: the caller commits together with what the link does."""
    token = peek_token(session, raw, purpose)
    result = session.exec(
        update(EmailToken)  # type: ignore[call-overload]
        .where(EmailToken.id == token.id, EmailToken.used_at.is_(None))  # type: ignore[union-attr]
        .values(used_at=utcnow())
    )
    if result.rowcount != 1:
        raise NotFound(_(_INVALID_LINK))
    user = session.get(User, token.user_id)
    if user is None:
        raise NotFound(_(_INVALID_LINK))
    return user


def verify_email(session: Session, raw: str) -> User:
    return _consume_confirming(session, raw, TokenPurpose.verify_email)


def _consume_confirming(session: Session, raw: str, purpose: TokenPurpose) -> User:
    """Uses a link; receiving it proves the address belongs to this person. Commits."""
    user = consume_token(session, raw, purpose)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    session.add(user)
    session.commit()
    return user


def resend_verification(session: Session, user: User) -> bool:
    if user.email_verified_at is not None:
        return False
    sent = _mail_link(session, user, TokenPurpose.verify_email, None)
    session.commit()
    return sent


def resend_signup_mail(session: Session, email: str) -> bool:
    """« Renvoyer l'e-mail » on the page shown after signing up (the address comes from the
    browser's own sign-up cookie): the mail signup chose again — the confirmation link, or, for
    an address that already had an account, the sign-in link that says so — within the same
    cap of links per address. Says whether a mail left. Commits."""
    user = user_by_email(session, normalize_email(email))
    if user is None:  # deleted since: nothing to send, and nothing to tell
        return False
    if user.email_verified_at is None:
        return resend_verification(session, user)
    sent = _tell_already_registered(session, user, None)
    session.commit()
    return sent


def _tell_already_registered(session: Session, user: User, locale: str | None) -> bool:
    """A sign-up with an address that has an account: a sign-in link, saying so."""
    return _mail_link(
        session,
        user,
        TokenPurpose.login_link,
        locale,
        subject=N_("Vous avez déjà un compte sur la Bourse à initiatives"),
        template="mail/already_registered.txt",
    )


def request_login_link(session: Session, email: str, locale: str) -> None:
    """Sends a sign-in link. Unknown addresses get an e-mail inviting them to sign up, so the
    page answers the same either way. Blocked accounts get theirs too: they still sign in to
    read, export and delete their data (every write path refuses them, with the reason)."""
    _request_link(
        session, email, locale, TokenPurpose.login_link, N_("Connexion à la Bourse à initiatives")
    )


def sign_in_with_link(session: Session, raw: str) -> User:
    return _consume_confirming(session, raw, TokenPurpose.login_link)


def request_password_reset(session: Session, email: str, locale: str) -> None:
    """Same answer whether or not the address has an account (no enumeration)."""
    _request_link(
        session, email, locale, TokenPurpose.reset_password, N_("Réinitialisation du mot de passe")
    )


def reset_password(session: Session, raw: str, new_password: str) -> User:
    check_password(new_password)
    user = consume_token(session, raw, TokenPurpose.reset_password)
    user.password_hash = passwords.hash_password(new_password)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    session.add(user)
    # A reset usually means the old password leaked: sign out every browser, and revoke every
    # personal API token (one minted with the stolen password must not outlive the reset).
    session.exec(delete(UserSession).where(UserSession.user_id == user.id))  # type: ignore[call-overload]
    session.exec(
        update(ApiToken)  # type: ignore[call-overload]
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
        .values(revoked_at=utcnow())
    )
    session.exec(delete(LoginFailure).where(LoginFailure.email == user.email))  # type: ignore[call-overload]
    session.commit()
    return user
