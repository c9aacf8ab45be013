"""The whole path of a new person, through the pages only: sign up, confirm the address from
the outbox, log out, log in, forget the password and choose a new one."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from app.accounts.deps import SESSION_COOKIE
from app.accounts.models import UserSession
from tests.accounts.helpers import (
    WRONG_CREDENTIALS,
    confirm_address,
    count,
    form_errors,
    input_value,
    is_signed_in,
    login,
    notice,
    page_text,
    session_count,
    set_cookie_headers,
    signup,
    user_by_email,
)
from tests.factories import post_form

EMAIL = "alice@exemple.fr"
FIRST_PASSWORD = "premier-mot-de-passe"
SECOND_PASSWORD = "second-mot-de-passe"


def test_a_new_person_signs_up_confirms_logs_out_logs_in_and_resets_the_password(
    client, session, mailbox
):
    # Sign up: the answer is a redirect to "check your e-mails", nobody is signed in yet.
    response = signup(client, EMAIL, "Alice", FIRST_PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/check-email?reason=signup"
    assert SESSION_COOKIE not in client.cookies
    assert count(session, UserSession) == 0
    assert not is_signed_in(client)
    check_page = client.get(response.headers["location"])
    assert check_page.status_code == 200
    assert "Vérifiez vos e-mails" in page_text(check_page.text)
    user = user_by_email(session, EMAIL)
    assert user is not None
    assert user.email_verified_at is None

    # The verification e-mail arrives; its link shows a button, which confirms and signs in.
    link = mailbox.last_link(EMAIL, "/account/verify")
    response = confirm_address(client, link)
    assert response.status_code == 303
    assert response.headers["location"] == "/account?notice=verified"
    account = client.get(response.headers["location"])
    assert account.status_code == 200
    assert EMAIL in page_text(account.text)
    assert input_value(account.text, "display_name") == "Alice"
    assert "adresse e-mail est confirmée" in notice(account.text)
    user = user_by_email(session, EMAIL)
    assert user is not None
    assert user.email_verified_at is not None
    assert session_count(session, user) == 1

    # Log out: the session row is deleted and the cookie cleared.
    response = post_form(client, "/account/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/login?notice=logged_out"
    [cleared] = set_cookie_headers(response, SESSION_COOKIE)
    assert cleared["value"] == ""
    assert cleared["max-age"] == "0"
    assert session_count(session, user) == 0
    assert not is_signed_in(client)
    assert "déconnecté" in notice(client.get("/account/login?notice=logged_out").text)

    # Log in with the password.
    response = login(client, EMAIL, FIRST_PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert is_signed_in(client)
    post_form(client, "/account/logout")

    # Forgot the password: an e-mailed link leads to a page to choose a new one.
    response = post_form(client, "/account/password/forgot", {"email": EMAIL})
    assert response.status_code == 303
    assert response.headers["location"] == "/account/check-email?reason=reset"
    link = mailbox.last_link(EMAIL, "/account/password/reset")
    token = parse_qs(urlsplit(link).query)["token"][0]
    reset_page = client.get(link)
    assert reset_page.status_code == 200
    assert input_value(reset_page.text, "token") == token
    response = post_form(
        client, "/account/password/reset", {"token": token, "password": SECOND_PASSWORD}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account/login?notice=password_reset"

    # The old password no longer works, the new one does.
    response = login(client, EMAIL, FIRST_PASSWORD)
    assert response.status_code == 422
    assert WRONG_CREDENTIALS in form_errors(response.text)
    assert not is_signed_in(client)
    response = login(client, EMAIL, SECOND_PASSWORD)
    assert response.status_code == 303
    assert is_signed_in(client)
