"""The staff pipeline board, the list view with its filters, the CSV export and the idea page."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.board.models import Need
from app.core.db import utcnow
from app.pipeline import service
from app.pipeline.models import Idea, IdeaComment, StageChange
from tests.factories import (
    fresh,
    login_as,
    make_idea,
    make_need,
    make_territory,
    make_theme,
    make_user,
    page_text,
    post_form,
    submit_form,
)


def _text(html, selector="main"):
    """The visible text, with French typography's no-break spaces made plain."""
    return page_text(html, selector).replace("\xa0", " ").replace("\u202f", " ")


def _staff(client, session, **kwargs):
    user = make_user(session, role="staff", **kwargs)
    login_as(client, user, session)
    return user


def _with_supports(session, count):
    need = make_need(session)
    need.supports_count = count
    session.add(need)
    session.commit()
    return need


def _column(html, stage):
    tree = LexborHTMLParser(html)
    section = tree.css_first(f"section[aria-labelledby='column-{stage}']")
    assert section is not None, stage
    return section


def test_the_board_shows_each_idea_in_its_stage_column_with_its_supports(client, session):
    staff = _staff(client, session)
    studied = make_idea(
        session,
        "Transport solidaire des aînés",
        actor=staff,
        needs=[_with_supports(session, 4), _with_supports(session, 3)],
    )
    service.move_idea(session, staff, studied.id, "studying", seen_stage="detected")
    make_idea(session, "Une épicerie sociale mobile", actor=staff)

    html = client.get("/moderation/ideas").text
    studying = _column(html, "studying")
    assert "Transport solidaire des aînés" in studying.text()
    assert "7 soutiens" in studying.text()
    assert "Une épicerie sociale mobile" in _column(html, "detected").text()
    assert "Une épicerie sociale mobile" not in studying.text()
    # Columns in the pipeline's order, as headed sections.
    headings = [h.text(strip=True) for h in LexborHTMLParser(html).css(".pipeline-column h2")]
    assert [h.split("(")[0] for h in headings] == [
        "Détectée",
        "À l'étude",
        "Recherche de porteur",
        "En lancement",
        "Entreprise créée",
    ]


def test_a_card_says_how_long_the_idea_has_been_at_its_stage(client, session):
    staff = _staff(client, session)
    idea = make_idea(session, actor=staff)
    idea.stage_changed_at = utcnow() - timedelta(days=21)
    session.add(idea)
    session.commit()
    assert "depuis 3 semaines" in _text(client.get("/moderation/ideas").text, f"#idea-{idea.id}")


