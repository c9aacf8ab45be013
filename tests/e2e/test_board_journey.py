"""Issue 3's "done when", in a browser, with and without JavaScript: a resident posts a need
(similar needs shown while typing), another supports and withdraws, says how they are
concerned, comments and replies, follows, reports, and finds needs by text, theme and sort."""

from __future__ import annotations

import itertools
import re

import pytest
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.board.service import NeedInput, create_need
from app.core.db import make_engine
from app.core.settings import ModerationMode
from tests.e2e.conftest import seed_categories

pytestmark = pytest.mark.e2e
PASSWORD = "mot-de-passe-e2e"
_n = itertools.count(1)


@pytest.fixture(scope="module")
def people(live_server):  # type: ignore[no-untyped-def]
    """Two residents (one already trusted by a published need) and the reference lists."""
    engine = make_engine(live_server.settings.sqlalchemy_url)
    with Session(engine) as session:
        session.info["settings"] = live_server.settings
        seed_categories(session)
        emails = []
        for label in ("autrice", "voisin"):
            email = f"{label}{next(_n)}@exemple.fr"
            user = accounts.create_user(
                session,
                email,
                display_name=label.capitalize(),
                password=PASSWORD,
                role=Role.moderator if label == "autrice" else Role.resident,
                verified=True,
            )
            emails.append(email)
        # An existing need for the "similar needs" suggestion.
        create_need(
            session,
            user,
            NeedInput(title="Une crèche associative avec des places le soir"),
            mode=ModerationMode.post,
            rate_limits=False,
        )
    engine.dispose()
    return emails


def _context(browser, js: bool):  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=js, locale="fr-FR")
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            m.type == "error" and "Failed to load resource" not in m.text and errors.append(m.text)
        ),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return context, page


def _login(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/account/login")
    page.locator("#f-email").fill(email)
    page.locator("#f-password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.get_by_role("link", name="Mon compte").wait_for()


@pytest.mark.parametrize("js", [True, False], ids=["with-js", "without-js"])
def test_post_support_comment_follow_report_and_find(browser, live_server, people, js):  # type: ignore[no-untyped-def]
    base = live_server.url
    author_email, neighbour_email = people
    word = f"Crèche{next(_n)}{'js' if js else 'nojs'}"

    # The author posts a need. With JavaScript, similar needs appear while typing the title.
    context, page = _context(browser, js)
    _login(page, base, author_email)
    page.goto(base + "/needs/new")
    if js:
        page.locator("#f-title").press_sequentially("Une creche ouverte le soir", delay=5)
        page.locator("#similar").get_by_role(
            "link", name="Une crèche associative avec des places le soir"
        ).wait_for()
    page.locator("#f-title").fill(
        f"Une {word} ouverte le soir pour les parents en horaires décalés"
    )
    page.locator("#f-body").fill("Les parents qui **travaillent** tard n'ont pas de solution.")
    page.locator("#f-theme").select_option("petite-enfance-famille")
    page.locator("#f-territory").select_option("begles")
    # « Aperçu » shows the text as it will look (in place with JavaScript, the page back at the
    # preview without), and publishing straight after it is not refused as too fast.
    page.get_by_role("button", name="Aperçu").click()
    page.locator("#preview strong", has_text="travaillent").wait_for()
    assert page.locator("#f-title").input_value().startswith(f"Une {word}")
    page.get_by_role("button", name="Publier le besoin").click()
    page.get_by_role("heading", name=re.compile(word)).wait_for()
    need_url = page.url.split("?")[0]
    assert page.get_by_text("1 soutien", exact=False).first.is_visible()
    # Thanked, with the need's address ready to pass on; with JavaScript the « Merci ! » leaves
    # the address bar, so the link the author copies from it is the clean one.
    assert page.get_by_role("heading", name="Partagez votre besoin").is_visible()
    shared = page.get_by_label("Son adresse, à copier et envoyer").input_value()
    assert shared.endswith(need_url.removeprefix(base)) and "notice" not in shared
    if js:
        page.wait_for_url(lambda url: "notice=" not in url)
        assert page.url == need_url
    assert page.errors == []
    context.close()

    # A neighbour finds it by text without accents, supports, says how, withdraws, supports.
    context, page = _context(browser, js)
    _login(page, base, neighbour_email)
    page.goto(base + "/?q=" + word.lower().replace("è", "e"))
    page.get_by_role("link", name=re.compile(word)).click()
    page.get_by_role("heading", name=re.compile(word)).wait_for()
    support = page.get_by_role("button", name=re.compile("Moi aussi"))
    assert support.get_attribute("aria-pressed") == "false"
    support.click()
    page.get_by_role("button", name=re.compile("Moi aussi")).and_(
        page.locator("[aria-pressed=true]")
    ).wait_for()
    assert page.get_by_text("2 soutiens").first.is_visible()
    page.get_by_role("button", name="J'utiliserais ce service").click()
    page.get_by_text(re.compile("utiliserai")).first.wait_for()
    page.get_by_role("button", name=re.compile("Moi aussi")).click()
    page.get_by_role("button", name=re.compile("Moi aussi")).and_(
        page.locator("[aria-pressed=false]")
    ).wait_for()
    assert page.get_by_text("1 soutien", exact=True).first.is_visible()

    # Follows, comments, and the author's comment gets a reply.
    page.get_by_role("button", name="Suivre ce besoin").click()
    page.get_by_role("button", name="Suivre ce besoin").and_(
        page.locator("[aria-pressed=true]")
    ).wait_for()
    page.get_by_label("Votre commentaire").fill("Même situation pour nous, à Bègles.")
    page.get_by_role("button", name="Publier le commentaire").click()
    page.get_by_text("Même situation pour nous, à Bègles.").wait_for()
    page.locator("a.reply-link").first.click()
    page.get_by_role("textbox", name="Votre réponse").first.fill("Et le mercredi aussi.")
    page.get_by_role("button", name="Envoyer la réponse").first.click()
    page.get_by_text("Et le mercredi aussi.").wait_for()

    # Reports the need.
    page.goto(need_url)
    page.get_by_role("link", name="Signaler").first.click()
    page.locator("#f-reason").check()
    page.get_by_role("button", name="Envoyer le signalement").click()
    page.get_by_text("votre signalement a été transmis").wait_for()

    # Finds it again by theme, then sorted by supports.
    page.goto(base + "/")
    page.locator("#f-theme").select_option("petite-enfance-famille")
    page.locator("#f-sort").select_option("top")
    if not js:
        page.get_by_role("button", name="Afficher").click()
    page.wait_for_url(re.compile(r"theme=petite-enfance-famille"))
    page.wait_for_url(re.compile(r"sort=top"))
    page.get_by_role("link", name=re.compile(word)).wait_for()
    assert page.errors == []
    context.close()
