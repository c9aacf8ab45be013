"""The pages of the moderation area and of the pipeline, public and staff, are valid HTML (Nu
Html Checker) and pass axe-core's WCAG 2.1 A/AA rules, seen by an admin, with data in them, in
French and in English. The list is page_inventory.STAFF_PAGES."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from itsdangerous import Signer
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.board.comments import post_comment
from app.board.models import Report
from app.board.service import NeedInput, create_need
from app.core.db import make_engine
from app.core.settings import ModerationMode
from app.moderation import collections
from app.pipeline import service as pipeline
from app.pipeline.models import Partner
from app.syndication import webhooks
from app.syndication.models import DeliveryStatus, Webhook, WebhookDelivery
from tests.e2e.page_inventory import STAFF_PAGES
from tests.e2e.quality import axe_violations, vnu_problems

pytestmark = pytest.mark.e2e
_n = itertools.count(1)


@pytest.fixture(scope="module")
def staff_world(live_server):  # type: ignore[no-untyped-def]
    """An admin's session cookie and the pages to check, with something on each."""
    engine = make_engine(live_server.settings.sqlalchemy_url)
    run = next(_n)
    with Session(engine) as session:
        session.info["settings"] = live_server.settings
        admin = accounts.create_user(
            session,
            f"admin-qualite{run}@exemple.fr",
            display_name="Administratrice",
            password="mot-de-passe-e2e",
            role=Role.admin,
            verified=True,
        )
        resident = accounts.create_user(
            session,
            f"habitant-qualite{run}@exemple.fr",
            display_name="Habitant",
            password="mot-de-passe-e2e",
            verified=True,
        )
        need = create_need(
            session,
            resident,
            NeedInput(title="Une navette pour aller au marché le samedi"),
            mode=ModerationMode.post,
            rate_limits=False,
        )
        create_need(
            session,
            resident,
            NeedInput(title="Un jardin partagé au pied des immeubles"),
            mode=ModerationMode.pre,
            rate_limits=False,
        )
        comment = post_comment(session, need, resident, "Je la prendrais chaque semaine.")
        session.add(
            Report(reporter_id=admin.id, target_kind="comment", target_id=comment.id, reason="spam")  # type: ignore[arg-type]
        )
        partner = Partner(slug=f"ville-qualite-{run}", name="Ville de test", kind="town")
        partner.is_capteur = True
        session.add(partner)
        session.commit()
        idea = pipeline.create_idea(
            session,
            admin,
            pipeline.IdeaInput(title="Une navette solidaire du marché", is_public=True),
            need_ids=[need.id],  # type: ignore[list-item]
        )
        hook = Webhook(
            url="https://ville.example/bourse-webhook",
            description="Site de la ville",
            events="need.published comment.published",
            secret=webhooks.new_secret(),
        )
        session.add(hook)
        session.commit()
        webhooks.ping(session, hook)
        session.add(
            WebhookDelivery(
                webhook_id=hook.id,  # type: ignore[arg-type]
                event="need.published",
                event_id="6a1f0c2e-0000-4000-8000-000000000001",
                payload='{"event":"need.published","data":{"need":{"id":1}}}',
                status=DeliveryStatus.failed.value,
                attempts=10,
                last_status_code=500,
                last_error="Réponse HTTP 500",
            )
        )
        session.commit()
        collection = collections.add_collection(
            session,
            admin,
            need,
            collections.CollectionInput(people="12", method="survey", collected_on="2026-11-14"),
        )
        raw = accounts.start_session(session, admin)
        cookie = Signer(live_server.settings.signing_key, salt="bourse.session").sign(raw).decode()
        ids = {
            "need": need.id,
            "user": resident.id,
            "comment": comment.id,
            "idea": idea.id,
            "slug": idea.slug,
            "partner": partner.id,
            "webhook": hook.id,
            "collection": collection.id,
        }
    engine.dispose()
    return cookie, [p.format(**ids) for p in STAFF_PAGES]


def test_staff_and_pipeline_pages_are_valid_html(live_server, staff_world, tmp_path: Path):  # type: ignore[no-untyped-def]
    cookie, pages = staff_world
    assert vnu_problems(live_server.url, pages, tmp_path, cookie=cookie) == []


@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_staff_and_pipeline_pages_have_no_axe_violations(browser, live_server, staff_world, locale):  # type: ignore[no-untyped-def]
    cookie, pages = staff_world
    assert axe_violations(browser, live_server.url, pages, cookie=cookie, locale=locale) == []
