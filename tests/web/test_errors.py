"""Errors: French pages for people, problem+json under /api/, never a stack trace."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.helpers import html_lang, page_text, parse, title_text

TRACE_MARKERS = ("Traceback", 'File "', "RuntimeError", "kaboom", "site-packages")


def _assert_french_error_page(response, status: int, title: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert html_lang(response) == "fr"
    assert title_text(response).startswith(title)
    tree = parse(response)
    heading = tree.css_first("main h1")
    assert heading is not None and heading.text(strip=True) == title
    # The whole site frame is there, so the visitor can find their way back.
    assert tree.css_first("header.site-header a.brand") is not None
    assert tree.css_first("a.skip-link[href='#contenu']") is not None
    footer_links = {a.attributes.get("href") for a in tree.css("footer a")}
    assert {"/about", "/charter", "/privacy", "/accessibility", "/legal"} <= footer_links
    assert f"Erreur {status}" in page_text(response.text)
    for marker in TRACE_MARKERS:
        assert marker not in response.text


@pytest.mark.parametrize("path", ["/nulle-part", "/account/inconnu", "/about/plus-loin"])
def test_an_unknown_route_gives_the_french_404_page(client, path):
    _assert_french_error_page(client.get(path), 404, "Page introuvable")


def test_the_404_page_is_english_for_an_english_browser(client):
    response = client.get("/nulle-part", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert html_lang(response) == "en"
    # Needs the English catalogue.
    heading = parse(response).css_first("main h1")
    assert heading is not None and heading.text(strip=True) == "Page not found"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/account/login", "GET"),
        ("PUT", "/account/signup", "GET"),
        ("GET", "/account/logout", "POST"),
        ("POST", "/about", "GET"),
    ],
)
def test_a_wrong_method_gives_the_french_405_page(client, method, path, allowed):
    # POST /about carries a valid token: the method, not the CSRF check, is what fails.
    from tests.factories import csrf_token

    headers = {"X-CSRF-Token": csrf_token(client)}
    response = client.request(method, path, headers=headers, follow_redirects=False)
    _assert_french_error_page(response, 405, "Méthode non autorisée")
    assert allowed in response.headers["allow"]


def test_an_unexpected_exception_gives_the_french_500_page_without_traceback(app, caplog):
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaboom: secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    _assert_french_error_page(response, 500, "Erreur interne")
    assert "secret internals" not in response.text
    # The error is not swallowed: it is logged for the team, with its traceback.
    assert any(r.exc_info and "kaboom" in str(r.exc_info[1]) for r in caplog.records)


def test_an_unexpected_exception_under_api_gives_problem_json(app):
    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("kaboom")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "kaboom" not in response.text
    assert response.json()["status"] == 500


def test_an_unexpected_exception_in_an_embed_may_still_show_in_the_partners_frame(app):
    @app.get("/embed/boom")
    def boom() -> None:
        raise RuntimeError("kaboom")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/embed/boom")
        other = client.get("/boom-elsewhere-404")
    assert response.status_code == 500
    assert "x-frame-options" not in response.headers
    assert "frame-ancestors *" in response.headers["content-security-policy"]
    assert other.headers["x-frame-options"] == "DENY"


def test_an_unknown_api_path_gives_problem_json(client):
    response = client.get("/api/nulle-part")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "about:blank"
    assert body["title"] == "Page introuvable"
    assert body["status"] == 404
    assert body["detail"]
    assert "<html" not in response.text


def test_an_api_problem_follows_the_browser_language(client):
    # Needs the English catalogue.
    response = client.get("/api/nulle-part", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.json()["title"] == "Page not found"


def test_an_error_page_knows_who_is_signed_in(client, session):
    from tests.factories import login_as, make_user

    login_as(client, make_user(session), session)
    tree = parse(client.get("/nulle-part"))
    assert tree.css_first('form[action="/account/logout"]') is not None
    assert tree.css_first('a[href="/account/login"]') is None


@pytest.mark.parametrize(
    "path", ["/needs/abc/edit", "/needs/1.5/delete", "/comments/abc/edit", "/needs/%C2%B2/edit"]
)
def test_a_malformed_id_in_the_address_is_a_french_404(client, session, path):
    from tests.factories import login_as, make_user

    login_as(client, make_user(session), session)
    response = client.get(path)
    assert response.status_code == 404
    assert "Page introuvable" in response.text
