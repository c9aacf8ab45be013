"""The fabrique's public answer outside the site (issue 17, item 3): `answer` in the need JSON
(API and webhooks), the API's `answer=` and `stage=` filters as on the board, the answer in the
feeds' entries — and caches that let nobody keep the need as it was before the answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime

import pytest
from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.board.answers import remove_answer, save_answer
from app.board.models import Need
from app.core.settings import Settings
from app.main import create_app
from app.syndication.models import WebhookDelivery
from app.web.urls import need_url
from tests.factories import fresh, login_as, make_idea, make_need, make_user, submit_form
from tests.syndication.test_webhook_events import decide, make_hook

ANSWER = "Nous étudions ce besoin avec le **CCAS** de Mérignac."
ANSWER_HTML = "<p>Nous étudions ce besoin avec le <strong>CCAS</strong> de Mérignac.</p>"


def write_answer(client: TestClient, session, need: Need, text: str = ANSWER) -> Need:  # type: ignore[no-untyped-def]
    """Staff answer through the need page's form, then the browser is anonymous again."""
    login_as(client, make_user(session, role="staff"), session)
    response = submit_form(
        client, need_url(need), f"/moderation/needs/{need.id}/answer", {"answer": text}
    )
    assert response.status_code == 303, response.text
    client.cookies.clear()
    answered = fresh(session).get(Need, need.id)
    assert answered is not None and answered.answer_at is not None
    return answered


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# --- the need JSON ----------------------------------------------------------------------------


def test_a_need_without_answer_has_a_null_answer(client, session):
    need = make_need(session)
    [item] = client.get("/api/v1/needs").json()["items"]
    assert item["answer"] is None
    assert client.get(f"/api/v1/needs/{need.id}").json()["answer"] is None


def test_the_answer_is_in_the_list_and_the_need_with_its_utc_date(client, session):
    need = write_answer(client, session, make_need(session))

    [listed] = client.get("/api/v1/needs").json()["items"]
    single = client.get(f"/api/v1/needs/{need.id}").json()

    assert listed["answer"] == single["answer"]
    assert single["answer"]["body_html"] == ANSWER_HTML
    at = datetime.fromisoformat(single["answer"]["at"])
    # RFC 3339 in UTC, like created_at, and the moment it was written.
    assert single["answer"]["at"].endswith("+00:00")
    assert single["created_at"].endswith("+00:00")
    assert at == need.answer_at


def test_an_edited_answer_moves_its_date_and_a_removed_one_is_null(client, session):
    need = write_answer(client, session, make_need(session))
    first = client.get(f"/api/v1/needs/{need.id}").json()["answer"]

    write_answer(client, session, need, "Une étude d'opportunité est lancée.")
    edited = client.get(f"/api/v1/needs/{need.id}").json()["answer"]
    remove_answer(session, make_user(session, role="staff"), fresh(session).get(Need, need.id))  # type: ignore[arg-type]

    assert edited["body_html"] == "<p>Une étude d'opportunité est lancée.</p>"
    assert edited["at"] >= first["at"]
    assert client.get(f"/api/v1/needs/{need.id}").json()["answer"] is None


def test_the_answer_of_a_need_no_longer_public_is_nowhere(client, session):
    need = write_answer(client, session, make_need(session))
    hidden = fresh(session).get(Need, need.id)
    hidden.status = "hidden"  # type: ignore[union-attr]
    session.add(hidden)
    session.commit()

    assert client.get(f"/api/v1/needs/{need.id}").status_code == 404
    assert client.get("/api/v1/needs").json()["items"] == []
    assert "CCAS" not in client.get("/api/v1/needs", params={"answer": "yes"}).text


