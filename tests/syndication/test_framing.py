"""Only /embed/* may be framed by other sites: there `frame-ancestors` comes from
BOURSE_EMBED_ALLOWED_ORIGINS and no X-Frame-Options is sent; every other page (errors and
static files included) sends `frame-ancestors 'none'` and `X-Frame-Options: DENY`."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.web.security import frame_ancestors_for
from tests.factories import make_need


def frame_ancestors(response) -> str:  # type: ignore[no-untyped-def]
    csp = response.headers["content-security-policy"]
    found = [d.strip() for d in csp.split(";") if d.strip().startswith("frame-ancestors")]
    assert len(found) == 1, csp
    return found[0].removeprefix("frame-ancestors").strip()


@pytest.mark.parametrize(
    "path",
    [
        "/embed/needs",
        "/embed/ideas",
        "/embed/needs?limit=3",
        "/embed/needs?accent=red",  # a 400 inside the widget can be framed too
        "/embed/needs/999999",  # and its 404
        "/embed/accent.css?c=336699",
    ],
)
def test_embed_pages_may_be_framed_by_any_site_by_default(client, path):
    response = client.get(path)
    assert frame_ancestors(response) == "*"
    assert "x-frame-options" not in response.headers
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/ideas",
        "/partners/embed",
        "/partners",
        "/account/login",
        "/embed.js",
        "/oembed?url=http://testserver/needs/1",
        "/static/css/embed.css",
        "/does-not-exist",
        "/embedded",  # only the /embed/ folder, not a look-alike
    ],
)
def test_every_other_page_forbids_framing(client, path):
    response = client.get(path)
    assert frame_ancestors(response) == "'none'"
    assert response.headers["x-frame-options"] == "DENY"


def test_a_need_page_forbids_framing(client, session):
    need = make_need(session)
    response = client.get(f"/needs/{need.id}-{need.slug}")
    assert response.status_code == 200
    assert frame_ancestors(response) == "'none'"
    assert response.headers["x-frame-options"] == "DENY"


def test_allowed_origins_come_from_the_setting(settings):
    settings.embed_allowed_origins = "https://mairie-merignac.fr, https://*.example.org"
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            response = client.get("/embed/needs")
            assert frame_ancestors(response) == (
                "'self' https://mairie-merignac.fr https://*.example.org"
            )
            assert "x-frame-options" not in response.headers
            assert frame_ancestors(client.get("/")) == "'none'"
    finally:
        app.state.engine.dispose()


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("*", "*"),
        ("", "'self'"),
        ("https://a.fr https://b.fr/", "'self' https://a.fr https://b.fr"),
        ("https://a.fr; script-src *", "'self' https://a.fr"),
        ("javascript:alert(1) http://localhost:8080", "'self' http://localhost:8080"),
    ],
)
def test_the_setting_is_parsed_safely(setting, expected):
    assert frame_ancestors_for(setting) == expected
