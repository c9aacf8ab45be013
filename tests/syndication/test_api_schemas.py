"""The OpenAPI document says what the API answers: for every documented operation, a sample
answer of the real endpoint (optional parts filled in: a need covered and linked to an idea, an
idea launched with its enterprise, a reply to a comment, a filtered stats page) and its errors
match the schema the document gives them, every field of the answer documented; so do the
document's own examples."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import jsonschema_rs
import pytest

from app.accounts import service as accounts
from app.core.db import utcnow
from app.pipeline.models import IdeaNeed
from tests.factories import make_need, make_territory, make_theme, make_user
from tests.pipeline.test_public_ideas import make_idea


def _closed(schema: Any) -> Any:
    """The schema with every object closed (additionalProperties false): the published one
    lets answers gain fields, this one fails when an answer has a field the document lacks."""
    if isinstance(schema, dict):
        closed = {key: _closed(value) for key, value in schema.items()}
        if schema.get("type") == "object" and "properties" in schema:
            closed.setdefault("additionalProperties", False)
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    # $refs point at #/components/schemas: validate from a root that holds them.
    root = {**copy.deepcopy(schema), "components": _closed(document["components"])}
    return jsonschema_rs.Draft202012Validator(_closed(root))


@pytest.fixture
def world(session) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    theme, territory = make_theme(session), make_territory(session)
    author = make_user(session, display_name="Camille")
    author.trusted_at = utcnow()  # posts skip the first-post queue
    session.add(author)
    covered = make_need(
        session, author=author, status="covered", theme_id=theme.id, territory_id=territory.id
    )
    covered.covered_name, covered.covered_url = "Un atelier voisin", "https://atelier.example"
    session.add(covered)
    plain = make_need(session)  # someone else's: it may be reported
    idea = make_idea(
        session,
        stage="launched",
        theme_id=theme.id,
        territory_id=territory.id,
        enterprise_name="Club services 33",
        legal_form="scic",
        jobs_created=3,
        launch_date=date(2024, 3, 1),
        enterprise_website="https://club.example",
    )
    session.add(IdeaNeed(idea_id=idea.id, need_id=covered.id))
    session.commit()
    token = accounts.create_api_token(session, author, "test")
    return {
        "need": covered,
        "plain": plain,
        "idea": idea,
        "territory": territory,
        "auth": {"Authorization": f"Bearer {token}"},
    }


def _samples(client, world) -> list[tuple[str, str, Any]]:  # type: ignore[no-untyped-def]
    """(path as documented, method, response) for each operation, in an order that works."""
    need, plain, auth = world["need"], world["plain"], world["auth"]
    samples = [
        ("/api/v1/needs", "get", client.get("/api/v1/needs?limit=1")),  # with a next_cursor
        ("/api/v1/needs/{need_id}", "get", client.get(f"/api/v1/needs/{need.id}")),
        ("/api/v1/needs/{need_id}", "get", client.get(f"/api/v1/needs/{plain.id}")),
        ("/api/v1/ideas", "get", client.get("/api/v1/ideas")),
        ("/api/v1/ideas/{idea_id}", "get", client.get(f"/api/v1/ideas/{world['idea'].id}")),
        ("/api/v1/themes", "get", client.get("/api/v1/themes")),
        ("/api/v1/territories", "get", client.get("/api/v1/territories")),
        ("/api/v1/stats", "get", client.get("/api/v1/stats")),
        (
            "/api/v1/stats",
            "get",
            client.get(f"/api/v1/stats?year=2024&territory={world['territory'].slug}"),
        ),
    ]
    created = client.post(
        "/api/v1/needs",
        json={"title": "Un atelier de réparation de vélos", "body": "Aucun dans le quartier."},
        headers=auth,
    )
    comment = client.post(
        f"/api/v1/needs/{need.id}/comments", json={"body": "Bonne idée"}, headers=auth
    )
    reply = client.post(
        f"/api/v1/needs/{need.id}/comments",
        json={"body": "Je confirme", "parent_id": comment.json()["id"]},
        headers=auth,
    )
    support = "/api/v1/needs/{need_id}/support"
    samples += [
        ("/api/v1/needs", "post", created),
        ("/api/v1/needs/{need_id}/comments", "post", comment),
        ("/api/v1/needs/{need_id}/comments", "post", reply),
        (support, "put", client.put(f"/api/v1/needs/{plain.id}/support", headers=auth)),
        (support, "delete", client.delete(f"/api/v1/needs/{plain.id}/support", headers=auth)),
        (
            "/api/v1/reports",
            "post",
            client.post(
                "/api/v1/reports",
                json={"kind": "need", "id": plain.id, "reason": "spam"},
                headers=auth,
            ),
        ),
        # Errors: a bad parameter, an unknown item, a missing token, refused fields.
        ("/api/v1/needs", "get", client.get("/api/v1/needs?limit=0")),
        ("/api/v1/ideas/{idea_id}", "get", client.get("/api/v1/ideas/999999")),
        ("/api/v1/needs", "post", client.post("/api/v1/needs", json={"title": "x"})),
        ("/api/v1/needs", "post", client.post("/api/v1/needs", json={"title": 3}, headers=auth)),
    ]
    return samples


def test_every_answer_matches_the_schema_the_document_gives_it(client, session, world):
    document = client.get("/api/v1/openapi.json").json()
    checked: set[tuple[str, str]] = set()
    for path, method, response in _samples(client, world):
        documented = document["paths"][path][method]["responses"]
        status = str(response.status_code)
        assert status in documented, (path, method, status, response.text)
        [(media_type, content)] = documented[status]["content"].items()
        assert response.headers["content-type"].startswith(media_type), (path, method)
        errors = [
            f"{'/'.join(map(str, e.instance_path))}: {e.message}"
            for e in _validator(document, content["schema"]).iter_errors(response.json())
        ]
        assert errors == [], (path, method, status)
        if status.startswith("2"):
            checked.add((path, method))
    operations = {(p, m) for p, methods in document["paths"].items() for m in methods}
    assert checked == operations  # every documented operation answered for real


def test_the_samples_reach_the_optional_parts_of_the_shapes(client, session, world):
    need = client.get(f"/api/v1/needs/{world['need'].id}").json()
    assert need["covered_by"] and need["idea"] and need["theme"]
    idea = client.get(f"/api/v1/ideas/{world['idea'].id}").json()
    assert idea["enterprise"]["name"] == "Club services 33"


def test_every_schema_of_the_document_is_valid_and_every_reference_resolves(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    for name, schema in document["components"]["schemas"].items():
        jsonschema_rs.meta.validate(schema)  # raises if it is not a JSON Schema
        assert schema.get("type") == "object", name
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
            for body in bodies:
                for content in body.get("content", {}).values():
                    # Every $ref resolves, and the example has the shape it illustrates.
                    validator = _validator(document, content["schema"])
                    assert validator.is_valid(content["example"]), (path, method)
