"""Signing up takes the same time whether or not the address already has an account, so the
form's timing cannot tell who is registered (it answers the same page either way).

Measured with the production argon2id cost, where one hash is what separates the two paths
(about 6 ms for a known address against 110 ms for a new one before the fix): the medians of
alternating requests must stay within a factor 1.5 of each other. Medians of interleaved
samples keep the comparison fair on a busy machine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from app.accounts import passwords
from tests.factories import make_user, submit_form

SAMPLES = 5


@pytest.fixture
def production_hashing() -> Iterator[None]:
    passwords.use_hasher(PasswordHasher())
    yield
    passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))


def _signup_seconds(client, email: str, password: str) -> float:  # type: ignore[no-untyped-def]
    page = client.get("/account/signup").text
    started = time.perf_counter()
    response = submit_form(
        client,
        "/account/signup",
        "/account/signup",
        {"email": email, "display_name": "Camille", "password": password},
        html=page,
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 303
    assert response.headers["location"] == "/account/check-email?reason=signup"
    return elapsed


@pytest.mark.parametrize("password", ["un-mot-de-passe-solide", ""])
def test_known_and_new_addresses_take_the_same_time(
    client_at, session, production_hashing, password
):
    for n in range(SAMPLES):
        make_user(session, email=f"connue{n}@exemple.fr")
    known: list[float] = []
    new: list[float] = []
    # Each request from its own address: the per-client limits are not what is measured.
    for n in range(SAMPLES):
        known.append(
            _signup_seconds(client_at(f"198.51.100.{n}"), f"connue{n}@exemple.fr", password)
        )
        new.append(
            _signup_seconds(client_at(f"203.0.113.{n}"), f"nouvelle{n}@exemple.fr", password)
        )

    ratio = statistics.median(known) / statistics.median(new)

    assert 1 / 1.5 < ratio < 1.5, (
        f"known {statistics.median(known):.3f}s, new {statistics.median(new):.3f}s"
    )
