"""Conditional GET and CORS on every surface other sites read (app/web/conditional.py): the JSON
API (stats and the OpenAPI document included), the feeds and the embeds. Each answer sends its
surface's CORS set and nothing else, a 304 repeats the 200's validators and CORS without a body,
HEAD has the GET's headers, and preflights and errors agree with the answers.

The routes' own answers are tested with the anonymous cache off (it answers 304s by itself
before routing: app/web/cache.py); one test checks what clients get through it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.main import create_app
from app.web.conditional import (
    API_CORS,
    EMBED_CORS,
    FEED_CORS,
    NO_CORS,
    etag_matches,
    unchanged_since,
)
from tests.factories import make_need, make_theme
from tests.pipeline.test_public_ideas import make_idea

# A date an hour ago: feeds hold Last-Modified back a few seconds (feeds.validator_date).
AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"cache_mb": 0})


@pytest.fixture
def need_id(session) -> int:  # type: ignore[no-untyped-def]
    make_theme(session)
    make_idea(session, stage="studying", changed_at=AN_HOUR_AGO)
    return int(make_need(session, created_at=AN_HOUR_AGO).id)


def _surfaces(need_id: int) -> list[tuple[str, Mapping[str, str]]]:
    return [
        ("/api/v1/needs", API_CORS),
        (f"/api/v1/needs/{need_id}", API_CORS),
        ("/api/v1/ideas", API_CORS),
        ("/api/v1/themes", API_CORS),
        ("/api/v1/stats", API_CORS),
        ("/api/v1/openapi.json", API_CORS),
        ("/feeds/needs.atom", FEED_CORS),
        ("/feeds/ideas.json", FEED_CORS),
        ("/embed/needs", NO_CORS),
        ("/embed/ideas", NO_CORS),
        ("/embed/accent.css?c=336699", NO_CORS),
        ("/embed.js", EMBED_CORS),
        (f"/oembed?url=http://testserver/needs/{need_id}", EMBED_CORS),
    ]


def _cors(response: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items() if k.lower().startswith("access-")}


def _expected(cors: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in cors.items()}


def test_each_surface_sends_its_cors_and_answers_304_to_its_etag(client, need_id):
    for path, cors in _surfaces(need_id):
        first = client.get(path)
        assert first.status_code == 200, path
        assert _cors(first) == _expected(cors), path
        etag = first.headers["etag"]
        assert etag.startswith('"'), path  # strong: a hash of the body
        for header in (etag, f'W/{etag}, "autre"', "*"):
            again = client.get(path, headers={"If-None-Match": header})
            assert again.status_code == 304, (path, header)
            assert again.content == b""
            assert again.headers["etag"] == etag
            assert again.headers["cache-control"] == first.headers["cache-control"]
            assert again.headers.get("vary") == first.headers.get("vary")
            assert _cors(again) == _expected(cors), path
        assert client.get(path, headers={"If-None-Match": '"autre"'}).status_code == 200, path


@pytest.mark.parametrize("path", ["/api/v1/needs", "/api/v1/stats", "/feeds/needs.rss"])
def test_head_has_the_headers_of_get(client, need_id, path):
    get, head = client.get(path), client.head(path)
    assert head.status_code == 200 and head.content == b""
    for name in ("etag", "content-type", "content-length", "cache-control"):
        assert head.headers[name] == get.headers[name], name
    assert _cors(head) == _cors(get)


@pytest.mark.parametrize("path", ["/api/v1/needs", "/api/v1/stats", "/api/v1/needs/1/support"])
def test_a_preflight_anywhere_in_the_api_gets_the_same_set(client, path):
    response = client.options(
        path,
        headers={"Origin": "https://mairie.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert _cors(response) == _expected(API_CORS)


def test_errors_carry_their_surfaces_cors(client, need_id):
    problem, page = "application/problem+json", "text/html"
    for path, cors, media_type in [
        ("/api/v1/needs?limit=0", API_CORS, problem),
        ("/api/v1/stats?year=1900", API_CORS, problem),
        ("/api/v1/needs/999999", API_CORS, problem),
        ("/feeds/needs.atom?theme=atlantide", FEED_CORS, page),
        ("/oembed?url=http://testserver/needs/999999", EMBED_CORS, problem),
    ]:
        response = client.get(path)
        assert response.status_code in (400, 404), path
        assert response.headers["content-type"].startswith(media_type), path
        assert _cors(response) == _expected(cors), path


def test_never_credentials(client, need_id):
    for path, _cors_set in _surfaces(need_id):
        response = client.get(path, headers={"Origin": "https://mairie.example"})
        assert "access-control-allow-credentials" not in response.headers, path
        assert response.headers.get("access-control-allow-origin", "*") == "*", path


def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def test_feeds_honour_if_modified_since_where_a_date_can_tell(client, need_id):
    first = client.get("/feeds/needs.atom")
    last_modified = first.headers["last-modified"]
    same = client.get("/feeds/needs.atom", headers={"If-Modified-Since": last_modified})
    assert same.status_code == 304
    assert same.headers["etag"] == first.headers["etag"]
    assert _cors(same) == _expected(FEED_CORS)
    # If-None-Match, when sent, decides alone.
    both = {"If-Modified-Since": last_modified, "If-None-Match": '"autre"'}
    assert client.get("/feeds/needs.atom", headers=both).status_code == 200
    # The count-based sorts leave no date behind: only the ETag can tell.
    top = client.get("/feeds/needs.atom?sort=top", headers={"If-Modified-Since": last_modified})
    assert top.status_code == 200
    for odd in (_http_date(datetime.now(UTC) + timedelta(days=1)), "hier", ""):
        response = client.get("/feeds/needs.atom", headers={"If-Modified-Since": odd})
        assert response.status_code == 200, odd


def test_an_api_write_sends_the_api_set(client, session):
    response = client.post("/api/v1/needs", json={"title": "Un atelier de vélos"})
    assert response.status_code == 401
    assert _cors(response) == _expected(API_CORS)


@pytest.fixture
def cached(settings: Settings) -> Iterator[TestClient]:
    application = create_app(settings.model_copy(update={"cache_mb": 8}))
    with TestClient(application, base_url="http://testserver") as test_client:
        yield test_client
    application.state.engine.dispose()


def test_through_the_anonymous_cache_a_304_still_lets_other_sites_read_it(cached, need_id):
    for path, cors in _surfaces(need_id):
        first = cached.get(path)
        again = cached.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304, path
        for name in ("Access-Control-Allow-Origin", "Access-Control-Expose-Headers"):
            assert again.headers.get(name) == cors.get(name), (path, name)


def test_the_etag_comparison_and_the_dates():
    assert etag_matches('"a", W/"b"', '"b"') and etag_matches("*", '"c"')
    assert not etag_matches('"a"', '"b"') and not etag_matches("", '"b"')
    changed = datetime(2026, 10, 2, 9, 15, tzinfo=UTC)
    assert unchanged_since(_http_date(changed), changed)
    assert unchanged_since(_http_date(changed + timedelta(hours=1)), changed)
    assert not unchanged_since(_http_date(changed - timedelta(seconds=1)), changed)
    assert not unchanged_since("pas une date", changed)
    assert not unchanged_since(_http_date(datetime.now(UTC) + timedelta(days=1)), changed)