def test_the_next_step_button_moves_the_card_and_htmx_gets_the_board_back(client, session):
    staff = _staff(client, session, display_name="Chargée de mission")
    idea = make_idea(session, "Une conciergerie solidaire", actor=staff)
    response = post_form(
        client,
        f"/moderation/ideas/{idea.id}/move",
        {"from": "board", "seen_stage": "detected", "to_stage": "studying"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="pipeline-board"')
    assert "Une conciergerie solidaire" in _column(response.text, "studying").text()
    assert fresh(session).get(Idea, idea.id).stage == "studying"


def test_without_javascript_a_move_from_the_board_redirects_to_the_board(client, session):
    staff = _staff(client, session)
    idea = make_idea(session, actor=staff)
    response = post_form(
        client,
        f"/moderation/ideas/{idea.id}/move",
        {"from": "board", "seen_stage": "detected", "to_stage": "studying"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/moderation/ideas?moved={idea.id}#idea-{idea.id}"
    page = client.get(response.headers["location"])
    assert "est maintenant à l'étape : À l'étude" in _text(page.text)


def test_a_refused_move_on_the_board_shows_the_reason_on_the_card(client, session):
    staff = _staff(client, session)
    idea = make_idea(session, actor=staff, stage="studying")
    response = post_form(
        client,
        f"/moderation/ideas/{idea.id}/move",
        {"from": "board", "seen_stage": "studying", "to_stage": "detected", "note": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "demande une note" in _text(response.text, f"#idea-{idea.id}")
    assert fresh(session).get(Idea, idea.id).stage == "studying"


def test_the_board_says_what_the_next_stage_needs_instead_of_a_button(client, session):
    staff = _staff(client, session)
    idea = make_idea(session, actor=staff, stage="studying")
    html = client.get("/moderation/ideas").text
    assert LexborHTMLParser(html).css_first(f"#next-{idea.id}") is None
    card = _text(html, f"#idea-{idea.id}")
    # Short on the card (two things missing), listed with links on the idea's page.
    assert "Recherche de porteur » : 2 informations à compléter" in card
    link = LexborHTMLParser(html).css_first(f"#idea-{idea.id} .idea-missing a")
    assert link.attributes["href"] == f"/moderation/ideas/{idea.id}#next-requirements"  # type: ignore[union-attr]


def test_a_column_shows_the_ideas_waiting_longest_and_links_to_the_rest(client, session):
    from app.pipeline.staff_board_routes import COLUMN_LIMIT

    staff = _staff(client, session)
    made = [
        make_idea(session, f"Idée en attente n° {n}", actor=staff) for n in range(COLUMN_LIMIT + 3)
    ]
    tree = LexborHTMLParser(client.get("/moderation/ideas").text)
    column = tree.css_first(".pipeline-column-detected")
    titles = [a.text(strip=True) for a in column.css(".idea-card-title a")]
    assert titles == [i.title for i in made[:COLUMN_LIMIT]]  # the oldest at this stage first
    assert f"({COLUMN_LIMIT + 3})" in column.css_first("h2").text()
    more = column.css_first(".pipeline-more a")
    assert more.attributes["href"] == "/moderation/ideas/list?stage=detected"
    assert f"Voir les {COLUMN_LIMIT + 3} idées" in more.text()
    listed = client.get(more.attributes["href"]).text
    assert all(i.title in listed for i in made)
    # A card moved from the list of the rest stays in sight on the board.
    last = made[-1]
    response = post_form(
        client,
        f"/moderation/ideas/{last.id}/move",
        {"from": "board", "seen_stage": "detected", "to_stage": "abandoned", "note": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert LexborHTMLParser(response.text).css_first(f"#idea-{last.id}") is not None


def test_abandoned_ideas_are_folded_last(client, session):
    staff = _staff(client, session)
    idea = make_idea(session, "Une recyclerie de quartier", actor=staff)
    service.move_idea(session, staff, idea.id, "abandoned", seen_stage="detected", note="Déjà fait")
    tree = LexborHTMLParser(client.get("/moderation/ideas").text)
    folded = tree.css_first(".pipeline-abandoned details")
    assert folded is not None and "Une recyclerie de quartier" in folded.text()
    assert all("Une recyclerie" not in c.text() for c in tree.css(".pipeline-column"))


# --- the list and the CSV -------------------------------------------------------------------


def _rows(client, query=""):
    html = client.get(f"/moderation/ideas/list{query}").text
    return [a.text(strip=True) for a in LexborHTMLParser(html).css("table tbody th a")]


def test_the_list_filters_by_stage_origin_theme_territory_visibility_and_title(client, session):
    staff = _staff(client, session)
    mobility = make_theme(session)
    town = make_territory(session)
    make_idea(
        session,
        "Covoiturage vers la zone d'emploi",
        actor=staff,
        theme_id=mobility.id,
        origin="town",
    )
    make_idea(session, "Garage solidaire", actor=staff, territory_id=town.id, is_public=True)
    make_idea(
        session, "Crèche à horaires décalés", actor=staff, stage="studying", origin="association"
    )

    assert _rows(client, "?stage=studying") == ["Crèche à horaires décalés"]
    assert _rows(client, "?origin=town") == ["Covoiturage vers la zone d'emploi"]
    assert _rows(client, "?theme=mobilite") == ["Covoiturage vers la zone d'emploi"]
    assert _rows(client, "?territory=merignac") == ["Garage solidaire"]
    assert _rows(client, "?public=yes") == ["Garage solidaire"]
    assert len(_rows(client, "?public=no")) == 2
    assert _rows(client, "?q=GARAGE") == ["Garage solidaire"]
    assert _rows(client, "?q=100%25") == []


def test_the_list_sorts_by_age_in_stage(client, session):
    staff = _staff(client, session)
    for title, days in (("Idée récente", 1), ("Idée ancienne", 30), ("Idée moyenne", 10)):
        idea = make_idea(session, title, actor=staff)
        idea.stage_changed_at = utcnow() - timedelta(days=days)
        session.add(idea)
    session.commit()
    assert _rows(client) == ["Idée ancienne", "Idée moyenne", "Idée récente"]
    assert _rows(client, "?sort=newest") == ["Idée récente", "Idée moyenne", "Idée ancienne"]


def test_an_unknown_filter_is_a_clear_400_not_a_crash(client, session):
    _staff(client, session)
    response = client.get("/moderation/ideas/list?stage=nowhere&theme=inconnue&page=0")
    assert response.status_code == 400
    assert "Cette étape n'existe pas." in _text(response.text)
    assert client.get("/moderation/ideas.csv?origin=martians").status_code == 400


def test_the_csv_exports_the_filtered_ideas_with_formulas_defused(client, session):
    staff = _staff(client, session)
    need = _with_supports(session, 5)
    make_idea(session, '=HYPERLINK("http://evil") idée', actor=staff, needs=[need], is_public=True)
    make_idea(session, "Une autre idée, à l'étude", actor=staff, stage="studying")
    response = client.get("/moderation/ideas.csv?stage=detected")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert not response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    row = rows[0]
    assert row["title"].startswith("'=HYPERLINK")
    assert row["stage"] == "detected" and row["stage_label"] == "Détectée"
    assert row["origin"] == "resident"
    assert row["supports"] == "5" and row["needs"] == "1"
    assert row["is_public"] == "yes"
    everything = list(csv.DictReader(io.StringIO(client.get("/moderation/ideas.csv").text)))
    assert len(everything) == 2


# --- the idea page ------------------------------------------------------------------------


def test_the_idea_page_shows_needs_timeline_and_move_requirements(client, session):
    staff = _staff(client, session, display_name="Awa Diallo")
    need = _with_supports(session, 6)
    idea = make_idea(session, actor=staff, needs=[need])
    service.move_idea(session, staff, idea.id, "studying", seen_stage="detected", note="Go")
    html = client.get(f"/moderation/ideas/{idea.id}").text
    text = _text(html)
    assert need.title in text
    assert "Awa Diallo" in text and "Détectée → À l'étude" in text
    assert "Pour passer à « Recherche de porteur »" in text
    tree = LexborHTMLParser(html)
    options = {
        o.attributes["value"]: ("disabled" in o.attributes, "selected" in o.attributes, o.text())
        for o in tree.css("#f-to_stage option")
    }
    # Back to detected (marked as a step back) and abandon; the next stage shown but disabled
    # while its information is missing; nothing chosen, so the list never starts on a step
    # back; never a skipped stage.
    assert set(options) == {"", "detected", "seeking_carrier", "abandoned"}
    assert options[""][1] and not any(sel for value, (_d, sel, _t) in options.items() if value)
    assert options["seeking_carrier"][0] and "à compléter" in options["seeking_carrier"][2]
    assert "retour en arrière" in options["detected"][2] and not options["detected"][0]
    # Each missing piece links to its field on the page.
    links = [a.attributes["href"] for a in tree.css("#next-requirements a")]
    assert links == ["#f-verdict", "#f-carrier_call"]
    assert all(tree.css_first(link) is not None for link in links)


def test_an_unknown_idea_is_a_404(client, session):
    _staff(client, session)
    assert client.get("/moderation/ideas/999999").status_code == 404
    assert client.get("/moderation/ideas/abc").status_code == 404
    response = post_form(client, "/moderation/ideas/999999/move", {"to_stage": "studying"})
    assert response.status_code == 404


def test_internal_comments_are_added_rendered_and_audited(client, session):
    staff = _staff(client, session)
    idea = make_idea(session, actor=staff, is_public=True)
    response = post_form(
        client, f"/moderation/ideas/{idea.id}/comments", {"body": "Voir **la mairie** lundi"}
    )
    assert response.status_code == 303
    html = client.get(f"/moderation/ideas/{idea.id}").text
    assert "<strong>la mairie</strong>" in html
    comments = fresh(session).exec(select(IdeaComment)).all()
    assert [c.body for c in comments] == ["Voir **la mairie** lundi"]
    from app.core.audit import AuditEntry

    assert session.exec(select(AuditEntry).where(AuditEntry.action == "idea.comment")).first()
    empty = post_form(client, f"/moderation/ideas/{idea.id}/comments", {"body": "  "})
    assert empty.status_code == 422
    assert "Écrivez votre commentaire." in _text(empty.text)
    assert len(fresh(session).exec(select(IdeaComment)).all()) == 1


def test_the_idea_page_lists_the_timeline_even_for_ideas_without_needs(client, session):
    staff = _staff(client, session)
    idea = make_idea(session, actor=staff)
    assert client.get(f"/moderation/ideas/{idea.id}").status_code == 200
    changes = fresh(session).exec(select(StageChange).where(StageChange.idea_id == idea.id)).all()
    assert len(changes) == 1
    assert session.exec(select(Need)).all() == []


def test_the_stage_badge_links_to_the_public_idea_only_when_it_is_public(session):
    from app.web.templating import environment

    staff = make_user(session, role="staff")
    public = make_idea(session, "Une idée publique", actor=staff, is_public=True, stage="studying")
    private = make_idea(session, "Une idée interne", actor=staff)
    template = environment.from_string(
        '{% from "pipeline/_stage_badge.html" import stage_badge %}'
        "<p>{{ stage_badge(public) }}</p><p>{{ stage_badge(private) }}</p>"
    )
    tree = LexborHTMLParser(template.render(public=public, private=private))
    link = tree.css_first("a.stage-badge")
    assert link.attributes["href"] == f"/ideas/{public.id}-une-idee-publique"
    assert link.text(strip=True).replace("\xa0", " ") == "Idée : À l'étude"
    assert [n.tag for n in tree.css(".stage-badge")] == ["a", "span"]
    assert tree.css("span.stage-badge")[0].text(strip=True).replace("\xa0", " ") == (
        "Idée : Détectée"
    )


def test_a_step_back_from_the_idea_page_asks_for_its_box_to_be_ticked(client, session):
    staff = _staff(client, session)
    idea = make_idea(session, actor=staff)
    service.move_idea(session, staff, idea.id, "studying", seen_stage="detected")
    url = f"/moderation/ideas/{idea.id}"
    action = f"{url}/move"
    html = LexborHTMLParser(client.get(url).text).css_first("form.idea-move-form").html
    response = submit_form(
        client, url, action, {"to_stage": "detected", "note": "À revoir"}, html=html
    )
    assert response.status_code == 422
    error = LexborHTMLParser(response.text).css_first("#f-confirm_backward-error")
    assert error is not None and "Cochez la case" in error.text()
    assert fresh(session).get(Idea, idea.id).stage == "studying"  # type: ignore[union-attr]
    # The refused form keeps what was typed; ticked, the step back is made.
    again = LexborHTMLParser(response.text).css_first("form.idea-move-form").html
    response = submit_form(client, url, action, {"confirm_backward": "1"}, html=again)
    assert response.status_code == 303
    assert fresh(session).get(Idea, idea.id).stage == "detected"  # type: ignore[union-attr]


def test_each_form_of_the_idea_page_brings_the_person_back_to_its_section(client, session):
    """Saved or refused, the answer opens at the section of the form that was sent (the
    redirect names it, and so does the form's own address for a refusal shown in place)."""
    staff = _staff(client, session)
    idea = make_idea(session, actor=staff, stage="studying")
    tree = LexborHTMLParser(client.get(f"/moderation/ideas/{idea.id}").text)
    actions = [f.attributes["action"] for f in tree.css("main form[method=post]")]
    assert actions
    for action in actions:
        if "/milestones/" in action:  # a milestone's own buttons, inside its section
            continue
        path, _sep, anchor = action.partition("#")
        assert anchor, f"{path} brings the person back to the top of the page"
        assert tree.css_first(f"section#{anchor}") is not None


def test_needs_are_found_by_their_words_and_ticked_into_the_idea(client, session):
    staff = _staff(client, session)
    idea = make_idea(session, "Un atelier de réparation de vélos", actor=staff)
    wanted = make_need(session, title="Réparer son vélo près de la gare de Bègles")
    taken = make_need(session, title="Un atelier vélo à la gare de Talence")
    other = make_idea(session, "Une autre idée", actor=staff)
    service.link_needs(session, staff, other, [taken.id])  # type: ignore[list-item]
    url = f"/moderation/ideas/{idea.id}"
    page = client.get(url).text
    # The search form as staff fill it: words in any order, no accent.
    search = LexborHTMLParser(page).css_first("form.need-search").html
    found = submit_form(client, url, url, {"need_q": "gare velo"}, html=search)
    assert found.status_code == 200
    tree = LexborHTMLParser(found.text)
    offered = {i.attributes["value"] for i in tree.css("fieldset.need-choices input[name=need]")}
    assert offered == {str(wanted.id)}  # the need already in an idea is not offered
    linked = submit_form(client, url, f"{url}/needs", {"need": str(wanted.id)}, html=found.text)
    assert linked.status_code == 303
    assert wanted.title in page_text(client.get(linked.headers["location"]).text, "#needs")
