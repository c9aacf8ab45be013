"""The staff idea page, one section per concern (issue 14): the current stage's section right
after « Changer d'étape », the others after it and folded, each heading saying what the section
holds; a form sent, saved or refused, comes back to its section unfolded; the carrier is
retained by its own action, apart from the call's text.

Every form is read from the page as a browser sees it (tests/factories.py read_form and
submit_form): the tests send what the page offers, never what the route is known to expect."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser, LexborNode
from sqlmodel import func, select

from app.board.models import Notification
from app.core.audit import AuditEntry
from app.pipeline import applications, idea_sections, service, stage_data
from app.pipeline.models import CarrierApplication, Idea, Milestone
from app.web.errors import Invalid
from tests.factories import fresh, make_need, make_user, read_form, submit_form
from tests.pipeline.test_public_ideas import make_idea

LADDER = ["needs", "study", "call", "milestones", "enterprise"]
OTHERS = ["documents", "partners", "comments", "timeline"]
MOTIVATION = "Notre association d'insertion gère déjà une laverie : ce projet la prolonge."


def _page(idea: Idea) -> str:
    return f"/moderation/ideas/{idea.id}"


def _tree(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(html)


def _sections(tree: LexborHTMLParser) -> list[LexborNode]:
    return tree.css("main section.idea-section")


def _order(tree: LexborHTMLParser) -> list[str]:
    return [s.attributes["id"] or "" for s in _sections(tree)]


def _opened(tree: LexborHTMLParser) -> set[str]:
    return {
        s.attributes["id"] or ""
        for s in _sections(tree)
        if "open" in s.css_first("details.idea-section-fold").attributes
    }


def _heading(tree: LexborHTMLParser, key: str) -> str:
    node = tree.css_first(f"section#{key} > details > summary > h2")
    return " ".join(node.text().replace("\xa0", " ").replace("\u202f", " ").split())


def _folded_around(node: LexborNode) -> bool:
    """True when `node` sits in a closed details element (not shown until it is opened)."""
    parent = node.parent
    while parent is not None:
        if parent.tag == "details" and "open" not in parent.attributes:
            return True
        parent = parent.parent
    return False


def _apply(session, idea, *, organisation="Asso Rebond", name=None):  # type: ignore[no-untyped-def]
    person = make_user(session, display_name=name)
    data = applications.ApplicationInput(
        motivation=MOTIVATION, organisation=organisation, contact="07 12 34 56 78"
    )
    return person, applications.apply(session, person, idea.id, data, rate_limits=False)


def _written(session, idea: Idea) -> tuple[Any, ...]:  # type: ignore[no-untyped-def]
    """What a refused carrier action must leave as it was."""
    db = fresh(session)
    saved = db.get(Idea, idea.id)
    statuses = db.exec(select(CarrierApplication.status).order_by(CarrierApplication.id)).all()
    count = db.exec(select(func.count()).select_from(AuditEntry)).one()
    told = db.exec(select(func.count()).select_from(Notification)).one()
    return saved.carrier_name, saved.carrier_application_id, statuses, count, told


# --- the order and the folds ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "data", "first", "opened"),
    [
        ("detected", {}, "needs", {"needs"}),
        # What the next stage needs is written in its own section: it opens too.
        ("studying", {}, "study", {"study", "call"}),
        ("studying", {"verdict": "viable", "carrier_call": "Une SCIC"}, "study", {"study"}),
        ("seeking_carrier", {"verdict": "viable", "carrier_call": "Une SCIC"}, "call", {"call"}),
        ("launching", {"carrier_name": "Asso Rebond"}, "milestones", {"milestones", "enterprise"}),
        ("launched", {"enterprise_name": "Club services 33"}, "enterprise", {"enterprise"}),
    ],
)
def test_the_current_stages_section_comes_first_and_the_others_are_folded(
    client, session, signed_in_staff, stage, data, first, opened
):
    idea = make_idea(session, stage=stage, **data)
    tree = _tree(client.get(_page(idea)).text)
    order = _order(tree)
    assert order == [first] + [k for k in LADDER if k != first] + OTHERS
    assert _opened(tree) == opened
    # Right after the summary and « Changer d'étape », and marked as the stage's own.
    cards = [n.attributes.get("id") for n in tree.css("main > section.card")]
    assert cards[:3] == [None, "move", first]
    current = tree.css("section.idea-section-current")
    assert [n.attributes["id"] for n in current] == [first]
    assert "étape en cours" in _heading(tree, first)


def test_an_abandoned_idea_keeps_the_ladders_order_all_folded(client, session, signed_in_staff):
    idea = make_idea(session, stage="abandoned", abandon_reason="Pas de porteur")
    tree = _tree(client.get(_page(idea)).text)
    assert _order(tree) == LADDER + OTHERS
    assert _opened(tree) == set()
    assert tree.css("section.idea-section-current") == []


def test_each_missing_piece_links_to_a_field_in_sight(client, session, signed_in_staff):
    for stage, data in (
        ("studying", {}),
        ("seeking_carrier", {"verdict": "viable", "carrier_call": "Une SCIC"}),
        ("launching", {"carrier_name": "Asso Rebond"}),
    ):
        idea = make_idea(session, stage=stage, **data)
        tree = _tree(client.get(_page(idea)).text)
        links = [a.attributes["href"] or "" for a in tree.css("#next-requirements a")]
        assert links, stage
        for link in links:
            target = tree.css_first(link)
            assert target is not None and not _folded_around(target), (stage, link)


def test_a_folded_heading_says_what_its_section_holds(client, session, signed_in_staff):
    idea = make_idea(session, stage="launching", verdict="viable", carrier_call="Une SCIC")
    idea.carrier_name = "Asso Rebond"
    idea.jobs_created = 0
    idea.legal_form = "scic"
    session.add(idea)
    session.commit()
    _apply(session, make_idea(session, "Une autre idée", stage="seeking_carrier"))
    for label in ("Statuts", "Local", "Prêt"):
        stage_data.add_milestone(session, signed_in_staff, idea.id, label)
    for milestone in fresh(session).exec(select(Milestone)).all():
        if milestone.label in ("Statuts", "Local"):
            stage_data.set_milestone_done(session, signed_in_staff, idea.id, milestone.id, True)
    need = make_need(session, title="Un lieu pour laver son linge")
    service.link_needs(session, signed_in_staff, idea, [need.id])  # type: ignore[list-item]
    stage_data.add_comment(session, signed_in_staff, idea.id, "À suivre")
    tree = _tree(client.get(_page(idea)).text)
    assert _heading(tree, "milestones") == (
        "Lancement : étapes à franchir étape en cours — étapes franchies : 2 sur 3"
    )
    assert _heading(tree, "needs") == "Besoins liés — 1 besoin"
    assert _heading(tree, "study") == "Étude d'opportunité — verdict : Viable"
    assert _heading(tree, "call") == (
        "Recherche de porteur — appel rédigé · 0 candidature · porteur : Asso Rebond"
    )
    # 0 jobs counts as filled: the name, the date and the website are missing.
    assert _heading(tree, "enterprise") == "Entreprise créée — informations remplies : 2 sur 5"
    assert _heading(tree, "documents") == "Documents — aucun document"
    assert _heading(tree, "comments") == "Commentaires internes — 1 commentaire"
    assert _heading(tree, "timeline") == "Historique — aucun événement"


def test_the_headings_make_an_outline_without_gaps(client, session, signed_in_staff):
    idea = make_idea(session, stage="seeking_carrier", carrier_call="Une SCIC")
    _apply(session, idea)
    tree = _tree(client.get(_page(idea)).text)
    levels = [int(h.tag[1]) for h in tree.css("main h1, main h2, main h3, main h4")]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))
    # Each section is named by its heading, the control that unfolds it.
    for section in _sections(tree):
        title = tree.css_first(f"#{section.attributes['aria-labelledby']}")
        assert title.tag == "h2" and title.parent.tag == "summary"


def _section_of(node: LexborNode) -> str:
    """The id of the page's section (folding card) that holds `node`."""
    parent: LexborNode | None = node
    while (
        parent is not None and "idea-section" not in (parent.attributes.get("class") or "").split()
    ):
        parent = parent.parent
    return (parent.attributes.get("id") or "") if parent is not None else ""


