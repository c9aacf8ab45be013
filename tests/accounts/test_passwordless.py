"""People who do not want a password sign in with e-mailed links; choosing a password later
leads to the very same account (issue 2, item 4)."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from tests.accounts.helpers import (
    WRONG_CREDENTIALS,
    confirm_address,
    form_errors,
    is_signed_in,
    link_token,
    login,
    page_text,
    reload,
    session_count,
    signup,
    user_by_email,
    user_count,
)
from tests.factories import post_form, submit_form

EMAIL = "camille@exemple.fr"


def test_a_person_without_password_signs_up_and_comes_back_by_link_then_by_password(
    client, session, mailbox
):
    # Sign up without a password and confirm the address.
    response = signup(client, EMAIL, "Camille", "")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/check-email?reason=signup"
    user = user_by_email(session, EMAIL)
    assert user is not None
    assert user.password_hash is None
    assert confirm_address(client, mailbox.last_link(EMAIL, "/account/verify"))
    assert is_signed_in(client)
    post_form(client, "/account/logout")
    assert not is_signed_in(client)

    # Come back with a sign-in link: opening it asks to confirm, confirming signs in.
    response = submit_form(client, "/account/login", "/account/login-link", {"link_email": EMAIL})
    assert response.status_code == 303
    link = mailbox.last_link(EMAIL, "/account/login-link")
    confirm_page = client.get(link)
    assert confirm_page.status_code == 200
    assert not is_signed_in(client)
    form = LexborHTMLParser(confirm_page.text).css_first("main form")
    assert form.attributes["action"] == "/account/login-link/confirm"
    assert form.attributes["method"] == "post"
    response = post_form(client, "/account/login-link/confirm", {"token": link_token(link)})
    assert response.status_code == 303
    assert is_signed_in(client)

    # The account page offers to choose a password, without asking for a current one.
    account = client.get("/account")
    assert "Vous vous connectez par lien" in page_text(account.text)
    tree = LexborHTMLParser(account.text)
    assert tree.css_first("input[name=new_password]") is not None
    assert tree.css_first("input[name=current_password]") is None
    response = post_form(client, "/account/password", {"new_password": "enfin-un-mot-de-passe"})
    assert response.status_code == 303
    assert response.headers["location"] == "/account?notice=password_changed"
    assert is_signed_in(client)
    post_form(client, "/account/logout")

    # Same account, reached by password now.
    response = login(client, EMAIL, "enfin-un-mot-de-passe")
    assert response.status_code == 303
    assert is_signed_in(client)
    assert user_count(session) == 1
    assert session_count(session, user) == 1
    assert reload(session, user).password_hash.startswith("$argon2id$")


def test_once_a_link_only_account_has_a_password_changing_it_needs_the_current_one(
    client, session, mailbox
):
    signup(client, EMAIL, "Camille", "")
    confirm_address(client, mailbox.last_link(EMAIL, "/account/verify"))
    post_form(client, "/account/password", {"new_password": "enfin-un-mot-de-passe"})

    response = post_form(client, "/account/password", {"new_password": "encore-un-autre-secret"})

    assert response.status_code == 422
    assert "Le mot de passe actuel est incorrect." in form_errors(response.text)
    post_form(client, "/account/logout")
    assert login(client, EMAIL, "enfin-un-mot-de-passe").status_code == 303


def test_a_link_only_account_cannot_be_entered_with_an_empty_password(client, session):
    signup(client, EMAIL, "Camille", "")

    response = login(client, EMAIL, "")

    assert response.status_code == 422
    assert form_errors(response.text) == [WRONG_CREDENTIALS]
    assert not is_signed_in(client)
