"""A site with its own identity — a name, a logo, a dark red accent colour, a rewritten legal
notice with a revision — stays valid HTML (Nu Html Checker) and passes axe-core's WCAG 2.1
A/AA rules (contrast included, with the accent applied), public pages and the admin's editor,
in French and in English. The identity is put back as it was afterwards: the live server is
shared with the other browser tests."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from itsdangerous import Signer
from sqlmodel import Session, select
from starlette.datastructures import UploadFile

from app.accounts import service as accounts
from app.accounts.models import Role
from app.db import make_engine
from app.moderation import identity
from app.site_config import SiteSetting
from app.site_identity import IDENTITY_PREFIX
from tests.e2e.quality import axe_violations, vnu_problems
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
    yield cookie
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