def test_every_post_form_comes_back_to_its_own_section(client, session, signed_in_staff):
    idea = make_idea(session, stage="seeking_carrier", carrier_call="Une SCIC")
    _apply(session, idea)
    tree = _tree(client.get(_page(idea)).text)
    forms = tree.css("main section.idea-section form[method=post]")
    anchors = {(f.attributes["action"] or "").partition("#")[2] for f in forms}
    assert anchors == {
        "needs",
        "study",
        "call",
        "carrier",
        "milestones",
        "enterprise",
        "documents",
        "comments",
    }
    for form in forms:
        action = form.attributes["action"] or ""
        if "/milestones/" in action:  # a milestone's own buttons come back to the milestone
            continue
        _path, _sep, anchor = action.partition("#")
        target = tree.css_first(f"#{anchor}")
        # The place landed on is in the section the form was sent from: it stays unfolded.
        assert target is not None and _section_of(target) == _section_of(form), action


# --- a save or a refusal opens where the person was -----------------------------------------


REFUSALS = [
    # (form action under the idea page, what is typed, the section that opens, the field)
    ("study", {"verdict": "peut-être"}, "study", "verdict"),
    ("enterprise", {"jobs_created": "deux"}, "enterprise", "jobs_created"),
    ("milestones", {"label": " "}, "milestones", "milestone-label"),
    ("comments", {"body": " "}, "comments", "comment-body"),
    ("needs", {"need_ids": "douze"}, "needs", "need_ids"),
    ("carrier", {"carrier_name": "x" * 121}, "call", "carrier_name"),
    ("call", {"carrier_call": "x" * 10_001}, "call", "carrier_call"),
]


