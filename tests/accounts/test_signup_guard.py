"""Anti-abuse at the signup door: the honeypot, the minimum fill time and the per-address rate
limit. A refused form is shown again with a French message, keeps what was typed, and writes
nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.accounts.models import User
from app.core.db import utcnow
from app.core.ratelimit import ADDRESS_FACTOR, LIMITS, RateEvent, address_key
from app.mail.models import OutboxMessage
from app.web.antiabuse import HONEYPOT_FIELD, STARTED_FIELD, sign_form_start
from tests.accounts.helpers import count, fresh, input_value, notice, page_text, user_by_email
from tests.factories import csrf_token, guard_fields, post_form
from tests.web.helpers import make_settings, running_app

SIGNUP = {
    "email": "alice@exemple.fr",
    "display_name": "Alice",
    "password": "un-mot-de-passe-solide",
}
TOO_FAST = "Votre envoi a été trop rapide"
GENERIC = "Votre envoi n'a pas pu être accepté"


def ip_key(action: str = "signup") -> str:
    """The rate_events key of the TestClient's address (stored as a keyed hash)."""
    return f"{action}:ip:{address_key('testclient')}"


def _nothing_written(session) -> bool:  # type: ignore[no-untyped-def]
    return (count(session, User), count(session, OutboxMessage), count(session, RateEvent)) == (
        0,
        0,
        0,
    )


def _signup(client, **fields):  # type: ignore[no-untyped-def]
    return post_form(client, "/account/signup", {**SIGNUP, **fields})


def _page_guard(html: str) -> str:
    node = LexborHTMLParser(html).css_first(f'form input[name="{STARTED_FIELD}"]')
    assert node is not None, "the signup form carries no form_started field"
    return node.attributes["value"] or ""


def _assert_refused(response, session, message: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422
    assert message in notice(response.text) or message in page_text(response.text)
    assert _nothing_written(session)
    # What the person typed is kept (never the password), with a fresh guard and an empty trap.
    assert input_value(response.text, "email") == SIGNUP["email"]
    assert input_value(response.text, "display_name") == SIGNUP["display_name"]
    assert input_value(response.text, "password") is None
    assert input_value(response.text, HONEYPOT_FIELD) == ""
    assert _page_guard(response.text)


def test_the_signup_form_carries_a_signed_start_time_and_an_empty_honeypot(client):
    response = client.get("/account/signup")

    tree = LexborHTMLParser(response.text)
    assert _page_guard(response.text)
    honeypot = tree.css_first(f'form input[name="{HONEYPOT_FIELD}"]')
    assert honeypot.attributes["tabindex"] == "-1"
    assert honeypot.attributes["autocomplete"] == "off"
    label = tree.css_first(f'label[for="{honeypot.attributes["id"]}"]')
    assert label.text(strip=True) == "Ne pas remplir ce champ"


def test_a_person_who_took_a_few_seconds_signs_up(client, session):
    response = _signup(client, **guard_fields(client, seconds_ago=3))

    assert response.status_code == 303
    assert user_by_email(session, "alice@exemple.fr") is not None


def test_a_filled_honeypot_is_refused_with_a_generic_message_and_nothing_written(client, session):
    response = _signup(client, **{HONEYPOT_FIELD: "https://spam.example"})

    _assert_refused(response, session, GENERIC)
    assert "rapide" not in response.text
    assert "Ne pas remplir" not in notice(response.text)


def test_a_form_sent_right_after_it_was_rendered_is_refused_as_too_fast(client, session):
    started = _page_guard(client.get("/account/signup").text)

    response = _signup(client, **{STARTED_FIELD: started})

    _assert_refused(response, session, TOO_FAST)
    assert "réessayez" in notice(response.text)


@pytest.mark.parametrize(
    "started",
    [None, "", "form.ZmFrZQ.c2lnbmF0dXJlLWZvcmdlZQ", "x" * 300],
    ids=["missing", "empty", "forged", "huge"],
)
def test_a_missing_or_forged_start_time_is_refused(client, session, started):
    data = {**SIGNUP, **guard_fields(client)}
    if started is None:
        del data[STARTED_FIELD]
    else:
        data[STARTED_FIELD] = started
    payload = {"csrf_token": csrf_token(client), **data}

    response = client.post("/account/signup", data=payload, follow_redirects=False)

    _assert_refused(response, session, GENERIC)


def test_a_start_time_signed_with_another_key_is_refused(client, session, tmp_path):
    other = make_settings(tmp_path, secret_key="une-autre-cle")
    forged = sign_form_start(other, utcnow() - timedelta(minutes=1))

    response = _signup(client, **{STARTED_FIELD: forged})

    _assert_refused(response, session, GENERIC)


def test_a_refused_form_can_be_sent_again_once_corrected(client, session):
    _signup(client, **{HONEYPOT_FIELD: "rempli"})

    response = _signup(client)

    assert response.status_code == 303
    assert user_by_email(session, "alice@exemple.fr") is not None


def test_an_invalid_field_still_gets_its_own_message_and_a_fresh_guard(client, session):
    response = _signup(client, email="pas-une-adresse")

    assert response.status_code == 422
    assert _page_guard(response.text)
    assert count(session, RateEvent) == 0


# --- BOURSE_RATE_LIMITS=off ---------------------------------------------------------------------


@pytest.fixture
def relaxed(tmp_path, database_url):  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, database_url=database_url, rate_limits="off")
    with running_app(settings) as (_application, test_client):
        yield test_client


