"""Login throttling (issue 2, item 5): 5 failures on one account or 20 from one address within
15 minutes answer 429 with Retry-After; the counters live in the database."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import select

from app.accounts.models import LoginFailure, UserSession
from app.main import create_app
from tests.accounts.helpers import (
    WRONG_CREDENTIALS,
    count,
    error_page,
    failure_count,
    form_errors,
    fresh,
    is_signed_in,
    link_token,
    login,
    session_count,
)
from tests.factories import make_user, post_form, submit_form

EMAIL = "alice@exemple.fr"
WRONG = "pas-le-bon-mot-de-passe"
THROTTLED = "Trop de tentatives de connexion"


def fail(client, email=EMAIL, times=1):
    for _ in range(times):
        response = login(client, email, WRONG)
        assert response.status_code == 422, response.status_code
        assert form_errors(response.text) == [WRONG_CREDENTIALS]


def assert_throttled(response):
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 15 * 60 + 1
    title, text = error_page(response)
    assert title == "Trop de tentatives"
    assert THROTTLED in text
    assert "réessayez dans" in text
    return retry_after


def age_failures(session, minutes):
    """Moves every recorded failure `minutes` into the past."""
    for failure in fresh(session).exec(select(LoginFailure)):
        failure.created_at = failure.created_at - timedelta(minutes=minutes)
        session.add(failure)
    session.commit()


def test_the_sixth_attempt_after_five_failures_is_refused_even_with_the_right_password(
    client, session
):
    user = make_user(session, email=EMAIL)
    fail(client, times=5)

    response = login(client, EMAIL)

    assert_throttled(response)
    assert session_count(session, user) == 0
    assert not is_signed_in(client)


def test_four_failures_do_not_stop_the_owner(client, session):
    make_user(session, email=EMAIL)
    fail(client, times=4)

    assert login(client, EMAIL).status_code == 303


def test_failures_count_per_account_whatever_the_case_of_the_address(client, session):
    make_user(session, email=EMAIL)
    for variant in ("ALICE@exemple.fr", "Alice@Exemple.fr", "alice@EXEMPLE.FR", EMAIL, EMAIL):
        fail(client, variant)

    assert_throttled(login(client, EMAIL))
    assert failure_count(session, EMAIL) == 5


def test_failures_on_an_unknown_address_are_throttled_the_same_way(client, session):
    fail(client, "inconnu@exemple.fr", times=5)

    assert_throttled(login(client, "inconnu@exemple.fr", WRONG))


def test_throttling_one_account_does_not_lock_another(client, session):
    make_user(session, email=EMAIL)
    make_user(session, email="bruno@exemple.fr")
    fail(client, times=5)

    assert login(client, "bruno@exemple.fr").status_code == 303


def test_twenty_failures_from_one_address_across_accounts_block_that_address(client, session):
    make_user(session, email="bonne.personne@exemple.fr")
    for n in range(20):
        fail(client, f"cible{n}@exemple.fr")

    # A 21st account, never tried before, with the right password: the address is blocked.
    response = login(client, "bonne.personne@exemple.fr")

    assert_throttled(response)
    assert count(session, UserSession) == 0


def test_the_counters_live_in_the_database_so_another_worker_sees_them(client, session, settings):
    make_user(session, email=EMAIL)
    fail(client, times=5)

    # A second application instance (another worker process) sharing the same database.
    second_app = create_app(settings)
    try:
        with TestClient(second_app, base_url="http://testserver") as other_worker:
            response = login(other_worker, EMAIL)
    finally:
        second_app.state.engine.dispose()

    assert_throttled(response)


def test_failures_older_than_fifteen_minutes_no_longer_count(client, session):
    make_user(session, email=EMAIL)
    fail(client, times=5)
    assert_throttled(login(client, EMAIL))

    age_failures(session, minutes=15)

    assert login(client, EMAIL).status_code == 303


def test_failures_fourteen_minutes_old_still_count(client, session):
    make_user(session, email=EMAIL)
    fail(client, times=5)

    age_failures(session, minutes=14)

    retry_after = assert_throttled(login(client, EMAIL))
    # The oldest failure leaves the window in about a minute.
    assert retry_after <= 61


def test_retry_after_counts_from_the_oldest_failure_in_the_window(client, session):
    make_user(session, email=EMAIL)
    fail(client, times=5)

    retry_after = assert_throttled(login(client, EMAIL))

    assert 14 * 60 < retry_after <= 15 * 60 + 1
    assert re.search(r"réessayez dans 1[45] minute\(s\)", error_page(login(client, EMAIL))[1])


def test_a_successful_login_clears_the_account_counter(client, session):
    make_user(session, email=EMAIL)
    fail(client, times=4)

    assert login(client, EMAIL).status_code == 303
    assert failure_count(session, EMAIL) == 0

    post_form(client, "/account/logout")
    fail(client, times=4)
    # Eight failures in the window in all, but only four since the last success.
    assert login(client, EMAIL).status_code == 303


def test_a_password_reset_clears_the_account_counter(client, session, mailbox):
    make_user(session, email=EMAIL)
    fail(client, times=5)
    post_form(client, "/account/password/forgot", {"email": EMAIL})
    token = link_token(mailbox.last_link(EMAIL, "/account/password/reset"))

    post_form(client, "/account/password/reset", {"token": token, "password": "tout-nouveau-mdp"})

    assert failure_count(session, EMAIL) == 0
    assert login(client, EMAIL, "tout-nouveau-mdp").status_code == 303


def test_a_throttled_person_can_still_sign_in_with_an_emailed_link(client, session, mailbox):
    user = make_user(session, email=EMAIL)
    fail(client, times=5)

    submit_form(client, "/account/login", "/account/login-link", {"link_email": EMAIL})
    token = link_token(mailbox.last_link(EMAIL, "/account/login-link"))
    response = post_form(client, "/account/login-link/confirm", {"token": token})

    assert response.status_code == 303
    assert session_count(session, user) == 1


def test_throttled_attempts_are_not_checked_against_the_password(client, session):
    # Otherwise the 429 page would still leak whether a guessed password was right.
    make_user(session, email=EMAIL)
    fail(client, times=5)

    with_right = login(client, EMAIL)
    with_wrong = login(client, EMAIL, WRONG)

    assert with_right.status_code == with_wrong.status_code == 429
    assert error_page(with_right)[1] == error_page(with_wrong)[1]
