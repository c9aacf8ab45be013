"""« Mes contributions » (`/account/contributions`, issue 17 item 5), rendered as the person:
what they posted with its status (and the moderation reason, for them alone), what they
supported with their concern, what they follow, the carrier applications they made, each with
its link; never another person's; each list capped with « Voir tout » and paged; a statement
count that does not grow with the lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import Session

from app.board.follows import add_follow
from app.board.models import Comment
from app.board.supports import add_support
from app.core.db import utcnow
from app.core.text import render_markdown
from app.pipeline import contributions
from app.pipeline.models import CarrierApplication
from tests.board.test_query_counts import describe, statements_for
from tests.factories import login_as, make_idea, make_need, make_user, page_text

PAGE = "/account/contributions"


def _comment(session: Session, need, author, body: str, **fields) -> Comment:  # type: ignore[no-untyped-def]
    comment = Comment(
        need_id=need.id, author_id=author.id, body=body, body_html=render_markdown(body), **fields
    )
    session.add(comment)
    session.commit()
    session.refresh(comment)
    return comment


def _apply(session: Session, idea, user, **fields) -> CarrierApplication:  # type: ignore[no-untyped-def]
    application = CarrierApplication(
        idea_id=idea.id,
        user_id=user.id,
        motivation="Une motivation assez longue pour être acceptée.",
        contact="06 00 00 00 00",
        **fields,
    )
    session.add(application)
    session.commit()
    return application


def _section(html: str, name: str):  # type: ignore[no-untyped-def]
    tree = LexborHTMLParser(html)
    node = tree.css_first(f"section[aria-labelledby='{name}-title']")
    assert node is not None, f"no section {name}"
    return node


def _text(node) -> str:  # type: ignore[no-untyped-def]
    # French typography puts non-breaking spaces before « : » and inside guillemets.
    return node.text(separator=" ", strip=True).replace("\xa0", " ").replace("\u202f", " ")


def _links(node) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {a.text(strip=True): a.attributes.get("href") or "" for a in node.css("li a")}


def test_anonymous_visitor_is_sent_to_login_with_next(client):
    response = client.get(PAGE, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/login?next=/account/contributions"


def test_linked_from_the_account_page_and_the_header(client, session):
    me = make_user(session)
    login_as(client, me, session)
    tree = LexborHTMLParser(client.get("/account").text)
    header_links = [a.attributes.get("href") for a in tree.css("header a")]
    assert PAGE in header_links
    assert PAGE in [a.attributes.get("href") for a in tree.css("main a")]
    own = LexborHTMLParser(client.get(PAGE).text)
    current = [a for a in own.css("header a") if a.attributes.get("href") == PAGE]
    assert current and current[0].attributes.get("aria-current") == "page"


def test_my_needs_with_their_status_reason_and_link(client, session):
    me = make_user(session)
    other = make_user(session)
    published = make_need(session, author=me, title="Une navette vers la zone d'emploi")
    pending = make_need(session, author=me, title="Un jardin partagé en attente", status="pending")
    hidden = make_need(session, author=me, title="Une annonce masquée par l'équipe")
    hidden.status, hidden.moderation_reason = "hidden", "Publicité ou spam — lien commercial"
    rejected = make_need(session, author=me, title="Un besoin refusé par l'équipe")
    rejected.status, rejected.moderation_reason = "rejected", "Hors sujet — hors territoire"
    deleted = make_need(session, author=me, title="Un besoin que j'ai supprimé")
    deleted.deleted_at = utcnow()
    session.add_all([hidden, rejected, deleted])
    session.commit()
    make_need(session, author=other, title="Le besoin de quelqu'un d'autre")
    login_as(client, me, session)

    response = client.get(PAGE)
    assert response.status_code == 200
    needs = _section(response.text, "needs")
    links = _links(needs)
    assert links == {
        published.title: f"/needs/{published.id}-{published.slug}",
        pending.title: f"/needs/{pending.id}-{pending.slug}",
        hidden.title: f"/needs/{hidden.id}-{hidden.slug}",
        rejected.title: f"/needs/{rejected.id}-{rejected.slug}",
    }
    text = _text(needs)
    assert "(4)" in text
    for label in ("Publié", "En attente de validation", "Masqué", "Refusé"):
        assert label in text
    assert "Motif : Publicité ou spam — lien commercial" in text
    assert "Motif : Hors sujet — hors territoire" in text
    assert "L'équipe de modération le relit avant de le publier." in text
    assert "quelqu'un d'autre" not in page_text(response.text)
    assert "supprimé" not in text
    # Every link opens for its author.
    for href in links.values():
        assert client.get(href).status_code == 200


def test_a_pending_reason_is_shown_to_its_author_only(client, session):
    me = make_user(session)
    other = make_user(session)
    need = make_need(session, author=me, title="Un besoin en attente avec motif", status="pending")
    need.moderation_reason = "Précisez le territoire concerné"
    session.add(need)
    session.commit()
    # The other person follows and supports nothing of mine they cannot see.
    add_follow(session, need.id, other.id)
    session.commit()

    login_as(client, me, session)
    mine = _text(_section(client.get(PAGE).text, "needs"))
    assert "En attente de validation" in mine
    assert "Motif : Précisez le territoire concerné" in mine

    client.cookies.clear()
    login_as(client, other, session)
    theirs = client.get(PAGE).text
    assert "Précisez le territoire" not in theirs
    assert need.title not in theirs


def test_my_comments_with_status_reason_and_anchor(client, session):
    me = make_user(session)
    other = make_user(session)
    need = make_need(session, author=other, title="Une crèche en horaires décalés")
    shown = _comment(session, need, me, "Oui, **nous aussi** à Pessac.")
    hidden = _comment(
        session,
        need,
        me,
        "Un commentaire masqué",
        status="hidden",
        moderation_reason="Propos injurieux ou irrespectueux",
    )
    gone_need = make_need(session, author=other, title="Un besoin masqué d'une autre personne")
    gone_need.status, gone_need.moderation_reason = "hidden", "Raison pour l'auteur seulement"
    session.add(gone_need)
    session.commit()
    _comment(session, gone_need, me, "Mon avis sur un besoin masqué depuis")
    _comment(session, need, other, "Le commentaire de quelqu'un d'autre")
    login_as(client, me, session)

    html = client.get(PAGE).text
    comments = _section(html, "comments")
    text = _text(comments)
    assert "(3)" in text
    assert "« Oui, nous aussi à Pessac. »" in text
    assert "Motif : Propos injurieux ou irrespectueux" in text
    assert "Sur un besoin qui n'est plus visible" in text
    assert gone_need.title not in html and "Raison pour l'auteur seulement" not in html
    assert "quelqu'un d'autre" not in text
    hrefs = sorted(a.attributes.get("href") or "" for a in comments.css("li a"))
    url = f"/needs/{need.id}-{need.slug}"
    assert hrefs == sorted([f"{url}#comment-{shown.id}", f"{url}#comment-{hidden.id}"])


def test_what_i_support_with_my_concern_and_what_i_follow(client, session):
    me = make_user(session)
    other = make_user(session)
    need = make_need(session, author=other, title="Un service de répit pour les aidants")
    add_support(session, need, me, concern="could_help", commit=True)
    plain = make_need(session, author=other, title="Une épicerie solidaire au centre")
    add_support(session, plain, me, commit=True)
    hidden = make_need(session, author=other, title="Un besoin masqué soutenu plus tôt")
    add_support(session, hidden, me, commit=True)
    add_follow(session, hidden.id, me.id)
    hidden.status = "hidden"
    session.add(hidden)
    followed = make_need(session, author=other, title="Un besoin suivi sans soutien")
    add_follow(session, followed.id, me.id)
    session.commit()
    add_support(session, followed, other, concern="has_need", commit=True)
    login_as(client, me, session)

    html = client.get(PAGE).text
    supports = _section(html, "supports")
    assert _links(supports) == {
        need.title: f"/needs/{need.id}-{need.slug}",
        plain.title: f"/needs/{plain.id}-{plain.slug}",
    }
    assert "Je pourrais aider" in _text(supports)
    follows = _section(html, "follows")
    assert _links(follows) == {followed.title: f"/needs/{followed.id}-{followed.slug}"}
    assert hidden.title not in html


def test_my_carrier_applications_with_status_and_link(client, session):
    me = make_user(session)
    other = make_user(session)
    open_idea = make_idea(session, "Une ressourcerie", stage="seeking_carrier", is_public=True)
    closed = make_idea(session, "Une idée redevenue privée", stage="seeking_carrier")
    _apply(session, open_idea, me, status="shortlisted", staff_notes="Note interne du staff")
    _apply(session, closed, me)
    _apply(session, open_idea, other)
    login_as(client, me, session)

    html = client.get(PAGE).text
    section = _section(html, "applications")
    text = _text(section)
    assert _links(section) == {"Une ressourcerie": f"/ideas/{open_idea.id}-{open_idea.slug}"}
    assert "Présélectionnée" in text and "Reçue" in text
    assert "Une idée redevenue privée" in text and "plus publique" in text
    assert "Note interne" not in html and "06 00 00 00 00" not in html


def test_each_list_is_capped_then_paged(client, session, monkeypatch):
    me = make_user(session)
    start = utcnow() - timedelta(days=30)
    for n in range(25):
        make_need(
            session,
            author=me,
            title=f"Besoin numéro {n:02d}",
            created_at=start + timedelta(hours=n),
        )
    login_as(client, me, session)

    overview = _section(client.get(PAGE).text, "needs")
    titles = list(_links(overview))
    assert len(titles) == contributions.OVERVIEW_SIZE
    assert titles[0] == "Besoin numéro 24"
    more = overview.css("p > a")[-1]
    assert more.attributes["href"] == f"{PAGE}?section=needs"
    assert "Voir tout (25)" in more.text()

    monkeypatch.setattr(contributions, "PAGE_SIZE", 10)
    third = client.get(PAGE, params={"section": "needs", "page": "3"})
    assert third.status_code == 200
    tree = LexborHTMLParser(third.text)
    assert tree.css_first("h1").text(strip=True).startswith("Mes besoins")
    assert [a.text(strip=True) for a in tree.css("main li a")] == [
        f"Besoin numéro {n:02d}" for n in range(4, -1, -1)
    ]
    assert tree.css_first("a[rel=prev]").attributes["href"] == f"{PAGE}?section=needs&page=2"
    assert tree.css_first("a[rel=next]") is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("section=tout", "Cette liste n'existe pas."),
        ("section=needs&page=0", "Le numéro de page doit être un nombre entier"),
    ],
)
def test_a_bad_list_or_page_is_400_with_a_message(client, session, query, message):
    login_as(client, make_user(session), session)
    response = client.get(f"{PAGE}?{query}")
    assert response.status_code == 400
    assert message in page_text(response.text)


def test_empty_lists_say_so_in_english_too(client, session):
    login_as(client, make_user(session), session)
    french = page_text(client.get(PAGE).text).replace("\xa0", " ").replace("\u202f", " ")
    assert "Vous n'avez pas encore proposé de besoin." in french
    english = client.get(PAGE, headers={"Accept-Language": "en"}).text
    tree = LexborHTMLParser(english)
    assert tree.css_first("h1").text(strip=True) == "My contributions"
    assert "Mes " not in page_text(english)


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    settings.cache_mb = 0  # every request runs its route (the statement count below)
    return settings


def _fill(session: Session, me, other, n: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        mine = make_need(session, author=me, title=f"Mon besoin numéro {i:03d}")
        theirs = make_need(session, author=other, title=f"Son besoin numéro {i:03d}")
        add_support(session, theirs, me, concern="would_use", commit=False)
        add_follow(session, theirs.id, me.id)
        session.commit()
        _comment(session, theirs, me, f"Commentaire numéro {i}")
        _comment(session, mine, me, f"Réponse numéro {i}", status="pending")
        idea = make_idea(
            session, f"Idée numéro {i:03d}", stage="seeking_carrier", is_public=bool(i % 2)
        )
        _apply(session, idea, me)


def test_statements_do_not_grow_with_the_lists(client, session):
    me = make_user(session)
    other = make_user(session)
    login_as(client, me, session)
    _fill(session, me, other, 3)
    few = statements_for(client, PAGE)
    few_page = statements_for(client, PAGE, section="comments")
    _fill(session, me, other, 27)  # 30 of each: more than a list shows
    many = statements_for(client, PAGE)
    many_page = statements_for(client, PAGE, section="comments")
    assert len(many) == len(few), describe(many)
    assert len(many_page) == len(few_page), describe(many_page)
    # Totals in one statement, then one per list, and one for the themes, territories and
    # ideas followed (issue 17), shown with the followed needs on the overview.
    assert len(many) - len(many_page) == len(contributions.SECTIONS), describe(many)
