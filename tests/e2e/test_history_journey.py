"""Back, Forward and reload in a browser, wherever htmx changes the address (issue 14): a sort
or a filter updates the list in place and the address with it, a link opens another page
(boosted: htmx swaps the body and pushes the address); Back, Forward and reload must give the
whole page each time, with the filters as the address says. Before the fix, Back brought the
board back as the bare list of needs: no header, no filters, no footer.

The waits are Playwright's own (an expectation retried until it holds), never a pause."""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import pytest
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.board.service import NeedInput, create_need
from app.core.db import make_engine
from app.core.settings import ModerationMode
from app.ops.demo.seed import THEMES
from tests.e2e.conftest import seed_categories

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e
PASSWORD = "mot-de-passe-e2e"
_n = itertools.count(1)


def expect(target: Any) -> Any:
    """Playwright's retried expectation, imported when a test runs: `make test` collects this
    module without the e2e extra installed (the e2e marker deselects it there)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


THEMES_CHOSEN = (THEMES[0][0], THEMES[1][0])


@pytest.fixture(scope="module")
def staff_email(live_server):  # type: ignore[no-untyped-def]
    """A member of staff, the demo's themes, and two published needs on the board."""
    engine = make_engine(live_server.settings.sqlalchemy_url)
    with Session(engine) as session:
        session.info["settings"] = live_server.settings
        seed_categories(session)
        email = f"equipe{next(_n)}@exemple.fr"
        staff = accounts.create_user(
            session, email, display_name="Équipe", password=PASSWORD, role=Role.staff, verified=True
        )
        for title in ("Un atelier vélo au quartier de la gare", "Une halte-garderie le samedi"):
            create_need(
                session,
                staff,
                NeedInput(title=title),
                mode=ModerationMode.post,
                rate_limits=False,
            )
    engine.dispose()
    return email


def whole_page(page: Page, form: str) -> None:
    """The page as a first visit shows it: its filter form, the site's header and footer."""
    expect(page.locator(form)).to_be_visible()
    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("contentinfo")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)


def test_back_forward_and_reload_give_the_whole_board(browser, live_server, staff_email):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    base = live_server.url
    page.goto(base + "/")
    page.locator("#f-sort").select_option("top")  # the list updates in place
    expect(page).to_have_url(base + "/?q=&theme=&territory=&status=&answer=&stage=&sort=top")
    page.get_by_role("link", name="Un atelier vélo au quartier de la gare").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Un atelier vélo au quartier de la gare"
    )

    page.go_back()
    expect(page).to_have_url(base + "/?q=&theme=&territory=&status=&answer=&stage=&sort=top")
    whole_page(page, "form.board-filters")
    expect(page.locator("#f-sort")).to_have_value("top")
    expect(page.get_by_role("heading", level=1)).to_have_text("Les besoins du territoire")

    page.go_forward()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Un atelier vélo au quartier de la gare"
    )
    page.go_back()
    whole_page(page, "form.board-filters")
    page.go_back()  # the board before the sort: the default order again
    expect(page).to_have_url(base + "/")
    whole_page(page, "form.board-filters")
    expect(page.locator("#f-sort")).to_have_value("recent")

    page.go_forward()
    page.reload()
    whole_page(page, "form.board-filters")
    expect(page.locator("#f-sort")).to_have_value("top")
    context.close()


def test_back_gives_the_whole_ideas_page_with_its_filter(browser, live_server, staff_email):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    base = live_server.url
    page.goto(base + "/ideas")
    page.locator("#f-stage").select_option("studying")
    expect(page).to_have_url(base + "/ideas?stage=studying&theme=&territory=")
    page.get_by_role("link", name="Impact", exact=True).click()
    expect(page).to_have_url(base + "/impact")

    page.go_back()
    expect(page).to_have_url(base + "/ideas?stage=studying&theme=&territory=")
    whole_page(page, "form.board-filters")
    expect(page.locator("#f-stage")).to_have_value("studying")
    page.reload()
    whole_page(page, "form.board-filters")
    context.close()


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/account/login")
    page.locator("#f-email").fill(email)
    page.locator("#f-password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.get_by_role("link", name="Mon compte").wait_for()


@pytest.mark.parametrize(
    ("path", "form", "name", "first", "second"),
    [
        ("/moderation/ideas/list", "form.pipeline-filters", "q", "vélo", "garderie"),
        ("/moderation/queue", "form.board-filters", "kind", "need", "comment"),
        ("/moderation/qualification", "form.board-filters", "theme", *THEMES_CHOSEN),
    ],
)
def test_back_on_staff_lists_gives_the_page_the_address_says(  # type: ignore[no-untyped-def]
    browser, live_server, staff_email, path, form, name, first, second
):
    """Two filters in a row, then Back: the first filter's page, whole, with its values
    (the staff idea list kept the second one's results and values)."""
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    base = live_server.url
    _sign_in(page, base, staff_email)
    page.goto(base + path)
    field = page.locator(f"{form} [name={name}]")
    for value in (first, second):
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
        page.locator(f"{form} button[type=submit]").click()
        expect(page).to_have_url(_address(base + path, name, value))

    page.go_back()
    expect(page).to_have_url(_address(base + path, name, first))
    expect(field).to_have_value(first)
    whole_page(page, form)
    page.reload()
    whole_page(page, form)
    expect(field).to_have_value(first)
    context.close()


def _address(path: str, name: str, value: str) -> re.Pattern[str]:
    """`path` with a query where `name` is `value`."""
    return re.compile(rf"{re.escape(path)}\?(.*&)?{name}={re.escape(quote_plus(value))}(&.*)?$")
