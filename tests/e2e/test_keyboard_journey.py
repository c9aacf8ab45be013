"""A resident with the keyboard only (issue 14, Deliver 4): signs in, supports, says how they
are concerned, follows, comments, replies and reports with Tab, Enter, Space and the arrows;
after each htmx update the focus lands on what changed (never back at the top of the page) and
what happened is said in the page's live region. Waits are Playwright's own, never a pause."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import Session

from app.accounts import service as accounts
from app.board.comments import post_comment
from app.board.service import NeedInput, create_need
from app.core.db import make_engine
from app.core.settings import ModerationMode
from tests.e2e.conftest import seed_categories

pytestmark = pytest.mark.e2e
PASSWORD = "mot-de-passe-e2e"
_n = itertools.count(1)

FOCUSED = (
    "() => { const el = document.activeElement; return el ? el.outerHTML.slice(0, 200) : ''; }"
)


@pytest.fixture(scope="module")
def world(live_server):  # type: ignore[no-untyped-def]
    engine = make_engine(live_server.settings.sqlalchemy_url)
    with Session(engine) as session:
        session.info["settings"] = live_server.settings
        seed_categories(session)
        run = next(_n)
        me = f"clavier{run}@exemple.fr"
        accounts.create_user(session, me, display_name="Léa", password=PASSWORD, verified=True)
        author = accounts.create_user(
            session,
            f"autrice-clavier{run}@exemple.fr",
            display_name="Awa",
            password=PASSWORD,
            verified=True,
        )
        need = create_need(
            session,
            author,
            NeedInput(title=f"Un repair café à Cenon, essai {run}"),
            mode=ModerationMode.post,
            rate_limits=False,
        )
        post_comment(session, need, author, "Le samedi matin serait idéal.")
        path = f"/needs/{need.id}-{need.slug}"
        need_id = need.id
    engine.dispose()
    return me, path, need_id


def _tab_to(page, condition: str, limit: int = 150) -> None:  # type: ignore[no-untyped-def]
    """Presses Tab until the focused element meets `condition` (JavaScript on `el`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            f"() => {{ const el = document.activeElement; return !!el && ({condition}); }}"
        ):
            return
    raise AssertionError(f"Tab never reached {condition}")


# Classes htmx puts on an update until it has settled. The content it swapped in answers its
# own forms only once settled (htmx processes it then, 20 ms later): a key pressed on it
# before would send the form without htmx, and the page would reload.
UNSETTLED = ".htmx-request, .htmx-swapping, .htmx-added, .htmx-settling"


def _focus_is(page, condition: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        f"() => {{ const el = document.activeElement; return !!el && ({condition})"
        f" && !document.querySelector('{UNSETTLED}'); }}"
    )


def test_a_resident_takes_part_with_the_keyboard_only(browser, live_server, world):  # type: ignore[no-untyped-def]
    email, path, need_id = world
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # Sign in.
    page.goto(live_server.url + "/account/login")
    _tab_to(page, "el.id === 'f-email'")
    page.keyboard.type(email)
    _tab_to(page, "el.id === 'f-password'")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/account/login" not in url)

    # « Moi aussi » with Enter: the focus stays on the button, now pressed.
    page.goto(live_server.url + path)
    _tab_to(page, "el.classList.contains('support-button')")
    page.keyboard.press("Enter")
    _focus_is(
        page,
        f"el.id === 'support-{need_id}-button' && el.getAttribute('aria-pressed') === 'true'",
    )

    # Who is concerned: the answer replaces the question, and the focus goes to the answer.
    _tab_to(page, "el.name === 'concern' && el.value === 'has_need'")
    page.keyboard.press("Enter")
    _focus_is(page, f"el.id === 'support-{need_id}-answer'")
    assert "J'ai ce besoin" in page.evaluate("() => document.activeElement.textContent")

    # Follow with Space: the focus stays on the button, now pressed.
    _tab_to(page, "el.classList.contains('follow-button')")
    page.keyboard.press("Space")
    _focus_is(
        page, "el.classList.contains('follow-button') && el.getAttribute('aria-pressed') === 'true'"
    )

    # A comment: once sent, the focus is on it and the live region says it is published.
    _tab_to(page, "el.tagName === 'TEXTAREA' && el.name === 'body'")
    page.keyboard.type("Je viendrai avec mon grille-pain.")
    _tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Publier le commentaire')")
    page.keyboard.press("Enter")
    _focus_is(page, "el.matches('article.comment') && el.textContent.includes('grille-pain')")
    page.wait_for_function(
        "() => document.getElementById('live-status').textContent.includes('publié')"
    )

    # A reply to Awa: « Répondre » with Enter puts the reply form in place and the focus in its
    # text box; the reply is sent, the focus is on it.
    _tab_to(page, "el.tagName === 'A' && el.classList.contains('reply-link')")
    page.keyboard.press("Enter")
    _focus_is(page, "el.tagName === 'TEXTAREA' && el.id.startsWith('reply-form-')")
    page.keyboard.type("Bonne idée, le samedi.")
    _tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Envoyer la réponse')")
    page.keyboard.press("Enter")
    _focus_is(page, "el.matches('article.comment') && el.textContent.includes('le samedi.')")

    # Report Awa's comment: « Signaler », a reason chosen with the arrows, sent with Enter.
    _tab_to(
        page,
        "el.tagName === 'A' && el.textContent.includes('Signaler')"
        " && el.href.includes('kind=comment')",
    )
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/report" in url)
    _tab_to(page, "el.type === 'radio'")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    _tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Envoyer le signalement')")
    page.keyboard.press("Enter")
    page.get_by_text("Merci").first.wait_for()
    _focus_is(page, "el !== document.body")
    assert errors == []
    context.close()
