"""Partner arrivals without cookies (issue 9, point 9): a client that keeps no cookie — a script
looping on GET /?ref=<slug> — counts one visit per partner per VISIT_MINUTES, like a browser
with the `bourse_ref` cookie. The client is known by an HMAC of its address (an IPv6 address by
its /64) and User-Agent, never by the address itself; one address counts at most
ADDRESS_VISITS_PER_DAY arrivals a day for a partner, whatever User-Agents it claims."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import select

from app.core.db import utcnow
from app.core.ratelimit import RateEvent
from app.ops.jobs import RATE_EVENT_RETENTION
from app.syndication import attribution
from tests.factories import fresh
from tests.syndication.test_attribution import BROWSER, figures, make_partner

OTHER_BROWSER = {
    "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1"
}


@contextmanager
def client_at(app: Any, address: str) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", client=(address, 50000)) as test_client:
        yield test_client


def arrive_without_cookies(client: TestClient, slug: str, headers: dict[str, str] = BROWSER) -> Any:
    """A GET through the partner's link by a client that keeps no cookie."""
    client.cookies.clear()
    response = client.get(f"/?ref={slug}", headers=headers)
    assert response.status_code == 200
    client.cookies.clear()
    return response


def arrival_keys(session: Any) -> list[str]:
    rows = fresh(session).exec(select(RateEvent.key).where(RateEvent.key.startswith("arrival")))  # type: ignore[attr-defined]
    return list(rows)


def test_repeated_cookieless_arrivals_from_one_client_count_once(client, session):
    partner = make_partner(session)
    for _ in range(5):
        arrive_without_cookies(client, partner.slug)
    assert figures(session, partner) == (1, 0, 0)


def test_another_client_counts_again(app, client, session):
    partner = make_partner(session)
    arrive_without_cookies(client, partner.slug)
    with client_at(app, "203.0.113.7") as other:
        arrive_without_cookies(other, partner.slug)
        arrive_without_cookies(other, partner.slug)
    with client_at(app, "2001:db8:1:2::10") as ipv6:
        arrive_without_cookies(ipv6, partner.slug)
    assert figures(session, partner) == (3, 0, 0)


def test_another_browser_behind_the_same_address_counts_again(client, session):
    """A family, a library: several people behind one address."""
    partner = make_partner(session)
    arrive_without_cookies(client, partner.slug, BROWSER)
    arrive_without_cookies(client, partner.slug, OTHER_BROWSER)
    arrive_without_cookies(client, partner.slug, OTHER_BROWSER)
    assert figures(session, partner) == (2, 0, 0)


def test_an_ipv6_client_is_known_by_its_64(app, session):
    partner = make_partner(session)
    with client_at(app, "2001:db8:1:2::10") as one:
        arrive_without_cookies(one, partner.slug)
    with client_at(app, "2001:db8:1:2:ffff::99") as same_64:
        arrive_without_cookies(same_64, partner.slug)
    with client_at(app, "2001:db8:1:3::10") as other_64:
        arrive_without_cookies(other_64, partner.slug)
    assert figures(session, partner) == (2, 0, 0)


def test_the_stored_keys_hold_no_address_nor_user_agent(app, client, session):
    partner = make_partner(session)
    arrive_without_cookies(client, partner.slug)
    with client_at(app, "203.0.113.7") as other:
        arrive_without_cookies(other, partner.slug)

    keys = arrival_keys(session)
    assert len(keys) == 4  # per client (address and browser), and per address
    for key in keys:
        kind, partner_id, mark = key.split(":")
        assert kind in {"arrival", "arrival-net"}
        assert partner_id == str(partner.id)
        assert len(mark) == 64 and set(mark) <= set("0123456789abcdef")
        for trait in ("testclient", "203.0.113.7", "203", "Mozilla", "Firefox"):
            assert trait not in key


def test_the_same_client_is_not_linked_across_partners(client, session):
    town = make_partner(session)
    association = make_partner(session, slug="asso-du-quartier", name="Association du quartier")
    arrive_without_cookies(client, town.slug)
    arrive_without_cookies(client, association.slug)
    assert figures(session, town) == figures(session, association) == (1, 0, 0)
    marks = [key.split(":")[2] for key in arrival_keys(session)]
    assert len(set(marks)) == len(marks)


def test_a_client_counts_again_after_the_visit_window(client, session):
    partner = make_partner(session)
    arrive_without_cookies(client, partner.slug)
    # Thirty-one minutes later.
    session.exec(  # type: ignore[call-overload]
        update(RateEvent)
        .where(RateEvent.key.startswith("arrival:"))  # type: ignore[attr-defined]
        .values(created_at=utcnow() - timedelta(minutes=attribution.VISIT_MINUTES + 1))
    )
    session.commit()
    arrive_without_cookies(client, partner.slug)
    assert figures(session, partner) == (2, 0, 0)


def test_one_address_changing_its_user_agent_counts_at_most_the_daily_cap(
    client, session, monkeypatch
):
    monkeypatch.setattr(attribution, "ADDRESS_VISITS_PER_DAY", 3)
    partner = make_partner(session)
    for n in range(6):
        arrive_without_cookies(client, partner.slug, {"User-Agent": f"Mozilla/5.0 Script/{n}"})
    assert figures(session, partner) == (3, 0, 0)


def test_a_browser_keeping_its_cookie_is_still_deduped_by_it(client, session):
    partner = make_partner(session)
    client.get(f"/?ref={partner.slug}", headers=BROWSER)
    assert client.cookies.get(attribution.REF_COOKIE)
    # Its arrival marks gone (purged, say): the cookie alone still makes it the same visit.
    session.exec(update(RateEvent).values(created_at=utcnow() - timedelta(days=2)))  # type: ignore[call-overload]
    session.commit()
    client.get(f"/?ref={partner.slug}", headers=BROWSER)
    assert figures(session, partner) == (1, 0, 0)


def test_arrivals_at_once_from_one_client_count_once(app, session):
    partner = make_partner(session)
    settings = app.state.settings
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def arrive() -> None:
        try:
            barrier.wait()
            attribution.record_arrival(
                app.state.engine, settings, partner.slug, None, "198.51.100.4", "Mozilla/5.0"
            )
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=arrive) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert figures(session, partner) == (1, 0, 0)


def test_the_purge_keeps_the_marks_as_long_as_their_windows():
    windows = (timedelta(minutes=attribution.VISIT_MINUTES), attribution.ADDRESS_WINDOW)
    assert max(windows) <= RATE_EVENT_RETENTION
