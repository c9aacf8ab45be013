"""Single-use links sent by e-mail: address verification, sign-in links and password reset.

Each kind must work once, expire, refuse forged values with the French "invalid link" page, and
be replaced by a newer link of the same kind.
"""

from __future__ import annotations

import pytest

from app.accounts import service
from app.accounts.models import TokenPurpose, UserSession
from app.accounts.passwords import verify_password
from tests.accounts.helpers import (
    INVALID_LINK,
    block_user,
    confirm_address,
    count,
    error_page,
    expire_links,
    field_error,
    input_value,
    is_signed_in,
    link_token,
    login,
    outbox_count,
    page_text,
    reload,
    session_count,
    signup,
    tokens_of,
    user_by_email,
    user_count,
)
from tests.factories import fresh, login_as, make_user, post_form, submit_form

EMAIL = "alice@exemple.fr"


def assert_invalid_link_page(response):
    assert response.status_code == 404
    title, text = error_page(response)
    assert title == "Page introuvable"
    assert INVALID_LINK in text


def request_login_link(client, email=EMAIL):
    # The login page's own form and field, as a person fills it.
    return submit_form(client, "/account/login", "/account/login-link", {"link_email": email})


def request_reset(client, email=EMAIL):
    return post_form(client, "/account/password/forgot", {"email": email})


# --- e-mail verification ----------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "forged", "A" * 43, "x" * 5000])
def test_forged_verification_link_is_a_french_404_and_verifies_nobody(client, session, token):
    signup(client, EMAIL, "Alice")

    response = client.get("/account/verify", params={"token": token}, follow_redirects=False)

    assert_invalid_link_page(response)
    assert user_by_email(session, EMAIL).email_verified_at is None
    assert count(session, UserSession) == 0


def test_expired_verification_link_is_refused_and_verifies_nobody(client, session, mailbox):
    signup(client, EMAIL, "Alice")
    link = mailbox.last_link(EMAIL, "/account/verify")
    user = user_by_email(session, EMAIL)
    expire_links(session, user, TokenPurpose.verify_email)

    response = client.get(link, follow_redirects=False)

    assert_invalid_link_page(response)
    assert reload(session, user).email_verified_at is None
    assert not is_signed_in(client)


def test_verification_link_works_only_once(client, session, mailbox):
    signup(client, EMAIL, "Alice")
    link = mailbox.last_link(EMAIL, "/account/verify")
    page = client.get(link)
    assert confirm_address(client, link).status_code == 303
    post_form(client, "/account/logout")

    response = client.get(link, follow_redirects=False)

    assert_invalid_link_page(response)
    again = submit_form(client, link, "/account/verify/confirm", html=page.text)
    assert_invalid_link_page(again)
    assert not is_signed_in(client)
    assert session_count(session, user_by_email(session, EMAIL)) == 0


def test_opening_the_verification_link_confirms_nothing_and_opens_no_session(
    client, session, mailbox
):
    # A mail scanner follows every link in a message: that must neither use the link up nor
    # get a session.
    signup(client, EMAIL, "Alice")
    link = mailbox.last_link(EMAIL, "/account/verify")

    for _ in range(3):
        response = client.get(link, follow_redirects=False)
        assert response.status_code == 200
        assert "Confirmer mon adresse" in page_text(response.text)

    assert user_by_email(session, EMAIL).email_verified_at is None
    assert not is_signed_in(client)
    assert count(session, UserSession) == 0
    # The person then presses the button, in the browser they signed up with: signed in.
    response = confirm_address(client, link)
    assert response.headers["location"] == "/account?notice=verified"
    assert is_signed_in(client)


def test_the_email_alone_confirms_but_opens_no_session_elsewhere(
    client, client_at, session, mailbox
):
    # The link read on another device (or by whoever got hold of the message) confirms the
    # address; signing in there takes the password or a sign-in link.
    signup(client, EMAIL, "Alice")
    link = mailbox.last_link(EMAIL, "/account/verify")
    elsewhere = client_at("203.0.113.9")

    response = confirm_address(elsewhere, link)

    assert response.status_code == 303
    assert response.headers["location"] == "/account/login?notice=verified_sign_in"
    assert user_by_email(session, EMAIL).email_verified_at is not None
    assert not is_signed_in(elsewhere)
    assert count(session, UserSession) == 0
    assert "adresse e-mail est confirmée" in page_text(
        elsewhere.get(response.headers["location"]).text
    )


