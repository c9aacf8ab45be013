"""Whose X-Forwarded-For `bourse serve` believes: only the trusted proxies' (the loopback
addresses by default, FORWARDED_ALLOW_IPS or --forwarded-allow-ips otherwise).

The tests start the real `bourse serve` (the console script, so uvicorn exactly as in
production) and observe the client address through the login throttle: each failed login is
stored in `login_failures` with the address the app saw.

The client connects from 127.0.0.2: a loopback address the kernel routes like 127.0.0.1, yet
not one of the default trusted addresses (127.0.0.1, ::1) — so it stands for a visitor, or
for a proxy on another host.

The server always uses its own SQLite file, on the PostgreSQL run too (where the test runs,
not skipped): the address is decided by uvicorn before the application sees the request, and
the database only stores the string, so the engine cannot change the result.
"""

from __future__ import annotations

import httpx
import pytest
import uvicorn
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import text

from app.core.db import make_engine
from app.core.ratelimit import address_key
from app.ops.cli import DEFAULT_FORWARDED_ALLOW_IPS, forwarded_allow_ips
from tests.serving import SECRET_KEY as SERVE_SECRET_KEY
from tests.serving import bourse_serve

PEER = "127.0.0.2"
VISITOR = "203.0.113.7"  # what a proxy would write in X-Forwarded-For


def fail_a_login(url: str, *, source: str, forwarded_for: str) -> None:
    """A failed password login from `source`, claiming to be `forwarded_for`."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=url, transport=transport, timeout=10) as client:
        page = LexborHTMLParser(client.get("/account/login").text)
        token = page.css_first('form[action="/account/login"] input[name="csrf_token"]')
        assert token is not None
        response = client.post(
            "/account/login",
            data={
                "csrf_token": token.attributes["value"],
                "email": "personne@exemple.fr",
                "password": "pas-le-bon-mot-de-passe",
            },
            headers={"X-Forwarded-For": forwarded_for},
        )
        assert response.status_code == 422  # a wrong password, recorded for the throttle


def stored(address: str) -> str:
    """An address as the server keeps it: a hash keyed with its signing key (tests/serving.py)."""
    return address_key(address, signing_key=SERVE_SECRET_KEY)


def recorded_addresses(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT ip FROM login_failures ORDER BY id")).scalars())
    finally:
        engine.dispose()


def test_by_default_a_visitors_x_forwarded_for_is_ignored_and_a_local_proxys_believed(
    tmp_path,
):
    with bourse_serve(tmp_path) as (url, database_url):
        fail_a_login(url, source=PEER, forwarded_for=VISITOR)
        # A proxy on the same machine (127.0.0.1) is trusted without any setting.
        fail_a_login(url, source="127.0.0.1", forwarded_for="198.51.100.9")
    assert recorded_addresses(database_url) == [stored(PEER), stored("198.51.100.9")]


@pytest.mark.parametrize(
    ("args", "env"),
    [
        ((), {"FORWARDED_ALLOW_IPS": PEER}),
        (("--forwarded-allow-ips", PEER), {}),
        (("--forwarded-allow-ips", "127.0.0.0/30"), {}),  # a network
    ],
    ids=["environment", "option", "network"],
)
def test_a_trusted_proxys_x_forwarded_for_gives_the_visitors_address(tmp_path, args, env):
    with bourse_serve(tmp_path, *args, env=env) as (url, database_url):
        fail_a_login(url, source=PEER, forwarded_for=VISITOR)
    assert recorded_addresses(database_url) == [stored(VISITOR)]


# --- where the trusted addresses come from (no server needed) ---------------------------------


def test_the_default_is_uvicorns_own(monkeypatch):
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    assert forwarded_allow_ips(None) == DEFAULT_FORWARDED_ALLOW_IPS
    assert uvicorn.Config(app="app.main:create_app").forwarded_allow_ips == (
        DEFAULT_FORWARDED_ALLOW_IPS
    )


def test_the_option_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.5")
    assert forwarded_allow_ips(None) == "10.0.0.5"
    assert forwarded_allow_ips("192.168.1.2") == "192.168.1.2"
