"""The staff idea board on a tablet and a phone (issue 14 walkthrough: at 768 px the columns
stacked and « À l'étude » started 9,400 px down). At 768×1024 the stages go two by two, « Aller
à l'étape » reaches each column, no page scrolls sideways (nor at 375 px), and the filters
update the board in place, with Back and reload giving the board the address says.

Measured in Chromium with touch emulation. The waits are Playwright's own (an expectation
retried until it holds), never a pause."""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Role
from app.board.models import Theme
from app.core.db import make_engine
from app.pipeline import service as pipeline
from app.pipeline.models import Idea
from app.pipeline.staff_board_routes import COLUMN_LIMIT
from tests.e2e.conftest import seed_categories, sign_in_on_touch_screen
from tests.e2e.test_phones import SMALL_TARGETS

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e
PASSWORD = "mot-de-passe-e2e"
PHONE = {"width": 375, "height": 740}
TABLET = {"width": 768, "height": 1024}
_n = itertools.count(1)
# A word of this file's idea titles only: the board it filters holds no other test's ideas.
WORD = "tablette"
# test_phones' measure of targets, on the board and its filters only: the moderation area's
# navigation above them is measured with the staff pages.
BOARD_TARGETS = SMALL_TARGETS.replace(
    "document.querySelectorAll('a, button, summary, select, input, textarea')",
    "document.querySelectorAll(':is(#pipeline-board, .pipeline-board-filters) "
    ":is(a, button, summary, select, input, textarea)')",
)
assert BOARD_TARGETS != SMALL_TARGETS
# The board's address once filtered by those words (htmx writes the space as %20).
FILTERED = re.compile(r"/moderation/ideas\?(.*&)?q=tablette(%20|\+)\d+-(&.*)?$")


def expect(target: Any) -> Any:
    """Playwright's retried expectation, imported when a test runs (see test_history_journey)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@pytest.fixture(scope="module")
def board_world(live_server):  # type: ignore[no-untyped-def]
    """A member of staff and a full board: more ideas detected than a column shows, some at
    the study, with long titles; a few of them on the first theme."""
    engine = make_engine(live_server.settings.sqlalchemy_url)
    with Session(engine) as session:
        session.info["settings"] = live_server.settings
        seed_categories(session)
        run = next(_n)
        email = f"equipe-tablette{run}@exemple.fr"
        staff = accounts.create_user(
            session, email, display_name="Équipe", password=PASSWORD, role=Role.staff, verified=True
        )
        theme = session.exec(select(Theme).order_by(Theme.position)).first()  # type: ignore[arg-type]
        assert theme is not None
        for n in range(COLUMN_LIMIT + 4):
            pipeline.create_idea(
                session,
                staff,
                pipeline.IdeaInput(
                    title=f"Une conciergerie de quartier ouverte le soir, {WORD} {run}-{n}",
                    origin="town",
                    theme_id=theme.id if n % 4 == 0 else None,
                ),
                need_ids=[],
            )
        for n in range(3):
            idea = pipeline.create_idea(
                session,
                staff,
                pipeline.IdeaInput(
                    title=f"Un atelier de réparation de vélos à l'étude, {WORD} {run}-{n}",
                    origin="association",
                    theme_id=theme.id,
                ),
                need_ids=[],
            )
            stored = session.get(Idea, idea.id)
            assert stored is not None
            stored.stage = "studying"
            session.add(stored)
        session.commit()
        slug = theme.slug
    engine.dispose()
    return email, f"{WORD} {run}-", slug


def _signed_in(browser, live_server, email: str, viewport: dict[str, int]):  # type: ignore[no-untyped-def]
    return sign_in_on_touch_screen(browser, live_server.url, email, PASSWORD, viewport)


def _sideways(page: Page) -> int:
    """How far the page scrolls sideways (0: not at all)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone-375", "tablet-768"])
def test_the_board_never_scrolls_sideways_and_fits_a_finger(
    browser, live_server, board_world, viewport
):  # type: ignore[no-untyped-def]
    email, _words, theme = board_world
    context, page = _signed_in(browser, live_server, email, viewport)
    problems = []
    for address in ("/moderation/ideas", f"/moderation/ideas?theme={theme}&q=tablette"):
        page.goto(live_server.url + address)
        if _sideways(page) > 0:
            problems.append(f"{address}: {_sideways(page)} px too wide")
        problems += [f"{address}: {small}" for small in page.evaluate(BOARD_TARGETS)]
    context.close()
    assert problems == []