@pytest.mark.parametrize(("action", "typed", "section", "field"), REFUSALS)
def test_a_refused_form_opens_its_folded_section_with_the_error(
    client, session, signed_in_staff, action, typed, section, field
):
    # At « Détectée » only the linked needs are unfolded.
    idea = make_idea(session, stage="detected")
    before = _tree(client.get(_page(idea)).text)
    if section != "needs":
        assert section not in _opened(before)
    response = submit_form(client, _page(idea), f"{_page(idea)}/{action}", typed)
    assert response.status_code == 422
    tree = _tree(response.text)
    assert section in _opened(tree)
    error = tree.css_first(f"#f-{field}-error")
    assert error is not None and not _folded_around(error)
    assert tree.css_first(f"section#{section} [role=alert]") is not None
    # The current stage's section stays first; the other folded ones stay folded.
    assert _order(tree)[0] == "needs"
    assert _opened(tree) == {"needs", section}


def test_a_refused_document_opens_the_documents_section(client, session, signed_in_staff):
    idea = make_idea(session, stage="studying", verdict="viable", carrier_call="Une SCIC")
    page = client.get(_page(idea)).text
    _method, values, _names = read_form(page, f"{_page(idea)}/documents")
    values.pop("file")  # sent as a file below
    files = {"file": ("vide.pdf", b"", "application/pdf")}
    response = client.post(f"{_page(idea)}/documents", data=values, files=files)
    assert response.status_code == 422
    assert _opened(_tree(response.text)) == {"study", "documents"}


def test_a_save_comes_back_to_its_section_open_with_its_notice(client, session, signed_in_staff):
    idea = make_idea(session, stage="seeking_carrier", verdict="viable", carrier_call="Une SCIC")
    response = submit_form(client, _page(idea), f"{_page(idea)}/study", {"study_notes": "Marché"})
    assert response.headers["location"] == f"{_page(idea)}?saved=study#study"
    tree = _tree(client.get(response.headers["location"]).text)
    assert _opened(tree) == {"call", "study"}
    notice = tree.css_first("section#study [role=status]")
    assert notice is not None and notice.text(strip=True) == "Étude d'opportunité enregistrée."
    # Said once, where the person comes back, not at the top of the page.
    assert len(tree.css("main [role=status].notice-success")) == 1


