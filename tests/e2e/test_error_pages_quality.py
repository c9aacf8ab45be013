"""The error pages no address shows on demand — 429 (too many attempts), 500 (internal error),
503 (database unavailable) — are valid HTML (Nu Html Checker) and pass axe-core's WCAG 2.1 A/AA
rules in Chromium, in French and in English, as the 404 and 403 pages do
(page_inventory.ERROR_PAGES; issue 14, « every page checked »).

How each page is obtained: the app renders it itself, through `app.web.errors.error_page` and
its one handler, in a TestClient on an app built with the live server's settings and database:

- 429: the rate limit really triggered. The e2e server runs with BOURSE_RATE_LIMITS=off (a robot
  fills forms faster than a person), so the page comes from an app with the limits on: a
  resident's report limit is filled with rate events, as tests/board/test_reports.py does, then
  the report form read from its page is sent once more (tests/factories.submit_form).
- 500: nothing in the app fails on demand, so a route added by the test raises, as in
  tests/web/test_errors.py; the handler is the real one, security headers included.
- 503: an app whose database is a directory, which SQLite cannot open: the real « database
  unavailable » path (`OperationalError`), with no one signed in since no one can be read.

The browser then gets that HTML at an address of the live server (Playwright fulfils the
request), so the page's style sheet and scripts are the server's own and axe measures the real
colours and sizes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.board.service import NeedInput, create_need
from app.core.db import utcnow
from app.core.ratelimit import LIMITS, RateEvent
from app.core.settings import ModerationMode
from app.main import create_app
from tests.e2e.page_inventory import ERROR_PAGES
from tests.e2e.quality import axe_violations, vnu_documents
from tests.factories import login_as, make_user, submit_form

pytestmark = pytest.mark.e2e
_n = itertools.count(1)
LANGS = {"fr": "fr-FR", "en": "en-GB"}


def _too_many_reports(settings: Any) -> dict[str, tuple[str, httpx.Response]]:
    app = create_app(settings.model_copy(update={"rate_limits": "on"}))
    try:
        with Session(app.state.engine, expire_on_commit=False) as session:
            session.info["settings"] = app.state.settings
            run = next(_n)
            author = make_user(session, email=f"auteur-429-{run}@exemple.fr")
            reporter = make_user(session, email=f"signale-429-{run}@exemple.fr")
            need = create_need(
                session,
                author,
                NeedInput(title="Un jardin partagé au pied des immeubles"),
                mode=ModerationMode.post,
                rate_limits=False,
            )
            _window, limit = LIMITS["report"][0]
            now = utcnow()
            session.add_all(
                RateEvent(key=f"report:user:{reporter.id}", created_at=now - timedelta(minutes=m))
                for m in range(limit)
            )
            session.commit()
            answers = {}
            with TestClient(app) as client:
                login_as(client, reporter, session)
                for lang in LANGS:
                    client.headers["Accept-Language"] = lang
                    response = submit_form(
                        client, f"/report?kind=need&id={need.id}", "/report", {"reason": "spam"}
                    )
                    assert response.status_code == 429, response.status_code
                    answers[lang] = ("/report", response)
            return answers
    finally:
        app.state.engine.dispose()


def _unexpected_exception(settings: Any) -> dict[str, tuple[str, httpx.Response]]:
    app = create_app(settings)

    @app.get("/__checks/boom")
    def boom() -> None:
        raise RuntimeError("an error made by the test")

    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            return {
                lang: (
                    "/__checks/boom",
                    client.get("/__checks/boom", headers={"Accept-Language": lang}),
                )
                for lang in LANGS
            }
    finally:
        app.state.engine.dispose()


def _database_unavailable(settings: Any, where: Path) -> dict[str, tuple[str, httpx.Response]]:
    app = create_app(settings.model_copy(update={"database_url": f"sqlite:///{where}"}))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            return {
                lang: ("/", client.get("/", headers={"Accept-Language": lang})) for lang in LANGS
            }
    finally:
        app.state.engine.dispose()


@pytest.fixture(scope="module")
def error_pages(
    live_server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[int, dict[str, tuple[str, httpx.Response]]]]:  # type: ignore[no-untyped-def]
    """status → language → (the address it answered, the app's answer)."""
    settings = live_server.settings
    pages = {
        429: _too_many_reports(settings),
        500: _unexpected_exception(settings),
        503: _database_unavailable(settings, tmp_path_factory.mktemp("not-a-database")),
    }
    assert set(pages) == set(ERROR_PAGES), "render every page the inventory names"
    for status, answers in pages.items():
        for lang, (_address, response) in answers.items():
            assert response.status_code == status
            assert response.headers["content-type"].startswith("text/html")
            assert f'<html lang="{lang}"' in response.text
    yield pages


def test_error_pages_are_valid_html_in_both_languages(error_pages, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    documents = {
        f"{status} {address} ({lang})": response.text
        for status, answers in error_pages.items()
        for lang, (address, response) in answers.items()
    }
    assert vnu_documents(documents, tmp_path) == []


@pytest.mark.parametrize("status", sorted(ERROR_PAGES))
@pytest.mark.parametrize("lang", sorted(LANGS))
def test_error_page_has_no_axe_violations(  # type: ignore[no-untyped-def]
    browser, live_server, error_pages, status: int, lang: str
) -> None:
    address, response = error_pages[status][lang]
    assert (
        axe_violations(
            browser,
            live_server.url,
            [address],
            locale=LANGS[lang],
            rendered={address: response},
        )
        == []
    )