def test_with_rate_limits_off_a_fast_form_goes_through(relaxed, session):
    started = _page_guard(relaxed.get("/account/signup").text)

    response = _signup(relaxed, **{STARTED_FIELD: started})

    assert response.status_code == 303
    assert user_by_email(session, "alice@exemple.fr") is not None


def test_with_rate_limits_off_a_form_without_start_time_goes_through(relaxed, session):
    data = {**SIGNUP, "csrf_token": csrf_token(relaxed)}

    response = relaxed.post("/account/signup", data=data, follow_redirects=False)

    assert response.status_code == 303


def test_with_rate_limits_off_the_honeypot_still_refuses(relaxed, session):
    response = _signup(relaxed, **{HONEYPOT_FIELD: "bot"})

    _assert_refused(response, session, GENERIC)


# --- rate limit per address -------------------------------------------------------------------


def test_each_signup_counts_towards_the_limit_of_its_address(client, session):
    _signup(client)

    # The sign-up limit, and the limit on forms that send e-mail (the other rows mark the form
    # as used: tests/web/test_form_token_once.py).
    keys = sorted(fresh(session).exec(select(RateEvent.key)))
    assert [key for key in keys if not key.startswith("form")] == [ip_key("email"), ip_key()]


def test_too_many_signups_from_one_address_get_429_with_retry_after(client, session):
    window, limit = LIMITS["signup"][0]
    now = utcnow()
    for minutes in range(limit * ADDRESS_FACTOR):
        session.add(RateEvent(key=ip_key(), created_at=now - timedelta(minutes=minutes)))
    session.commit()

    response = _signup(client)

    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= window.total_seconds() + 1
    assert "Réessayez dans" in page_text(response.text)
    assert user_by_email(session, "alice@exemple.fr") is None
    assert count(session, OutboxMessage) == 0
    assert count(session, RateEvent) == limit * ADDRESS_FACTOR


def test_signups_older_than_the_window_do_not_count(client, session):
    window, limit = LIMITS["signup"][0]
    old = utcnow() - window - timedelta(minutes=1)
    for _ in range(limit * ADDRESS_FACTOR):
        session.add(RateEvent(key=ip_key(), created_at=old))
    session.commit()

    assert _signup(client).status_code == 303


def test_the_signup_rate_limit_is_off_with_rate_limits_off(relaxed, session):
    now = utcnow()
    for _ in range(100):
        session.add(RateEvent(key=ip_key(), created_at=now))
    session.commit()

    assert _signup(relaxed).status_code == 303
