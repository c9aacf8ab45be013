"""The public idea pages: /ideas lists only public ideas (filters, pagination, order), the idea
page shows the public summary, timeline, needs, partners and call for carriers — and never a
private idea or internal data (study notes, staff comments, staff names, documents, private
notes, applications)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from selectolax.lexbor import LexborHTMLParser

from app.pipeline.models import (
    CarrierApplication,
    IdeaComment,
    IdeaDocument,
    IdeaNeed,
    IdeaPartner,
    Partner,
    StageChange,
)
from tests import factories
from tests.factories import (
    login_as,
    make_need,
    make_territory,
    make_theme,
    make_user,
    page_text,
)


def make_idea(
    session,
    title="Une conciergerie d'insertion à Mérignac",
    *,
    is_public=True,
    summary="Un service de conciergerie qui emploie des personnes en insertion.",
    **values,
):  # type: ignore[no-untyped-def]
    """The shared factory with this module's defaults, a public idea with a summary: other test
    modules import this name (tests/e2e among them), and count on those defaults."""
    return factories.make_idea(session, title, is_public=is_public, summary=summary, **values)


def _titles(html: str) -> list[str]:
    return [n.text(strip=True) for n in LexborHTMLParser(html).css(".idea-card h3")]


# --- /ideas -------------------------------------------------------------------------------------


def test_list_shows_only_public_ideas_with_stage_and_needs(client, session):
    public = make_idea(session, "Une épicerie solidaire", stage="studying", is_public=True)
    make_idea(session, "Une idée encore secrète", is_public=False)
    author = make_user(session)
    shown = make_need(session, author=author)
    hidden = make_need(session, author=author, status="hidden")
    shown.supports_count, hidden.supports_count = 6, 40
    session.add_all([shown, hidden])
    session.add_all(
        [
            IdeaNeed(idea_id=public.id, need_id=shown.id),
            IdeaNeed(idea_id=public.id, need_id=hidden.id),
        ]
    )
    session.commit()
    response = client.get("/ideas")
    assert response.status_code == 200
    assert _titles(response.text) == ["Une épicerie solidaire"]
    card = LexborHTMLParser(response.text).css_first(".idea-card")
    assert "À l'étude" in card.text()
    # Only the public need counts, with its supports.
    assert card.css_first(".idea-needs-count").text(strip=True) == "1 besoin lié"
    assert card.css_first(".idea-supports-count").text(strip=True) == "6 soutiens"
    assert "secrète" not in response.text


def test_list_filters_by_stage_theme_and_territory(client, session):
    theme = make_theme(session)
    place = make_territory(session)
    make_idea(
        session, "Idée à l'étude en ville", stage="studying", theme_id=theme.id, is_public=True
    )
    make_idea(
        session, "Idée lancée à Mérignac", stage="launched", territory_id=place.id, is_public=True
    )
    assert _titles(client.get("/ideas?stage=launched").text) == ["Idée lancée à Mérignac"]
    assert _titles(client.get("/ideas?theme=mobilite").text) == ["Idée à l'étude en ville"]
    assert _titles(client.get("/ideas?territory=merignac").text) == ["Idée lancée à Mérignac"]
    assert _titles(client.get("/ideas?stage=studying&territory=merignac").text) == []
    # A filtered list says what it keeps, with one link back to all of it.
    tree = LexborHTMLParser(client.get("/ideas?stage=launched&theme=mobilite").text)
    said = tree.css_first(".active-filters")
    assert said is not None and "Entreprise créée" in said.text() and "Mobilité" in said.text()
    assert said.css_first("a.clear-filters").attributes["href"] == "/ideas"
    assert LexborHTMLParser(client.get("/ideas").text).css_first(".active-filters") is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("stage=envolee", "Cette étape n'existe pas."),
        ("territory=atlantide", "Ce territoire n'existe pas."),
        ("theme=inconnue", "Cette thématique n'existe pas."),
        ("page=0", "Le numéro de page doit être un nombre entier"),
    ],
)
def test_list_bad_filters_are_400_with_a_message(client, session, query, message):
    response = client.get(f"/ideas?{query}")
    assert response.status_code == 400
    assert message in page_text(response.text)


def test_list_is_paginated_newest_stage_change_first(client, session):
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for n in range(21):
        make_idea(
            session, f"Idée numéro {n:02d}", changed_at=start + timedelta(days=n), is_public=True
        )
    first = client.get("/ideas")
    titles = _titles(first.text)
    assert len(titles) == 20
    assert titles[0] == "Idée numéro 20" and titles[-1] == "Idée numéro 01"
    tree = LexborHTMLParser(first.text)
    assert tree.css_first("a[rel=next]").attributes["href"] == "/ideas?page=2"
    second = client.get("/ideas?page=2")
    assert _titles(second.text) == ["Idée numéro 00"]
    assert LexborHTMLParser(second.text).css_first("a[rel=next]") is None


def test_list_htmx_answers_with_the_results_block(client, session):
    make_idea(session, "Une idée publique", is_public=True)
    response = client.get("/ideas", headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith('<section id="results"')
    assert "HX-Request" in response.headers["vary"]


# --- /ideas/{id}-{slug} ---------------------------------------------------------------------------


def test_idea_page_redirects_to_its_canonical_address(client, session):
    idea = make_idea(session, is_public=True)
    canonical = f"/ideas/{idea.id}-{idea.slug}"
    for path in (f"/ideas/{idea.id}", f"/ideas/{idea.id}-ancien-titre"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 301
        assert response.headers["location"] == canonical
    page = client.get(canonical)
    assert page.status_code == 200
    tree = LexborHTMLParser(page.text)
    assert tree.css_first("h1").text(strip=True) == idea.title
    assert tree.css_first('meta[property="og:title"]').attributes["content"] == idea.title
    assert (
        tree.css_first('link[rel="canonical"]').attributes["href"]
        == "http://testserver" + canonical
    )


@pytest.mark.parametrize(
    "path", ["/ideas/999999", "/ideas/abc", "/ideas/99999999999-x", "/ideas/²"]
)
def test_unknown_ideas_are_404(client, path):
    assert client.get(path).status_code == 404


def test_private_idea_is_404_for_visitors_and_residents(client, session):
    idea = make_idea(session, is_public=False)
    path = f"/ideas/{idea.id}-{idea.slug}"
    assert client.get(path).status_code == 404
    login_as(client, make_user(session), session)
    assert client.get(path).status_code == 404
    login_as(client, make_user(session, role="moderator"), session)
    assert client.get(path).status_code == 404


def test_staff_preview_a_private_idea_with_a_banner(client, session):
    idea = make_idea(session, is_public=False)
    login_as(client, make_user(session, role="staff"), session)
    response = client.get(f"/ideas/{idea.id}-{idea.slug}")
    assert response.status_code == 200
    assert "non publique" in page_text(response.text)
    assert (
        LexborHTMLParser(response.text).css_first('meta[name="robots"]').attributes["content"]
        == "noindex"
    )


def test_idea_page_shows_public_data_and_never_internal_data(client, session):
    staff = make_user(session, role="staff", display_name="Camille Confidentielle")
    place = make_territory(session)
    idea = make_idea(
        session,
        # « Mérignac » is in the title as well as the territory (asserted below, as before).
        "Une conciergerie d'insertion à Mérignac",
        stage="seeking_carrier",
        territory_id=place.id,
        study_notes="Note d'étude confidentielle",
        verdict="viable",
        carrier_call="Une **association** d'insertion du territoire.",
        created_by_id=staff.id,
        is_public=True,
    )
    session.add_all(
        [
            StageChange(
                idea_id=idea.id,
                to_stage="detected",
                actor_id=staff.id,
                actor_name=staff.display_name,
            ),
            StageChange(
                idea_id=idea.id,
                from_stage="detected",
                to_stage="studying",
                actor_id=staff.id,
                actor_name=staff.display_name,
                note="Étude lancée avec la mairie",
            ),
            StageChange(
                idea_id=idea.id,
                from_stage="studying",
                to_stage="seeking_carrier",
                actor_id=staff.id,
                actor_name=staff.display_name,
                note="Note interne du passage",
                is_public=False,
            ),
            IdeaComment(
                idea_id=idea.id,
                author_id=staff.id,
                author_name=staff.display_name,
                body="Commentaire interne secret",
                body_html="<p>Commentaire interne secret</p>",
            ),
            IdeaDocument(
                idea_id=idea.id,
                original_name="etude-secrete.pdf",
                stored_name="abc123",
                content_type="application/pdf",
                size=10,
            ),
        ]
    )
    partner = Partner(
        slug="ville-de-merignac", name="Ville de Mérignac", kind="town", is_capteur=True
    )
    archived = Partner(
        slug="ancien", name="Partenaire archivé", kind="bank", archived_at=datetime.now(UTC)
    )
    session.add_all([partner, archived])
    session.commit()
    session.add_all(
        [
            IdeaPartner(idea_id=idea.id, partner_id=partner.id, link="detected_by"),
            IdeaPartner(idea_id=idea.id, partner_id=archived.id, link="funded_by"),
        ]
    )
    author = make_user(session)
    need = make_need(session, author=author, title="Une conciergerie pour les salariés")
    hidden = make_need(
        session, author=author, title="Un besoin masqué par la modération", status="hidden"
    )
    session.add_all(
        [IdeaNeed(idea_id=idea.id, need_id=need.id), IdeaNeed(idea_id=idea.id, need_id=hidden.id)]
    )
    other = make_user(session, display_name="Dominique Candidate")
    session.add(
        CarrierApplication(
            idea_id=idea.id,
            user_id=other.id,
            motivation="Motivation privée de Dominique",
            contact="06 00 00 00 00",
            staff_notes="Note d'équipe sur Dominique",
        )
    )
    session.commit()

    response = client.get(f"/ideas/{idea.id}-{idea.slug}")
    assert response.status_code == 200
    text = page_text(response.text)
    html = response.text
    assert "Recherche de porteur" in text
    assert "Étude lancée avec la mairie" in text
    assert "Mérignac" in text
    tree = LexborHTMLParser(html)
    assert tree.css_first(".idea-call strong").text() == "association"
    assert (
        tree.css_first('.idea-call a[href$="/apply"]').text(strip=True)
        == "Je veux porter ce projet"
    )
    assert tree.css_first(f'a[href="/needs/{need.id}-{need.slug}"]') is not None
    assert "Ville de Mérignac" in text and "Repérée par" in text
    for secret in (
        "Note d'étude confidentielle",
        "Camille Confidentielle",
        "Note interne du passage",
        "Commentaire interne secret",
        "etude-secrete",
        "Un besoin masqué",
        "Dominique",
        "06 00 00 00 00",
        "Partenaire archivé",
        "Viable",
    ):
        assert secret not in html, secret
    # The timeline shows the public moves only (the move with an internal note is left out).
    assert [li.css_first("strong").text() for li in tree.css(".idea-timeline li")] == [
        "Détectée",
        "À l'étude",
    ]


def test_call_for_carriers_only_during_seeking_carrier(client, session):
    idea = make_idea(
        session, stage="studying", carrier_call="Profil recherché : une SCIC", is_public=True
    )
    response = client.get(f"/ideas/{idea.id}-{idea.slug}")
    assert "Profil recherché" not in response.text
    assert "Je veux porter ce projet" not in response.text


def test_launched_idea_shows_its_enterprise(client, session):
    from datetime import date

    idea = make_idea(
        session,
        stage="launched",
        carrier_name="Club services 33",
        enterprise_name="Club services 33",
        jobs_created=6,
        launch_date=date(2024, 3, 1),
        enterprise_website="javascript:alert(1)",
        is_public=True,
    )
    response = client.get(f"/ideas/{idea.id}-{idea.slug}")
    tree = LexborHTMLParser(response.text)
    facts = tree.css_first(".idea-enterprise").text()
    assert "Club services 33" in facts and "6" in facts
    assert "javascript:" not in response.text
