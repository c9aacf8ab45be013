"""The « Merci ! » after posting lives in the address (`?notice=posted`), the one a person copies
to share their need (issue 14 walkthrough): it speaks to its author only, comes with the need's
clean address to pass on, and says nothing to whoever opens the shared link."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.board.models import Need
from tests.factories import login_as, make_need, make_user, page_text, submit_form

TITLE = "Une laverie solidaire près de la gare de Bègles"
THANKS = "Votre besoin est publié"  # after « Merci » and its narrow no-break space


def _post_a_need(client: TestClient) -> tuple[str, str]:
    """Posts through /needs/new as a person does; (the address landed on, its page)."""
    response = submit_form(
        client,
        "/needs/new",
        "/needs/new",
        {
            "title": TITLE,
            "body": "Pas de machine à laver chez soi, et la plus proche ferme à 19 h.",
        },
    )
    assert response.status_code == 303
    landed = response.headers["location"]
    return landed, client.get(landed).text


def test_the_author_is_thanked_and_given_the_clean_address_to_share(client, session):
    author = make_user(session)
    make_need(session, author=author)  # trusted: the next one is published at once
    login_as(client, author, session)

    landed, html = _post_a_need(client)

    assert parse_qs(urlsplit(landed).query) == {"notice": ["posted"]}
    assert THANKS in page_text(html)
    need = session.exec(select(Need).where(Need.title == TITLE)).one()
    clean = f"http://testserver/needs/{need.id}-{need.slug}"
    box = LexborHTMLParser(html).css_first("main section.share-box")
    assert box is not None
    field = box.css_first("input[data-share-link]")
    assert field.attributes["value"] == clean and "readonly" in field.attributes
    assert box.css_first(f'label[for="{field.attributes["id"]}"]') is not None
    mail = box.css_first('a[href^="mailto:"]').attributes["href"]
    assert "notice" not in mail and "laverie" in mail
    # Copy and the share sheet need the browser's help: hidden until app.js finds it there.
    assert all("hidden" in b.attributes for b in box.css("button"))


def test_whoever_opens_the_shared_link_is_not_thanked(client, session, app):
    author = make_user(session)
    make_need(session, author=author)
    login_as(client, author, session)
    landed, _ = _post_a_need(client)

    with TestClient(app, base_url="http://testserver") as stranger:
        html = stranger.get(landed).text
    assert TITLE in html
    assert THANKS not in page_text(html) and "share-box" not in html

    neighbour = make_user(session)
    with TestClient(app, base_url="http://testserver") as other:
        login_as(other, neighbour, session)
        html = other.get(landed).text
    assert THANKS not in page_text(html) and "share-box" not in html


def test_team_notices_speak_to_the_team_only(client, session):
    need = make_need(session)
    url = f"/needs/{need.id}-{need.slug}?notice=moderated"
    resident = make_user(session)
    login_as(client, resident, session)
    assert "Décision enregistrée" not in page_text(client.get(url).text)
    login_as(client, make_user(session, role="moderator"), session)
    assert "Décision enregistrée" in page_text(client.get(url).text)
