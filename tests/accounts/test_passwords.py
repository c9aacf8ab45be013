"""Passwords: argon2id hashes and the 10–1024 character rule, on every form that sets one."""

from __future__ import annotations

import pytest

from app.accounts import passwords
from tests.accounts.helpers import (
    field_error,
    link_token,
    outbox_count,
    reload,
    signup,
    user_by_email,
    user_count,
)
from tests.factories import DEFAULT_PASSWORD, login_as, make_user, post_form

TOO_SHORT = "Le mot de passe doit faire au moins 10 caractères."
TOO_LONG = "Le mot de passe doit faire au plus 1024 caractères."

LENGTHS = [
    pytest.param(9, TOO_SHORT, id="9-refused"),
    pytest.param(10, None, id="10-accepted"),
    pytest.param(1024, None, id="1024-accepted"),
    pytest.param(1025, TOO_LONG, id="1025-refused"),
]


def password_of(length: int) -> str:
    # Accented letters count as one character each, like people expect.
    return "é" + "a" * (length - 1)


@pytest.mark.parametrize(("length", "error"), LENGTHS)
def test_signup_enforces_the_password_length(client, session, length, error):
    password = password_of(length)

    response = signup(client, "alice@exemple.fr", "Alice", password)

    if error:
        assert response.status_code == 422
        assert field_error(response.text, "password") == error
        assert user_count(session) == 0
        assert outbox_count(session) == 0
    else:
        assert response.status_code == 303
        user = user_by_email(session, "alice@exemple.fr")
        assert passwords.verify_password(user.password_hash, password)


@pytest.mark.parametrize(("length", "error"), LENGTHS)
def test_password_reset_enforces_the_password_length(client, session, mailbox, length, error):
    user = make_user(session, email="alice@exemple.fr")
    post_form(client, "/account/password/forgot", {"email": "alice@exemple.fr"})
    token = link_token(mailbox.last_link("alice@exemple.fr", "/account/password/reset"))
    password = password_of(length)

    response = post_form(client, "/account/password/reset", {"token": token, "password": password})

    stored = reload(session, user).password_hash
    if error:
        assert response.status_code == 422
        assert field_error(response.text, "password") == error
        assert passwords.verify_password(stored, DEFAULT_PASSWORD)
    else:
        assert response.status_code == 303
        assert passwords.verify_password(stored, password)


@pytest.mark.parametrize(("length", "error"), LENGTHS)
def test_changing_the_password_enforces_the_password_length(client, session, length, error):
    user = make_user(session, email="alice@exemple.fr")
    login_as(client, user, session)
    password = password_of(length)

    response = post_form(
        client,
        "/account/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": password},
    )

    stored = reload(session, user).password_hash
    if error:
        assert response.status_code == 422
        assert field_error(response.text, "new_password") == error
        assert passwords.verify_password(stored, DEFAULT_PASSWORD)
    else:
        assert response.status_code == 303
        assert passwords.verify_password(stored, password)


def test_passwords_are_hashed_with_argon2id_and_salted(session):
    first = make_user(session, password="le-meme-mot-de-passe")
    second = make_user(session, password="le-meme-mot-de-passe")

    assert first.password_hash.startswith("$argon2id$")
    assert second.password_hash.startswith("$argon2id$")
    assert first.password_hash != second.password_hash


def test_a_password_is_checked_exactly(session):
    hashed = passwords.hash_password("Un-Mot-De-Passe")

    assert passwords.verify_password(hashed, "Un-Mot-De-Passe")
    assert not passwords.verify_password(hashed, "un-mot-de-passe")
    assert not passwords.verify_password(hashed, "Un-Mot-De-Passe ")
    assert not passwords.verify_password(None, "Un-Mot-De-Passe")
    assert not passwords.verify_password("pas-un-hash", "Un-Mot-De-Passe")
