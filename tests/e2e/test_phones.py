"""Phones and tablets (issue 14): at 375×740 and 768×1024 no page scrolls sideways, on a touch
screen every control outside running text is at least 44 px high, the header's links fold into
« Menu » on a phone, and the board's filters leave room for the needs and can be cleared in one
tap. Measured in Chromium with touch emulation (`pointer: coarse`)."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.board.service import NeedInput, create_need
from app.core.db import make_engine
from app.core.settings import ModerationMode
from app.ops.demo.seed import TERRITORIES, THEMES
from tests.e2e.conftest import seed_categories, sign_in_on_touch_screen

pytestmark = pytest.mark.e2e
PASSWORD = "mot-de-passe-e2e"
_n = itertools.count(1)
PHONE = {"width": 375, "height": 740}
TABLET = {"width": 768, "height": 1024}

# Controls smaller than a finger, outside running text (a link inside a sentence is exempt,
# WCAG 2.5.5): a radio button or box counts by its label when it has one.
SMALL_TARGETS = """() => {
  const found = [];
  for (const el of document.querySelectorAll('a, button, summary, select, input, textarea')) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || el.type === 'hidden') continue;
    const text = el.closest('p, dd, td, li.comment-text, blockquote, .user-content');
    if (el.tagName === 'A' && text
        && text.textContent.trim().length > el.textContent.trim().length + 3) continue;
    if (el.type === 'radio' || el.type === 'checkbox') {
      const label = el.closest('label') || (el.labels && el.labels[0]);
      if (label && label.getBoundingClientRect().height >= 43.5) continue;
    }
    if (box.height < 43.5) {
      const name = (el.textContent || el.value || '').trim().slice(0, 40);
      found.push(`${el.tagName} « ${name} » ${Math.round(box.height)} px`);
    }
  }
  return found;
}"""


@pytest.fixture(scope="module")
def resident(live_server):  # type: ignore[no-untyped-def]
    """A resident with a published need (its page, its edit tools) and the reference lists."""
    engine = make_engine(live_server.settings.sqlalchemy_url)
    with Session(engine) as session:
        session.info["settings"] = live_server.settings
        seed_categories(session)
        email = f"telephone{next(_n)}@exemple.fr"
        user = accounts.create_user(
            session,
            email,
            display_name="Inès",
            password=PASSWORD,
            role=Role.resident,
            verified=True,
        )
        need = create_need(
            session,
            user,
            NeedInput(
                title="Une laverie solidaire ouverte le soir près de la gare",
                body="Pas de machine chez soi, et la laverie la plus proche ferme à 19 h.",
                theme=THEMES[0][0],
                territory=TERRITORIES[0][0],
            ),
            mode=ModerationMode.post,
            rate_limits=False,
        )
        path = f"/needs/{need.id}-{need.slug}"
    engine.dispose()
    return email, path


def _signed_in(browser, live_server, email: str, viewport: dict[str, int]):  # type: ignore[no-untyped-def]
    return sign_in_on_touch_screen(browser, live_server.url, email, PASSWORD, viewport)


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone-375", "tablet-768"])
def test_no_page_scrolls_sideways_and_every_control_fits_a_finger(
    browser, live_server, resident, viewport
):  # type: ignore[no-untyped-def]
    email, need_path = resident
    context, page = _signed_in(browser, live_server, email, viewport)
    assert page.evaluate("matchMedia('(pointer: coarse)').matches")
    pages = [
        "/",
        "/?q=laverie&sort=top",
        need_path,
        "/needs/new",
        "/ideas",
        "/impact",
        "/about",
        "/account",
        "/account/notifications",
        "/account/notifications/settings",
        f"/report?kind=need&id={need_path.split('/')[2].split('-')[0]}",
    ]
    problems = []
    for path in pages:
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > viewport["width"]:
            problems.append(f"{path}: {width} px wide")
        problems += [f"{path}: {small}" for small in page.evaluate(SMALL_TARGETS)]
    context.close()
    assert problems == []


def test_on_a_phone_the_header_folds_into_a_menu_and_the_needs_come_soon(
    browser, live_server, resident
):  # type: ignore[no-untyped-def]
    email, _need_path = resident
    context, page = _signed_in(browser, live_server, email, PHONE)
    page.goto(live_server.url + "/")
    header = page.locator("header.site-header").bounding_box()
    assert header is not None and header["height"] < 100  # one line: the name and « Menu »
    account = page.get_by_role("link", name="Mon compte")
    assert not account.is_visible()
    page.get_by_text("Menu", exact=True).click()
    assert account.is_visible()
    card = page.locator(".need-card").first.bounding_box()
    page.get_by_text("Menu", exact=True).click()
    card = page.locator(".need-card").first.bounding_box()
    assert card is not None and card["y"] < 2 * PHONE["height"]

    # A filter says what it keeps, and one tap clears it.
    page.locator("#f-q").fill("laverie")
    page.locator("#f-q").press("Enter")
    page.get_by_text("Effacer les filtres").wait_for()
    assert "« laverie »" in page.locator(".active-filters").inner_text()
    page.get_by_text("Effacer les filtres").click()
    page.wait_for_url(live_server.url + "/")
    assert page.locator("#f-q").input_value() == ""
    assert page.locator(".active-filters").count() == 0
    context.close()


@pytest.fixture(scope="module")
def admin(live_server):  # type: ignore[no-untyped-def]
    engine = make_engine(live_server.settings.sqlalchemy_url)
    with Session(engine) as session:
        session.info["settings"] = live_server.settings
        email = f"equipe-telephone{next(_n)}@exemple.fr"
        accounts.create_user(
            session, email, display_name="Claire", password=PASSWORD, role=Role.admin,
            verified=True,
        )  # fmt: skip
    engine.dispose()
    return email


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone-375", "tablet-768"])
def test_the_staff_pages_fit_and_their_navigation_fits_a_finger(
    browser, live_server, admin, viewport
):  # type: ignore[no-untyped-def]
    """The team works from a phone too: no staff page scrolls sideways, and the links of the
    moderation area's own navigation are at least 44 px high on a touch screen."""
    context, page = _signed_in(browser, live_server, admin, viewport)
    problems = []
    for path in ("/moderation/", "/moderation/queue", "/moderation/qualification",
                 "/moderation/ideas", "/moderation/ideas/list", "/moderation/accounts",
                 "/moderation/audit", "/moderation/settings"):  # fmt: skip
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > viewport["width"]:
            problems.append(f"{path}: {width} px wide")
        heights = page.locator(".moderation-nav a").evaluate_all(
            "links => links.map(a => [a.textContent.trim(), a.getBoundingClientRect().height])"
        )
        assert heights, f"{path}: no moderation navigation"
        problems += [f"{path}: « {name} » {h:.0f} px" for name, h in heights if h < 43.5]
    context.close()
    assert problems == []
