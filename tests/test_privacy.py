"""What the site keeps about visitors (issue 18, item 6): addresses only as keyed hashes, purged
after BOURSE_RATE_EVENTS_DAYS days; no e-mail address, token or session value in the log."""

from __future__ import annotations

import io
import logging
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from app.accounts.models import LoginFailure
from app.core import ratelimit
from app.core.db import make_engine, utcnow
from app.core.logs import PrivateDataFilter, redact
from app.core.ratelimit import RateEvent, address_key
from app.ops.cli import log_config
from app.ops.jobs import purge_expired
from tests.factories import fresh, make_user, submit_form

ADDRESS = "203.0.113.57"


def test_an_address_is_kept_as_a_keyed_hash_of_its_network(app):
    key = address_key(ADDRESS)
    assert len(key) == 32 and int(key, 16) >= 0 and ADDRESS not in key
    assert address_key("2001:db8:4:5::1") == address_key("2001:db8:4:5:a:b:c:d")  # one /64
    assert address_key("2001:db8:4:6::1") != address_key("2001:db8:4:5::1")
    assert address_key("203.0.113.58") != key
    try:
        ratelimit.configure("another site's signing key")
        assert address_key(ADDRESS) != key  # unknown without the site's key
    finally:
        ratelimit.configure(app.state.settings.signing_key)


def test_no_table_holds_the_address_of_a_visitor_who_wrote_or_failed_to_log_in(client_at, session):
    browser = client_at(ADDRESS)
    person = make_user(session, password="un mot de passe assez long")
    # A failed login (throttling), then e-mails asked for (rate limits by address).
    submit_form(
        browser,
        "/account/login",
        "/account/login",
        {"email": person.email, "password": "pas le bon mot de passe"},
    )
    submit_form(
        browser, "/account/login", "/account/login-link", {"link_email": "inconnu@exemple.fr"}
    )

    db = fresh(session)
    failures = db.exec(select(LoginFailure)).all()
    keys = db.exec(select(RateEvent.key)).all()
    assert failures and all(f.ip == address_key(ADDRESS) for f in failures)
    assert any(key.endswith(f":ip:{address_key(ADDRESS)}") for key in keys), keys
    # Nowhere, in any text column of any table.
    with db.connection() as connection:
        for table in ("login_failures", "rate_events"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                assert all(ADDRESS not in str(value) for value in row), (table, row)


@pytest.mark.parametrize(("days", "left"), [(1, 1), (3, 2)])
def test_the_worker_purges_rate_events_after_the_days_set(app, session, days, left):
    now = utcnow()
    for age in (timedelta(hours=1), timedelta(days=2), timedelta(days=4)):
        session.add(RateEvent(key=f"need:ip:{address_key(ADDRESS)}", created_at=now - age))
    session.commit()
    settings = app.state.settings.model_copy(update={"rate_events_days": days})

    removed = purge_expired(app.state.engine, settings)

    assert removed["rate_events"] == 3 - left
    assert len(fresh(session).exec(select(RateEvent)).all()) == left


def test_the_setting_never_goes_below_the_longest_window(app):
    with pytest.raises(ValueError):
        app.state.settings.model_validate({"rate_events_days": 0})


def test_log_lines_lose_addresses_tokens_and_hashes_but_keep_paths():
    token = secrets.token_urlsafe(32)
    line = (
        f"GET /needs/12-un-lieu-pour-les-aidants-familiaux-du-quartier "
        f"to=claire.martin+bourse@exemple.fr token=bourse_{token} session={token} "
        f"hash={'3f' * 32}"
    )
    cleaned = redact(line)
    assert "/needs/12-un-lieu-pour-les-aidants-familiaux-du-quartier" in cleaned
    assert "exemple.fr" not in cleaned and "claire" not in cleaned
    assert token not in cleaned and "3f3f3f" not in cleaned
    assert cleaned.count("<secret>") == 3 and "<adresse>" in cleaned


def test_the_servers_logging_configuration_filters_every_line_and_traceback():
    """`bourse serve`'s configuration (uvicorn's, with the app's loggers) puts the filter on
    every handler; through it, a line and an exception's traceback carry no address or
    token."""
    config = log_config()
    assert config["filters"]["private"]["()"] == "app.core.logs.PrivateDataFilter"
    assert all("private" in handler["filters"] for handler in config["handlers"].values())

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PrivateDataFilter())
    log = logging.getLogger("bourse.test_privacy")
    log.addHandler(handler)
    token = secrets.token_urlsafe(32)
    try:
        log.error("Giving up on e-mail 12: refused %s", "jeanne@exemple.fr")
        try:
            raise RuntimeError(f"recipient jeanne@exemple.fr refused, token {token}")
        except RuntimeError:
            log.exception("delivery failed")
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    assert "Giving up on e-mail 12" in written and "RuntimeError" in written
    assert "jeanne@exemple.fr" not in written and token not in written


def test_a_database_error_names_the_statement_not_its_values(database_url):
    engine = make_engine(database_url)
    secret_email = "personne.privee@exemple.fr"
    try:
        with engine.begin() as connection, pytest.raises(IntegrityError) as raised:
            connection.execute(
                text(
                    "INSERT INTO login_failures (id, email, ip, created_at) VALUES (:i, :e, :p, :c)"
                ),
                [
                    {"i": 1, "e": secret_email, "p": "x", "c": utcnow()},
                    {"i": 1, "e": secret_email, "p": "x", "c": utcnow()},
                ],
            )
        assert secret_email not in str(raised.value)
    finally:
        engine.dispose()


def test_the_filter_is_idempotent_on_a_record():
    record = logging.LogRecord("bourse", logging.INFO, __file__, 1, "to %s", ("a@b.fr",), None)
    PrivateDataFilter().filter(record)
    PrivateDataFilter().filter(record)
    assert record.getMessage() == "to <adresse>"
