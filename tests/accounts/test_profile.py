"""The account page: display name, language, and changing the password."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser

from app.accounts.passwords import verify_password
from tests.accounts.helpers import (
    field_error,
    input_value,
    is_signed_in,
    login,
    notice,
    page_text,
    raw_session_token,
    reload,
    session_count,
    session_exists,
)
from tests.factories import DEFAULT_PASSWORD, login_as, make_user, post_form, submit_form

EMAIL = "alice@exemple.fr"


@pytest.fixture
def alice(client, session):
    user = make_user(session, email=EMAIL, display_name="Alice")
    login_as(client, user, session)
    return user


def selected_locale(html: str) -> str | None:
    node = LexborHTMLParser(html).css_first("select[name=locale] option[selected]")
    return node.attributes.get("value") if node else None


def test_the_account_page_needs_to_be_signed_in(client):
    response = client.get("/account", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/account/login?next=/account"


def test_the_account_page_shows_the_address_role_and_name_in_french(client, alice):
    html = client.get("/account").text

    text = page_text(html)
    assert "Mon compte" in text
    assert EMAIL in text
    assert "Rôle : habitant·e" in text
    assert input_value(html, "display_name") == "Alice"


def test_changing_the_display_name_saves_it_and_says_so(client, session, alice):
    response = post_form(client, "/account/profile", {"display_name": "Alice M.", "locale": ""})

    assert response.status_code == 303
    assert response.headers["location"] == "/account?notice=profile_saved"
    assert reload(session, alice).display_name == "Alice M."
    page = client.get(response.headers["location"]).text
    assert "Vos informations sont enregistrées." in notice(page)
    assert input_value(page, "display_name") == "Alice M."


@pytest.mark.parametrize(
    ("name", "message"),
    [("A", "au moins 2 caractères"), ("x" * 61, "au plus 60 caractères")],
)
def test_an_invalid_display_name_is_refused_and_what_was_typed_is_kept(
    client, session, alice, name, message
):
    response = post_form(client, "/account/profile", {"display_name": name, "locale": "en"})

    assert response.status_code == 422
    assert message in field_error(response.text, "display_name")
    assert input_value(response.text, "display_name") == name
    stored = reload(session, alice)
    assert stored.display_name == "Alice"
    assert stored.locale is None


def test_choosing_a_language_saves_it_and_shows_it_selected(client, session, alice):
    post_form(client, "/account/profile", {"display_name": "Alice", "locale": "en"})

    assert reload(session, alice).locale == "en"
    assert selected_locale(client.get("/account").text) == "en"


def test_going_back_to_the_browser_language_forgets_the_saved_one(client, session, alice):
    post_form(client, "/account/profile", {"display_name": "Alice", "locale": "en"})

    response = post_form(client, "/account/profile", {"display_name": "Alice", "locale": ""})

    assert response.status_code == 303
    assert reload(session, alice).locale is None
    assert selected_locale(client.get("/account").text) == ""


def test_an_unknown_language_is_ignored(client, session, alice):
    post_form(client, "/account/profile", {"display_name": "Alice", "locale": "fr"})

    response = post_form(client, "/account/profile", {"display_name": "Alice", "locale": "xx"})

    assert response.status_code == 303
    assert reload(session, alice).locale == "fr"


def test_the_saved_language_is_used_for_emails(client, session, alice, mailbox):
    post_form(client, "/account/profile", {"display_name": "Alice", "locale": "en"})
    post_form(client, "/account/logout")

    submit_form(client, "/account/login", "/account/login-link", {"link_email": EMAIL})

    [message] = mailbox.to(EMAIL)
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert body.startswith("Hello Alice,")


# --- password ----------------------------------------------------------------------------------


def test_changing_the_password_needs_the_current_one(client, session, alice):
    original = alice.password_hash

    for current in ("", "pas-le-bon-mot-de-passe"):
        response = post_form(
            client,
            "/account/password",
            {"current_password": current, "new_password": "un-tout-nouveau-secret"},
        )
        assert response.status_code == 422
        assert field_error(response.text, "current_password") == (
            "Le mot de passe actuel est incorrect."
        )
        assert reload(session, alice).password_hash == original
    assert is_signed_in(client)


def test_wrong_current_passwords_count_as_failed_logins(client, session, alice):
    original = alice.password_hash
    wrong = {"current_password": "pas-le-bon-mot-de-passe", "new_password": "un-tout-nouveau"}
    for _attempt in range(5):
        assert post_form(client, "/account/password", wrong).status_code == 422
    right = {"current_password": DEFAULT_PASSWORD, "new_password": "un-tout-nouveau-secret"}
    response = post_form(client, "/account/password", right)
    assert response.status_code == 429
    assert "Trop de tentatives" in page_text(response.text)
    assert reload(session, alice).password_hash == original


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("court", "Le mot de passe doit faire au moins 10 caractères."),
        ("x" * 1025, "Le mot de passe doit faire au plus 1024 caractères."),
    ],
)
def test_a_new_password_of_the_wrong_length_is_refused(client, session, alice, new, message):
    original = alice.password_hash

    response = post_form(
        client, "/account/password", {"current_password": DEFAULT_PASSWORD, "new_password": new}
    )

    assert response.status_code == 422
    assert field_error(response.text, "new_password") == message
    assert reload(session, alice).password_hash == original


def test_changing_the_password_ends_other_sessions_but_keeps_this_one(client, session, app):
    user = make_user(session, email=EMAIL)
    login(client, EMAIL)
    here = raw_session_token(client)
    phone = TestClient(app, base_url="http://testserver")
    login(phone, EMAIL)
    bystander = make_user(session)
    elsewhere = TestClient(app, base_url="http://testserver")
    login_as(elsewhere, bystander, session)

    response = post_form(
        client,
        "/account/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": "un-tout-nouveau-secret"},
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/account?notice=password_changed"
    assert "Vos autres appareils sont déconnectés" in notice(
        client.get(response.headers["location"]).text
    )
    assert is_signed_in(client)
    assert session_exists(session, here)
    assert session_count(session, user) == 1
    assert not is_signed_in(phone)
    assert is_signed_in(elsewhere)
    stored = reload(session, user)
    assert stored.password_hash.startswith("$argon2id$")
    assert verify_password(stored.password_hash, "un-tout-nouveau-secret")
    assert not verify_password(stored.password_hash, DEFAULT_PASSWORD)


def test_after_changing_the_password_only_the_new_one_logs_in(client, session, alice):
    post_form(
        client,
        "/account/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": "un-tout-nouveau-secret"},
    )
    post_form(client, "/account/logout")

    assert login(client, EMAIL, DEFAULT_PASSWORD).status_code == 422
    assert login(client, EMAIL, "un-tout-nouveau-secret").status_code == 303


def test_profile_changes_need_to_be_signed_in(client, session):
    user = make_user(session, email=EMAIL, display_name="Alice")

    response = post_form(client, "/account/profile", {"display_name": "Pirate", "locale": "en"})

    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login")
    assert reload(session, user).display_name == "Alice"
