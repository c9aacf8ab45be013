"""Carriers and entrepreneurs (issue 17 item 7): the register of would-be carriers, the staff
« Proposer cette idée », and the incubator route (« Je porte déjà un projet ») — through the
pages' own forms, with who may write what."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import func, select

from app.board import notifications
from app.board.models import Notification
from app.core.audit import AuditEntry
from app.pipeline import carriers, incubator
from app.pipeline.models import (
    CarrierInvitation,
    CarrierProfile,
    CarrierProposal,
    Idea,
)
from app.web.errors import Forbidden
from tests.factories import (
    form_errors,
    fresh,
    login_as,
    make_territory,
    make_user,
    page_text,
    post_form,
    submit_form,
)
from tests.pipeline.test_public_ideas import make_idea

PRESENTATION = "Ancienne gérante d'une épicerie, je veux créer une activité utile à Bègles."
DESCRIPTION = (
    "Une recyclerie de jouets à Pessac : collecte, remise en état par des salariés en "
    "insertion, vente à petits prix. Local trouvé, il manque le financement."
)


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return fresh(session).exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def territory(session):  # type: ignore[no-untyped-def]
    return make_territory(session, "begles", "Bègles")


@pytest.fixture
def resident(client, session):  # type: ignore[no-untyped-def]
    user = make_user(session, display_name="Inès Volontaire")
    login_as(client, user, session)
    return user


def _register(session, user, territory=None, availability="part_time"):  # type: ignore[no-untyped-def]
    return carriers.save_profile(
        session,
        user,
        carriers.ProfileInput(
            skills="Gestion de boutique",
            domains=["management"],
            territory=territory.slug if territory else "",
            availability=availability,
            presentation=PRESENTATION,
        ),
    )


# --- the register: the person's own profile ----------------------------------------------------


def test_a_resident_registers_edits_and_withdraws(client, session, resident, territory):
    page = client.get("/account/carrier")
    assert page.status_code == 200
    assert "Seule l'équipe de la fabrique le lit" in page_text(page.text)
    tree = LexborHTMLParser(page.text)
    assert tree.css_first("fieldset legend") is not None
    for name in ("skills", "territory", "availability", "presentation"):
        node = tree.css_first(f'[name="{name}"]')
        assert tree.css_first(f'label[for="{node.attributes["id"]}"]') is not None
    response = submit_form(
        client,
        "/account/carrier",
        "/account/carrier",
        {
            "domains": "social",
            "skills": "Accompagnement de publics éloignés de l'emploi",
            "territory": "begles",
            "availability": "part_time",
            "presentation": PRESENTATION,
        },
    )
    assert response.status_code == 303
    [profile] = fresh(session).exec(select(CarrierProfile)).all()
    assert (profile.user_id, profile.domains, profile.territory_id, profile.availability) == (
        resident.id,
        "social",
        territory.id,
        "part_time",
    )
    # Editing: the form comes back filled in; one profile per person.
    page = client.get(response.headers["location"])
    assert "Votre profil de porteur est enregistré" in page_text(page.text)
    response = submit_form(
        client, "/account/carrier", "/account/carrier", {"availability": "full_time"}
    )
    assert response.status_code == 303
    assert _count(session, CarrierProfile) == 1
    profile = fresh(session).exec(select(CarrierProfile)).one()
    assert profile.availability == "full_time" and profile.territory_id == territory.id
    # Withdrawing deletes it.
    response = submit_form(client, "/account/carrier", "/account/carrier/withdraw")
    assert response.status_code == 303
    assert _count(session, CarrierProfile) == 0


def test_bad_profile_input_is_explained_and_writes_nothing(client, session, resident):
    response = submit_form(
        client,
        "/account/carrier",
        "/account/carrier",
        {"skills": "", "presentation": "Trop court"},
    )
    assert response.status_code == 422
    errors = form_errors(response.text)
    assert "Décrivez vos compétences ou cochez au moins un domaine." in errors
    assert any("au moins 20 caractères" in e for e in errors)
    assert 'value="Trop court"' not in response.text  # a textarea keeps it as its content
    assert "Trop court" in response.text
    assert _count(session, CarrierProfile) == 0


def test_an_unknown_territory_or_availability_is_refused(session, territory):
    user = make_user(session)
    with pytest.raises(carriers.Invalid) as caught:
        carriers.save_profile(
            session,
            user,
            carriers.ProfileInput(
                domains=["nope"], territory="atlantide", availability="jamais",
                presentation=PRESENTATION,
            ),
        )  # fmt: skip
    assert set(caught.value.errors) == {"domains", "territory", "availability"}
    assert _count(session, CarrierProfile) == 0


def test_visitors_are_sent_to_log_in_and_each_person_edits_only_their_own(
    client, session, territory
):
    first = client.get("/account/carrier", follow_redirects=False)
    assert first.status_code in (302, 303) and "/account/login" in first.headers["location"]
    assert post_form(client, "/account/carrier", {"presentation": PRESENTATION}).status_code in (
        302,
        303,
        401,
        403,
    )
    assert _count(session, CarrierProfile) == 0
    # Another person's profile is out of reach: the form edits the signed-in person's only.
    other = make_user(session)
    _register(session, other, territory)
    me = make_user(session)
    login_as(client, me, session)
    page = client.get("/account/carrier")
    assert PRESENTATION not in page.text
    assert LexborHTMLParser(page.text).css_first('form[action="/account/carrier/withdraw"]') is None
    # Sent anyway (a forged request): it withdraws the sender's own profile, which is none.
    assert post_form(client, "/account/carrier/withdraw").status_code == 303
    assert _count(session, CarrierProfile) == 1
    assert fresh(session).exec(select(CarrierProfile)).one().user_id == other.id


def test_a_blocked_or_unconfirmed_account_cannot_register(session):
    unconfirmed = make_user(session, verified=False)
    with pytest.raises(Forbidden):
        _register(session, unconfirmed)
    assert _count(session, CarrierProfile) == 0


# --- staff: the register and « Proposer cette idée » ---------------------------------------------


def test_the_register_is_for_staff_only(client, session, resident):
    assert client.get("/moderation/carriers").status_code == 403
    assert client.get("/moderation/carriers/projects").status_code == 403
    moderator = make_user(session, role="moderator")
    login_as(client, moderator, session)
    assert client.get("/moderation/carriers").status_code == 403
    with pytest.raises(Forbidden):
        carriers.list_profiles(session, moderator)


def test_staff_filter_the_register_by_territory_and_availability(
    client, session, territory, signed_in_staff
):
    elsewhere = make_territory(session, "pessac", "Pessac")
    _register(session, make_user(session, display_name="Basile Bègles"), territory, "part_time")
    _register(session, make_user(session, display_name="Paula Pessac"), elsewhere, "full_time")
    page = client.get("/moderation/carriers")
    assert page.status_code == 200
    names = [n.text(strip=True) for n in LexborHTMLParser(page.text).css("article h2")]
    assert sorted(names) == ["Basile Bègles", "Paula Pessac"]
    response = submit_form(
        client, "/moderation/carriers", "/moderation/carriers", {"territory": "pessac"}
    )
    names = [n.text(strip=True) for n in LexborHTMLParser(response.text).css("article h2")]
    assert names == ["Paula Pessac"]
    response = submit_form(
        client, "/moderation/carriers", "/moderation/carriers", {"availability": "part_time"}
    )
    names = [n.text(strip=True) for n in LexborHTMLParser(response.text).css("article h2")]
    assert names == ["Basile Bègles"]
    bad = client.get("/moderation/carriers?availability=jamais")
    assert bad.status_code == 400
    assert "Choisissez une disponibilité dans la liste." in form_errors(bad.text)


def test_staff_propose_an_idea_and_the_person_is_told(
    client, session, territory, signed_in_staff, mailbox
):
    idea = make_idea(session, stage="seeking_carrier", carrier_call="Une gérante.")
    make_idea(session, "Une idée à l'étude", stage="studying")
    person = make_user(session, display_name="Inès Volontaire")
    notifications.save_preferences(session, person, {"pipeline": "immediate"})
    profile = _register(session, person, territory)
    page = client.get("/moderation/carriers")
    options = [
        o.text(strip=True)
        for o in LexborHTMLParser(page.text).css(f"#profile-{profile.id} select option")
    ]
    assert options == [idea.title]  # only public ideas seeking a carrier
    action = f"/moderation/carriers/{profile.id}/invite"
    response = submit_form(
        client, "/moderation/carriers", action, {"message": "Votre expérience de gérante."}
    )
    assert response.status_code == 303
    [invitation] = fresh(session).exec(select(CarrierInvitation)).all()
    assert (invitation.idea_id, invitation.user_id, invitation.invited_by_id) == (
        idea.id,
        person.id,
        signed_in_staff.id,
    )
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "carrier.invite")).all()
    assert entry.actor_id == signed_in_staff.id
    [note] = session.exec(select(Notification).where(Notification.user_id == person.id)).all()
    assert note.kind == "pipeline" and idea.title in note.message
    [mail] = mailbox.to(person.email)
    assert idea.title in mail.get_body(preferencelist=("plain",)).get_content()
    # Twice: refused next to the field, nothing more written.
    again = submit_form(client, "/moderation/carriers", action)
    assert again.status_code == 422
    assert "Cette idée a déjà été proposée à cette personne." in form_errors(again.text)
    assert _count(session, CarrierInvitation) == 1
    # The person sees it on their page, with the way to apply.
    login_as(client, person, session)
    mine = client.get("/account/carrier")
    assert LexborHTMLParser(mine.text).css_first(f'a[href="/ideas/{idea.id}/apply"]') is not None
    assert "Votre expérience de gérante." in page_text(mine.text)


def test_an_idea_not_seeking_a_carrier_cannot_be_proposed(session, staff_user, territory):
    idea = make_idea(session, stage="studying")
    profile = _register(session, make_user(session), territory)
    with pytest.raises(carriers.Invalid) as caught:
        carriers.invite(session, staff_user, profile.id, idea.id, "")
    assert "idea" in caught.value.errors
    resident = make_user(session)
    with pytest.raises(Forbidden):
        carriers.invite(session, resident, profile.id, idea.id, "")
    assert _count(session, CarrierInvitation) == 0


# --- the incubator route --------------------------------------------------------------------------


def _propose(client):  # type: ignore[no-untyped-def]
    return submit_form(
        client,
        "/account/project",
        "/account/project",
        {
            "title": "Recyclerie de jouets",
            "description": DESCRIPTION,
            "territory": "begles",
            "organisation": "Asso Ludique",
            "contact": "06 01 02 03 04",
        },
    )


def test_a_person_brings_a_project_and_staff_turn_it_into_an_idea(
    client, session, territory, staff_user
):
    person = make_user(session, display_name="Yann Entrepreneur")
    login_as(client, person, session)
    page = client.get("/account/project")
    assert "Confidentialité" in page_text(page.text)
    response = _propose(client)
    assert response.status_code == 303
    [proposal] = fresh(session).exec(select(CarrierProposal)).all()
    assert (proposal.user_id, proposal.status, proposal.territory_id) == (
        person.id,
        "new",
        territory.id,
    )
    assert "En attente d'examen" in page_text(client.get("/account/project").text)
    # Staff review it and accept it.
    login_as(client, staff_user, session)
    listing = client.get("/moderation/carriers/projects")
    assert "Recyclerie de jouets" in page_text(listing.text)
    action = f"/moderation/carriers/projects/{proposal.id}/accept"
    response = submit_form(client, "/moderation/carriers/projects", action)
    assert response.status_code == 303
    idea = fresh(session).exec(select(Idea)).one()
    assert (idea.origin, idea.title, idea.is_public, idea.territory_id) == (
        "carrier",
        "Recyclerie de jouets",
        False,
        territory.id,
    )
    assert response.headers["location"].startswith(f"/moderation/ideas/{idea.id}")
    proposal = fresh(session).get(CarrierProposal, proposal.id)
    assert (proposal.status, proposal.idea_id) == ("accepted", idea.id)
    staff_page = client.get(f"/moderation/ideas/{idea.id}")
    origin = LexborHTMLParser(staff_page.text).css_first("#carrier-origin")
    assert origin is not None and "Yann Entrepreneur" in origin.text()
    assert "Porteur ou entrepreneur (incubateur)" in page_text(staff_page.text)
    [note] = session.exec(select(Notification).where(Notification.user_id == person.id)).all()
    assert "Recyclerie de jouets" in note.message
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "proposal.accept")).one()
    # Examined once: accepting again changes nothing.
    again = post_form(client, action)
    assert again.status_code == 422
    assert _count(session, Idea) == 1


def test_staff_decline_with_a_message_the_person_reads(client, session, territory, staff_user):
    person = make_user(session)
    login_as(client, person, session)
    _propose(client)
    proposal = fresh(session).exec(select(CarrierProposal)).one()
    login_as(client, staff_user, session)
    action = f"/moderation/carriers/projects/{proposal.id}/decline"
    short = submit_form(client, "/moderation/carriers/projects", action, {"staff_note": "Non"})
    assert short.status_code == 422
    assert any("au moins 10 caractères" in e for e in form_errors(short.text))
    assert fresh(session).get(CarrierProposal, proposal.id).status == "new"
    response = submit_form(
        client,
        "/moderation/carriers/projects",
        action,
        {"staff_note": "Voyez plutôt l'incubateur de la CRESS, mieux placé pour ce projet."},
    )
    assert response.status_code == 303
    assert fresh(session).get(CarrierProposal, proposal.id).status == "declined"
    login_as(client, person, session)
    mine = page_text(client.get("/account/project").text)
    assert "Non retenu" in mine and "incubateur de la CRESS" in mine


def test_bad_project_input_writes_nothing_and_residents_cannot_review(client, session, territory):
    person = make_user(session)
    login_as(client, person, session)
    response = submit_form(
        client, "/account/project", "/account/project", {"title": "Ab", "contact": ""}
    )
    assert response.status_code == 422
    errors = form_errors(response.text)
    assert any("Le nom du projet" in e for e in errors)
    assert "Indiquez comment la fabrique peut vous joindre (téléphone, e-mail…)." in errors
    assert _count(session, CarrierProposal) == 0
    _propose(client)
    proposal = fresh(session).exec(select(CarrierProposal)).one()
    # The person who proposed cannot accept their own project, nor can anyone but staff.
    assert (
        post_form(client, f"/moderation/carriers/projects/{proposal.id}/accept").status_code == 403
    )
    with pytest.raises(Forbidden):
        incubator.accept_proposal(session, person, proposal.id)
    assert fresh(session).get(CarrierProposal, proposal.id).status == "new"
    assert _count(session, Idea) == 0


def test_the_person_s_data_export_and_erasure_include_the_register(session, territory):
    from app.pipeline.account_data import carrier_applications

    person = make_user(session)
    _register(session, person, territory)
    exported = carrier_applications(session, person.id)
    assert [row["presentation"] for row in exported["carrier_profile"]] == [PRESENTATION]
