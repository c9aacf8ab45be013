"""The JSON API's read endpoints (/api/v1): shapes of SPEC §5, the board's filters, keyset
pagination that neither repeats nor skips a need when needs are posted between pages, clear
400 problem+json for bad input, CORS, ETag and 304, the OpenAPI description and the docs page."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from selectolax.lexbor import LexborHTMLParser

from app.core.db import utcnow
from app.pipeline.models import IdeaNeed
from tests.factories import make_idea, make_need, make_territory, make_theme, make_user


@pytest.fixture(autouse=True)
def no_server_error(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.ERROR, logger="app.web.errors")
    yield
    errors = [r.getMessage() for r in caplog.get_records("call") if r.name == "app.web.errors"]
    assert errors == [], f"the application answered with a server error: {errors}"


def assert_problem(response, status: int, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        assert field in body["errors"], body
        assert body["errors"][field]
    return body


# --- shapes --------------------------------------------------------------------------------------


def test_a_need_in_json_has_every_field_of_the_contract(client, session):
    theme = make_theme(session)
    territory = make_territory(session)
    author = make_user(session, display_name="Camille")
    need = make_need(
        session,
        author=author,
        title="Un transport solidaire vers l'hôpital",
        body="Des **personnes âgées** renoncent à leurs soins.",
        theme_id=theme.id,
        territory_id=territory.id,
    )
    response = client.get("/api/v1/needs")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["next_cursor"] is None
    [item] = body["items"]
    assert item["id"] == need.id
    assert item["title"] == "Un transport solidaire vers l'hôpital"
    assert item["url"] == f"http://testserver/needs/{need.id}-{need.slug}"
    assert item["excerpt"] == "Des personnes âgées renoncent à leurs soins."
    assert "<strong>personnes âgées</strong>" in item["body_html"]
    assert item["theme"] == {"slug": "mobilite", "name": "Mobilité"}
    assert item["territory"] == {"slug": "merignac", "name": "Mérignac"}
    assert item["supports"] == 0 and item["comments"] == 0
    assert item["status"] == "published"
    assert item["idea"] is None
    assert item["author"] == {"display_name": "Camille"}
    for field in ("created_at", "updated_at"):
        parsed = datetime.fromisoformat(item[field])
        assert parsed.utcoffset() == timedelta(0)
        assert item[field].endswith("+00:00")
    assert client.get(f"/api/v1/needs/{need.id}").json() == item


def test_a_need_without_theme_or_territory_has_nulls(client, session):
    make_need(session)
    [item] = client.get("/api/v1/needs").json()["items"]
    assert item["theme"] is None and item["territory"] is None


def test_an_offline_need_is_signed_by_the_fabrique(client, session):
    staff = make_user(session, role="staff")
    need = make_need(session)
    need.author_id = None
    need.source = "street_survey"
    need.recorded_by_id = staff.id
    session.add(need)
    session.commit()
    [item] = client.get("/api/v1/needs").json()["items"]
    assert item["author"]["display_name"] == "La fabrique à initiatives"
    assert staff.display_name not in str(item)


def test_a_need_shows_its_public_idea_with_its_stage(client, session):
    need = make_need(session)
    idea = make_idea(session, stage="studying", is_public=True)
    session.add(IdeaNeed(idea_id=idea.id, need_id=need.id))
    session.commit()
    item = client.get(f"/api/v1/needs/{need.id}").json()
    assert item["idea"] == {
        "id": idea.id,
        "url": f"http://testserver/ideas/{idea.id}-{idea.slug}",
        "stage": "studying",
    }


def test_unknown_or_malformed_need_ids_are_404_problems(client):
    for path in ("/api/v1/needs/999", "/api/v1/needs/abc", "/api/v1/needs/99999999999"):
        response = client.get(path)
        assert_problem(response, 404)
        assert response.headers["access-control-allow-origin"] == "*"


def test_an_unknown_api_address_is_a_404_problem_readable_from_any_site(client):
    for method in ("GET", "POST", "DELETE"):
        response = client.request(method, "/api/v1/besoins")
        body = assert_problem(response, 404)
        assert "/api/v1/docs" in body["detail"]
        assert response.headers["access-control-allow-origin"] == "*"


def test_a_known_address_with_another_method_is_a_405_with_allow(client):
    response = client.patch("/api/v1/needs/1")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, HEAD, OPTIONS"
    assert response.headers["access-control-allow-origin"] == "*"
    response = client.delete("/api/v1/needs")
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_the_stats_answer_head_like_the_other_reads(client):
    response = client.head("/api/v1/stats")
    assert response.status_code == 200
    assert response.headers["etag"]


# --- filters ------------------------------------------------------------------------------------


def test_lists_take_the_boards_filters(client, session):
    mobility = make_theme(session)
    food = make_theme(session, "alimentation", "Alimentation")
    merignac = make_territory(session)
    pessac = make_territory(session, "pessac", "Pessac")
    a = make_need(
        session, title="Un minibus pour le marché", theme_id=mobility.id, territory_id=merignac.id
    )
    b = make_need(session, title="Une épicerie solidaire", theme_id=food.id, territory_id=pessac.id)
    c = make_need(
        session, title="Un covoiturage vers Pessac", theme_id=mobility.id, territory_id=pessac.id
    )
    c.status = "covered"
    session.add(c)
    session.commit()

    def ids(query: str) -> set[int]:
        response = client.get("/api/v1/needs?" + query)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert ids("theme=mobilite") == {a.id, c.id}
    assert ids("territory=pessac") == {b.id, c.id}
    assert ids("theme=mobilite&territory=pessac") == {c.id}
    assert ids("status=covered") == {c.id}
    assert ids("status=open") == {a.id, b.id}
    assert ids("q=epicerie") == {b.id}
    assert ids("sort=top&limit=100") == {a.id, b.id, c.id}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("limit=-5", "limit"),
        ("limit=²", "limit"),
        ("theme=inconnue", "theme"),
        ("territory=nulle-part", "territory"),
        ("sort=random", "sort"),
        ("status=hidden", "status"),
        ("cursor=pas-un-curseur", "cursor"),
        ("cursor=" + "A" * 300, "cursor"),
    ],
)
def test_bad_list_parameters_are_400_problems_with_a_french_message(client, query, field):
    response = client.get("/api/v1/needs?" + query)
    body = assert_problem(response, 400, field)
    assert response.headers["access-control-allow-origin"] == "*"
    assert body["detail"] == "Certains paramètres ne sont pas valables."


def test_a_cursor_of_another_sort_is_a_400(client, session):
    for _ in range(3):
        make_need(session)
    cursor = client.get("/api/v1/needs?limit=1").json()["next_cursor"]
    assert cursor
    assert_problem(client.get(f"/api/v1/needs?sort=top&cursor={cursor}"), 400, "cursor")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("stage=inconnue", "stage"),
        ("theme=inconnue", "theme"),
        ("territory=inconnu", "territory"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("limit=abc", "limit"),
        ("cursor=%%%", "cursor"),
    ],
)
def test_bad_idea_list_parameters_are_400_problems(client, query, field):
    assert_problem(client.get("/api/v1/ideas?" + query), 400, field)


# --- pagination ---------------------------------------------------------------------------------


def _walk(client, url: str, between=None) -> list[int]:  # type: ignore[no-untyped-def]
    seen: list[int] = []
    cursor = None
    for _page in range(100):
        page_url = url + (f"&cursor={cursor}" if cursor else "")
        response = client.get(page_url)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        if between:
            between()
    raise AssertionError("the pages never end")


@pytest.mark.parametrize("sort", ["recent", "top", "trending", "discussed"])
def test_pages_never_repeat_nor_skip_a_need_when_needs_are_added_between_pages(
    client, session, sort
):
    author = make_user(session)
    now = utcnow() - timedelta(hours=1)
    originals = []
    for n in range(23):
        need = make_need(session, author=author, created_at=now - timedelta(minutes=n % 4))
        # Ties on every key: only the id breaks them.
        need.supports_count = n % 3
        need.comments_count = n % 2
        need.trending_score = float(n % 3)
        session.add(need)
        originals.append(need)
    session.commit()
    added: list[int] = []

    def post_two_needs() -> None:
        for _ in range(2):
            added.append(make_need(session, author=author).id)

    seen = _walk(client, f"/api/v1/needs?sort={sort}&limit=5", between=post_two_needs)
    assert len(seen) == len(set(seen)), "a need was repeated"
    assert {n.id for n in originals} <= set(seen), "a need was skipped"
    assert set(seen) <= {n.id for n in originals} | set(added)


def test_recent_pages_are_newest_first_and_limit_sized(client, session):
    now = utcnow()
    needs = [make_need(session, created_at=now - timedelta(minutes=n)) for n in range(7)]
    first = client.get("/api/v1/needs?limit=3").json()
    assert [i["id"] for i in first["items"]] == [n.id for n in needs[:3]]
    assert _walk(client, "/api/v1/needs?limit=3") == [n.id for n in needs]
    assert len(client.get("/api/v1/needs").json()["items"]) == 7


def test_idea_pages_never_repeat_nor_skip_an_idea_when_ideas_are_added(client, session):
    now = datetime.now(UTC) - timedelta(hours=1)
    originals = [
        make_idea(
            session, f"Idée numéro {n}", changed_at=now - timedelta(minutes=n % 3), is_public=True
        )
        for n in range(11)
    ]

    def add_idea() -> None:
        make_idea(session, "Une idée toute neuve", is_public=True)

    seen = _walk(client, "/api/v1/ideas?limit=4", between=add_idea)
    assert len(seen) == len(set(seen))
    assert {i.id for i in originals} <= set(seen)


# --- ideas, themes, territories -----------------------------------------------------------------


def test_ideas_list_and_detail_with_filters(client, session):
    theme = make_theme(session)
    territory = make_territory(session)
    studying = make_idea(
        session, "Un garage solidaire", stage="studying", theme_id=theme.id, is_public=True
    )
    launched = make_idea(
        session,
        "Club services 33",
        stage="launched",
        territory_id=territory.id,
        enterprise_name="Club services 33",
        jobs_created=12,
        study_notes="Notes internes à ne jamais montrer",
        is_public=True,
    )
    need = make_need(session)
    session.add(IdeaNeed(idea_id=studying.id, need_id=need.id))
    session.commit()

    items = client.get("/api/v1/ideas").json()["items"]
    assert {i["id"] for i in items} == {studying.id, launched.id}
    assert "Notes internes" not in str(items)
    assert [i["id"] for i in client.get("/api/v1/ideas?stage=studying").json()["items"]] == [
        studying.id
    ]
    assert [i["id"] for i in client.get("/api/v1/ideas?theme=mobilite").json()["items"]] == [
        studying.id
    ]
    assert [i["id"] for i in client.get("/api/v1/ideas?territory=merignac").json()["items"]] == [
        launched.id
    ]
    detail = client.get(f"/api/v1/ideas/{studying.id}").json()
    assert detail["url"] == f"http://testserver/ideas/{studying.id}-{studying.slug}"
    assert detail["stage"] == "studying" and detail["stage_label"] == "À l'étude"
    assert detail["theme"] == {"slug": "mobilite", "name": "Mobilité"}
    assert detail["needs"] == 1
    enterprise = client.get(f"/api/v1/ideas/{launched.id}").json()["enterprise"]
    assert enterprise["name"] == "Club services 33" and enterprise["jobs_created"] == 12
    assert_problem(client.get("/api/v1/ideas/999"), 404)
    assert_problem(client.get("/api/v1/ideas/x"), 404)


def test_themes_and_territories_are_listed_with_archived_flag(client, session):
    make_theme(session)
    old = make_theme(session, "ancienne", "Ancienne")
    old.archived_at = utcnow()
    session.add(old)
    session.commit()
    make_territory(session)
    themes = client.get("/api/v1/themes").json()
    assert {"slug": "mobilite", "name": "Mobilité", "name_en": "Mobilité", "archived": False} in (
        themes["items"]
    )
    assert any(t["slug"] == "ancienne" and t["archived"] for t in themes["items"])
    assert themes["next_cursor"] is None
    territories = client.get("/api/v1/territories").json()["items"]
    assert [t["slug"] for t in territories] == ["merignac"]


# --- HTTP caching and CORS ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/needs", "/api/v1/ideas", "/api/v1/themes", "/api/v1/territories"]
)
def test_reads_send_cors_etag_and_cache_control_and_answer_304(client, session, path):
    make_need(session)
    response = client.get(path, headers={"Origin": "https://mairie.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "ETag" in response.headers["access-control-expose-headers"]
    assert response.headers["cache-control"] == "public, max-age=0, must-revalidate, s-maxage=5"
    etag = response.headers["etag"]
    assert etag.startswith('"')
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert client.get(path, headers={"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"stale"'}).status_code == 200
    head = client.head(path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == etag


def test_the_etag_changes_when_the_list_changes(client, session):
    make_need(session)
    etag = client.get("/api/v1/needs").headers["etag"]
    make_need(session)
    response = client.get("/api/v1/needs", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] != etag


@pytest.mark.parametrize("path", ["/api/v1/needs", "/api/v1/needs/1", "/api/v1/needs/1/support"])
def test_preflight_is_answered_for_any_origin(client, path):
    response = client.options(
        path,
        headers={
            "Origin": "https://association.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]
    assert "Authorization" in response.headers["access-control-allow-headers"]


# --- documentation ------------------------------------------------------------------------------


def test_openapi_documents_every_endpoint_with_examples(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    expected = {
        ("/api/v1/needs", "get"),
        ("/api/v1/needs/{need_id}", "get"),
        ("/api/v1/ideas", "get"),
        ("/api/v1/ideas/{idea_id}", "get"),
        ("/api/v1/themes", "get"),
        ("/api/v1/territories", "get"),
        ("/api/v1/stats", "get"),
        ("/api/v1/needs", "post"),
        ("/api/v1/needs/{need_id}/support", "put"),
        ("/api/v1/needs/{need_id}/support", "delete"),
        ("/api/v1/needs/{need_id}/comments", "post"),
        ("/api/v1/reports", "post"),
    }
    for path, method in expected:
        operation = paths[path][method]
        assert operation["summary"]
        ok = operation["responses"]["201" if method == "post" else "200"]
        assert ok["content"]["application/json"]["example"], (path, method)
    assert not any(p.startswith("/account") or p == "/" for p in paths)
    listing = {p["name"]: p for p in paths["/api/v1/needs"]["get"]["parameters"]}
    assert {"sort", "theme", "territory", "status", "q", "limit", "cursor"} <= set(listing)
    assert paths["/api/v1/needs"]["post"]["security"] == [{"bearer": []}]
    # A merge committed during « Moi aussi » is a 409 (tests/moderation/test_merge.py).
    for method in ("put", "delete"):
        assert "409" in paths["/api/v1/needs/{need_id}/support"][method]["responses"]
    assert paths["/api/v1/needs"]["post"]["requestBody"]["content"]["application/json"]["example"]
    # Write bodies are described field by field, and each example has the required fields.
    for path in ("/api/v1/needs", "/api/v1/needs/{need_id}/comments", "/api/v1/reports"):
        body = paths[path]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"]["properties"], path
        assert set(body["schema"]["required"]) <= set(body["example"]), path
    assert listing["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}


def test_the_docs_page_lists_endpoints_parameters_and_examples(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    tree = LexborHTMLParser(response.text)
    assert tree.css_first("main h1").text(strip=True) == "API de la Bourse à initiatives"
    headings = [h.text(strip=True) for h in tree.css("main h2")]
    assert "GET /api/v1/needs" in headings
    assert "PUT /api/v1/needs/{need_id}/support" in headings
    assert "POST /api/v1/reports" in headings
    params = [c.text(strip=True) for c in tree.css("#get-api-v1-needs td code")]
    assert {"limit", "cursor", "theme"} <= set(params)
    assert all(not s.attributes.get("src", "").startswith("http") for s in tree.css("script"))
    assert not [s for s in tree.css("script") if not s.attributes.get("src")]
    assert tree.css("main pre code")


@pytest.mark.parametrize(
    "query",
    [
        'q="',
        "q=%00",
        "q=*:()-^~",
        "q=" + "mot " * 100,
        "theme=%00",
        "territory=" + "x" * 300,
        "cursor=%00",
        "limit=%00",
        "limit=1e3",
        "sort=%00",
        "cursor=W10",  # valid base64 of []
        "cursor=WyJ4IiwxXQ",  # ["x", 1]: not a date
    ],
)
def test_odd_input_is_never_a_server_error(client, session, query):
    make_need(session)
    for path in ("/api/v1/needs?", "/api/v1/ideas?"):
        response = client.get(path + query)
        assert response.status_code in (200, 400), (path, query, response.text)
        if response.status_code == 400:
            assert response.headers["content-type"].startswith("application/problem+json")
