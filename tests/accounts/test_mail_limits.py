"""One client cannot make the site send more than a few e-mails a minute, whatever addresses
it types: the sign-in link, password reset and sign-up forms (and « renvoyer l'e-mail ») share
a per-client limit, on top of the per-recipient caps (tests/accounts/test_links.py). IPv6
clients are counted by their /64, which one home or server usually holds whole.
"""

from __future__ import annotations

import pytest

from app.core.ratelimit import LIMITS, network_of
from app.mail.models import OutboxMessage
from tests.accounts.helpers import count, page_text
from tests.factories import submit_form

PER_MINUTE = LIMITS["email"][0][1] * 4  # the address factor of app.core.ratelimit


def _login_link(client, n: int):  # type: ignore[no-untyped-def]
    return submit_form(
        client, "/account/login", "/account/login-link", {"link_email": f"inconnu{n}@exemple.fr"}
    )


def _reset(client, n: int):  # type: ignore[no-untyped-def]
    return submit_form(
        client,
        "/account/password/forgot",
        "/account/password/forgot",
        {"email": f"inconnu{n}@exemple.fr"},
    )


def _signup(client, n: int):  # type: ignore[no-untyped-def]
    return submit_form(
        client,
        "/account/signup",
        "/account/signup",
        {"email": f"nouveau{n}@exemple.fr", "display_name": f"Personne {n}", "password": ""},
    )


@pytest.mark.parametrize("form", [_login_link, _reset, _signup])
def test_twenty_five_addresses_from_one_client_get_a_few_mails(client_at, session, form):
    attacker = client_at("192.0.2.66")

    responses = [form(attacker, n) for n in range(25)]

    sent = count(session, OutboxMessage)
    assert sent == PER_MINUTE
    refused = [r for r in responses if r.status_code == 429]
    assert len(refused) == 25 - PER_MINUTE
    assert "Réessayez dans" in page_text(refused[0].text)
    assert int(refused[0].headers["Retry-After"]) > 0
    # Another client is not held up by this one.
    assert form(client_at("192.0.2.67"), 99).status_code == 303
    assert count(session, OutboxMessage) == sent + 1


def test_an_ipv6_client_is_one_client_across_its_64(client_at, session):
    prefix = "2001:db8:4:5"
    responses = [_login_link(client_at(f"{prefix}::{n:x}"), n) for n in range(1, 9)]

    assert [r.status_code for r in responses].count(303) == PER_MINUTE
    assert count(session, OutboxMessage) == PER_MINUTE
    # The next /64 is someone else.
    assert _login_link(client_at("2001:db8:4:6::1"), 50).status_code == 303


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:4:5:a:b:c:d", "2001:db8:4:5::/64"),
        ("2001:DB8:4:5::1", "2001:db8:4:5::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("testclient", "testclient"),
    ],
)
def test_what_a_client_is_counted_by(address, key):
    assert network_of(address) == key
