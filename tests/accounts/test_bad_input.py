"""Bad input on the account pages (issue 2, "Bad input"): each gets a clear French message,
writes nothing and never answers 500."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import inspect

from app.accounts.models import ApiToken, Role, UserSession
from app.web.security import csrf_token_for
from tests.accounts.helpers import (
    CSRF_MESSAGE,
    confirm_address,
    count,
    error_page,
    field_error,
    input_value,
    outbox_count,
    reload,
    signup,
    user_by_email,
    user_count,
)
from tests.factories import csrf_token, login_as, make_user, post_form

# --- e-mail addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Indiquez votre adresse e-mail."),
        ("   ", "Indiquez votre adresse e-mail."),
        ("pas-une-adresse", "Cette adresse e-mail n'est pas valable"),
        ("alice@", "Cette adresse e-mail n'est pas valable"),
        ("@exemple.fr", "Cette adresse e-mail n'est pas valable"),
        ("alice@@exemple.fr", "Cette adresse e-mail n'est pas valable"),
        ("alice@exemple", "Cette adresse e-mail n'est pas valable"),
        ("alice exemple@exemple.fr", "Cette adresse e-mail n'est pas valable"),
        ("<script>@exemple.fr", "Cette adresse e-mail n'est pas valable"),
        ("alice@exemple.fr\x00", "Cette adresse e-mail n'est pas valable"),
        ("a" * 250 + "@exemple.fr", "Cette adresse e-mail est trop longue."),
    ],
)
def test_signup_with_a_malformed_email_says_so_in_french_and_writes_nothing(
    client, session, email, message
):
    response = signup(client, email, "Alice")

    assert response.status_code == 422
    assert message in field_error(response.text, "email")
    assert user_count(session) == 0
    assert outbox_count(session) == 0


# --- passwords ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("123456789", "Le mot de passe doit faire au moins 10 caractères."),
        ("x" * 1025, "Le mot de passe doit faire au plus 1024 caractères."),
        ("x" * 100_000, "Le mot de passe doit faire au plus 1024 caractères."),
    ],
)
def test_signup_with_a_short_or_over_long_password_says_so_and_writes_nothing(
    client, session, password, message
):
    response = signup(client, "alice@exemple.fr", "Alice", password)

    assert response.status_code == 422
    assert field_error(response.text, "password") == message
    assert user_count(session) == 0
    assert outbox_count(session) == 0


# --- display names -----------------------------------------------------------------------------

HOSTILE_NAMES = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "Robert'); DROP TABLE users;--",
    "1' OR '1'='1",
    "{{ 7*7 }} & {% raw %}",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_display_name_with_html_or_sql_is_stored_as_typed_and_shown_escaped(
    client, session, mailbox, name
):
    response = signup(client, "alice@exemple.fr", name)
    assert response.status_code == 303
    user = user_by_email(session, "alice@exemple.fr")
    assert user.display_name == name
    assert inspect(session.get_bind()).has_table("users")

    confirm_address(client, mailbox.last_link("alice@exemple.fr", "/account/verify"))
    page = client.get("/account")

    assert page.status_code == 200
    assert name not in page.text  # only its escaped form is in the markup
    assert "<script>alert" not in page.text
    assert "<img src=x" not in page.text
    assert input_value(page.text, "display_name") == name
    # Nothing in the page came from the name: no extra element, no template evaluation.
    tree = LexborHTMLParser(page.text)
    assert tree.css("main script") == []
    assert tree.css("main img") == []


def test_a_display_name_with_html_is_plain_text_in_the_email_too(client, session, mailbox):
    signup(client, "alice@exemple.fr", "<b>Alice</b>")

    [message] = mailbox.to("alice@exemple.fr")

    assert message.get_content_type() == "text/plain"
    assert "Bonjour <b>Alice</b>," in message.get_content()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Indiquez un nom d'au moins 2 caractères."),
        ("A", "Indiquez un nom d'au moins 2 caractères."),
        ("   \t  ", "Indiquez un nom d'au moins 2 caractères."),
        ("\u200b\u200b\u200b", "Indiquez un nom d'au moins 2 caractères."),
        ("x" * 61, "Le nom doit faire au plus 60 caractères."),
        ("x" * 10_000, "Le nom doit faire au plus 60 caractères."),
    ],
)
def test_signup_with_an_empty_or_over_long_display_name_says_so_and_writes_nothing(
    client, session, name, message
):
    response = signup(client, "alice@exemple.fr", name)

    assert response.status_code == 422
    assert field_error(response.text, "display_name") == message
    assert user_count(session) == 0


def test_invisible_and_control_characters_are_removed_from_display_names(client, session):
    signup(client, "alice@exemple.fr", "  Ali\u200bce\x00 \u202e  Martin\n")

    assert user_by_email(session, "alice@exemple.fr").display_name == "Alice Martin"


def test_a_display_name_of_exactly_sixty_characters_is_accepted(client, session):
    assert signup(client, "alice@exemple.fr", "é" * 60).status_code == 303

    assert user_by_email(session, "alice@exemple.fr").display_name == "é" * 60


# --- NUL bytes and other odd values reach no database --------------------------------------------


@pytest.mark.parametrize(
    ("url", "data", "status"),
    [
        ("/account/login", {"email": "alice@exemple.fr\x00", "password": "x\x00y"}, 422),
        ("/account/login", {"email": "alice@exemple.fr", "password": "x\x00y"}, 422),
        (
            "/account/signup",
            {"email": "a\x00@exemple.fr", "display_name": "Al", "password": ""},
            422,
        ),
        ("/account/login-link", {"link_email": "\x00@exemple.fr"}, 422),
        ("/account/password/forgot", {"email": "alice\x00@exemple.fr"}, 422),
        ("/account/password/reset", {"token": "\x00", "password": "un-mot-de-passe-long"}, 404),
        ("/account/login-link/confirm", {"token": "\x00abc"}, 404),
    ],
)
def test_nul_bytes_in_anonymous_forms_are_refused_without_error(client, session, url, data, status):
    make_user(session, email="alice@exemple.fr")
    users_before = user_count(session)

    response = post_form(client, url, data)

    assert response.status_code == status
    assert 'lang="fr"' in response.text
    assert user_count(session) == users_before
    assert count(session, UserSession) == 0


@pytest.mark.parametrize(
    ("url", "data", "status"),
    [
        ("/account/profile", {"display_name": "Ali\x00ce", "locale": "fr\x00"}, 303),
        ("/account/tokens", {"label": "Jeton\x00nul"}, 200),
        (
            "/account/password",
            {"current_password": "\x00", "new_password": "nouveau\x00secret"},
            422,
        ),
        (
            "/account/password",
            {"current_password": "un-mot-de-passe-solide", "new_password": "nouveau\x00secret"},
            303,
        ),
    ],
)
def test_nul_bytes_in_account_forms_never_cause_a_server_error(client, session, url, data, status):
    user = make_user(session, email="alice@exemple.fr")
    login_as(client, user, session)

    response = post_form(client, url, data)

    assert response.status_code == status
    assert "\x00" not in reload(session, user).display_name


# --- CSRF --------------------------------------------------------------------------------------


def _count_users(session, _user):
    return user_count(session)


def _display_name(session, user):
    return reload(session, user).display_name


def _sessions(session, user):
    return count(session, UserSession, UserSession.user_id == user.id)


def _tokens(session, _user):
    return count(session, ApiToken)


def _password(session, user):
    return reload(session, user).password_hash


# (url, form data, what must not change)
CSRF_CASES = [
    pytest.param(
        "/account/signup",
        {"email": "nouveau@exemple.fr", "display_name": "Nouveau", "password": "mot-de-passe-1"},
        _count_users,
        id="signup",
    ),
    pytest.param(
        "/account/profile", {"display_name": "Pirate", "locale": "en"}, _display_name, id="profile"
    ),
    pytest.param("/account/tokens", {"label": "Volé"}, _tokens, id="token"),
    pytest.param("/account/logout", {}, _sessions, id="logout"),
    pytest.param("/account/logout-everywhere", {}, _sessions, id="logout-everywhere"),
    pytest.param(
        "/account/password",
        {"current_password": "un-mot-de-passe-solide", "new_password": "choisi-par-le-pirate"},
        _password,
        id="password",
    ),
]


def _forged_requests(client, url, data):
    """The same form posted in every way a forged request can arrive."""
    good_token = csrf_token(client)
    yield "no token", client.post(url, data=data, follow_redirects=False)
    yield "empty token", client.post(url, data={**data, "csrf_token": ""}, follow_redirects=False)
    yield (
        "wrong token",
        client.post(url, data={**data, "csrf_token": "0" * 64}, follow_redirects=False),
    )
    yield (
        "token in a query string",
        client.post(f"{url}?csrf_token={good_token}", data=data, follow_redirects=False),
    )
    yield (
        "cross-site origin",
        client.post(
            url,
            data={**data, "csrf_token": good_token},
            headers={"Origin": "https://evil.example"},
            follow_redirects=False,
        ),
    )
    yield (
        "cross-site fetch",
        client.post(
            url,
            data={**data, "csrf_token": good_token},
            headers={"Sec-Fetch-Site": "cross-site"},
            follow_redirects=False,
        ),
    )
    secret = client.app.state.settings.signing_key
    other_browsers_token = csrf_token_for(secret, "le-cookie-d-un-autre-navigateur")
    yield (
        "token of another browser",
        client.post(url, data={**data, "csrf_token": other_browsers_token}, follow_redirects=False),
    )


@pytest.mark.parametrize(("url", "data", "observe"), CSRF_CASES)
def test_a_form_without_a_valid_csrf_token_is_refused_in_french_and_writes_nothing(
    client, session, url, data, observe
):
    user = make_user(session, email="alice@exemple.fr")
    if url != "/account/signup":
        login_as(client, user, session)
    before = observe(session, user)
    outbox_before = outbox_count(session)

    for how, response in _forged_requests(client, url, data):
        assert response.status_code == 403, how
        title, text = error_page(response)
        assert title == "Vérification de sécurité échouée", how
        assert CSRF_MESSAGE in text or "vient d'un autre site" in text, how
        assert observe(session, user) == before, how
    assert outbox_count(session) == outbox_before


def test_a_login_without_a_valid_csrf_token_opens_no_session(client, session):
    make_user(session, email="alice@exemple.fr")

    for how, response in _forged_requests(
        client,
        "/account/login",
        {"email": "alice@exemple.fr", "password": "un-mot-de-passe-solide"},
    ):
        assert response.status_code == 403, how
    assert count(session, UserSession) == 0


def test_the_csrf_check_accepts_the_same_site_origin(client, session):
    user = make_user(session, email="alice@exemple.fr")
    login_as(client, user, session)

    response = post_form(
        client,
        "/account/profile",
        {"display_name": "Alice", "locale": "fr"},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )

    assert response.status_code == 303
    assert reload(session, user).display_name == "Alice"


def test_the_csrf_token_also_works_in_the_htmx_header(client, session):
    user = make_user(session, email="alice@exemple.fr")
    login_as(client, user, session)

    response = client.post(
        "/account/profile",
        data={"display_name": "Alice par htmx", "locale": "fr"},
        headers={"X-CSRF-Token": csrf_token(client), "HX-Request": "true"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert reload(session, user).display_name == "Alice par htmx"


# --- roles -------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["role", "role_enum", "is_admin"])
def test_a_role_posted_in_the_signup_form_is_ignored(client, session, field):
    response = signup(client, "alice@exemple.fr", "Alice", **{field: "admin"})

    assert response.status_code == 303
    assert user_by_email(session, "alice@exemple.fr").role == Role.resident


def test_a_resident_posting_a_role_in_the_profile_form_stays_resident(client, session):
    user = make_user(session, email="alice@exemple.fr")
    login_as(client, user, session)

    response = post_form(
        client,
        "/account/profile",
        {"display_name": "Alice", "locale": "fr", "role": "admin", "email": "x@exemple.fr"},
    )

    assert response.status_code == 303
    stored = reload(session, user)
    assert stored.role == Role.resident
    assert stored.email == "alice@exemple.fr"
    assert stored.display_name == "Alice"


# --- unknown routes and wrong methods ---------------------------------------------------------


@pytest.mark.parametrize("url", ["/account/nimporte-quoi", "/account/tokens/1", "/accounts"])
def test_an_unknown_account_address_is_a_french_404_page(client, url):
    response = client.get(url)

    assert response.status_code == 404
    assert 'lang="fr"' in response.text
    assert error_page(response)[0] == "Page introuvable"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/account/logout"),
        ("GET", "/account/logout-everywhere"),
        ("GET", "/account/tokens"),
        ("GET", "/account/login-link/confirm"),
        ("PUT", "/account/login"),
        ("DELETE", "/account"),
    ],
)
def test_a_wrong_method_is_a_french_405_page(client, session, method, url):
    user = make_user(session, email="alice@exemple.fr")
    login_as(client, user, session)

    response = client.request(method, url, follow_redirects=False)

    assert response.status_code == 405
    assert error_page(response)[0] == "Méthode non autorisée"
    assert count(session, UserSession) == 1
