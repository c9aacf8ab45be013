"""Security headers on every kind of response, and pages that a strict CSP cannot break."""

from __future__ import annotations

import json
import re

import pytest

from tests.factories import login_as, make_user
from tests.web.helpers import (
    PUBLIC_PAGES,
    assert_security_headers,
    is_local_url,
    make_settings,
    parse,
    running_app,
)

# One request per kind of response the site gives: a page, an error, a static file, a probe.
RESPONSE_KINDS = {
    "page": ("GET", "/", 200),
    "info page": ("GET", "/about", 200),
    "not found": ("GET", "/nulle-part", 404),
    "wrong method": ("DELETE", "/account/login", 405),
    "static file": ("GET", "/static/css/app.css", 200),
    "missing static file": ("GET", "/static/css/absent.css", 404),
    "liveness probe": ("GET", "/healthz", 200),
    "readiness probe": ("GET", "/readyz", 200),
    "redirect": ("GET", "/lang?lang=en", 303),
    "api problem": ("GET", "/api/nothing-here", 404),
}


@pytest.mark.parametrize("kind", RESPONSE_KINDS)
def test_every_kind_of_response_carries_the_security_headers(client, kind):
    method, path, status = RESPONSE_KINDS[kind]
    response = client.request(method, path, follow_redirects=False)
    assert response.status_code == status
    assert_security_headers(response)


def test_a_post_refused_by_the_csrf_check_carries_the_security_headers(client):
    response = client.post("/account/signup", data={"email": "a@exemple.fr"})
    assert response.status_code == 403
    assert_security_headers(response)


def test_a_server_error_carries_the_security_headers(app):
    @app.get("/boom-headers")
    def boom() -> None:
        raise RuntimeError("kaboom")

    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom-headers")
    assert response.status_code == 500
    assert_security_headers(response)


def test_hsts_is_sent_in_production_only(tmp_path, database_url, client):
    assert "strict-transport-security" not in client.get("/").headers
    settings = make_settings(tmp_path, env="production", database_url=database_url)
    with running_app(settings) as (_app, prod_client):
        for path in ("/", "/static/css/app.css", "/nulle-part", "/healthz"):
            assert_security_headers(prod_client.get(path), production=True)


def test_the_policy_has_no_wildcard_or_remote_source(client):
    header = client.get("/").headers["content-security-policy"]
    sources = [word for part in header.split(";") for word in part.split()[1:]]
    assert sources, header
    for source in sources:
        assert source in {"'self'", "'none'", "data:"}, source


def _check_page_is_csp_clean(response) -> None:
    tree = parse(response)
    for script in tree.css("script"):
        assert script.attributes.get("src"), f"inline script on {response.url}"
        assert not script.text(strip=True), f"script with content on {response.url}"
    for node in tree.css("*"):
        for name in node.attributes:
            assert not name.lower().startswith("on"), f"{name}= on <{node.tag}> at {response.url}"
            assert name.lower() != "style", f"style= on <{node.tag}> at {response.url}"
            assert not name.lower().startswith(("hx-on", "data-hx-on")), name
    assert not tree.css("style"), f"<style> element on {response.url}"
    for node in tree.css("[src]"):
        assert is_local_url(node.attributes["src"] or ""), node.attributes["src"]
    for node in tree.css("link[href]"):
        assert is_local_url(node.attributes["href"] or ""), node.attributes["href"]
    # javascript: URLs are inline scripts too.
    for node in tree.css("[href]"):
        href = (node.attributes["href"] or "").strip().lower()
        assert not href.startswith("javascript:"), href


@pytest.mark.parametrize("path", PUBLIC_PAGES)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_public_pages_have_no_inline_script_or_style_and_load_nothing_from_elsewhere(
    client, path, language
):
    response = client.get(path, headers={"Accept-Language": language})
    assert response.status_code in (200, 404)
    assert response.headers["content-type"].startswith("text/html")
    _check_page_is_csp_clean(response)


def test_the_account_page_has_no_inline_script_or_style(client, session):
    login_as(client, make_user(session), session)
    response = client.get("/account")
    assert response.status_code == 200
    _check_page_is_csp_clean(response)


def test_every_page_loads_the_vendored_htmx_and_the_site_script(client):
    sources = [n.attributes.get("src") for n in parse(client.get("/")).css("script")]
    assert "/static/js/htmx.min.js" in sources
    assert "/static/js/app.js" in sources


def test_htmx_is_vendored_in_version_2(client):
    response = client.get("/static/js/htmx.min.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    version = re.search(r'version:\s*"(\d+)\.(\d+)\.(\d+)"', response.text)
    assert version, "no version string in the vendored htmx"
    assert version.group(1) == "2"


def test_htmx_is_configured_for_a_strict_policy(client):
    meta = parse(client.get("/")).css_first('meta[name="htmx-config"]')
    assert meta is not None
    config = json.loads(meta.attributes["content"] or "")
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False
    assert config["selfRequestsOnly"] is True


def test_the_site_stylesheet_is_served_as_css(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
