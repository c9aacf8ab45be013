"""The staff idea board's filters (issue 14 walkthrough: the board did not hold the demo's 110
ideas): theme, territory, origin, public or internal, and words of the title, sent by the
board's own GET form, read from the page as a browser reads it (tests/factories.submit_form).
The columns, their counts, « Voir les N idées » and the « Aller à l'étape » links follow the
filters; htmx gets the board alone; a bad value is said in French, never a 500; a card moved
from a filtered board gives the filtered board back; the shared render (app/web/personal.py)
keeps one filtered board per address."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser

from app.pipeline import service
from app.pipeline.models import Idea
from app.pipeline.staff_board_routes import COLUMN_LIMIT
from tests.factories import (
    csrf_token,
    fresh,
    login_as,
    make_idea,
    make_territory,
    make_theme,
    make_user,
    page_text,
    read_form,
    submit_form,
)

BOARD = "/moderation/ideas"


def _staff(client, session):  # type: ignore[no-untyped-def]
    user = make_user(session, role="staff")
    login_as(client, user, session)
    return user


def _filter(client: TestClient, fill: dict[str, str], **kwargs):  # type: ignore[no-untyped-def]
    """The board's filter form, filled in and sent as a browser sends it."""
    return submit_form(client, BOARD, BOARD, fill, **kwargs)


def _titles(html: str, selector: str = ".pipeline-board") -> list[str]:
    board = LexborHTMLParser(html).css_first(selector)
    assert board is not None, selector
    return sorted(a.text(strip=True) for a in board.css(".idea-card-title a"))