def test_a_need_search_opens_the_linked_needs_at_any_stage(client, session, signed_in_staff):
    idea = make_idea(session, stage="launched", enterprise_name="Club services 33")
    make_need(session, title="Réparer son vélo près de la gare")
    page = client.get(_page(idea)).text
    search = _tree(page).css_first("form.need-search").html or ""
    found = submit_form(client, _page(idea), _page(idea), {"need_q": "gare velo"}, html=search)
    assert found.status_code == 200
    assert _opened(_tree(found.text)) == {"enterprise", "needs"}


def test_the_sections_rules_without_http():
    places = idea_sections.idea_sections("studying", refused=["comment"], saved="partner_linked")
    assert [p.key for p in places] == [
        "study",
        "needs",
        "call",
        "milestones",
        "enterprise",
        *OTHERS,
    ]
    assert {p.key for p in places if p.open} == {"study", "comments", "partners"}
    places = idea_sections.idea_sections("launching", fields=["verdict"], also_open=["needs"])
    assert {p.key for p in places if p.open} == {"milestones", "study", "needs"}
    assert idea_sections.refused_forms({"form": "move", "errors": {}}) == []
    assert idea_sections.refused_forms(
        {"form": "call", "errors": {"carrier_call": "…"}, "partner_errors": {"link": "…"}}
    ) == ["call", "partners"]


# --- the carrier, its own action ------------------------------------------------------------


@pytest.fixture
def calling(session):  # type: ignore[no-untyped-def]
    return make_idea(
        session, stage="seeking_carrier", verdict="viable", carrier_call="Une structure."
    )


def _select_action(idea: Idea) -> str:
    return f"{_page(idea)}/carrier/application"


def test_the_call_form_saves_only_the_call(client, session, signed_in_staff, calling):
    page = client.get(_page(calling)).text
    _method, _values, names = read_form(page, f"{_page(calling)}/call")
    assert names == {"csrf_token", "carrier_call"}
    call = _tree(page).css_first(f'form[action="{_page(calling)}/call#call"] button')
    assert call.text(strip=True) == "Enregistrer l'appel"
    _method, _values, names = read_form(page, f"{_page(calling)}/carrier")
    assert names == {"csrf_token", "carrier_name"}


