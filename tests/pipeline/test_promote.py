"""Promoting needs into an idea, creating ideas from other origins, adding needs later."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.board.models import Notification
from app.core.audit import AuditEntry
from app.pipeline import service
from app.pipeline.models import Idea, IdeaNeed, IdeaPartner, Partner
from tests.factories import (
    fresh,
    login_as,
    make_need,
    make_territory,
    make_theme,
    make_user,
    page_text,
    post_form,
)


def _staff(client, session):
    user = make_user(session, role="staff")
    login_as(client, user, session)
    return user


def _text(html, selector="main"):
    return page_text(html, selector).replace("\xa0", " ").replace("\u202f", " ")


def _linked(session, idea_id):
    return sorted(
        fresh(session).exec(select(IdeaNeed.need_id).where(IdeaNeed.idea_id == idea_id)).all()
    )


def test_the_form_lists_the_needs_and_prefills_from_the_first_one(client, session):
    _staff(client, session)
    theme = make_theme(session)
    place = make_territory(session)
    first = make_need(
        session, title="Aller au travail sans voiture", theme_id=theme.id, territory_id=place.id
    )
    second = make_need(session, title="Des trajets vers la zone d'activité")
    for query in (f"?need={first.id}&need={second.id}", f"?needs={first.id},{second.id}"):
        html = client.get(f"/moderation/ideas/new{query}").text
        tree = LexborHTMLParser(html)
        assert tree.css_first("#f-title").attributes["value"] == "Aller au travail sans voiture"
        assert tree.css_first("#f-theme option[selected]").attributes["value"] == "mobilite"
        assert tree.css_first("#f-territory option[selected]").attributes["value"] == "merignac"
        hidden = [i.attributes["value"] for i in tree.css("input[name=need]")]
        assert hidden == [str(first.id), str(second.id)]
        # The origin is not a choice when promoting: it is « resident ».
        assert tree.css_first("#f-origin") is None
        assert "Des trajets vers la zone d'activité" in _text(html)


def test_promoting_needs_creates_a_resident_idea_whatever_the_form_says(client, session):
    staff = _staff(client, session)
    needs = [make_need(session), make_need(session)]
    response = post_form(
        client,
        "/moderation/ideas/new",
        {
            "title": "Une plateforme de mobilité solidaire",
            "origin": "company",
            "need": [str(n.id) for n in needs],
        },
    )
    assert response.status_code == 303
    idea = fresh(session).exec(select(Idea)).one()
    assert response.headers["location"] == f"/moderation/ideas/{idea.id}?saved=created"
    assert idea.origin == "resident" and idea.stage == "detected"
    assert idea.created_by_id == staff.id
    assert _linked(session, idea.id) == sorted(n.id for n in needs)
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "idea.create")).one()
    assert entry.after["needs"] == [n.id for n in needs]


def test_hidden_pending_and_already_promoted_needs_are_refused(client, session):
    staff = _staff(client, session)
    taken = make_need(session)
    service.create_idea(
        session, staff, service.IdeaInput(title="Une idée existante"), need_ids=[taken.id]
    )
    for status in ("hidden", "pending", "rejected", "merged", None):
        need = make_need(session, status=status or "published")
        ids = [str(need.id)] if status else [str(taken.id)]
        page = client.get(f"/moderation/ideas/new?need={ids[0]}")
        assert page.status_code == 200
        assert _text(page.text, ".promoted-needs .error-message")
        response = post_form(
            client, "/moderation/ideas/new", {"title": "Une idée refusée", "need": ids}
        )
        assert response.status_code == 422, status
        assert _text(response.text, ".notice-error")
    assert [i.title for i in fresh(session).exec(select(Idea)).all()] == ["Une idée existante"]


def test_a_covered_need_may_be_promoted(client, session):
    _staff(client, session)
    need = make_need(session, status="covered")
    response = post_form(
        client,
        "/moderation/ideas/new",
        {"title": "Une idée née d'un besoin couvert", "need": str(need.id)},
    )
    assert response.status_code == 303


def test_an_idea_from_another_origin_keeps_its_detecting_partner(client, session):
    _staff(client, session)
    town = Partner(slug="ville-de-merignac", name="Ville de Mérignac", kind="town", is_capteur=True)
    session.add(town)
    session.commit()
    page = LexborHTMLParser(client.get("/moderation/ideas/new").text)
    assert "Ville de Mérignac" in page.css_first("#f-partner_id").text()
    response = post_form(
        client,
        "/moderation/ideas/new",
        {
            "title": "Club services 33",
            "origin": "town",
            "partner_id": str(town.id),
            "is_public": "1",
        },
    )
    assert response.status_code == 303
    idea = fresh(session).exec(select(Idea)).one()
    assert idea.origin == "town" and idea.is_public
    link = session.exec(select(IdeaPartner)).one()
    assert (link.partner_id, link.link) == (town.id, "detected_by")


def test_a_bad_form_is_a_422_with_messages_and_writes_nothing(client, session):
    _staff(client, session)
    response = post_form(
        client,
        "/moderation/ideas/new",
        {"title": "Abc", "origin": "martians", "theme": "inconnue", "partner_id": "x"},
    )
    assert response.status_code == 422
    errors = [
        e.replace("\xa0", " ")
        for e in (n.text(strip=True) for n in LexborHTMLParser(response.text).css(".error-message"))
    ]
    assert any("Le titre doit faire entre" in e for e in errors)
    assert any("origine" in e for e in errors)
    assert any("thématique" in e for e in errors)
    assert any("partenaire" in e for e in errors)
    assert fresh(session).exec(select(Idea)).all() == []
    assert session.exec(select(AuditEntry)).all() == []


def test_promoting_into_a_public_idea_tells_the_needs_people(client, session):
    _staff(client, session)
    author = make_user(session)
    need = make_need(session, author=author)
    post_form(
        client,
        "/moderation/ideas/new",
        {"title": "Une idée publique", "need": str(need.id), "is_public": "1"},
    )
    notes = fresh(session).exec(select(Notification)).all()
    assert [(n.user_id, n.kind) for n in notes] == [(author.id, "pipeline")]


def test_more_needs_are_added_to_an_idea_by_number(client, session):
    staff = _staff(client, session)
    idea = service.create_idea(session, staff, service.IdeaInput(title="Une idée à compléter"))
    first, second = make_need(session), make_need(session)
    response = post_form(
        client, f"/moderation/ideas/{idea.id}/needs", {"need_ids": f"{first.id}, {second.id}"}
    )
    assert response.status_code == 303
    assert _linked(session, idea.id) == sorted([first.id, second.id])
    again = post_form(client, f"/moderation/ideas/{idea.id}/needs", {"need_ids": str(first.id)})
    assert again.status_code == 422
    assert "fait déjà partie d'une idée" in _text(again.text, "#f-need_ids-error")
    bad = post_form(client, f"/moderation/ideas/{idea.id}/needs", {"need_ids": "douze"})
    assert bad.status_code == 422
    assert _linked(session, idea.id) == sorted([first.id, second.id])


def test_a_need_shows_the_stage_of_its_public_idea_on_the_board_and_its_page(client, session):
    staff = _staff(client, session)
    public_need = make_need(session, title="Une navette pour le marché du samedi")
    private_need = make_need(session, title="Une laverie solidaire au centre-ville")
    public = service.create_idea(
        session,
        staff,
        service.IdeaInput(title="Navette du marché", is_public=True),
        need_ids=[public_need.id],
    )
    service.create_idea(
        session, staff, service.IdeaInput(title="Laverie solidaire"), need_ids=[private_need.id]
    )
    client.cookies.clear()  # what everyone sees

    board = LexborHTMLParser(client.get("/").text)
    cards = {c.css_first("h3").text(strip=True): c for c in board.css("article.need-card")}
    badge = cards[public_need.title].css_first(".badge-stage a")
    assert badge.text(strip=True) == "Idée\xa0: Détectée"  # French typography
    assert badge.attributes["href"] == f"/ideas/{public.id}-{public.slug}"
    # A private idea is the fabrique's internal work: its needs show nothing yet.
    assert cards[private_need.title].css_first(".badge-stage") is None
    page = LexborHTMLParser(client.get(f"/needs/{public_need.id}").text)
    assert page.css_first(".need-meta .badge-stage").text(strip=True) == "Idée\xa0: Détectée"
