"""Signing up: what is written, what is sent, and how an already-registered address is kept
secret."""

from __future__ import annotations

from app.accounts.models import Role, TokenPurpose
from app.accounts.passwords import verify_password
from tests.accounts.helpers import (
    confirm_address,
    form_errors,
    input_value,
    is_signed_in,
    outbox_count,
    page_text,
    reload,
    signup,
    tokens_of,
    user_by_email,
    user_count,
)
from tests.factories import login_as, make_user, post_form


def test_signup_creates_an_unverified_resident_and_queues_one_verification_email(
    client, session, mailbox
):
    response = signup(client, "alice@exemple.fr", "Alice", "un-mot-de-passe-solide")

    assert response.status_code == 303
    user = user_by_email(session, "alice@exemple.fr")
    assert user is not None
    assert user.display_name == "Alice"
    assert user.role == Role.resident
    assert user.email_verified_at is None
    assert [t.used_at for t in tokens_of(session, user, TokenPurpose.verify_email)] == [None]
    [message] = mailbox.to("alice@exemple.fr")
    assert message["Subject"] == "Confirmez votre adresse e-mail"
    assert "Bonjour Alice," in message.get_body(preferencelist=("plain",)).get_content()


def test_signup_does_not_sign_the_person_in_before_the_address_is_confirmed(client):
    signup(client)

    assert not is_signed_in(client)


def test_signup_stores_the_address_lower_cased_and_trimmed(client, session):
    signup(client, "  Alice.Martin@Exemple.FR ", "Alice")

    user = user_by_email(session, "alice.martin@exemple.fr")
    assert user is not None
    assert user.email == "alice.martin@exemple.fr"


def test_signup_stores_the_password_as_an_argon2id_hash(client, session):
    signup(client, "alice@exemple.fr", "Alice", "un-mot-de-passe-solide")

    user = user_by_email(session, "alice@exemple.fr")
    assert user is not None
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert "un-mot-de-passe-solide" not in user.password_hash
    assert verify_password(user.password_hash, "un-mot-de-passe-solide")


def test_signup_with_an_empty_password_creates_a_link_only_account(client, session):
    response = signup(client, "alice@exemple.fr", "Alice", "")

    assert response.status_code == 303
    user = user_by_email(session, "alice@exemple.fr")
    assert user is not None
    assert user.password_hash is None


def test_signup_page_sends_a_signed_in_person_to_their_account(client, session):
    login_as(client, make_user(session), session)

    response = client.get("/account/signup", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/account"


def test_signup_page_is_a_french_form_with_a_csrf_field(client):
    response = client.get("/account/signup")

    assert response.status_code == 200
    assert "Créer un compte" in page_text(response.text)
    assert input_value(response.text, "csrf_token")
    assert input_value(response.text, "email") == ""


def test_signup_with_existing_email_looks_the_same_and_writes_nothing(client, session, mailbox):
    owner = make_user(session, email="alice@exemple.fr", display_name="Alice")
    original_hash = owner.password_hash
    new_person = signup(client, "bruno@exemple.fr", "Bruno", "un-autre-mot-de-passe")
    users_before = user_count(session)

    duplicate = signup(client, "alice@exemple.fr", "Usurpateur", "un-autre-mot-de-passe")

    # Same answer as a real signup: status, target and the page behind it.
    assert duplicate.status_code == new_person.status_code == 303
    assert duplicate.headers["location"] == new_person.headers["location"]
    assert page_text(client.get(duplicate.headers["location"]).text) == page_text(
        client.get(new_person.headers["location"]).text
    )
    # Nothing written to the account: no second user, name and password untouched.
    assert user_count(session) == users_before
    owner = reload(session, owner)
    assert owner.display_name == "Alice"
    assert owner.password_hash == original_hash
    # The real owner is told by e-mail, with a way in.
    [message] = mailbox.to("alice@exemple.fr")
    assert message["Subject"] == "Vous avez déjà un compte sur la Bourse à initiatives"
    assert mailbox.last_link("alice@exemple.fr", "/account/login-link")


def test_signup_with_existing_email_in_another_case_creates_no_second_account(client, session):
    make_user(session, email="alice@exemple.fr")
    before = user_count(session)

    response = signup(client, "ALICE@Exemple.fr", "Alice bis")

    assert response.status_code == 303
    assert user_count(session) == before


def test_repeated_signups_on_an_existing_address_do_not_flood_its_owner(
    client_at, session, mailbox
):
    make_user(session, email="alice@exemple.fr")

    responses = [
        signup(client_at(f"198.51.100.{n}"), "alice@exemple.fr", f"Essai {n}") for n in range(5)
    ]

    assert {r.status_code for r in responses} == {303}
    assert len(mailbox.to("alice@exemple.fr")) == 3


def test_signup_reports_every_invalid_field_at_once_and_keeps_what_was_typed(client, session):
    response = signup(client, "pas-une-adresse", "A", "court")

    assert response.status_code == 422
    errors = form_errors(response.text)
    assert len(errors) == 3
    assert any("adresse e-mail n'est pas valable" in e for e in errors)
    assert any("au moins 2 caractères" in e for e in errors)
    assert any("au moins 10 caractères" in e for e in errors)
    assert input_value(response.text, "email") == "pas-une-adresse"
    assert input_value(response.text, "display_name") == "A"
    # A password is never sent back into the page.
    assert input_value(response.text, "password") is None
    assert user_count(session) == 0
    assert outbox_count(session) == 0


def test_an_unverified_person_can_ask_for_a_new_link_and_only_the_newest_works(
    client, session, mailbox
):
    user = make_user(session, email="alice@exemple.fr", verified=False)
    login_as(client, user, session)
    assert "pas encore confirmée" in page_text(client.get("/account").text)

    first = post_form(client, "/account/verify/resend")
    first_link = mailbox.last_link("alice@exemple.fr", "/account/verify")
    second = post_form(client, "/account/verify/resend")
    second_link = mailbox.last_link("alice@exemple.fr", "/account/verify")

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == "/account?notice=verification_sent"
    assert first_link != second_link
    assert client.get(first_link, follow_redirects=False).status_code == 404
    assert confirm_address(client, second_link).status_code == 303
    assert reload(session, user).email_verified_at is not None


def test_a_verified_person_asking_for_a_verification_link_gets_none(client, session, mailbox):
    user = make_user(session, email="alice@exemple.fr", verified=True)
    login_as(client, user, session)

    response = post_form(client, "/account/verify/resend")

    assert response.status_code == 303
    assert mailbox.to("alice@exemple.fr") == []
