"""A resident's pages, with data in them, in French and in English: valid HTML (Nu Html
Checker) and no axe-core violation of WCAG 2.1 A/AA. The list is page_inventory.RESIDENT_PAGES,
which tests/test_page_inventory.py keeps complete."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from itsdangerous import Signer
from sqlmodel import Session

from app.accounts import links
from app.accounts import service as accounts
from app.accounts.models import Role, TokenPurpose
from app.board.comments import post_comment
from app.board.service import NeedInput, create_need
from app.board.unsubscribe import unsubscribe_token
from app.core.db import make_engine
from app.core.settings import ModerationMode
from app.pipeline import service as pipeline
from app.pipeline.models import Idea, Stage, Verdict
from tests.e2e.conftest import seed_categories
from tests.e2e.page_inventory import RESIDENT_PAGES
from tests.e2e.quality import axe_violations, vnu_problems

pytestmark = pytest.mark.e2e
_n = itertools.count(1)
PASSWORD = "mot-de-passe-e2e"


@pytest.fixture(scope="module")
def resident_world(live_server):  # type: ignore[no-untyped-def]
    """A resident's session cookie and their pages: their own need and comment, another
    resident's need and comment, an idea calling for carriers, and the links of their e-mails."""
    engine = make_engine(live_server.settings.sqlalchemy_url)
    run = next(_n)
    with Session(engine) as session:
        session.info["settings"] = live_server.settings
        me = accounts.create_user(
            session,
            f"habitante-pages{run}@exemple.fr",
            display_name="Habitante",
            password=PASSWORD,
            verified=True,
        )
        other = accounts.create_user(
            session,
            f"voisin-pages{run}@exemple.fr",
            display_name="Voisin",
            password=PASSWORD,
            verified=True,
        )
        staff = accounts.create_user(
            session,
            f"equipe-pages{run}@exemple.fr",
            display_name="Équipe",
            password=PASSWORD,
            role=Role.staff,
            verified=True,
        )
        newcomer = accounts.create_user(
            session, f"nouvelle-pages{run}@exemple.fr", display_name="Nouvelle", password=PASSWORD
        )
        theirs = create_need(
            session,
            other,
            NeedInput(title="Une navette pour aller au marché le samedi"),
            mode=ModerationMode.post,
            rate_limits=False,
        )
        mine = create_need(
            session,
            me,
            NeedInput(title="Une laverie solidaire près de la gare", body="**Vite**"),
            mode=ModerationMode.post,
            rate_limits=False,
        )
        # A theme to follow (issue 17): its page /follow/theme/{id}. Named apart: a second
        # « Mobilité » made the whole-story test filter the qualification list on the wrong one.
        from app.board.models import Theme

        seed_categories(session)  # the demo's first: other tests of the server expect them
        theme = Theme(slug=f"jardins-pages{run}", name=f"Jardins partagés {run}")
        session.add(theme)
        session.commit()
        their_comment = post_comment(session, theirs, other, "Je la prendrais chaque semaine.")
        my_comment = post_comment(session, theirs, me, "Moi aussi, le samedi matin.")
        post_comment(session, mine, other, "Bonne idée !")
        idea = pipeline.create_idea(
            session,
            staff,
            pipeline.IdeaInput(title="Une navette solidaire du marché", is_public=True),
            need_ids=[theirs.id],  # type: ignore[list-item]
        )
        stored = session.get(Idea, idea.id)
        assert stored is not None
        stored.stage = Stage.seeking_carrier.value
        stored.verdict = Verdict.viable.value
        stored.carrier_call = "Une association ou une entreprise d'insertion du territoire."
        session.add(stored)
        session.commit()
        tokens = {
            "verify_token": links._issue_token(session, newcomer, TokenPurpose.verify_email),
            "login_token": links._issue_token(session, me, TokenPurpose.login_link),
            "reset_token": links._issue_token(session, other, TokenPurpose.reset_password),
            "unsubscribe_token": unsubscribe_token(live_server.settings, me.id, "comment"),  # type: ignore[arg-type]
        }
        session.commit()
        raw = accounts.start_session(session, me)
        cookie = Signer(live_server.settings.signing_key, salt="bourse.session").sign(raw).decode()
        ids = {
            "other_need": f"{theirs.id}-{theirs.slug}",
            "other_need_id": theirs.id,
            "own_need": f"{mine.id}-{mine.slug}",
            "own_need_id": mine.id,
            "own_comment": my_comment.id,
            "other_comment": their_comment.id,
            "open_idea": idea.id,
            "open_slug": idea.slug,
            "theme_id": theme.id,
            **tokens,
        }
    engine.dispose()
    return cookie, [page.format(**ids) for page in RESIDENT_PAGES]


def test_resident_pages_are_valid_html_in_both_languages(
    live_server, resident_world, tmp_path: Path
):  # type: ignore[no-untyped-def]
    cookie, pages = resident_world
    assert vnu_problems(live_server.url, pages, tmp_path, cookie=cookie) == []


@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_resident_pages_have_no_axe_violations(browser, live_server, resident_world, locale):  # type: ignore[no-untyped-def]
    cookie, pages = resident_world
    assert axe_violations(browser, live_server.url, pages, cookie=cookie, locale=locale) == []
