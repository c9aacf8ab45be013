"""Liveness and readiness probes: /healthz says the process runs, /readyz that the database
answers (503 when it does not, quickly, and without taking the error pages down with it)."""

from __future__ import annotations

import time

import pytest

from tests.factories import login_as, make_need, make_user, post_form
from tests.web.helpers import html_lang, make_settings, parse, running_app

# Nothing listens on port 1: the connection is refused at once.
UNREACHABLE_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/nope?connect_timeout=3"


@pytest.fixture
def app_without_database(tmp_path):
    settings = make_settings(tmp_path, database_url=UNREACHABLE_DATABASE)
    with running_app(settings, raise_server_exceptions=False) as (_app, client):
        yield client


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"


def test_readyz_answers_ok_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_readyz_answers_503_quickly_when_the_database_does_not(app_without_database):
    started = time.monotonic()
    response = app_without_database.get("/readyz")
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    # The probe says what is wrong, not how: no driver message or address leaks.
    assert "127.0.0.1" not in response.text
    assert "psycopg" not in response.text


def test_healthz_stays_ok_when_the_database_is_down(app_without_database):
    assert app_without_database.get("/healthz").status_code == 200


def test_error_pages_still_render_when_the_database_is_down(app_without_database):
    response = app_without_database.get("/nulle-part")
    assert response.status_code == 404
    assert html_lang(response) == "fr"
    assert "Traceback" not in response.text


def test_a_page_needing_the_database_fails_cleanly_when_it_is_down(app_without_database):
    response = app_without_database.get("/")
    assert response.status_code == 503
    assert html_lang(response) == "fr"
    assert "Traceback" not in response.text
    assert "psycopg" not in response.text


def test_a_write_the_database_refuses_gives_a_signed_in_person_the_503_page(
    client, session, monkeypatch
):
    """The failed write rolled the route's session back, and with it the signed-in person's
    row: the error page loads them again (the database still reads) rather than failing on
    the row's lost attributes with a 500."""
    from sqlalchemy.exc import OperationalError

    from app.board import comments

    person = make_user(session, display_name="Awa Diallo")
    need = make_need(session)
    login_as(client, person, session)

    def locked(db_session, *args, **kwargs):
        db_session.rollback()  # what a failed flush does to the session
        raise OperationalError("INSERT INTO comments", {}, Exception("database is locked"))

    monkeypatch.setattr(comments, "post_comment", locked)
    response = post_form(client, f"/needs/{need.id}/comments", {"body": "Bonjour"})
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert html_lang(response) == "fr"
    assert parse(response).css_first("form[action='/account/logout']") is not None


def test_a_support_through_the_api_answers_503_problem_json_when_the_database_is_down(
    app_without_database,
):
    """« Moi aussi » through the API is answered before routing (app/web/fast_writes.py),
    and so is its 503: the app's own handler, called there."""
    response = app_without_database.put(
        "/api/v1/needs/1/support", headers={"Authorization": "Bearer bourse_whatever"}
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["status"] == 503
