"""What residents wrote is in the site's language (French): in the English interface it is
marked `lang="fr"` so that screen readers read it with a French voice (RGAA 8.7, issue 14
walkthrough); in the French interface nothing is added."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from tests.factories import make_need, make_user
from tests.moderation.queue_helpers import make_comment


def _in(client, path: str, locale: str) -> LexborHTMLParser:  # type: ignore[no-untyped-def]
    client.cookies.set("bourse_lang", locale)
    return LexborHTMLParser(client.get(path).text)


def test_user_content_carries_lang_fr_in_the_english_interface(client, session):
    need = make_need(session, title="Une laverie solidaire près de la gare")
    make_comment(session, need, make_user(session), body="Je suis d'accord, il en faut une.")
    page = _in(client, f"/needs/{need.id}-{need.slug}", "en")
    assert page.css_first("html").attributes["lang"] == "en"
    assert page.css_first("h1#need-title").attributes.get("lang") == "fr"
    assert page.css_first(".need-body").attributes.get("lang") == "fr"
    assert page.css_first(".comment-body").attributes.get("lang") == "fr"
    board = _in(client, "/", "en")
    card = board.css_first(f'a[href="/needs/{need.id}-{need.slug}"]')
    assert card.attributes.get("lang") == "fr"


def test_nothing_is_added_in_the_french_interface(client, session):
    need = make_need(session, title="Une laverie solidaire près de la gare")
    page = _in(client, f"/needs/{need.id}-{need.slug}", "fr")
    assert "lang" not in page.css_first("h1#need-title").attributes
    assert "lang" not in page.css_first(".need-body").attributes
