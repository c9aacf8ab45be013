"""Helpers shared by the account tests: reading the database afresh, driving the forms, and
reading cookies and pages the way a browser would."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.deps import SESSION_COOKIE
from app.accounts.models import EmailToken, LoginFailure, User, UserSession
from app.accounts.tokens import hash_secret
from app.core.db import utcnow
from app.mail.models import OutboxMessage
from tests.factories import DEFAULT_PASSWORD, post_form

INVALID_LINK = "Ce lien n'est pas valable"
CSRF_MESSAGE = "vérification de sécurité a échoué"
WRONG_CREDENTIALS = "Adresse e-mail ou mot de passe incorrect."


def fresh(session: Session) -> Session:
    """Forgets what the test session has cached, so the next reads see what the app wrote."""
    # rollback() alone is a no-op when no transaction is open, and the identity map would then
    # hand back objects as they were before the request.
    session.rollback()
    session.expire_all()
    return session


def count(session: Session, model: type, *where: Any) -> int:
    return fresh(session).exec(select(func.count()).select_from(model).where(*where)).one()


def user_by_email(session: Session, email: str) -> User | None:
    return fresh(session).exec(select(User).where(User.email == email.lower())).first()


def reload(session: Session, user: User) -> User:
    found = fresh(session).get(User, user.id)
    assert found is not None
    return found


def block_user(
    session: Session, user: User, *, reason: str | None = "Spam", until: datetime | None = None
) -> None:
    """Blocks an account the way a moderator will: straight on the row."""
    user = reload(session, user)
    user.blocked_at = utcnow()
    user.blocked_reason = reason
    user.blocked_until = until
    session.add(user)
    session.commit()


def expire_links(session: Session, user: User, purpose: str) -> None:
    """Moves the expiry of every e-mailed link of this kind into the past."""
    for token in tokens_of(session, user, purpose):
        token.expires_at = utcnow() - timedelta(seconds=1)
        session.add(token)
    session.commit()


def user_count(session: Session) -> int:
    return count(session, User)


def session_count(session: Session, user: User) -> int:
    return count(session, UserSession, UserSession.user_id == user.id)


def session_exists(session: Session, raw: str) -> bool:
    return count(session, UserSession, UserSession.token_hash == hash_secret(raw)) == 1


def failure_count(session: Session, email: str) -> int:
    return count(session, LoginFailure, LoginFailure.email == email)


def outbox_count(session: Session) -> int:
    return count(session, OutboxMessage)


def tokens_of(session: Session, user: User, purpose: str) -> list[EmailToken]:
    return list(
        fresh(session).exec(
            select(EmailToken).where(EmailToken.user_id == user.id, EmailToken.purpose == purpose)
        )
    )


def signup(
    client: TestClient,
    email: str = "alice@exemple.fr",
    display_name: str = "Alice",
    password: str = DEFAULT_PASSWORD,
    **extra: str,
) -> Response:
    data = {"email": email, "display_name": display_name, "password": password, **extra}
    return post_form(client, "/account/signup", data)


def login(
    client: TestClient, email: str, password: str = DEFAULT_PASSWORD, **extra: str
) -> Response:
    return post_form(client, "/account/login", {"email": email, "password": password, **extra})


def is_signed_in(client: TestClient) -> bool:
    """The account page answers only to a signed-in browser; others go to the login page."""
    response = client.get("/account", follow_redirects=False)
    if response.status_code == 200:
        return True
    assert response.status_code == 303, response.status_code
    assert response.headers["location"].startswith("/account/login")
    return False


def raw_session_token(client: TestClient) -> str:
    """The random token inside the signed session cookie of this browser."""
    from itsdangerous import Signer

    secret = client.app.state.settings.signing_key  # type: ignore[attr-defined]
    cookie = client.cookies[SESSION_COOKIE]
    return Signer(secret, salt="bourse.session").unsign(cookie).decode()


def set_cookie_headers(response: Response, name: str) -> list[dict[str, str | bool]]:
    """Every Set-Cookie header for `name`, as {"value": ..., attribute (lower-case): value}."""
    found = []
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        cookie_name, _sep, value = first.partition("=")
        if cookie_name != name:
            continue
        parsed: dict[str, str | bool] = {"value": value.strip('"')}
        for attribute in attributes:
            key, sep, attr_value = attribute.partition("=")
            parsed[key.strip().lower()] = attr_value.strip() if sep else True
        found.append(parsed)
    return found


def page_text(html: str, selector: str = "main") -> str:
    """The visible text of `selector`, whitespace collapsed."""
    node = HTMLParser(html).css_first(selector)
    return " ".join(node.text(separator=" ").split()) if node else ""


def form_errors(html: str) -> list[str]:
    """The messages shown under the fields of a form."""
    return [node.text(separator=" ", strip=True) for node in HTMLParser(html).css(".error-message")]


def error_page(response: Response) -> tuple[str, str]:
    """(title, text) of an error page."""
    tree = HTMLParser(response.text)
    title = tree.css_first("h1")
    return (title.text(strip=True) if title else "", page_text(response.text))


def field_error(html: str, field: str) -> str:
    node = HTMLParser(html).css_first(f"#f-{field}-error")
    return node.text(strip=True) if node else ""


def input_value(html: str, field: str) -> str | None:
    node = HTMLParser(html).css_first(f"input[name={field}]")
    return node.attributes.get("value") if node else None


def notice(html: str) -> str:
    node = HTMLParser(html).css_first("main .notice")
    return node.text(separator=" ", strip=True) if node else ""


def link_token(link: str) -> str:
    """The token of an e-mailed link (path?token=...)."""
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(link).query)["token"][0]


def confirm_address(client: TestClient, link: str) -> Response:
    """Opens the e-mailed confirmation link and presses its « Confirmer mon adresse » button,
    as a person does (the link alone confirms nothing). Returns the button's answer."""
    from tests.factories import submit_form

    return submit_form(client, link, "/account/verify/confirm")