def _plain(text: str) -> str:
    """French typography's no-break spaces read as plain spaces."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def _count(html: str, stage: str) -> str:
    heading = LexborHTMLParser(html).css_first(f"#column-{stage} .count")
    assert heading is not None, stage
    return heading.text(strip=True)


def _world(client, session):  # type: ignore[no-untyped-def]
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
    make_idea(
        session,
        "Garage solidaire",
        actor=staff,
        territory_id=town.id,
        theme_id=mobility.id,
        is_public=True,
        stage="studying",
    )
    make_idea(
        session, "Crèche à horaires décalés", actor=staff, stage="studying", origin="association"
    )
    return staff


def test_the_board_form_filters_by_theme_territory_origin_visibility_and_title(client, session):
    _world(client, session)

    assert _titles(_filter(client, {"theme": "mobilite"}).text) == [
        "Covoiturage vers la zone d'emploi",
        "Garage solidaire",
    ]
    assert _titles(_filter(client, {"territory": "merignac"}).text) == ["Garage solidaire"]
    assert _titles(_filter(client, {"origin": "association"}).text) == ["Crèche à horaires décalés"]
    assert _titles(_filter(client, {"public": "yes"}).text) == ["Garage solidaire"]
    assert len(_titles(_filter(client, {"public": "no"}).text)) == 2
    assert _titles(_filter(client, {"q": "  GARAGE "}).text) == ["Garage solidaire"]
    assert _titles(_filter(client, {"q": "100%"}).text) == []
    both = _filter(client, {"theme": "mobilite", "origin": "town"}).text
    assert _titles(both) == ["Covoiturage vers la zone d'emploi"]
    # The form shows what the address says, and the board says what it keeps.
    method, values, _names = read_form(both, BOARD)
    assert method == "get"
    assert values["theme"] == "mobilite" and values["origin"] == "town"
    assert "1 idée correspond aux filtres." in page_text(both)
    chips = LexborHTMLParser(both).css(".active-filters .active-filter")
    assert [c.text(strip=True) for c in chips] == ["Mobilité", "Commune"]
    clear = LexborHTMLParser(both).css_first(".active-filters a.clear-filters")
    assert clear is not None and clear.attributes["href"] == BOARD


def test_column_counts_jump_links_and_see_all_follow_the_filters(client, session):
    staff = _staff(client, session)
    mobility = make_theme(session)
    kept = [
        make_idea(session, f"Idée de mobilité n° {n}", actor=staff, theme_id=mobility.id)
        for n in range(COLUMN_LIMIT + 2)
    ]
    for n in range(3):
        make_idea(session, f"Autre idée n° {n}", actor=staff)
    make_idea(session, "Une navette à l'étude", actor=staff, theme_id=mobility.id, stage="studying")

    html = _filter(client, {"theme": "mobilite"}).text
    assert _count(html, "detected") == f"({COLUMN_LIMIT + 2})"
    assert _count(html, "studying") == "(1)"
    tree = LexborHTMLParser(html)
    jumps = {
        a.attributes["href"]: a.text(separator=" ", strip=True)
        for a in tree.css("nav.pipeline-jump a")
    }
    assert jumps["#column-detected"] == f"Détectée ({COLUMN_LIMIT + 2})"
    assert jumps["#column-studying"] == "À l'étude (1)"
    assert "#column-abandoned" in jumps
    # Every jump link reaches a heading of the board.
    assert all(tree.css_first(href) is not None for href in jumps)

    more = tree.css_first(".pipeline-column-detected .pipeline-more a")
    assert more is not None
    address = urlsplit(more.attributes["href"] or "")
    assert address.path == "/moderation/ideas/list"
    assert parse_qs(address.query) == {"theme": ["mobilite"], "stage": ["detected"]}
    assert f"Voir les {COLUMN_LIMIT + 2} idées" in more.text()
    listed = client.get(more.attributes["href"]).text
    rows = [a.text(strip=True) for a in LexborHTMLParser(listed).css("table tbody th a")]
    assert sorted(rows) == sorted(i.title for i in kept)


def test_htmx_gets_the_board_alone_and_a_history_restore_the_whole_page(client, session):
    _world(client, session)
    block = _filter(client, {"theme": "mobilite"}, headers={"HX-Request": "true"})
    assert block.status_code == 200
    assert block.text.lstrip().startswith('<div id="pipeline-board"')
    assert "<html" not in block.text
    assert _titles(block.text, "#pipeline-board") == [
        "Covoiturage vers la zone d'emploi",
        "Garage solidaire",
    ]
    # What a screen reader hears once the board is replaced (static/js/app.js).
    marker = LexborHTMLParser(block.text).css_first("template[data-announce]")
    assert marker is not None
    assert marker.attributes["data-announce"] == "2 idées correspondent aux filtres."
    assert "hx-request" in block.headers["vary"].lower()

    restored = _filter(
        client,
        {"theme": "mobilite"},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    tree = LexborHTMLParser(restored.text)
    assert tree.css_first("header") is not None and tree.css_first("footer") is not None
    assert read_form(restored.text, BOARD)[1]["theme"] == "mobilite"


def test_bad_filter_values_are_said_in_french_and_the_board_keeps_the_good_ones(client, session):
    _world(client, session)
    # An old link or a hand-typed address: values the form's lists do not offer.
    response = _filter(
        client,
        {"theme": "inconnue", "origin": "martians", "public": "peut-etre", "q": "garage"},
    )
    assert response.status_code == 400
    text = page_text(response.text)
    assert "Cette thématique n'existe pas." in text
    assert "Cette origine n'existe pas." in text
    assert "Choisissez publiques, internes, ou toutes." in text
    # The title's words still apply; the refused lists are shown as refused.
    assert _titles(response.text) == ["Garage solidaire"]
    # Said in the board, which the next filtering replaces; the form offers every list anew.
    tree = LexborHTMLParser(response.text)
    notice = tree.css_first("#pipeline-board .notice-error[role=alert]")
    assert notice is not None and "Cette thématique n'existe pas." in notice.text()
    assert notice.css_first("a").attributes["href"] == BOARD
    assert read_form(response.text, BOARD)[1] == {
        "q": "garage",
        "theme": "",
        "territory": "",
        "origin": "",
        "public": "",
    }
    # htmx gets the same message in the board it replaces.
    block = _filter(client, {"origin": "martians"}, headers={"HX-Request": "true"})
    assert block.status_code == 400
    assert "Cette origine n'existe pas." in page_text(block.text, "#pipeline-board")


def _move_form(html: str, idea_id: int) -> tuple[str, str]:
    """The action and the HTML of a card's « Étape suivante » form."""
    form = LexborHTMLParser(html).css_first(f"#idea-{idea_id} form.idea-next")
    assert form is not None
    assert form.attributes["action"] == form.attributes["data-hx-post"]
    return form.attributes["action"] or "", form.html or ""


