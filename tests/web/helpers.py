"""Helpers shared by the web tests: parsing pages and headers, and building one-off apps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from selectolax.lexbor import LexborHTMLParser

from app.core.settings import Settings
from app.main import create_app

# Every page a visitor can reach without an account, plus a page that does not exist.
PUBLIC_PAGES = (
    "/",
    "/account/login",
    "/account/signup",
    "/about",
    "/charter",
    "/privacy",
    "/accessibility",
    "/legal",
    "/cette-page-n-existe-pas",
)
INFO_PAGES = ("/about", "/charter", "/privacy", "/accessibility", "/legal")


def parse(response: Response) -> LexborHTMLParser:
    return LexborHTMLParser(response.text)


def html_lang(response: Response) -> str | None:
    node = parse(response).css_first("html")
    return node.attributes.get("lang") if node else None


def page_text(html: str, selector: str = "main") -> str:
    """The visible text of one part of a page (the main landmark by default)."""
    node = LexborHTMLParser(html).css_first(selector)
    return node.text(separator=" ", strip=True) if node else ""


def title_text(response: Response) -> str:
    node = parse(response).css_first("title")
    return node.text(strip=True) if node else ""


def csp_directives(response: Response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    header = response.headers.get("content-security-policy")
    assert header, "no Content-Security-Policy header"
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            name = words[0].lower()
            assert name not in directives, f"directive {name} given twice"
            directives[name] = words[1:]
    return directives


def assert_security_headers(response: Response, *, production: bool = False) -> None:
    """The headers every response carries, whatever produced it."""
    csp = csp_directives(response)
    header = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in header
    assert "'unsafe-eval'" not in header
    # Scripts and styles come from the site itself and nowhere else.
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    hsts = response.headers.get("strict-transport-security")
    if production:
        assert hsts is not None
        max_age = int(hsts.split("max-age=")[1].split(";")[0])
        assert max_age >= 180 * 24 * 3600
    else:
        assert hsts is None


def is_local_url(url: str, host: str = "testserver") -> bool:
    """A path on this site (or a URL naming this very host): nothing fetched from elsewhere."""
    parts = urlsplit(url)
    if url.startswith("//"):
        return parts.hostname == host
    if parts.scheme in ("http", "https"):
        return parts.hostname == host
    if parts.scheme == "data":
        return True
    return not parts.scheme and not parts.netloc


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "data_dir": tmp_path / "data",
        "base_url": "http://testserver",
        "secret_key": "test-secret-key",
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_app(settings: Settings, **client_kwargs: Any) -> Iterator[tuple[FastAPI, TestClient]]:
    """An app of its own (production mode, broken database, extra routes) and its client."""
    application = create_app(settings)
    client_kwargs.setdefault("base_url", "http://testserver")
    try:
        with TestClient(application, **client_kwargs) as client:
            yield application, client
    finally:
        application.state.engine.dispose()