def test_the_openapi_document_describes_the_answer_and_the_filters(client):
    document = client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    need = schemas["Need"]
    assert "answer" in need["required"]
    variants = need["properties"]["answer"]["anyOf"]
    assert {"$ref": "#/components/schemas/Answer"} in variants and {"type": "null"} in variants
    assert set(schemas["Answer"]["required"]) == {"body_html", "at"}
    assert schemas["Answer"]["properties"]["at"]["format"] == "date-time"
    listing = document["paths"]["/api/v1/needs"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert {"answer", "stage"} <= set(params)
    assert "yes" in params["answer"]["description"] and "no" in params["answer"]["description"]
    assert "seeking_carrier" in params["stage"]["description"]
    example = listing["responses"]["200"]["content"]["application/json"]["example"]
    assert set(example["items"][0]["answer"]) == {"body_html", "at"}


# --- the filters ------------------------------------------------------------------------------


def test_the_api_filters_answered_needs_as_the_board_does(client, session):
    answered = write_answer(client, session, make_need(session, title="Besoin avec réponse"))
    waiting = make_need(session, title="Besoin en attente")

    assert ids(client.get("/api/v1/needs", params={"answer": "yes"})) == [answered.id]
    assert ids(client.get("/api/v1/needs", params={"answer": "no"})) == [waiting.id]
    assert set(ids(client.get("/api/v1/needs", params={"answer": ""}))) == {
        answered.id,
        waiting.id,
    }
    # The same needs as the board's filter.
    board = client.get("/", params={"answer": "yes"}).text
    assert [n.text(strip=True) for n in LexborHTMLParser(board).css(".need-card-title")] == [
        answered.title
    ]


def test_the_api_filters_by_the_stage_of_a_public_idea_only(client, session):
    studied = make_need(session, title="Besoin dont l'idée est à l'étude")
    private = make_need(session, title="Besoin d'une idée interne")
    make_need(session, title="Besoin sans idée")
    make_idea(session, "Idée publique", stage="studying", is_public=True, needs=[studied])
    make_idea(session, "Idée interne", stage="studying", is_public=False, needs=[private])

    assert ids(client.get("/api/v1/needs", params={"stage": "studying"})) == [studied.id]
    assert ids(client.get("/api/v1/needs", params={"stage": "launched"})) == []


def test_answer_and_stage_combine_and_their_cursor_pages_keep_them(client, session):
    needs = [make_need(session, title=f"Besoin répondu {n}") for n in range(5)]
    other = make_need(session, title="Besoin répondu, idée lancée")
    make_idea(session, "Idée", stage="studying", is_public=True, needs=needs)
    make_idea(session, "Autre", stage="launched", is_public=True, needs=[other])
    for need in [*needs[:4], other]:
        need.answer_body, need.answer_html = "R.", "<p>R.</p>"
        need.answer_at = need.created_at
        session.add(need)
    session.commit()

    params = {"answer": "yes", "stage": "studying", "limit": "3"}
    first = client.get("/api/v1/needs", params=params).json()
    second = client.get("/api/v1/needs", params={**params, "cursor": first["next_cursor"]}).json()

    seen = [i["id"] for i in first["items"] + second["items"]]
    assert sorted(seen) == sorted(n.id for n in needs[:4])
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"answer": "maybe"}, "answer", "Ce choix de réponse de la fabrique n'existe pas."),
        ({"stage": "nowhere"}, "stage", "Cette étape d'idée n'existe pas."),
    ],
)
def test_an_unknown_answer_or_stage_is_a_french_problem(client, params, field, message):
    response = client.get("/api/v1/needs", params=params)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["access-control-allow-origin"] == "*"
    problem = response.json()
    assert problem["status"] == 400 and problem["errors"] == {field: message}


# --- caches -----------------------------------------------------------------------------------


@pytest.fixture
def cached(settings: Settings) -> Iterator[TestClient]:
    """A client through the anonymous response cache (app/web/cache.py)."""
    application = create_app(settings.model_copy(update={"cache_mb": 8}))
    with TestClient(application, base_url="http://testserver") as test_client:
        yield test_client
    application.state.engine.dispose()