def test_on_a_tablet_the_stages_go_two_by_two_and_each_is_one_tap_away(  # type: ignore[no-untyped-def]
    browser, live_server, board_world
):
    email, _words, _theme = board_world
    context, page = _signed_in(browser, live_server, email, TABLET)
    page.goto(live_server.url + "/moderation/ideas")
    detected = page.locator("#column-detected").bounding_box()
    studying = page.locator("#column-studying").bounding_box()
    assert detected is not None and studying is not None
    # Side by side: « À l'étude » at the top, beside « Détectée », not under its cards.
    assert studying["y"] == pytest.approx(detected["y"], abs=2)
    assert studying["x"] > detected["x"] + detected["width"]

    jump = page.get_by_role("navigation", name=re.compile("^Aller à l'étape"))
    for stage, name in (("launched", "Entreprise créée"), ("studying", "À l'étude")):
        link = jump.get_by_role("link", name=re.compile(f"^{name} \\(\\d+\\)$"))
        link.click()
        expect(page).to_have_url(re.compile(f"/moderation/ideas#column-{stage}$"))
        expect(page.locator(f"#column-{stage}")).to_be_in_viewport()
    # The heading reached names its stage and count, as the link did.
    expect(page.locator("#column-studying")).to_have_text(re.compile(r"^À l'étude \(\d+\)$"))
    assert _sideways(page) <= 0
    context.close()


def test_filters_update_the_board_in_place_and_back_restores_it(  # type: ignore[no-untyped-def]
    browser, live_server, board_world
):
    email, words, theme = board_world
    context, page = _signed_in(browser, live_server, email, TABLET)
    base = live_server.url
    page.goto(base + "/moderation/ideas")
    form = page.locator("form.pipeline-board-filters")
    # A mark on the form itself: gone if a filter brought a new page (or a boosted body)
    # instead of replacing the board alone.
    form.evaluate("form => { form.dataset.untouched = 'yes'; }")
    cards = page.locator("#pipeline-board .idea-card")

    form.locator("[name=q]").fill(words)
    form.locator("[name=q]").press("Enter")
    expect(page).to_have_url(FILTERED)
    expect(cards).to_have_count(COLUMN_LIMIT + 3)  # the column's twelve and the study's three
    expect(page.locator("#column-detected")).to_have_text(f"Détectée ({COLUMN_LIMIT + 4})")
    form.locator("[name=theme]").select_option(theme)
    expect(page).to_have_url(re.compile(rf"[?&]theme={theme}(&|$)"))
    expect(page.locator("#column-detected")).to_have_text("Détectée (4)")
    expect(page.locator("#column-studying")).to_have_text("À l'étude (3)")
    expect(page.locator(".pipeline-count")).to_have_text("7 idées correspondent aux filtres.")
    more = page.locator(".pipeline-more a")
    expect(more).to_have_count(0)  # everything kept fits its column
    expect(form).to_have_attribute("data-untouched", "yes")

    page.go_back()
    expect(page).to_have_url(FILTERED)
    expect(form.locator("[name=theme]")).to_have_value("")
    expect(form.locator("[name=q]")).to_have_value(words)
    expect(page.locator("#column-detected")).to_have_text(f"Détectée ({COLUMN_LIMIT + 4})")
    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("contentinfo")).to_have_count(1)
    # « Voir les N idées » keeps the filters.
    see_all = page.locator(".pipeline-column-detected .pipeline-more a")
    expect(see_all).to_have_attribute("href", re.compile(r"[?&]q=tablette\+\d+-&stage=detected$"))

    page.reload()
    expect(form.locator("[name=q]")).to_have_value(words)
    expect(cards).to_have_count(COLUMN_LIMIT + 3)
    page.get_by_role("link", name="Effacer les filtres").click()
    expect(page).to_have_url(base + "/moderation/ideas")
    expect(form.locator("[name=q]")).to_have_value("")
    context.close()
