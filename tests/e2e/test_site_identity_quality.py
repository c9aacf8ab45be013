"""A site with its own identity — a name, a logo, a dark red accent colour, a rewritten legal
notice with a revision — stays valid HTML (Nu Html Checker) and passes axe-core's WCAG 2.1
A/AA rules (contrast included, with the accent applied), public pages and the admin's editor,
in French and in English; so do the editor's answers no address shows (a preview, a refused
text), rendered by the app in a TestClient on the live server's database and given to the
browser at the server's origin, as tests/e2e/test_error_pages_quality.py does. The identity is
put back as it was afterwards: the live server is shared with the other browser tests."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import Signer
from sqlmodel import Session, select
from starlette.datastructures import UploadFile

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.db import make_engine
from app.core.site_config import SiteSetting
from app.main import create_app
from app.moderation import identity
from app.moderation.models import Revision
from app.web.site_identity import IDENTITY_PREFIX
from tests.e2e.quality import axe_violations, vnu_documents, vnu_problems
from tests.factories import login_as, make_user, submit_form
from tests.pipeline.test_uploads import minimal_png

pytestmark = pytest.mark.e2e

PAGES = [
    "/",
    "/legal",
    "/about",
    "/moderation/",
    "/moderation/site",
    "/moderation/site/pages/fr/legal",
]


@pytest.fixture(scope="module")
def identity_world(live_server):  # type: ignore[no-untyped-def]
    engine = make_engine(live_server.settings.sqlalchemy_url)
    with Session(engine) as session:
        session.info["settings"] = live_server.settings
        admin = accounts.create_user(
            session,
            "admin-identite@exemple.fr",
            display_name="Admin identité",
            password="mot-de-passe-e2e",
            role=Role.admin,
            verified=True,
        )
        identity.update_identity(
            session,
            admin,
            identity.IdentityInput(
                name="Fabrique à initiatives des Landes",
                territory="la Haute-Lande",
                contact_email="bonjour@fabrique-landes.example",
                accent="#8a1538",
                director="Camille Durand, présidente",
            ),
            logo=UploadFile(io.BytesIO(minimal_png()), filename="logo.png"),
        )
        identity.update_page(
            session,
            admin,
            "fr",
            "legal",
            "# Mentions légales\n\n## Éditeur\n\n{name}\n\n| Qui | Quoi |\n| --- | --- |\n"
            "| Directrice | {director} |\n",
        )
        raw = accounts.start_session(session, admin)
        cookie = Signer(live_server.settings.signing_key, salt="bourse.session").sign(raw).decode()
        # The editor with a previous version taken back into the box (nothing written).
        revision = session.exec(select(Revision).order_by(Revision.id.desc())).first()  # type: ignore[attr-defined]
        PAGES.append(f"/moderation/site/pages/fr/legal?from_revision={revision.id}")  # type: ignore[union-attr]
    yield cookie
    PAGES.pop()
    with Session(engine) as session:
        session.info["settings"] = live_server.settings
        admin = accounts.user_by_email(session, "admin-identite@exemple.fr")
        identity.update_page(session, admin, "fr", "legal", "", reset=True)
        for row in session.exec(select(SiteSetting)):
            if row.key.startswith(IDENTITY_PREFIX):
                session.delete(row)
        session.commit()
    engine.dispose()


def test_a_site_with_its_identity_is_valid_html(live_server, identity_world, tmp_path: Path):  # type: ignore[no-untyped-def]
    assert vnu_problems(live_server.url, PAGES, tmp_path, cookie=identity_world) == []


@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_a_site_with_its_identity_has_no_axe_violations(
    browser, live_server, identity_world, locale
):  # type: ignore[no-untyped-def]
    assert (
        axe_violations(browser, live_server.url, PAGES, cookie=identity_world, locale=locale) == []
    )


LANGS = {"fr": "fr-FR", "en": "en-GB"}
PREVIEW = "/moderation/site/pages/fr/about"
REFUSED = "/moderation/site/pages/fr/charter"


def _editor_answers(settings: Any) -> dict[str, dict[str, Any]]:
    """Per language: the editor showing a preview, and refusing a text without its title."""
    app = create_app(settings)
    answers: dict[str, dict[str, Any]] = {}
    try:
        with Session(app.state.engine, expire_on_commit=False) as session:
            session.info["settings"] = app.state.settings
            admin = make_user(session, role="admin", email="admin-apercu@exemple.fr")
            with TestClient(app) as client:
                login_as(client, admin, session)
                for lang in LANGS:
                    client.headers["Accept-Language"] = lang
                    preview = submit_form(
                        client,
                        PREVIEW,
                        PREVIEW,
                        {"markdown": "# Bientôt\n\n## Partie\n\nPour **{territory}**."},
                        press="action=preview",
                    )
                    assert preview.status_code == 200
                    refused = submit_form(
                        client, REFUSED, REFUSED, {"markdown": "Sans titre"}, press="action=preview"
                    )
                    assert refused.status_code == 422
                    answers[lang] = {PREVIEW: preview, REFUSED: refused}
    finally:
        app.state.engine.dispose()
    return answers


@pytest.fixture(scope="module")
def editor_answers(live_server, identity_world):  # type: ignore[no-untyped-def]
    return _editor_answers(live_server.settings)


def test_the_editors_preview_and_refusal_are_valid_html(editor_answers, tmp_path: Path):  # type: ignore[no-untyped-def]
    documents = {
        f"{lang} {path}": response.text
        for lang, pages in editor_answers.items()
        for path, response in pages.items()
    }
    assert vnu_documents(documents, tmp_path) == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_editors_preview_and_refusal_have_no_axe_violations(  # type: ignore[no-untyped-def]
    browser, live_server, editor_answers, lang
):
    pages = editor_answers[lang]
    assert (
        axe_violations(browser, live_server.url, list(pages), locale=LANGS[lang], rendered=pages)
        == []
    )
