"""The pages of the moderation area and of the pipeline, public and staff, are valid HTML (Nu
Html Checker) and pass axe-core's WCAG 2.1 A/AA rules, seen by an admin, with data in them."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from itsdangerous import Signer
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.deps import SESSION_COOKIE
from app.accounts.models import Role
from app.board.comments import post_comment
from app.board.models import Report
from app.board.service import NeedInput, create_need
from app.db import make_engine
from app.pipeline import service as pipeline
from app.pipeline.models import Partner
from app.settings import ModerationMode
from app.syndication import webhooks
from app.syndication.models import DeliveryStatus, Webhook, WebhookDelivery
from tests.e2e.test_pages_quality import AXE_JS, VNU_JAR, _require

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
        }
    engine.dispose()
    pages = [
        "/ideas",
        "/ideas/{idea}-{slug}",
        "/impact",
        "/partners",
        "/moderation/",
        "/moderation/queue",
        "/moderation/accounts",
        "/moderation/accounts/{user}",
        "/moderation/needs/{need}",
        "/moderation/needs/{need}/edit",
        "/moderation/needs/{need}/merge",
        "/moderation/needs/{need}/qualification",
        "/moderation/comments/{comment}/edit",
        "/moderation/needs/new",
        "/moderation/qualification",
        "/moderation/audit",
        "/moderation/settings",
        "/moderation/settings/themes",
        "/moderation/settings/territories",
        "/moderation/ideas",
        "/moderation/ideas/list",
        "/moderation/ideas/new",
        "/moderation/ideas/{idea}",
        "/moderation/ideas/{idea}/edit",
        "/moderation/ideas/{idea}/applications",
        "/moderation/partners",
        "/moderation/partners/new",
        "/moderation/partners/{partner}",
        "/moderation/webhooks",
        "/moderation/webhooks/new",
        "/moderation/webhooks/{webhook}",
        # The signed-in person's own pages (the account page holds the deletion form).
        "/account",
        "/account/notifications",
        "/account/notifications/settings",
    ]
    return cookie, [p.format(**ids) for p in pages]


def test_staff_and_pipeline_pages_are_valid_html(live_server, staff_world, tmp_path: Path):  # type: ignore[no-untyped-def]
    _require(VNU_JAR)
    java = shutil.which("java")
    if java is None:
        raise pytest.UsageError("java is needed for the Nu Html Checker")
    cookie, pages = staff_world
    files = []
    with httpx.Client(base_url=live_server.url, cookies={SESSION_COOKIE: cookie}) as http:
        for index, path in enumerate(pages):
            response = http.get(path)
            assert response.status_code == 200, path
            target = tmp_path / f"staff{index}.html"
            target.write_text(response.text, encoding="utf-8")
            files.append(str(target))
    result = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    names = {f"staff{i}.html": p for i, p in enumerate(pages)}
    problems = [
        f"{names.get(m.get('url', '').rsplit('/', 1)[-1])}:{m.get('lastLine')}: {m['message']}"
        for m in messages
    ]
    assert problems == []


def test_staff_and_pipeline_pages_have_no_axe_violations(browser, live_server, staff_world):  # type: ignore[no-untyped-def]
    _require(AXE_JS)
    cookie, pages = staff_world
    context = browser.new_context(bypass_csp=True, locale="fr-FR")
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": live_server.url}])
    page = context.new_page()
    violations = []
    for path in pages:
        page.goto(live_server.url + path)
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
        result = page.evaluate(
            """async () => await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}
            })"""
        )
        for v in result["violations"]:
            targets = [n["target"] for n in v["nodes"]][:3]
            violations.append(f"{path}: {v['id']} ({v['impact']}): {v['help']} — {targets}")
    context.close()
    assert violations == []