def test_a_card_moved_on_a_filtered_board_gives_the_filtered_board_back(client, session):
    staff = _staff(client, session)
    mobility = make_theme(session)
    idea = make_idea(
        session, "Covoiturage vers la zone d'emploi", actor=staff, theme_id=mobility.id
    )
    make_idea(session, "Crèche à horaires décalés", actor=staff)
    page = _filter(client, {"theme": "mobilite"}).text
    action, form = _move_form(page, idea.id)
    assert urlsplit(action).query == "theme=mobilite"

    # With htmx: the board comes back filtered, the card in its new column.
    block = submit_form(client, BOARD, action, html=form, headers={"HX-Request": "true"})
    assert block.status_code == 200
    assert _titles(block.text, "#pipeline-board") == ["Covoiturage vers la zone d'emploi"]
    assert "Covoiturage" in page_text(block.text, ".pipeline-column-studying")
    # The card's next moves keep them too.
    card = LexborHTMLParser(block.text).css_first(f"#idea-{idea.id}")
    assert card is not None
    assert {f.attributes["action"] for f in card.css("form")} == {action}
    assert fresh(session).get(Idea, idea.id).stage == "studying"


def test_without_javascript_a_move_on_a_filtered_board_redirects_to_it(client, session):
    staff = _staff(client, session)
    mobility = make_theme(session)
    idea = make_idea(
        session, "Covoiturage vers la zone d'emploi", actor=staff, theme_id=mobility.id
    )
    action, form = _move_form(_filter(client, {"theme": "mobilite", "q": "zone"}).text, idea.id)
    response = submit_form(client, BOARD, action, html=form)
    assert response.status_code == 303
    address = urlsplit(response.headers["location"])
    assert address.path == BOARD and address.fragment == f"idea-{idea.id}"
    assert parse_qs(address.query) == {
        "theme": ["mobilite"],
        "q": ["zone"],
        "moved": [str(idea.id)],
    }
    landed = client.get(response.headers["location"]).text
    assert "est maintenant à l'étape : À l'étude" in _plain(page_text(landed))
    assert read_form(landed, BOARD)[1]["theme"] == "mobilite"


def test_each_filtered_board_is_rendered_once_for_the_team_and_kept_apart(client, session):
    """The shared render is keyed by the address: a filtered board is never served for
    another filter or for the whole board, and each member's forms carry their own token."""
    staff = _world(client, session)
    other = TestClient(client.app)
    login_as(other, make_user(session, role="staff"), session)

    for person in (client, other, client):
        whole = person.get(BOARD).text
        mobility = _filter(person, {"theme": "mobilite"}).text
        town = _filter(person, {"origin": "town"}).text
        assert len(_titles(whole)) == 3
        assert _titles(mobility) == ["Covoiturage vers la zone d'emploi", "Garage solidaire"]
        assert _titles(town) == ["Covoiturage vers la zone d'emploi"]
        tokens = {
            node.attributes["value"]
            for node in LexborHTMLParser(mobility).css('main input[name="csrf_token"]')
        }
        assert tokens == {csrf_token(person)}
    # A write shows at once on a filtered board already rendered.
    make_idea(
        session,
        "Vélos-cargos partagés",
        actor=staff,
        theme_id=make_theme(session, "velo", "Vélo").id,
    )
    assert "Vélos-cargos partagés" in _titles(_filter(other, {"theme": "velo"}).text)
    service.create_idea(
        session,
        staff,
        service.IdeaInput(title="Autopartage rural", origin="town"),
        need_ids=[],
    )
    assert "Autopartage rural" in _titles(_filter(other, {"origin": "town"}).text)