@pytest.mark.parametrize("filtered", [False, True])
def test_an_answer_written_changes_the_etag_even_through_the_cache(cached, session, filtered):
    need = make_need(session)
    staff = make_user(session, role="staff")
    paths = [
        f"/api/v1/needs/{need.id}",
        "/api/v1/needs?answer=no" if filtered else "/api/v1/needs",
    ]
    before = {}
    for path in paths:
        first = cached.get(path)
        assert cached.get(path, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
        before[path] = first.headers["etag"]

    save_answer(session, staff, need, ANSWER)

    for path in paths:
        again = cached.get(path, headers={"If-None-Match": before[path]})
        assert again.status_code == 200, path
        assert again.headers["etag"] != before[path]
    assert cached.get(paths[0]).json()["answer"]["body_html"] == ANSWER_HTML
    if filtered:
        assert cached.get(paths[1]).json()["items"] == []


# --- webhooks ---------------------------------------------------------------------------------


def test_the_webhooks_need_payload_carries_the_answer_as_the_api(client, session):
    hook = make_hook(session, "need.status_changed")
    need = write_answer(client, session, make_need(session))
    login_as(client, make_user(session, role="moderator"), session)
    # A need marked « déjà couvert » is still public: the payload is the API's need.
    response = decide(
        client,
        need,
        decision="covered",
        seen_status="published",
        covered_name="Transport à la demande",
        covered_url="https://example.org/tad",
    )
    assert response.status_code == 303, response.text
    client.cookies.clear()

    [delivery] = fresh(session).exec(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    )
    sent = json.loads(delivery.payload)["data"]["need"]

    assert sent["answer"] == client.get(f"/api/v1/needs/{need.id}").json()["answer"]
    assert sent["answer"]["body_html"] == ANSWER_HTML


def test_the_webhooks_docs_example_shows_the_answer(client):
    section = LexborHTMLParser(client.get("/api/v1/docs").text).css_first("#webhooks pre code")
    payload = json.loads(section.text().split("\n\n", 1)[1])
    assert set(payload["data"]["need"]["answer"]) == {"body_html", "at"}


# --- feeds ------------------------------------------------------------------------------------


def test_the_answer_follows_the_body_in_every_feed_with_its_date(client, session):
    need = write_answer(client, session, make_need(session, body="Le corps du besoin."))

    atom = client.get("/feeds/needs.atom").text
    rss = client.get("/feeds/needs.rss").text
    feed = client.get("/feeds/needs.json").json()
    [item] = feed["items"]

    html = item["content_html"]
    assert html.index("Le corps du besoin.") < html.index("Réponse de la fabrique")
    assert html.index("Réponse de la fabrique") < html.index(ANSWER_HTML)
    stamp = need.answer_at.strftime("%Y-%m-%dT%H:%M:%S")  # type: ignore[union-attr]
    assert f'<time datetime="{stamp}Z">' in html
    assert item["_bourse"]["answered_at"] == f"{stamp}Z"
    for document in (atom, rss):
        # The HTML is escaped as text inside the XML, once.
        assert "Réponse de la fabrique" in document
        assert "&lt;strong&gt;CCAS&lt;/strong&gt;" in document


def test_a_need_without_answer_has_no_answer_section_in_its_entry(client, session):
    make_need(session, body="Le corps du besoin.")
    [item] = client.get("/feeds/needs.json").json()["items"]
    assert "Réponse de la fabrique" not in item["content_html"]
    assert item["_bourse"]["answered_at"] is None


def test_the_answer_dates_the_entry_and_the_feed_is_modified(client, session):
    need = make_need(session)
    old = need.created_at.replace(year=need.created_at.year - 1)
    need.created_at = need.updated_at = old
    session.add(need)
    session.commit()
    before = client.get("/feeds/needs.atom")
    [entry] = client.get("/feeds/needs.json").json()["items"]
    assert entry["date_modified"].startswith(str(old.year))

    answered = write_answer(client, session, need)

    after = client.get("/feeds/needs.atom", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert parsedate_to_datetime(after.headers["last-modified"]) >= parsedate_to_datetime(
        before.headers["last-modified"]
    )
    [entry] = client.get("/feeds/needs.json").json()["items"]
    stamp = answered.answer_at.strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]
    assert entry["date_modified"] == stamp
    assert entry["date_published"].startswith(str(old.year))
    entry_xml = LexborHTMLParser(after.text).css_first("entry updated")
    assert entry_xml is not None and entry_xml.text() == stamp