def test_a_signed_in_person_confirming_stays_signed_in(client, session, mailbox):
    user = make_user(session, email=EMAIL, verified=False)
    login_as(client, user, session)
    post_form(client, "/account/verify/resend")
    link = mailbox.last_link(EMAIL, "/account/verify")

    response = confirm_address(client, link)

    assert response.headers["location"] == "/account?notice=verified"
    assert session_count(session, user) == 1
    assert reload(session, user).email_verified_at is not None


def test_verification_link_of_a_blocked_account_verifies_and_shows_the_block(
    client, session, mailbox
):
    signup(client, EMAIL, "Alice")
    link = mailbox.last_link(EMAIL, "/account/verify")
    user = user_by_email(session, EMAIL)
    block_user(session, user, reason="Spam")

    confirm_address(client, link)

    assert fresh(session).get(type(user), user.id).email_verified_at is not None
    assert "Motif : Spam" in page_text(client.get("/account").text)


def test_a_link_of_one_kind_cannot_be_used_as_another(client, session, mailbox):
    make_user(session, email=EMAIL)
    request_login_link(client)
    login_link = mailbox.last_link(EMAIL, "/account/login-link")
    token = link_token(login_link)

    for url in ("/account/verify", "/account/password/reset"):
        assert_invalid_link_page(client.get(url, params={"token": token}, follow_redirects=False))
    # Still good for what it was made for.
    assert client.get(login_link).status_code == 200


# --- sign-in links ------------------------------------------------------------------------------


def test_asking_for_a_sign_in_link_sends_one_and_shows_check_email(client, session, mailbox):
    make_user(session, email=EMAIL, display_name="Alice")

    response = request_login_link(client)

    assert response.status_code == 303
    assert response.headers["location"] == "/account/check-email?reason=link"
    assert "lien de connexion" in page_text(client.get(response.headers["location"]).text)
    [message] = mailbox.to(EMAIL)
    assert message["Subject"] == "Votre lien de connexion"
    assert mailbox.last_link(EMAIL, "/account/login-link")
    assert not is_signed_in(client)


def test_asking_for_a_sign_in_link_answers_the_same_for_an_unknown_address(
    client, session, mailbox
):
    make_user(session, email=EMAIL)
    known = request_login_link(client, EMAIL)
    users_before = user_count(session)

    unknown = request_login_link(client, "inconnu@exemple.fr")

    assert unknown.status_code == known.status_code == 303
    assert unknown.headers["location"] == known.headers["location"]
    assert user_count(session) == users_before
    [message] = mailbox.to("inconnu@exemple.fr")
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "aucun compte n'existe" in body
    assert "token=" not in body


def test_asking_for_a_sign_in_link_with_a_malformed_address_says_so_and_sends_nothing(
    client, session
):
    response = request_login_link(client, "pas une adresse")

    assert response.status_code == 422
    assert "n'est pas valable" in field_error(response.text, "link_email")
    assert input_value(response.text, "link_email") == "pas une adresse"
    assert outbox_count(session) == 0


def test_opening_a_sign_in_link_shows_a_confirm_button_and_does_not_use_it_up(
    client, session, mailbox
):
    user = make_user(session, email=EMAIL)
    request_login_link(client)
    link = mailbox.last_link(EMAIL, "/account/login-link")

    # Mail scanners open links: opening twice must neither sign in nor spend the link.
    first = client.get(link)
    second = client.get(link)

    assert first.status_code == second.status_code == 200
    assert "Connexion par lien" in page_text(first.text)
    assert input_value(first.text, "token") == link_token(link)
    assert [t.used_at for t in tokens_of(session, user, TokenPurpose.login_link)] == [None]
    assert not is_signed_in(client)


def test_confirming_a_sign_in_link_signs_in_once_and_only_once(client, session, mailbox):
    user = make_user(session, email=EMAIL)
    request_login_link(client)
    token = link_token(mailbox.last_link(EMAIL, "/account/login-link"))

    response = post_form(client, "/account/login-link/confirm", {"token": token})

    assert response.status_code == 303
    assert response.headers["location"] == "/?notice=welcome"
    assert is_signed_in(client)
    assert session_count(session, user) == 1

    post_form(client, "/account/logout")
    again = post_form(client, "/account/login-link/confirm", {"token": token})
    assert_invalid_link_page(again)
    assert_invalid_link_page(client.get("/account/login-link", params={"token": token}))
    assert not is_signed_in(client)


