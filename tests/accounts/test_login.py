"""Signing in with a password: the happy path, wrong credentials that reveal nothing, where the
browser goes next, and blocked accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.accounts.models import UserSession
from app.core.db import utcnow
from tests.accounts.helpers import (
    WRONG_CREDENTIALS,
    block_user,
    count,
    failure_count,
    form_errors,
    fresh,
    input_value,
    is_signed_in,
    login,
    page_text,
    reload,
    session_count,
)
from tests.factories import DEFAULT_PASSWORD, login_as, make_user, post_form


def fresh_sessions(session, user):
    return list(fresh(session).exec(select(UserSession).where(UserSession.user_id == user.id)))


def test_login_with_the_right_password_opens_a_session_and_goes_home(client, session):
    user = make_user(session, email="alice@exemple.fr")

    response = post_form(
        client,
        "/account/login",
        {"email": "alice@exemple.fr", "password": DEFAULT_PASSWORD},
        headers={"User-Agent": "Firefox de test"},
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert is_signed_in(client)
    [row] = fresh_sessions(session, user)
    assert row.user_agent == "Firefox de test"
    assert reload(session, user).last_login_at is not None


def test_login_accepts_the_address_in_any_case(client, session):
    make_user(session, email="alice@exemple.fr")

    response = login(client, "  ALICE@Exemple.FR ")

    assert response.status_code == 303
    assert is_signed_in(client)


def test_login_with_a_wrong_password_shows_a_french_message_and_records_a_failure(client, session):
    user = make_user(session, email="alice@exemple.fr")

    response = login(client, "alice@exemple.fr", "pas-le-bon-mot-de-passe")

    assert response.status_code == 422
    assert form_errors(response.text) == [WRONG_CREDENTIALS]
    assert input_value(response.text, "email") == "alice@exemple.fr"
    assert "pas-le-bon-mot-de-passe" not in response.text
    assert session_count(session, user) == 0
    assert failure_count(session, "alice@exemple.fr") == 1
    assert not is_signed_in(client)


def test_login_with_an_unknown_address_answers_exactly_like_a_wrong_password(client, session):
    make_user(session, email="alice@exemple.fr")

    wrong_password = login(client, "alice@exemple.fr", "pas-le-bon-mot-de-passe")
    unknown = login(client, "personne@exemple.fr", "pas-le-bon-mot-de-passe")

    assert unknown.status_code == wrong_password.status_code == 422
    assert form_errors(unknown.text) == form_errors(wrong_password.text) == [WRONG_CREDENTIALS]
    assert count(session, UserSession) == 0


def test_password_login_to_a_link_only_account_is_refused_like_any_wrong_password(client, session):
    make_user(session, email="alice@exemple.fr", password=None)

    for attempt in ("", "n-importe-quoi-du-tout"):
        response = login(client, "alice@exemple.fr", attempt)
        assert response.status_code == 422
        assert form_errors(response.text) == [WRONG_CREDENTIALS]
    assert not is_signed_in(client)


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Cette adresse e-mail n'est pas valable."),
        ("pas-une-adresse", "Cette adresse e-mail n'est pas valable."),
        ("x" * 300 + "@exemple.fr", "Cette adresse e-mail n'est pas valable."),
    ],
)
def test_login_with_a_malformed_address_says_so_and_records_nothing(
    client, session, email, message
):
    response = login(client, email, "un-mot-de-passe-quelconque")

    assert response.status_code == 422
    assert message in form_errors(response.text)
    assert failure_count(session, email) == 0
    assert count(session, UserSession) == 0


def test_login_with_an_enormous_password_is_refused_without_error(client, session):
    make_user(session, email="alice@exemple.fr")

    response = login(client, "alice@exemple.fr", "x" * 100_000)

    assert response.status_code == 422
    assert form_errors(response.text) == [WRONG_CREDENTIALS]


@pytest.mark.parametrize(
    ("next_value", "target"),
    [
        ("/account", "/account"),
        ("/needs/new?theme=mobilite", "/needs/new?theme=mobilite"),
        ("https://evil.example/", "/"),
        ("//evil.example/account", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("//[evil", "/"),  # urlsplit raises on it (was a 500)
        ("", "/"),
    ],
)
def test_login_only_sends_people_on_to_local_pages(client, session, next_value, target):
    make_user(session, email="alice@exemple.fr")

    response = login(client, "alice@exemple.fr", next=next_value)

    assert response.status_code == 303
    assert response.headers["location"] == target


def test_a_page_that_needs_an_account_sends_to_login_and_back(client, session):
    make_user(session, email="alice@exemple.fr")

    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/login?next=/account"
    login_page = client.get(response.headers["location"])
    assert input_value(login_page.text, "next") == "/account"

    response = login(client, "alice@exemple.fr", next="/account")
    assert response.headers["location"] == "/account"


def test_login_page_sends_a_signed_in_person_on(client, session):
    login_as(client, make_user(session), session)

    response = client.get("/account/login", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/account"


def test_a_blocked_account_signs_in_and_every_page_says_why_it_cannot_take_part(client, session):
    # Blocked people keep reading, exporting and deleting their data (moderation issue).
    user = make_user(session, email="alice@exemple.fr")
    block_user(session, user, reason="Messages insultants répétés")

    response = login(client, "alice@exemple.fr")

    assert response.status_code == 303
    assert is_signed_in(client)
    text = page_text(client.get("/account").text)
    assert "Votre compte est bloqué. Motif : Messages insultants répétés" in text
    assert "exporter ou supprimer vos données" in text


def test_a_temporary_block_names_its_end_date_on_every_page(client, session):
    user = make_user(session, email="alice@exemple.fr")
    block_user(session, user, reason="Spam", until=utcnow() + timedelta(days=7))

    login(client, "alice@exemple.fr")

    text = page_text(client.get("/").text)
    assert "Votre compte est bloqué jusqu'au" in text and "Motif : Spam" in text


def test_a_block_without_reason_still_explains_itself(client, session):
    user = make_user(session, email="alice@exemple.fr")
    block_user(session, user, reason=None)

    login(client, "alice@exemple.fr")

    assert "Motif : aucune raison précisée" in page_text(client.get("/").text)


def test_no_block_notice_once_a_temporary_block_is_over(client, session):
    user = make_user(session, email="alice@exemple.fr")
    block_user(session, user, reason="Spam", until=utcnow() - timedelta(minutes=1))

    response = login(client, "alice@exemple.fr")

    assert response.status_code == 303
    assert is_signed_in(client)
    assert "Votre compte est bloqué" not in page_text(client.get("/").text)


def test_login_for_a_blocked_account_with_a_wrong_password_reveals_nothing(client, session):
    user = make_user(session, email="alice@exemple.fr")
    block_user(session, user, reason="Spam")

    response = login(client, "alice@exemple.fr", "pas-le-bon-mot-de-passe")

    assert response.status_code == 422
    assert form_errors(response.text) == [WRONG_CREDENTIALS]
    assert "Spam" not in response.text