def test_retaining_an_application_makes_its_author_the_carrier(
    client, session, signed_in_staff, calling
):
    first_person, first = _apply(session, calling, organisation="Asso Rebond")
    _second_person, second = _apply(session, calling, organisation="", name="Dominique Dupont")
    page = client.get(_page(calling)).text
    buttons = _tree(page).css(f'form[action="{_select_action(calling)}#carrier"] button')
    # Each button names its person for those who hear the page rather than see the table.
    assert [" ".join(b.text().split()) for b in buttons] == [
        f"Retenir ce porteur : {first_person.display_name}",
        "Retenir ce porteur : Dominique Dupont",
    ]
    response = submit_form(
        client, _page(calling), _select_action(calling), press=f"application={first.id}"
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{_page(calling)}?saved=carrier_selected#carrier"
    saved = fresh(session).get(Idea, calling.id)
    assert (saved.carrier_name, saved.carrier_application_id) == ("Asso Rebond", first.id)
    assert fresh(session).get(CarrierApplication, first.id).status == "selected"
    assert fresh(session).get(CarrierApplication, second.id).status == "new"
    # The same path as the review page: audited, and the person is told.
    actions = fresh(session).exec(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["application.review", "idea.carrier"]
    # (The staff's alerts of the two applications aside.)
    [told] = fresh(session).exec(select(Notification).where(Notification.kind == "pipeline")).all()
    assert told.user_id == first_person.id and "retenue" in told.message

    tree = _tree(client.get(response.headers["location"]).text)
    carrier = tree.css_first("section#carrier")
    text = carrier.text(separator=" ", strip=True).replace("\xa0", " ")
    assert "Porteur retenu : Asso Rebond (sur sa candidature)" in text
    assert tree.css_first("section#carrier [role=status]") is not None
    # Nothing more to retain; the name is changed through the application, not typed over.
    assert tree.css_first(f'form[action^="{_select_action(calling)}"]') is None
    assert tree.css_first(f'form[action^="{_page(calling)}/carrier#"]') is None
    link = carrier.css_first("a").attributes["href"]
    assert link == f"{_page(calling)}/applications#application-{first.id}"


@pytest.mark.parametrize("typed", ["abc", "", "0", "99999999999", "{other}"])
def test_a_bad_application_is_refused_in_french_and_nothing_is_written(
    client, session, signed_in_staff, calling, typed
):
    _person, application = _apply(session, calling)
    _other_person, other = _apply(session, make_idea(session, "Autre", stage="seeking_carrier"))
    before = _written(session, calling)
    response = submit_form(
        client,
        _page(calling),
        _select_action(calling),
        {"application": typed.format(other=other.id)},
        press=f"application={application.id}",
    )
    assert response.status_code == 422
    tree = _tree(response.text)
    alert = tree.css_first("section#carrier [role=alert]")
    assert "Choisissez une des candidatures de cette idée." in alert.text()
    assert alert.css_first("a").attributes["href"] == "#applications"
    assert "call" in _opened(tree)
    assert _written(session, calling) == before


def test_the_carrier_is_retained_only_during_the_call(client, session, signed_in_staff, calling):
    _person, application = _apply(session, calling)
    page = client.get(_page(calling)).text  # the page as it was before the idea moved on
    calling.stage = "launching"
    calling.carrier_name = "Une autre structure"
    session.add(calling)
    session.commit()
    before = _written(session, calling)
    response = submit_form(
        client,
        _page(calling),
        _select_action(calling),
        html=page,
        press=f"application={application.id}",
    )
    assert response.status_code == 422
    alert = _tree(response.text).css_first("section#carrier [role=alert]").text()
    assert "Recherche de porteur" in alert
    assert _written(session, calling) == before
    # Now that it is past the call, the page offers no button for it.
    tree = _tree(client.get(_page(calling)).text)
    assert tree.css_first(f'form[action^="{_select_action(calling)}"]') is None


def test_a_second_carrier_is_refused_while_one_is_retained(
    client, session, signed_in_staff, calling
):
    _first_person, first = _apply(session, calling)
    _second_person, second = _apply(session, calling, organisation="Asso Tremplin")
    page = client.get(_page(calling)).text  # two team members have the page open
    applications.select_carrier(session, signed_in_staff, calling.id, first.id)
    before = _written(session, calling)
    response = submit_form(
        client, _page(calling), _select_action(calling), html=page, press=f"application={second.id}"
    )
    assert response.status_code == 422
    assert "déjà retenue" in _tree(response.text).css_first("section#carrier [role=alert]").text()
    assert _written(session, calling) == before
    # The same button sent twice (a double click) is no error.
    again = submit_form(
        client, _page(calling), _select_action(calling), html=page, press=f"application={first.id}"
    )
    assert again.status_code == 303
    assert _written(session, calling) == before


def test_a_typed_carrier_does_not_replace_one_retained_on_an_application(
    client, session, signed_in_staff, calling
):
    _person, application = _apply(session, calling)
    page = client.get(_page(calling)).text  # the typed form, before the application is retained
    applications.select_carrier(session, signed_in_staff, calling.id, application.id)
    before = _written(session, calling)
    response = submit_form(
        client, _page(calling), f"{_page(calling)}/carrier", {"carrier_name": "Autre"}, html=page
    )
    assert response.status_code == 422
    error = _tree(response.text).css_first("#f-carrier_name-error").text()
    assert "changez d'abord le statut de sa candidature" in error
    assert _written(session, calling) == before
    with pytest.raises(Invalid):
        stage_data.save_stage_form(
            session, signed_in_staff, calling.id, "carrier", {"carrier_name": ""}
        )


def test_a_form_without_its_token_is_refused(client, session, signed_in_staff, calling):
    _person, application = _apply(session, calling)
    page = client.get(_page(calling)).text
    before = _written(session, calling)
    response = submit_form(
        client,
        _page(calling),
        _select_action(calling),
        {"csrf_token": "faux"},
        html=page,
        press=f"application={application.id}",
    )
    assert response.status_code == 403
    assert _written(session, calling) == before
