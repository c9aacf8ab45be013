"""Issue 6's "feed readers and the JSON API give the same items": for the same filters, the
API, the three feed formats and the embed widget list the same needs (and ideas) in the same
order — hidden, waiting, refused and merged ones in none of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from selectolax.lexbor import LexborHTMLParser

from app.core.db import utcnow
from tests.factories import make_need, make_territory, make_theme
from tests.syndication.test_feeds import feed, items, make_idea

FORMATS = ("atom", "rss", "json")


@pytest.fixture
def board(session):  # type: ignore[no-untyped-def]
    """Needs of two themes and two territories, of every status, a minute apart."""
    mobility = make_theme(session)
    care = make_theme(session, "soins", "Soins")
    merignac = make_territory(session)
    pessac = make_territory(session, "pessac", "Pessac")
    start = utcnow() - timedelta(hours=2)
    plan = [
        ("published", mobility, merignac),
        ("published", care, merignac),
        ("covered", mobility, pessac),
        ("hidden", mobility, merignac),
        ("pending", care, pessac),
        ("rejected", mobility, merignac),
        ("merged", care, merignac),
        ("published", care, pessac),
        ("published", mobility, None),
        ("published", None, merignac),
    ]
    for minute, (status, theme, territory) in enumerate(plan):
        make_need(
            session,
            title=f"Un besoin {status} numéro {minute} pour comparer",
            status=status,
            theme_id=theme.id if theme else None,
            territory_id=territory.id if territory else None,
            created_at=start + timedelta(minutes=minute),
        )


def _api_urls(client, path: str, **params) -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get(path, params={**params, "limit": 100})
    assert response.status_code == 200, response.text
    return [item["url"] for item in response.json()["items"]]


def _feed_urls(client, kind: str, fmt: str, **params) -> list[str]:  # type: ignore[no-untyped-def]
    entries = items(feed(client, kind, fmt, **params), fmt)
    return [entry["url"] if fmt == "json" else entry["link"] for entry in entries]


def _embed_urls(client, kind: str, **params) -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get(f"/embed/{kind}", params={**params, "limit": 20})
    assert response.status_code == 200, response.text
    tree = LexborHTMLParser(response.text)
    prefix = "http://testserver/needs/" if kind == "needs" else "http://testserver/ideas/"
    return [
        a.attributes["href"]
        for a in tree.css("main a[href]")
        if (a.attributes.get("href") or "").startswith(prefix)
        and not (a.attributes.get("href") or "").startswith(prefix + "new")
    ]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"theme": "mobilite"},
        {"territory": "merignac"},
        {"theme": "soins", "territory": "pessac"},
        {"status": "covered"},
        {"status": "open"},
        {"sort": "top"},
        {"q": "comparer"},
        # A search that keeps some public needs and not others: the embed must apply it too.
        {"q": "covered"},
    ],
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "no-filter",
)
def test_api_feeds_and_embed_list_the_same_needs(client, board, params) -> None:  # type: ignore[no-untyped-def]
    expected = _api_urls(client, "/api/v1/needs", **params)
    assert expected, "the filters must keep some needs for the comparison to mean something"
    assert not any(
        "hidden" in u or "pending" in u or "rejected" in u or "merged" in u for u in expected
    )
    for fmt in FORMATS:
        assert _feed_urls(client, "needs", fmt, **params) == expected, fmt
    assert _embed_urls(client, "needs", **params) == expected[:20]


def test_api_feeds_and_embed_list_the_same_ideas(client, session) -> None:  # type: ignore[no-untyped-def]
    theme = make_theme(session)
    start = utcnow() - timedelta(hours=1)
    for minute, (public, stage) in enumerate(
        [(True, "detected"), (False, "studying"), (True, "studying"), (True, "launched")]
    ):
        make_idea(
            session,
            f"Une idée numéro {minute} à comparer",
            is_public=public,
            stage=stage,
            theme_id=theme.id if minute % 2 == 0 else None,
            changed_at=start + timedelta(minutes=minute),
        )
    for params in ({}, {"stage": "studying"}, {"theme": "mobilite"}):
        expected = _api_urls(client, "/api/v1/ideas", **params)
        assert expected
        for fmt in FORMATS:
            assert _feed_urls(client, "ideas", fmt, **params) == expected, (fmt, params)
        assert _embed_urls(client, "ideas", **params) == expected[:20], params