def test_confirming_a_sign_in_link_confirms_an_unverified_address(client, session, mailbox):
    user = make_user(session, email=EMAIL, verified=False)
    request_login_link(client)
    token = link_token(mailbox.last_link(EMAIL, "/account/login-link"))

    post_form(client, "/account/login-link/confirm", {"token": token})

    assert reload(session, user).email_verified_at is not None


@pytest.mark.parametrize("how", ["forged", "expired", "replaced"])
def test_bad_sign_in_links_are_refused_on_opening_and_on_confirming(client, session, mailbox, how):
    user = make_user(session, email=EMAIL)
    request_login_link(client)
    token = link_token(mailbox.last_link(EMAIL, "/account/login-link"))
    if how == "forged":
        token = token[:-4] + "AAAA"
    elif how == "expired":
        expire_links(session, user, TokenPurpose.login_link)
    else:
        request_login_link(client)

    assert_invalid_link_page(client.get("/account/login-link", params={"token": token}))
    assert_invalid_link_page(post_form(client, "/account/login-link/confirm", {"token": token}))
    assert session_count(session, user) == 0


def test_a_blocked_account_still_gets_its_sign_in_link(client, session, mailbox):
    # To read, export or delete its data; writing stays refused.
    user = make_user(session, email=EMAIL)
    block_user(session, user)

    response = request_login_link(client)

    assert response.status_code == 303
    assert response.headers["location"] == "/account/check-email?reason=link"
    assert len(mailbox.to(EMAIL)) == 1


def test_sign_in_links_to_one_address_are_capped(client_at, session, mailbox):
    # From five addresses: this is the cap per recipient, not the one per client.
    make_user(session, email=EMAIL)

    responses = [request_login_link(client_at(f"198.51.100.{n}")) for n in range(5)]

    assert {r.status_code for r in responses} == {303}
    assert len(mailbox.to(EMAIL)) == 3


def test_sign_in_link_requests_for_an_unknown_address_do_not_flood_it(client_at, session, mailbox):
    responses = [
        request_login_link(client_at(f"198.51.100.{n}"), "inconnu@exemple.fr") for n in range(5)
    ]

    assert {r.headers["location"] for r in responses} == {"/account/check-email?reason=link"}
    assert len(mailbox.to("inconnu@exemple.fr")) == 3


def test_the_link_sent_after_a_duplicate_signup_signs_the_owner_in(client, session, mailbox):
    owner = make_user(session, email=EMAIL)
    signup(client, EMAIL, "Quelqu'un")
    token = link_token(mailbox.last_link(EMAIL, "/account/login-link"))

    response = post_form(client, "/account/login-link/confirm", {"token": token})

    assert response.status_code == 303
    assert session_count(session, owner) == 1


# --- password reset -----------------------------------------------------------------------------


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(client, session, mailbox):
    make_user(session, email=EMAIL)
    users_before = user_count(session)

    known = request_reset(client, EMAIL)
    unknown = request_reset(client, "inconnu@exemple.fr")

    assert known.status_code == unknown.status_code == 303
    assert known.headers["location"] == unknown.headers["location"]
    assert known.headers["location"] == "/account/check-email?reason=reset"
    assert page_text(client.get(known.headers["location"]).text) == page_text(
        client.get(unknown.headers["location"]).text
    )
    assert user_count(session) == users_before
    assert mailbox.last_link(EMAIL, "/account/password/reset")
    [message] = mailbox.to("inconnu@exemple.fr")
    assert "token=" not in message.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.parametrize(
    ("email", "message"),
    [("", "Indiquez votre adresse e-mail."), ("alice@", "n'est pas valable")],
)
def test_forgot_password_with_a_malformed_address_says_so_and_sends_nothing(
    client, session, email, message
):
    response = request_reset(client, email)

    assert response.status_code == 422
    assert message in field_error(response.text, "email")
    assert outbox_count(session) == 0


