"""Sessions: the cookie's attributes, rotation at login, logging out here and everywhere, and
cookies that were tampered with."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from itsdangerous import Signer
from selectolax.lexbor import LexborHTMLParser

from app.accounts import service
from app.accounts.deps import SESSION_COOKIE
from app.accounts.models import UserSession
from app.accounts.tokens import hash_secret
from app.core.db import utcnow
from app.core.settings import Settings
from app.main import create_app
from tests.accounts.helpers import (
    fresh,
    is_signed_in,
    login,
    page_text,
    raw_session_token,
    session_count,
    session_exists,
    set_cookie_headers,
)
from tests.factories import login_as, make_user, post_form

EMAIL = "alice@exemple.fr"


def test_session_cookie_is_httponly_lax_and_not_secure_in_tests(client, session):
    make_user(session, email=EMAIL)

    response = login(client, EMAIL)

    [cookie] = set_cookie_headers(response, SESSION_COOKIE)
    assert cookie["httponly"] is True
    assert str(cookie["samesite"]).lower() == "lax"
    assert "secure" not in cookie
    assert cookie["path"] == "/"
    assert cookie["max-age"] == str(30 * 24 * 3600)


def test_session_cookie_is_secure_in_production(settings, session):
    production = Settings(
        env="production",
        database_url=settings.database_url,
        data_dir=settings.data_dir,
        base_url="https://bourse.exemple.fr",
        secret_key="a-production-secret-key-long-enough",
        _env_file=None,
    )
    make_user(session, email=EMAIL)
    app = create_app(production)
    try:
        with TestClient(app, base_url="https://bourse.exemple.fr") as browser:
            response = login(browser, EMAIL)
    finally:
        app.state.engine.dispose()

    assert response.status_code == 303
    [cookie] = set_cookie_headers(response, SESSION_COOKIE)
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert str(cookie["samesite"]).lower() == "lax"


def test_the_session_cookie_holds_a_random_token_stored_only_hashed(client, session):
    user = make_user(session, email=EMAIL)

    login(client, EMAIL)

    raw = raw_session_token(client)
    [row] = (
        fresh(session)
        .exec(
            UserSession.__table__.select().where(UserSession.user_id == user.id)  # type: ignore[attr-defined]
        )
        .all()
    )
    assert row.token_hash == hash_secret(raw)
    assert raw not in row.token_hash


def test_logging_in_ends_the_session_the_browser_already_had(client, session):
    user = make_user(session, email=EMAIL)
    login(client, EMAIL)
    before = raw_session_token(client)

    login(client, EMAIL)

    after = raw_session_token(client)
    assert after != before
    assert not session_exists(session, before)
    assert session_exists(session, after)
    assert session_count(session, user) == 1


def test_logging_in_over_a_planted_session_of_someone_else_ends_it(client, session):
    # Session fixation: an attacker sets their own session cookie in the victim's browser.
    attacker = make_user(session, email="mallory@exemple.fr")
    victim = make_user(session, email=EMAIL)
    login(client, "mallory@exemple.fr")
    planted = raw_session_token(client)

    login(client, EMAIL)

    assert not session_exists(session, planted)
    assert session_count(session, attacker) == 0
    assert session_count(session, victim) == 1


def test_logging_out_deletes_the_session_and_clears_the_cookie(client, session):
    user = make_user(session, email=EMAIL)
    login(client, EMAIL)
    raw = raw_session_token(client)

    response = post_form(client, "/account/logout")

    assert response.status_code == 303
    assert not session_exists(session, raw)
    assert session_count(session, user) == 0
    [cleared] = set_cookie_headers(response, SESSION_COOKIE)
    assert cleared["value"] == ""
    assert cleared["max-age"] == "0"
    assert SESSION_COOKIE not in client.cookies


def test_a_stolen_cookie_stops_working_after_logout(client, session, app):
    make_user(session, email=EMAIL)
    login(client, EMAIL)
    stolen = client.cookies[SESSION_COOKIE]
    post_form(client, "/account/logout")

    thief = TestClient(app, base_url="http://testserver")
    thief.cookies.set(SESSION_COOKIE, stolen)

    assert not is_signed_in(thief)


def test_logging_out_without_a_session_just_goes_to_the_login_page(client):
    response = post_form(client, "/account/logout")

    assert response.status_code == 303
    assert response.headers["location"] == "/account/login?notice=logged_out"


def test_the_header_offers_a_logout_button_that_posts_with_a_csrf_token(client, session):
    login_as(client, make_user(session), session)

    tree = LexborHTMLParser(client.get("/").text)

    form = tree.css_first("header form[action='/account/logout']")
    assert form is not None
    assert form.attributes["method"] == "post"
    assert form.css_first("input[name=csrf_token]").attributes["value"]


def test_logging_out_everywhere_ends_every_session_of_the_person_only(client, session, app):
    user = make_user(session, email=EMAIL)
    bystander = make_user(session)
    login(client, EMAIL)
    phone = TestClient(app, base_url="http://testserver")
    assert login(phone, EMAIL).status_code == 303
    other_browser = TestClient(app, base_url="http://testserver")
    login_as(other_browser, bystander, session)
    assert session_count(session, user) == 2

    response = post_form(client, "/account/logout-everywhere")

    assert response.status_code == 303
    assert response.headers["location"] == "/account/login?notice=logged_out_everywhere"
    assert session_count(session, user) == 0
    assert not is_signed_in(client)
    assert not is_signed_in(phone)
    assert is_signed_in(other_browser)


def test_logging_out_everywhere_needs_to_be_signed_in(client, session):
    response = post_form(client, "/account/logout-everywhere")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login?next=")


def test_the_account_page_lists_sessions_and_marks_this_device(client, session, app):
    user = make_user(session, email=EMAIL)
    post_form(
        client,
        "/account/login",
        {"email": EMAIL, "password": "un-mot-de-passe-solide"},
        headers={"User-Agent": "Navigateur du bureau"},
    )
    phone = TestClient(app, base_url="http://testserver", headers={"User-Agent": "Telephone"})
    login(phone, EMAIL)

    items = [
        " ".join(li.text(separator=" ").split())
        for li in LexborHTMLParser(client.get("/account").text).css(
            "section[aria-labelledby=sessions-title] li"
        )
    ]

    assert len(items) == session_count(session, user) == 2
    [this_device] = [item for item in items if "(cet appareil)" in item]
    assert "Navigateur du bureau" in this_device
    assert any("Telephone" in item and "(cet appareil)" not in item for item in items)


def signed(raw: str, key: str) -> str:
    return Signer(key, salt="bourse.session").sign(raw).decode()


@pytest.mark.parametrize(
    "make_cookie",
    [
        pytest.param(lambda raw: "n-importe-quoi", id="garbage"),
        pytest.param(lambda raw: raw, id="unsigned-real-token"),
        pytest.param(lambda raw: raw + ".AAAAAAAAAAAAAAAAAAAAAAAAAAA", id="bad-signature"),
        pytest.param(lambda raw: signed(raw, "une-autre-clef"), id="signed-with-another-key"),
        pytest.param(lambda raw: signed("jeton-inconnu", "test-secret-key"), id="unknown-token"),
        pytest.param(lambda raw: signed(raw, "test-secret-key") + "x" * 300, id="over-long"),
        pytest.param(lambda raw: '%00%ff\\"{}[]', id="odd-characters"),
    ],
)
def test_a_forged_or_garbled_session_cookie_is_just_anonymous(client, session, make_cookie):
    user = make_user(session, email=EMAIL)
    raw = service.start_session(session, user)
    assert client.app.state.settings.signing_key == "test-secret-key"
    client.cookies.set(SESSION_COOKIE, make_cookie(raw))

    home = client.get("/")
    assert home.status_code == 200
    assert "Se connecter" in page_text(home.text, "header")
    assert not is_signed_in(client)
    # A state-changing request with that cookie is not a 500 either.
    assert post_form(client, "/account/logout").status_code == 303
    assert session_exists(session, raw)


def test_an_expired_session_is_anonymous(client, session):
    user = make_user(session, email=EMAIL)
    login_as(client, user, session)
    row = (
        fresh(session)
        .exec(
            UserSession.__table__.select().where(UserSession.user_id == user.id)  # type: ignore[attr-defined]
        )
        .one()
    )
    stored = session.get(UserSession, row.id)
    stored.expires_at = utcnow() - timedelta(seconds=1)
    session.add(stored)
    session.commit()

    assert not is_signed_in(client)
