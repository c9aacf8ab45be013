"""Qualification of needs by staff: theme, territory, free tags (reused by slug, limited), an
internal note never shown publicly, the « qualifié » mark, the lists staff work from and the
tags autocomplete."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import func, select

from app.board.models import Need, Notification
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.moderation import qualification
from app.moderation.models import NeedTag, Tag
from app.web.errors import Forbidden
from tests.factories import (
    form_errors,
    fresh,
    login_as,
    make_need,
    make_territory,
    make_theme,
    make_user,
    page_text,
    post_form,
    submit_form,
)


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(model)).one()


def _tag_names(session, need) -> list[str]:  # type: ignore[no-untyped-def]
    rows = session.exec(
        select(Tag.name).join(NeedTag, NeedTag.tag_id == Tag.id).where(NeedTag.need_id == need.id)
    )
    return sorted(rows)


def _qualify(client, need, **fields):  # type: ignore[no-untyped-def]
    data = {"theme": "", "territory": "", "tags": "", "internal_note": ""}
    data.update(fields)
    return post_form(client, f"/moderation/needs/{need.id}/qualification", data)


def test_staff_qualify_a_need_with_theme_territory_tags_note_and_mark(
    client, session, signed_in_staff
):
    theme = make_theme(session)
    territory = make_territory(session)
    need = make_need(session)
    response = _qualify(
        client,
        need,
        theme="mobilite",
        territory="merignac",
        tags="Mobilité douce,  seniors , Transport  à la demande",
        internal_note="Voir avec la mairie\nContact : service mobilité",
        qualified="1",
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/moderation/needs/{need.id}/qualification?saved=1"
    need = fresh(session).get(Need, need.id)
    assert (need.theme_id, need.territory_id) == (theme.id, territory.id)
    assert need.internal_note == "Voir avec la mairie\nContact : service mobilité"
    assert need.qualified_by_id == signed_in_staff.id and need.qualified_at is not None
    assert _tag_names(session, need) == ["Mobilité douce", "Transport à la demande", "seniors"]
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.action, entry.actor_id, entry.target_kind, entry.target_id) == (
        "need.qualify",
        signed_in_staff.id,
        "need",
        need.id,
    )
    assert entry.before == {
        "internal_note": "",
        "qualified": False,
        "tags": [],
        "territory": None,
        "theme": None,
    }
    assert entry.after["qualified"] is True and entry.after["theme"] == "mobilite"
    assert entry.after["tags"] == ["Mobilité douce", "seniors", "Transport à la demande"]
    page = client.get(response.headers["location"]).text
    assert "Qualification enregistrée." in page_text(page)


def test_unchecking_qualified_clears_the_mark_and_audits_only_what_changed(
    client, session, signed_in_staff
):
    need = make_need(session)
    _qualify(client, need, tags="logement", qualified="1")
    response = _qualify(client, need, tags="logement")
    assert response.status_code == 303
    need = fresh(session).get(Need, need.id)
    assert need.qualified_at is None and need.qualified_by_id is None
    last = session.exec(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (last.before, last.after) == ({"qualified": True}, {"qualified": False})


def test_saving_an_unchanged_form_writes_no_audit_entry(client, session, signed_in_staff):
    need = make_need(session)
    _qualify(client, need, tags="logement", qualified="1")
    _qualify(client, need, tags="logement", qualified="1")
    assert _count(fresh(session), AuditEntry) == 1


def test_tags_are_reused_by_slug_and_duplicates_dropped(client, session, signed_in_staff):
    first, second = make_need(session), make_need(session)
    _qualify(client, first, tags="Mobilité douce")
    response = _qualify(client, second, tags="mobilite DOUCE, Mobilité-douce, vélo")
    assert response.status_code == 303
    session = fresh(session)
    assert _count(session, Tag) == 2
    assert _tag_names(session, second) == ["Mobilité douce", "vélo"]


def test_removing_a_tag_unlinks_it_but_keeps_the_tag_for_others(client, session, signed_in_staff):
    need = make_need(session)
    _qualify(client, need, tags="a1, b2")
    _qualify(client, need, tags="b2")
    session = fresh(session)
    assert _tag_names(session, need) == ["b2"]
    assert _count(session, Tag) == 2


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (", ".join(f"étiquette {n}" for n in range(11)), "10 étiquettes au plus"),
        ("x" * 41, "trop longue"),
        ("!!!", "au moins une lettre ou un chiffre"),
    ],
)
def test_bad_tags_are_refused_next_to_the_field_and_nothing_is_written(
    client, session, signed_in_staff, tags, message
):
    need = make_need(session)
    response = _qualify(client, need, tags=tags, internal_note="Note", qualified="1")
    assert response.status_code == 422
    errors = form_errors(response.text)
    assert len(errors) == 1 and message in errors[0]
    tree = LexborHTMLParser(response.text)
    assert "f-tags-error" in tree.css_first("#f-tags").attributes["aria-describedby"]
    assert tree.css_first("#f-internal_note").text() == "Note"  # what was typed is kept
    session = fresh(session)
    assert _count(session, Tag) == 0 and _count(session, AuditEntry) == 0
    assert session.get(Need, need.id).qualified_at is None


def test_ten_tags_are_accepted(client, session, signed_in_staff):
    need = make_need(session)
    response = _qualify(client, need, tags=", ".join(f"étiquette {n}" for n in range(10)))
    assert response.status_code == 303
    assert len(_tag_names(fresh(session), need)) == 10


def test_unknown_theme_or_long_note_is_a_422_and_nothing_is_written(
    client, session, signed_in_staff
):
    need = make_need(session)
    response = _qualify(
        client, need, theme="inconnue", internal_note="x" * 5001, tags="vélo", qualified="1"
    )
    assert response.status_code == 422
    errors = " ".join(form_errors(response.text))
    assert "Cette thématique n'existe pas." in errors
    assert "5000" in errors.replace("\u202f", "").replace(" ", "")
    session = fresh(session)
    assert _count(session, Tag) == 0 and _count(session, AuditEntry) == 0
    assert session.get(Need, need.id).internal_note == ""


def test_the_internal_note_and_tags_never_show_on_the_public_need_page(
    client, session, signed_in_staff
):
    need = make_need(session)
    _qualify(client, need, tags="étiquette-secrète", internal_note="Note très confidentielle")
    for viewer in (None, make_user(session), signed_in_staff):
        client.cookies.clear()
        if viewer is not None:
            login_as(client, viewer, session)
        page = client.get(f"/needs/{need.id}-{need.slug}").text
        assert "Note très confidentielle" not in page
        assert "étiquette-secrète" not in page


def test_changing_the_public_classification_tells_the_author(client, session, signed_in_staff):
    make_theme(session)
    need = make_need(session)
    _qualify(client, need, theme="mobilite")
    note = fresh(session).exec(select(Notification)).one()
    assert note.user_id == need.author_id and note.kind == "moderation"
    assert "Mobilité" in note.message and need.title in note.message


def test_internal_changes_do_not_notify_the_author(client, session, signed_in_staff):
    need = make_need(session)
    _qualify(client, need, tags="logement", internal_note="interne", qualified="1")
    assert _count(fresh(session), Notification) == 0


def test_an_archived_theme_stays_on_a_need_saved_without_touching_it(
    client, session, signed_in_staff
):
    theme = make_theme(session)
    need = make_need(session, theme_id=theme.id)
    theme.archived_at = utcnow()
    session.add(theme)
    session.commit()
    assert 'value="mobilite" selected' in client.get(
        f"/moderation/needs/{need.id}/qualification"
    ).text.replace("\n", "")
    assert _qualify(client, need, theme="mobilite", qualified="1").status_code == 303
    assert fresh(session).get(Need, need.id).theme_id == theme.id


@pytest.mark.parametrize("state", ["deleted", "merged"])
def test_deleted_or_merged_needs_cannot_be_qualified(client, session, signed_in_staff, state):
    need = make_need(session)
    if state == "deleted":
        need.deleted_at = utcnow()
    else:
        need.status = "merged"
        need.merged_into_id = make_need(session).id
    session.add(need)
    session.commit()
    page = client.get(f"/moderation/needs/{need.id}/qualification")
    assert page.status_code == 200
    assert "ne peut plus être qualifié" in page.text or "fusionné" in page.text
    assert LexborHTMLParser(page.text).css_first("form.qualify-form") is None
    response = _qualify(client, need, tags="logement", qualified="1")
    assert response.status_code == 409
    session = fresh(session)
    assert _count(session, AuditEntry) == 0 and _count(session, NeedTag) == 0
    assert session.get(Need, need.id).qualified_at is None


def test_unknown_need_is_a_404(client, session, signed_in_staff):
    assert client.get("/moderation/needs/999999/qualification").status_code == 404
    assert _qualify(client, type("N", (), {"id": 999999})()).status_code == 404
    assert client.get("/moderation/needs/abc/qualification").status_code == 404


def test_a_form_shown_before_someone_else_saved_is_a_conflict(client, session, signed_in_staff):
    need = make_need(session)
    page = client.get(f"/moderation/needs/{need.id}/qualification").text
    seen = LexborHTMLParser(page).css_first('input[name="seen"]').attributes["value"]
    other = make_user(session, role="admin", display_name="Dominique")
    qualification.qualify_need(
        session, other, need.id, qualification.QualificationInput(tags="emploi", qualified=True)
    )
    response = _qualify(client, need, tags="vélo", seen=seen)
    assert response.status_code == 409
    assert "Dominique" in page_text(response.text)
    session = fresh(session)
    assert _tag_names(session, need) == ["emploi"]
    assert _count(session, AuditEntry) == 1


def test_the_service_refuses_moderators_and_blocked_staff(session):
    need = make_need(session)
    moderator = make_user(session, role="moderator")
    blocked = make_user(session, role="staff")
    blocked.blocked_at = utcnow()
    for user in (moderator, blocked, None):
        with pytest.raises(Forbidden):
            qualification.qualify_need(
                session, user, need.id, qualification.QualificationInput(qualified=True)
            )
    assert _count(fresh(session), AuditEntry) == 0


# --- the lists --------------------------------------------------------------------------------


def _section_titles(html: str, section: str) -> list[str]:
    tree = LexborHTMLParser(html)
    node = tree.css_first(f'section[aria-labelledby="{section}-title"]')
    # The title cell (the qualified list has a selection column before it).
    return [a.text(strip=True) for a in node.css('tbody tr td a[href$="/qualification"]')]


def test_lists_split_needs_to_qualify_from_qualified_ones_most_supported_first(
    client, session, signed_in_staff
):
    low = make_need(session, title="Besoin peu soutenu à qualifier")
    high = make_need(session, title="Besoin très soutenu à qualifier")
    high.supports_count = 12
    done = make_need(session, title="Besoin déjà qualifié et prêt")
    hidden = make_need(session, title="Besoin masqué par la modération", status="hidden")
    for need in (high,):
        session.add(need)
    session.commit()
    _qualify(client, done, tags="logement", internal_note="Première ligne\nSuite", qualified="1")
    page = client.get("/moderation/qualification")
    assert page.status_code == 200
    assert _section_titles(page.text, "todo")[:2] == [high.title, low.title]
    assert done.title not in _section_titles(page.text, "todo")
    assert _section_titles(page.text, "done") == [done.title]
    assert hidden.title not in page.text
    text = page_text(page.text)
    assert "Première ligne" in text and "Suite" not in text and "logement" in text


def test_a_qualified_need_made_into_an_idea_leaves_the_waiting_list(
    client, session, signed_in_staff
):
    from app.pipeline.models import Idea, IdeaNeed

    promoted = make_need(session, title="Besoin déjà promu en idée")
    waiting = make_need(session, title="Besoin qualifié qui attend")
    for need in (promoted, waiting):
        _qualify(client, need, qualified="1")
    idea = Idea(title="Une idée née du board", slug="une-idee-nee-du-board")
    session.add(idea)
    session.flush()
    session.add(IdeaNeed(idea_id=idea.id, need_id=promoted.id))
    session.commit()
    page = client.get("/moderation/qualification").text
    assert _section_titles(page, "done") == [waiting.title]
    assert promoted.title not in _section_titles(page, "todo")


def test_a_need_qualified_after_its_promotion_stays_in_sight_with_its_idea(
    client, session, signed_in_staff
):
    from app.pipeline.models import Idea, IdeaNeed

    need = make_need(session, title="Besoin promu avant d'être qualifié")
    idea = Idea(title="Une recyclerie de quartier", slug="une-recyclerie-de-quartier")
    session.add(idea)
    session.flush()
    session.add(IdeaNeed(idea_id=idea.id, need_id=need.id))
    session.commit()
    qualify_url = f"/moderation/needs/{need.id}/qualification"
    page = client.get(qualify_url).text
    named = LexborHTMLParser(page).css_first(".qualify-idea a")
    assert named is not None and named.attributes["href"] == f"/moderation/ideas/{idea.id}"
    # Qualified through the page's own form, as staff do.
    response = submit_form(client, qualify_url, qualify_url, {"qualified": "1"})
    assert response.status_code == 303
    lists = client.get("/moderation/qualification").text
    assert need.title not in _section_titles(lists, "todo") + _section_titles(lists, "done")
    assert _section_titles(lists, "in-ideas") == [need.title]
    row = LexborHTMLParser(lists).css_first('section[aria-labelledby="in-ideas-title"] tbody tr')
    assert f'href="/moderation/ideas/{idea.id}"' in row.html  # type: ignore[union-attr,operator]
    assert "(1)" in page_text(lists, "#in-ideas-title")
    # Its moderation file names the idea and offers no second promotion.
    file = client.get(f"/moderation/needs/{need.id}").text
    assert f"/moderation/ideas/new?need={need.id}" not in file
    assert "Une recyclerie de quartier" in page_text(file)


def test_lists_filter_by_theme_territory_and_tag(client, session, signed_in_staff):
    theme = make_theme(session)
    territory = make_territory(session)
    themed = make_need(session, title="Besoin classé en mobilité", theme_id=theme.id)
    placed = make_need(session, title="Besoin situé à Mérignac", territory_id=territory.id)
    tagged = make_need(session, title="Besoin étiqueté vélo")
    _qualify(client, tagged, tags="Vélo", qualified="1")
    by_theme = client.get("/moderation/qualification?theme=mobilite").text
    assert _section_titles(by_theme, "todo") == [themed.title]
    by_place = client.get("/moderation/qualification?territory=merignac").text
    assert _section_titles(by_place, "todo") == [placed.title]
    by_tag = client.get("/moderation/qualification?tag=velo").text
    assert _section_titles(by_tag, "todo") == []
    assert _section_titles(by_tag, "done") == [tagged.title]


def test_bad_filters_are_explained_not_a_500(client, session, signed_in_staff):
    response = client.get("/moderation/qualification?theme=nope&tag=no%00pe&todo_page=0")
    assert response.status_code == 400
    errors = " ".join(form_errors(response.text)) + page_text(response.text)
    assert "Cette thématique n'existe pas." in errors
    assert "Cette étiquette n'existe pas." in errors
    assert "numéro de page" in errors


def test_lists_are_paginated_each_keeping_the_other_page(client, session, signed_in_staff):
    for n in range(qualification.PER_PAGE + 1):
        make_need(session, title=f"Besoin de la pagination numéro {n}")
    first = client.get("/moderation/qualification").text
    assert len(_section_titles(first, "todo")) == qualification.PER_PAGE
    link = LexborHTMLParser(first).css_first('a[rel="next"]').attributes["href"]
    assert link == "/moderation/qualification?todo_page=2"
    assert len(_section_titles(client.get(link).text, "todo")) == 1


def test_htmx_filtering_returns_only_the_lists(client, session, signed_in_staff):
    make_need(session, title="Besoin pour le fragment htmx")
    response = client.get("/moderation/qualification", headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith('<div id="qualification-lists">')
    assert response.headers["Vary"] == "HX-Request, HX-Boosted, HX-History-Restore-Request"


# --- the autocomplete -------------------------------------------------------------------------


def _options(html: str) -> list[str]:
    return [o.attributes["value"] for o in LexborHTMLParser(html).css("datalist option")]


def _make_tags(session, *names: str) -> None:  # type: ignore[no-untyped-def]
    for name in names:
        session.add(Tag(slug=qualification.tag_slug(name), name=name))
    session.commit()


def test_tags_autocomplete_matches_by_slug_prefix_first(client, session, signed_in_staff):
    _make_tags(session, "Mobilité douce", "Auto-mobilité", "Logement")
    response = client.get("/moderation/tags?q=mobi")
    assert response.status_code == 200
    assert _options(response.text) == ["Mobilité douce", "Auto-mobilité"]


def test_tags_autocomplete_completes_the_last_tag_of_the_field(client, session, signed_in_staff):
    _make_tags(session, "Logement", "Logement social", "Mobilité")
    response = client.get("/moderation/tags", params={"tags": "Logement, log"})
    assert _options(response.text) == ["Logement, Logement social"]


def test_tags_autocomplete_is_limited_to_twenty(client, session, signed_in_staff):
    _make_tags(session, *(f"Thème {n:02d}" for n in range(30)))
    assert len(_options(client.get("/moderation/tags?q=theme").text)) == 20
    assert _options(client.get("/moderation/tags?q=%25").text) == []
    assert _options(client.get("/moderation/tags?q=th%00eme").text) != []


def test_the_form_lists_existing_tags_without_javascript(client, session, signed_in_staff):
    _make_tags(session, "Logement", "Mobilité")
    need = make_need(session)
    page = client.get(f"/moderation/needs/{need.id}/qualification").text
    tree = LexborHTMLParser(page)
    assert tree.css_first("#f-tags").attributes["list"] == "tag-options"
    assert sorted(_options(page)) == ["Logement", "Mobilité"]


def test_qualified_needs_are_promoted_together_from_the_list(client, session, signed_in_staff):
    first = make_need(session, title="Une navette pour le marché du samedi")
    second = make_need(session, title="Un minibus pour les courses des aînés")
    for need in (first, second):
        need.qualified_at = utcnow()
        session.add(need)
    session.commit()

    page = LexborHTMLParser(client.get("/moderation/qualification").text)
    form = page.css_first("#promote-form")
    assert (form.attributes["method"], form.attributes["action"]) == (
        "get",
        "/moderation/ideas/new",
    )
    boxes = page.css('input[form="promote-form"][name="need"]')
    assert sorted(b.attributes["value"] for b in boxes) == sorted([str(first.id), str(second.id)])
    # What the browser sends when both are ticked: the idea form lists both needs.
    idea_form = client.get(f"/moderation/ideas/new?need={first.id}&need={second.id}").text
    assert first.title in idea_form and second.title in idea_form
    need_file = LexborHTMLParser(client.get(f"/moderation/needs/{first.id}").text)
    links = [a.attributes.get("href") for a in need_file.css("a")]
    assert f"/moderation/ideas/new?need={first.id}" in links
