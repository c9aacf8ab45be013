"""The language saved on the account drives the interface, not only the e-mails."""

from __future__ import annotations

from app.accounts.models import User
from tests.factories import DEFAULT_PASSWORD, login_as, make_user, post_form


def _lang(html: str) -> str:
    from selectolax.lexbor import LexborHTMLParser

    return LexborHTMLParser(html).css_first("html").attributes["lang"] or ""


def test_saving_english_switches_the_interface_to_english(client, session):
    user = make_user(session)
    login_as(client, user, session)
    response = post_form(
        client, "/account/profile", {"display_name": user.display_name, "locale": "en"}
    )
    assert response.status_code == 303
    assert _lang(client.get("/account").text) == "en"


def test_choosing_according_to_the_browser_forgets_the_language(client, session):
    user = make_user(session)
    login_as(client, user, session)
    post_form(client, "/account/profile", {"display_name": user.display_name, "locale": "en"})
    post_form(client, "/account/profile", {"display_name": user.display_name, "locale": ""})
    assert session.get(User, user.id).locale is None  # type: ignore[union-attr]
    assert _lang(client.get("/account", headers={"Accept-Language": "fr"}).text) == "fr"


def test_logging_in_on_a_new_browser_brings_the_saved_language(client, session):
    user = make_user(session)
    user.locale = "en"
    session.add(user)
    session.commit()
    response = post_form(
        client, "/account/login", {"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 303
    assert _lang(client.get("/", headers={"Accept-Language": "fr"}).text) == "en"
