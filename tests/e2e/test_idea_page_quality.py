"""The staff idea page in the states staff meet beyond the one the page inventory checks (an idea
at « Détectée », tests/e2e/test_staff_pages_quality.py): the call for carriers with applications
to retain, a carrier retained and its notice, the launch with its milestones and the enterprise
to fill in, and forms refused with their errors in their unfolded sections. Each is valid HTML
(Nu Html Checker) and has no axe-core WCAG 2.1 A/AA violation, in French and in English (issue
14: one section per concern, the carrier's own action).

As in test_error_pages_quality.py, the app renders each state in a TestClient built with the live
server's settings and database, forms read from the page and sent as a browser does
(tests/factories.submit_form); the browser gets that HTML at an address of the live server, so
the style sheet is the real one and axe measures the real colours and sizes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.main import create_app
from app.pipeline import applications, stage_data
from tests.e2e.quality import _fulfil_with, axe_violations, vnu_documents
from tests.e2e.test_phones import PHONE, SMALL_TARGETS
from tests.factories import login_as, make_user, submit_form
from tests.pipeline.test_public_ideas import make_idea

pytestmark = pytest.mark.e2e
_n = itertools.count(1)
LANGS = {"fr": "fr-FR", "en": "en-GB"}
MOTIVATION = "Notre association d'insertion gère déjà une laverie : ce projet la prolonge."


def _states(settings: Any, lang: str) -> dict[str, httpx.Response]:
    """address → the page as the app answers it, in `lang`."""
    app = create_app(settings)
    run = next(_n)
    with Session(app.state.engine, expire_on_commit=False) as session:
        session.info["settings"] = app.state.settings
        staff = make_user(session, role="staff", email=f"equipe-idee-{lang}-{run}@exemple.fr")
        calling = make_idea(
            session,
            f"Une laverie solidaire {lang} {run}",
            stage="seeking_carrier",
            verdict="viable",
            carrier_call="Une structure de l'insertion.",
        )
        for index, organisation in enumerate(("Asso Rebond", "")):
            person = make_user(
                session,
                email=f"candidat-{lang}-{run}-{index}@exemple.fr",
                display_name=f"Candidat {index}",
            )
            data = applications.ApplicationInput(
                motivation=MOTIVATION, organisation=organisation, contact="07 12 34 56 78"
            )
            applications.apply(session, person, calling.id, data, rate_limits=False)  # type: ignore[arg-type]
        retained = make_idea(
            session, f"Un atelier vélo {lang} {run}", stage="seeking_carrier", verdict="viable"
        )
        person = make_user(session, email=f"porteur-{lang}-{run}@exemple.fr")
        data = applications.ApplicationInput(motivation=MOTIVATION, contact="06 00 00 00 00")
        chosen = applications.apply(session, person, retained.id, data, rate_limits=False)  # type: ignore[arg-type]
        launching = make_idea(
            session, f"Une conciergerie {lang} {run}", stage="launching", carrier_name="Rebond"
        )
        for label in ("Statuts déposés", "Local trouvé"):
            stage_data.add_milestone(session, staff, launching.id, label)  # type: ignore[arg-type]
        with TestClient(app, headers={"Accept-Language": lang}) as client:
            login_as(client, staff, session)
            page = f"/moderation/ideas/{calling.id}"
            answers = {
                "call": client.get(page),
                "carrier refused": submit_form(
                    client, page, f"{page}/carrier", {"carrier_name": "x" * 121}
                ),
                "study refused": submit_form(
                    client, page, f"{page}/study", {"verdict": "peut-être"}
                ),
                "retain refused": submit_form(
                    client,
                    page,
                    f"{page}/carrier/application",
                    {"application": "abc"},
                    press="application",
                ),
                "launching": client.get(f"/moderation/ideas/{launching.id}"),
            }
            retain = f"/moderation/ideas/{retained.id}"
            done = submit_form(
                client,
                retain,
                f"{retain}/carrier/application",
                press=f"application={chosen.id}",
            )
            answers["retained"] = client.get(done.headers["location"])
    app.state.engine.dispose()
    return {f"/quality/idea-page/{lang}/{name.replace(' ', '-')}": a for name, a in answers.items()}


@pytest.fixture(scope="module")
def idea_pages(live_server) -> Iterator[dict[str, dict[str, httpx.Response]]]:  # type: ignore[no-untyped-def]
    pages = {lang: _states(live_server.settings, lang) for lang in LANGS}
    for answers in pages.values():
        statuses = {address.rsplit("/", 1)[1]: r.status_code for address, r in answers.items()}
        assert statuses == {
            "call": 200,
            "carrier-refused": 422,
            "study-refused": 422,
            "retain-refused": 422,
            "launching": 200,
            "retained": 200,
        }
    yield pages


def test_the_idea_pages_states_are_valid_html(idea_pages, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    documents = {
        address: response.text
        for answers in idea_pages.values()
        for address, response in answers.items()
    }
    assert vnu_documents(documents, tmp_path) == []


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_the_idea_pages_states_have_no_axe_violations(browser, live_server, idea_pages, lang):  # type: ignore[no-untyped-def]
    answers = idea_pages[lang]
    violations = axe_violations(
        browser, live_server.url, list(answers), locale=LANGS[lang], rendered=answers
    )
    assert violations == []


# The controls this page adds: each section's heading (the fold's control) and the carrier's
# buttons. (The moderation menu and the milestones' link buttons are measured elsewhere.)
OWN_SMALL_TARGETS = SMALL_TARGETS.replace(
    "document.querySelectorAll('a, button, summary, select, input, textarea')",
    "document.querySelectorAll("
    "'section.idea-section > details > summary, #applications button, #carrier button')",
)


def test_on_a_phone_the_idea_page_does_not_scroll_sideways_and_fits_a_finger(  # type: ignore[no-untyped-def]
    browser, live_server, idea_pages
):
    assert OWN_SMALL_TARGETS != SMALL_TARGETS
    context = browser.new_context(
        viewport=PHONE, locale="fr-FR", has_touch=True, is_mobile=True, bypass_csp=True
    )
    for address, response in idea_pages["fr"].items():
        context.route(live_server.url + address, _fulfil_with(response))
    page = context.new_page()
    problems = []
    for address in idea_pages["fr"]:
        page.goto(live_server.url + address)
        # Every section unfolded: what a folded one holds must fit too.
        for unfolded in (False, True):
            if unfolded:
                page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                problems.append(f"{address} (unfolded: {unfolded}): {width} px wide")
        problems += [f"{address}: {small}" for small in page.evaluate(OWN_SMALL_TARGETS)]
    context.close()
    assert problems == []
