"""A notice (« Réglages enregistrés. », « Candidature mise à jour… ») is said once on a page.

base.html shows the page's `notice` at the top of <main>; a page that places it itself (under its
own navigation, or as an error) empties base's `page_notice` block. Found by the whole-story
browser test: after selecting a carrier, the review page said « Candidature mise à jour » twice.
"""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from app.pipeline import service as pipeline
from tests.factories import login_as, make_need, make_user


@pytest.fixture
def pages(client, session):  # type: ignore[no-untyped-def]
    admin = make_user(session, role="admin", display_name="Administratrice")
    login_as(client, admin, session)
    resident = make_user(session, display_name="Camille")
    need = make_need(session, author=resident)
    idea = pipeline.create_idea(
        session, admin, pipeline.IdeaInput(title="Un garage solidaire", is_public=True)
    )
    return {
        "settings": ("/moderation/settings?done=saved", "Réglages enregistrés."),
        "categories": ("/moderation/settings/themes?done=created", "Élément créé."),
        "account": (f"/moderation/accounts/{resident.id}?done=trust", "de confiance"),
        "need file": (f"/moderation/needs/{need.id}?done=edited", "Modification enregistrée"),
        "ideas board": (f"/moderation/ideas?moved={idea.id}", "est maintenant"),
        "applications": (
            f"/moderation/ideas/{idea.id}/applications?done=saved",
            "Candidature mise à jour",
        ),
    }


@pytest.mark.parametrize(
    "page", ["settings", "categories", "account", "need file", "applications", "ideas board"]
)
def test_a_saved_notice_is_shown_once(client, pages, page):  # type: ignore[no-untyped-def]
    url, words = pages[page]
    response = client.get(url)
    assert response.status_code == 200
    notices = [
        node.text(strip=True)
        for node in LexborHTMLParser(response.text).css("main .notice")
        if words in node.text()
    ]
    assert len(notices) == 1, notices
