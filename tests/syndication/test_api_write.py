"""The JSON API's writes: a personal token (Bearer) and nothing else authorises them; each one
goes through the same service as its form (validation, moderation state, rate limits), and
fields a client may not set are ignored."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlmodel import select

from app.accounts import service as accounts
from app.board.models import Comment, Need, Report, Support
from app.core.db import utcnow
from tests.factories import fresh, login_as, make_need, make_theme, make_user


@pytest.fixture(autouse=True)
def no_server_error(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.ERROR, logger="app.web.errors")
    yield
    errors = [r.getMessage() for r in caplog.get_records("call") if r.name == "app.web.errors"]
    assert errors == [], f"the application answered with a server error: {errors}"


def bearer(session, user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {accounts.create_api_token(session, user, 'test')}"}


@pytest.fixture
def resident(session):  # type: ignore[no-untyped-def]
    user = make_user(session, display_name="Camille")
    user.trusted_at = utcnow()  # posts skip the first-post queue
    session.add(user)
    session.commit()
    return user


def problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


NEED = {
    "title": "Un atelier de réparation de vélos",
    "body": "Il n'y en a aucun dans le quartier.",
}
WRITES = [
    ("post", "/api/v1/needs", NEED),
    ("put", "/api/v1/needs/{id}/support", None),
    ("delete", "/api/v1/needs/{id}/support", None),
    ("post", "/api/v1/needs/{id}/comments", {"body": "Bonne idée"}),
    ("post", "/api/v1/reports", {"kind": "need", "id": "{id}", "reason": "spam"}),
]


def _call(client, method, path, payload, need_id, headers):  # type: ignore[no-untyped-def]
    url = path.format(id=need_id)
    if payload is not None:
        payload = {
            k: (v.format(id=need_id) if isinstance(v, str) else v) for k, v in payload.items()
        }
        return client.request(method, url, json=payload, headers=headers)
    return client.request(method, url, headers=headers)


# --- who is asking ------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "payload"), WRITES)
@pytest.mark.parametrize(
    "auth",
    [
        None,
        "Bearer",
        "Bearer pas-un-jeton",
        "Basic dXNlcjpwYXNz",
        "bourse_abc",
        "Bearer " + "x" * 500,
    ],
)
def test_missing_or_wrong_tokens_are_401_with_www_authenticate(
    client, session, method, path, payload, auth
):
    need = make_need(session)
    headers = {"Authorization": auth} if auth else {}
    response = _call(client, method, path, payload, need.id, headers)
    body = problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "jeton" in body["detail"]
    assert response.headers["access-control-allow-origin"] == "*"
    session = fresh(session)
    assert session.exec(select(Support)).all() == []
    assert session.exec(select(Comment)).all() == []
    assert session.exec(select(Report)).all() == []
    assert len(session.exec(select(Need)).all()) == 1


def test_a_revoked_token_is_401(client, session, resident):
    raw = accounts.create_api_token(session, resident, "ancien")
    [token] = accounts.list_api_tokens(session, resident)
    accounts.revoke_api_token(session, resident, token.id)
    response = client.post("/api/v1/needs", json=NEED, headers={"Authorization": f"Bearer {raw}"})
    problem(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(("method", "path", "payload"), WRITES)
def test_a_session_cookie_alone_never_authorises_an_api_write(
    client, session, resident, method, path, payload
):
    need = make_need(session)
    login_as(client, resident, session)
    response = _call(client, method, path, payload, need.id, {})
    problem(response, 401)
    assert fresh(session).exec(select(Support)).all() == []


@pytest.mark.parametrize(("method", "path", "payload"), WRITES)
def test_a_blocked_account_is_403_with_the_reason(client, session, method, path, payload):
    user = make_user(session)
    headers = bearer(session, user)
    user.blocked_at = utcnow()
    user.blocked_reason = "Messages publicitaires répétés"
    session.add(user)
    session.commit()
    need = make_need(session)
    body = problem(_call(client, method, path, payload, need.id, headers), 403)
    assert "Messages publicitaires répétés" in body["detail"]


# --- needs --------------------------------------------------------------------------------------


def test_posting_a_need_creates_it_and_ignores_fields_a_client_may_not_set(
    client, session, resident
):
    theme = make_theme(session)
    payload = {
        **NEED,
        "theme": "mobilite",
        "id": 999,
        "supports": 1000,
        "comments": 50,
        "status": "covered",
        "author": {"display_name": "Quelqu'un d'autre"},
        "idea": {"id": 1},
        "created_at": "2001-01-01T00:00:00+00:00",
    }
    response = client.post("/api/v1/needs", json=payload, headers=bearer(session, resident))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] != 999
    assert response.headers["location"] == f"/api/v1/needs/{body['id']}"
    assert body["status"] == "published"
    assert body["supports"] == 1  # the author's own « j'ai ce besoin »
    assert body["comments"] == 0
    assert body["author"] == {"display_name": "Camille"}
    assert body["idea"] is None
    assert body["theme"] == {"slug": theme.slug, "name": theme.name}
    assert not body["created_at"].startswith("2001")
    need = fresh(session).get(Need, body["id"])
    assert need.author_id == resident.id and need.status == "published"
    assert client.get(f"/api/v1/needs/{need.id}").json()["id"] == need.id


def test_a_new_accounts_first_need_waits_for_moderation_like_the_form(client, session):
    newcomer = make_user(session)
    response = client.post("/api/v1/needs", json=NEED, headers=bearer(session, newcomer))
    assert response.status_code == 201
    need_id = response.json()["id"]
    assert response.json()["status"] == "pending"
    assert client.get(f"/api/v1/needs/{need_id}").status_code == 404
    assert client.get("/api/v1/needs").json()["items"] == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "court"}, "title"),
        ({}, "title"),
        ({"title": "x" * 141}, "title"),
        ({**NEED, "body": "x" * 5001}, "body"),
        ({**NEED, "theme": "inconnue"}, "theme"),
        ({**NEED, "territory": "nulle-part"}, "territory"),
        ({**NEED, "title": 12345678901}, "title"),
        ({**NEED, "body": ["liste"]}, "body"),
    ],
)
def test_an_invalid_need_is_a_422_with_a_message_per_field(
    client, session, resident, payload, field
):
    response = client.post("/api/v1/needs", json=payload, headers=bearer(session, resident))
    body = problem(response, 422)
    assert body["errors"][field]
    assert fresh(session).exec(select(Need)).all() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{pas du json", "Le corps de la requête n'est pas du JSON valable."),
        (b"[1, 2]", "Le corps de la requête doit être un objet JSON."),
        (b'"texte"', "Le corps de la requête doit être un objet JSON."),
        (b"", "Le corps de la requête est vide : envoyez un objet JSON."),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_422(client, session, resident, content, message):
    headers = {**bearer(session, resident), "Content-Type": "application/json"}
    response = client.post("/api/v1/needs", content=content, headers=headers)
    body = problem(response, 422)
    # Said in words, on the body itself (not on a character offset), readable from any site.
    assert list(body["errors"]) == ["body"]
    said = body["errors"]["body"].replace("\u202f", " ").replace("\u00a0", " ")
    assert said == message
    assert response.headers["access-control-allow-origin"] == "*"
    assert fresh(session).exec(select(Need)).all() == []


def test_the_same_idempotency_key_creates_one_need(client, session, resident):
    headers = {**bearer(session, resident), "Idempotency-Key": "cle-1"}
    first = client.post("/api/v1/needs", json=NEED, headers=headers)
    again = client.post("/api/v1/needs", json=NEED, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert len(fresh(session).exec(select(Need)).all()) == 1


def test_posting_needs_is_rate_limited_like_the_form(client, session, resident):
    headers = bearer(session, resident)
    for n in range(5):
        payload = {"title": f"Un besoin de test numéro {n}", "body": "Texte."}
        assert client.post("/api/v1/needs", json=payload, headers=headers).status_code == 201
    response = client.post("/api/v1/needs", json=NEED, headers=headers)
    problem(response, 429)
    assert int(response.headers["retry-after"]) > 0
    assert len(fresh(session).exec(select(Need)).all()) == 5


# --- supports -----------------------------------------------------------------------------------


def test_support_and_withdraw_are_idempotent(client, session, resident):
    need = make_need(session)
    headers = bearer(session, resident)
    url = f"/api/v1/needs/{need.id}/support"
    for _ in range(2):
        response = client.put(url, headers=headers)
        assert response.status_code == 200
        assert response.json() == {"need_id": need.id, "supported": True, "supports": 1}
    assert client.get(f"/api/v1/needs/{need.id}").json()["supports"] == 1
    for _ in range(2):
        response = client.delete(url, headers=headers)
        assert response.status_code == 200
        assert response.json() == {"need_id": need.id, "supported": False, "supports": 0}
    assert fresh(session).exec(select(Support)).all() == []


@pytest.mark.parametrize("status", ["pending", "hidden", "rejected", "merged"])
def test_supporting_a_non_public_need_is_a_404(client, session, resident, status):
    need = make_need(session, status=status)
    response = client.put(f"/api/v1/needs/{need.id}/support", headers=bearer(session, resident))
    problem(response, 404)
    assert fresh(session).exec(select(Support)).all() == []


def test_supporting_an_unknown_need_is_a_404(client, session, resident):
    headers = bearer(session, resident)
    for path in ("/api/v1/needs/999/support", "/api/v1/needs/abc/support"):
        problem(client.put(path, headers=headers), 404)


# --- comments -----------------------------------------------------------------------------------


def test_commenting_and_replying(client, session, resident):
    need = make_need(session)
    headers = bearer(session, resident)
    url = f"/api/v1/needs/{need.id}/comments"
    response = client.post(url, json={"body": "Je connais une *association*."}, headers=headers)
    assert response.status_code == 201, response.text
    comment = response.json()
    assert comment["status"] == "published"
    assert "<em>association</em>" in comment["body_html"]
    assert comment["author"] == {"display_name": "Camille"}
    assert comment["url"].endswith(f"#comment-{comment['id']}")
    reply = client.post(
        url, json={"body": "Laquelle ?", "parent_id": comment["id"]}, headers=headers
    ).json()
    assert reply["parent_id"] == comment["id"]
    assert client.get(f"/api/v1/needs/{need.id}").json()["comments"] == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": ""}, "body"),
        ({}, "body"),
        ({"body": 5}, "body"),
        ({"body": "Une réponse", "parent_id": 999}, "parent_id"),
        ({"body": "Une réponse", "parent_id": "abc"}, "parent_id"),
    ],
)
def test_an_invalid_comment_is_a_422(client, session, resident, payload, field):
    need = make_need(session)
    response = client.post(
        f"/api/v1/needs/{need.id}/comments", json=payload, headers=bearer(session, resident)
    )
    assert problem(response, 422)["errors"][field]


def test_commenting_a_hidden_need_is_a_404(client, session, resident):
    need = make_need(session, status="hidden")
    response = client.post(
        f"/api/v1/needs/{need.id}/comments",
        json={"body": "Bonjour"},
        headers=bearer(session, resident),
    )
    problem(response, 404)
    assert fresh(session).exec(select(Comment)).all() == []


# --- reports ------------------------------------------------------------------------------------


def test_reporting_a_need_then_again_is_a_409(client, session, resident):
    need = make_need(session)
    headers = bearer(session, resident)
    payload = {"kind": "need", "id": need.id, "reason": "spam"}
    response = client.post("/api/v1/reports", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "open"
    problem(client.post("/api/v1/reports", json=payload, headers=headers), 409)
    assert len(fresh(session).exec(select(Report)).all()) == 1


def test_reporting_ones_own_need_is_a_403(client, session, resident):
    need = make_need(session, author=resident)
    payload = {"kind": "need", "id": need.id, "reason": "spam"}
    problem(client.post("/api/v1/reports", json=payload, headers=bearer(session, resident)), 403)


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"kind": "need", "id": "{id}", "reason": "inconnue"}, 422),
        ({"kind": "need", "id": "{id}", "reason": "other"}, 422),
        ({"kind": "planete", "id": "{id}", "reason": "spam"}, 400),
        ({"kind": "need", "id": "abc", "reason": "spam"}, 400),
        ({"kind": "need", "reason": "spam"}, 422),
        ({"kind": "need", "id": 999999, "reason": "spam"}, 404),
    ],
)
def test_invalid_reports_are_clear_4xx(client, session, resident, payload, status):
    need = make_need(session)
    payload = {k: (v.format(id=need.id) if isinstance(v, str) else v) for k, v in payload.items()}
    problem(client.post("/api/v1/reports", json=payload, headers=bearer(session, resident)), status)
    assert fresh(session).exec(select(Report)).all() == []


def test_reporting_a_hidden_need_is_a_404(client, session, resident):
    need = make_need(session, status="hidden")
    payload = {"kind": "need", "id": need.id, "reason": "spam"}
    problem(client.post("/api/v1/reports", json=payload, headers=bearer(session, resident)), 404)