def test_opening_a_reset_link_does_not_use_it_up(client, session, mailbox):
    user = make_user(session, email=EMAIL)
    request_reset(client)
    link = mailbox.last_link(EMAIL, "/account/password/reset")

    assert client.get(link).status_code == 200
    assert client.get(link).status_code == 200
    assert [t.used_at for t in tokens_of(session, user, TokenPurpose.reset_password)] == [None]


def test_a_password_reset_ends_every_session_of_the_account_only(client, session, mailbox):
    user = make_user(session, email=EMAIL)
    other = make_user(session)
    login_as(client, user, session)
    service.start_session(session, user)
    service.start_session(session, other)
    request_reset(client)
    token = link_token(mailbox.last_link(EMAIL, "/account/password/reset"))

    response = post_form(
        client, "/account/password/reset", {"token": token, "password": "tout-nouveau-secret"}
    )

    assert response.status_code == 303
    assert session_count(session, user) == 0
    assert session_count(session, other) == 1
    assert not is_signed_in(client)
    assert verify_password(reload(session, user).password_hash, "tout-nouveau-secret")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "au moins 10 caractères"),
        ("123456789", "au moins 10 caractères"),
        ("x" * 1025, "au plus 1024 caractères"),
    ],
)
def test_a_reset_with_a_bad_password_says_so_and_keeps_the_link_usable(
    client, session, mailbox, password, message
):
    user = make_user(session, email=EMAIL)
    original_hash = user.password_hash
    request_reset(client)
    token = link_token(mailbox.last_link(EMAIL, "/account/password/reset"))

    response = post_form(client, "/account/password/reset", {"token": token, "password": password})

    assert response.status_code == 422
    assert message in field_error(response.text, "password")
    assert input_value(response.text, "token") == token
    assert reload(session, user).password_hash == original_hash
    retry = post_form(
        client, "/account/password/reset", {"token": token, "password": "enfin-assez-long"}
    )
    assert retry.status_code == 303


@pytest.mark.parametrize("how", ["forged", "expired", "used", "replaced"])
def test_bad_reset_links_are_refused_on_opening_and_on_submitting(client, session, mailbox, how):
    user = make_user(session, email=EMAIL)
    request_reset(client)
    token = link_token(mailbox.last_link(EMAIL, "/account/password/reset"))
    if how == "forged":
        token = "forged-" + token
    elif how == "expired":
        expire_links(session, user, TokenPurpose.reset_password)
    elif how == "used":
        post_form(client, "/account/password/reset", {"token": token, "password": "premier-choix"})
    else:
        request_reset(client)
    hash_before = reload(session, user).password_hash

    assert_invalid_link_page(client.get("/account/password/reset", params={"token": token}))
    submitted = post_form(
        client, "/account/password/reset", {"token": token, "password": "choix-de-l-attaquant"}
    )

    assert_invalid_link_page(submitted)
    assert reload(session, user).password_hash == hash_before
    assert login(client, EMAIL, "choix-de-l-attaquant").status_code == 422


def test_a_reset_confirms_an_unverified_address(client, session, mailbox):
    user = make_user(session, email=EMAIL, verified=False)
    request_reset(client)
    token = link_token(mailbox.last_link(EMAIL, "/account/password/reset"))

    post_form(
        client, "/account/password/reset", {"token": token, "password": "tout-nouveau-secret"}
    )

    assert reload(session, user).email_verified_at is not None


def test_reset_links_to_one_address_are_capped(client_at, session, mailbox):
    make_user(session, email=EMAIL)

    responses = [request_reset(client_at(f"198.51.100.{n}")) for n in range(5)]

    assert {r.status_code for r in responses} == {303}
    assert len(mailbox.to(EMAIL)) == 3


def test_reset_requests_for_an_unknown_address_do_not_flood_it(client_at, session, mailbox):
    # Otherwise the form would let anyone send any number of e-mails to any address (from
    # five clients: this is the cap per recipient; tests/accounts/test_mail_limits.py has the
    # one per client).
    responses = [
        request_reset(client_at(f"198.51.100.{n}"), "inconnu@exemple.fr") for n in range(5)
    ]

    assert {r.headers["location"] for r in responses} == {"/account/check-email?reason=reset"}
    assert len(mailbox.to("inconnu@exemple.fr")) == 3
