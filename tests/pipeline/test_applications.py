"""Carrier applications: only while the idea is public and seeking a carrier, once per person
and idea, never from a blocked account, nothing written on a refusal; the staff review, the
selection of the carrier (one per idea) and the applicant's notifications."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import func, select

from app.board import notifications
from app.board.models import Notification
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.pipeline import applications
from app.pipeline.models import CarrierApplication, Idea
from app.pipeline.panels import PANELS, panels_for
from app.web.templating import render_to_string
from tests.factories import (
    form_errors,
    fresh,
    login_as,
    make_user,
    page_text,
    post_form,
)
from tests.pipeline.test_public_ideas import make_idea

GOOD = {
    "motivation": "Notre association d'insertion gère déjà une laverie : ce projet la prolonge.",
    "experience": "Dix ans d'accompagnement de salariés en insertion.",
    "organisation": "Asso Rebond",
    "contact": "07 12 34 56 78, le matin",
}


def _count(session, model=CarrierApplication) -> int:  # type: ignore[no-untyped-def]
    return fresh(session).exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def idea(session):  # type: ignore[no-untyped-def]
    return make_idea(session, stage="seeking_carrier", carrier_call="Une structure d'insertion.")


@pytest.fixture
def resident(client, session):  # type: ignore[no-untyped-def]
    user = make_user(session, display_name="Alex Porteur")
    login_as(client, user, session)
    return user


# --- applying ---------------------------------------------------------------------------------


def test_a_resident_applies_and_sees_the_status_on_the_idea_page(client, session, idea, resident):
    form = client.get(f"/ideas/{idea.id}/apply")
    assert form.status_code == 200
    tree = LexborHTMLParser(form.text)
    for name in ("motivation", "experience", "organisation", "contact"):
        field = tree.css_first(f'[name="{name}"]')
        assert tree.css_first(f'label[for="{field.attributes["id"]}"]') is not None
    response = post_form(client, f"/ideas/{idea.id}/apply", GOOD)
    assert response.status_code == 303
    assert (
        response.headers["location"] == f"/ideas/{idea.id}-{idea.slug}?notice=applied#candidature"
    )
    [row] = fresh(session).exec(select(CarrierApplication)).all()
    assert (row.user_id, row.status, row.organisation, row.contact) == (
        resident.id,
        "new",
        "Asso Rebond",
        "07 12 34 56 78, le matin",
    )
    page = client.get(response.headers["location"])
    mine = LexborHTMLParser(page.text).css_first("#candidature")
    assert "Reçue" in mine.text()
    assert "Votre candidature est envoyée" in page_text(page.text)
    # The call stays, the button gives way to the status.
    assert "Je veux porter ce projet" not in page.text


def test_a_second_application_is_refused_with_a_link_to_the_first(client, session, idea, resident):
    post_form(client, f"/ideas/{idea.id}/apply", GOOD)
    again = post_form(client, f"/ideas/{idea.id}/apply", {**GOOD, "organisation": "Autre"})
    assert again.status_code == 409
    assert "Vous avez déjà proposé votre candidature" in page_text(again.text)
    assert LexborHTMLParser(again.text).css_first(
        f'a[href="/ideas/{idea.id}-{idea.slug}#candidature"]'
    )
    assert _count(session) == 1
    # The form page says so too, without a form.
    page = client.get(f"/ideas/{idea.id}/apply")
    assert "Vous avez déjà proposé votre candidature" in page_text(page.text)
    assert LexborHTMLParser(page.text).css_first('textarea[name="motivation"]') is None


def test_the_service_refuses_a_second_application_too(session, idea):
    user = make_user(session)
    applications.apply(
        session, user, idea.id, applications.ApplicationInput(**GOOD), rate_limits=False
    )
    with pytest.raises(applications.AlreadyApplied):
        applications.apply(
            session, user, idea.id, applications.ApplicationInput(**GOOD), rate_limits=False
        )
    assert _count(session) == 1


@pytest.mark.parametrize("stage", ["detected", "studying", "launching", "launched", "abandoned"])
def test_applications_only_during_seeking_carrier(client, session, resident, stage):
    idea = make_idea(session, stage=stage)
    page = client.get(f"/ideas/{idea.id}/apply")
    assert page.status_code == 409
    assert "ne cherche pas de porteur" in page_text(page.text)
    response = post_form(client, f"/ideas/{idea.id}/apply", GOOD)
    assert response.status_code == 409
    assert "ne cherche pas de porteur" in page_text(response.text)
    assert _count(session) == 0


def test_a_private_idea_takes_no_application(client, session, resident):
    idea = make_idea(session, stage="seeking_carrier", is_public=False)
    assert client.get(f"/ideas/{idea.id}/apply").status_code == 404
    assert post_form(client, f"/ideas/{idea.id}/apply", GOOD).status_code == 404
    assert post_form(client, "/ideas/99999/apply", GOOD).status_code == 404
    assert _count(session) == 0


def test_a_blocked_account_is_refused_with_the_reason(client, session, idea):
    user = make_user(session)
    user.blocked_at = utcnow()
    user.blocked_reason = "Propos insultants"
    session.add(user)
    session.commit()
    login_as(client, user, session)
    page = client.get(f"/ideas/{idea.id}/apply")
    assert page.status_code == 403
    assert "Propos insultants" in page_text(page.text)
    response = post_form(client, f"/ideas/{idea.id}/apply", GOOD)
    assert response.status_code == 403
    assert "Propos insultants" in page_text(response.text)
    assert _count(session) == 0


def test_visitors_are_sent_to_the_login_page(client, session, idea):
    response = client.get(f"/ideas/{idea.id}/apply", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login?next=")
    assert post_form(client, f"/ideas/{idea.id}/apply", GOOD).status_code in (303, 403)
    assert _count(session) == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"motivation": "Trop court"}, "motivation", "au moins 30 caractères"),
        ({"motivation": "x" * 5001}, "motivation", "au plus 5"),
        ({"experience": "x" * 5001}, "experience", "au plus 5"),
        ({"organisation": "x" * 161}, "organisation", "au plus 160"),
        ({"contact": "   "}, "contact", "comment la fabrique peut vous joindre"),
        ({"contact": "x" * 301}, "contact", "au plus 300"),
    ],
)
def test_bad_input_is_shown_next_to_the_field(
    client, session, idea, resident, changes, field, message
):
    response = post_form(client, f"/ideas/{idea.id}/apply", {**GOOD, **changes})
    assert response.status_code == 422
    tree = LexborHTMLParser(response.text)
    error = tree.css_first(f"#f-{field}-error")
    assert error is not None and message in error.text()
    assert f"f-{field}-error" in tree.css_first(f"#f-{field}").attributes["aria-describedby"]
    # What was typed is kept.
    kept = {k: v for k, v in GOOD.items() if k not in changes}
    for name, value in kept.items():
        node = tree.css_first(f'[name="{name}"]')
        assert (node.attributes.get("value") or node.text()) == value
    assert _count(session) == 0


def test_the_honeypot_and_a_too_fast_form_write_nothing(client, session, idea, resident):
    trapped = post_form(client, f"/ideas/{idea.id}/apply", {**GOOD, "website": "http://spam"})
    assert trapped.status_code == 422
    from tests.factories import guard_fields

    fast = post_form(
        client, f"/ideas/{idea.id}/apply", {**GOOD, **guard_fields(client, seconds_ago=0)}
    )
    assert fast.status_code == 422
    assert "trop rapide" in page_text(fast.text)
    assert form_errors(fast.text) == []
    assert _count(session) == 0


def test_applications_are_rate_limited(session, idea):
    from app.web.errors import TooManyRequests

    ideas = [
        make_idea(session, f"Idée à porter numéro {n}", stage="seeking_carrier") for n in range(6)
    ]
    user = make_user(session)
    for target in ideas[:5]:
        applications.apply(
            session, user, target.id, applications.ApplicationInput(**GOOD), ip="1.2.3.4"
        )
    with pytest.raises(TooManyRequests):
        applications.apply(
            session, user, ideas[5].id, applications.ApplicationInput(**GOOD), ip="1.2.3.4"
        )
    assert _count(session) == 5


# --- staff review -----------------------------------------------------------------------------


def _apply(session, idea, *, organisation="Asso Rebond", name=None):  # type: ignore[no-untyped-def]
    user = make_user(session, display_name=name)
    data = applications.ApplicationInput(**{**GOOD, "organisation": organisation})
    return user, applications.apply(session, user, idea.id, data, rate_limits=False)


def test_staff_see_the_applications_of_an_idea(client, session, idea, signed_in_staff):
    _apply(session, idea, name="Alex Porteur")
    response = client.get(f"/moderation/ideas/{idea.id}/applications")
    assert response.status_code == 200
    text = page_text(response.text)
    assert "Alex Porteur" in text and "Asso Rebond" in text and "07 12 34 56 78" in text
    assert GOOD["motivation"] in text
    assert client.get("/moderation/ideas/99999/applications").status_code == 404


def test_a_status_change_is_audited_and_told_to_the_applicant(
    client, session, idea, signed_in_staff, mailbox
):
    applicant, application = _apply(session, idea)
    notifications.save_preferences(session, applicant, {"pipeline": "immediate"})
    response = post_form(
        client,
        f"/moderation/applications/{application.id}",
        {"status": "shortlisted", "staff_notes": "À rencontrer vite, note privée"},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(
        f"/moderation/ideas/{idea.id}/applications?done=saved"
    )
    row = fresh(session).get(CarrierApplication, application.id)
    assert (row.status, row.staff_notes) == ("shortlisted", "À rencontrer vite, note privée")
    [entry] = session.exec(
        select(AuditEntry).where(AuditEntry.action == "application.review")
    ).all()
    assert (entry.actor_id, entry.target_id) == (signed_in_staff.id, application.id)
    assert entry.before["status"] == "new" and entry.after["status"] == "shortlisted"
    [note] = session.exec(select(Notification).where(Notification.user_id == applicant.id)).all()
    assert (note.kind, note.need_id) == ("pipeline", None)
    assert "présélectionnée" in note.message and idea.title in note.message
    [mail] = mailbox.to(applicant.email)
    assert mail["Subject"] == "Du nouveau de la fabrique à initiatives"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "présélectionnée" in body
    assert "note privée" not in body
    assert "plus visible" not in body
    # In the applicant's list of notifications, and on the idea page — never the staff notes.
    login_as(client, applicant, session)
    listed = page_text(client.get("/account/notifications").text)
    assert "présélectionnée" in listed and "plus visible" not in listed
    page = client.get(f"/ideas/{idea.id}-{idea.slug}")
    assert "Présélectionnée" in page_text(page.text)
    assert "note privée" not in page.text


def test_notes_alone_tell_nobody(client, session, idea, signed_in_staff):
    _applicant, application = _apply(session, idea)
    told = _count(session, Notification)  # the staff's alert of the new application
    post_form(
        client,
        f"/moderation/applications/{application.id}",
        {"status": "new", "staff_notes": "RAS"},
    )
    assert fresh(session).get(CarrierApplication, application.id).staff_notes == "RAS"
    assert _count(session, Notification) == told


def test_selecting_records_the_carrier_and_only_one_is_selected(
    client, session, idea, signed_in_staff
):
    first_user, first = _apply(session, idea, organisation="Asso Rebond")
    second_user, second = _apply(session, idea, organisation="", name="Dominique Dupont")
    url = "/moderation/applications/{}"
    assert post_form(client, url.format(first.id), {"status": "selected"}).status_code == 303
    saved = fresh(session).get(Idea, idea.id)
    assert (saved.carrier_name, saved.carrier_application_id) == ("Asso Rebond", first.id)
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "idea.carrier")).one()

    # A second selection is refused while the first stands: nothing changes, nobody is told.
    refused = post_form(client, url.format(second.id), {"status": "selected"})
    assert refused.status_code == 422
    assert "déjà retenue" in page_text(refused.text)
    assert fresh(session).get(CarrierApplication, second.id).status == "new"
    assert fresh(session).get(Idea, idea.id).carrier_application_id == first.id
    assert (
        session.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == second_user.id)
        ).one()
        == 0
    )

    # Declining the first frees the place; the applicant's display name is the carrier then.
    assert post_form(client, url.format(first.id), {"status": "declined"}).status_code == 303
    assert fresh(session).get(Idea, idea.id).carrier_name is None
    assert post_form(client, url.format(second.id), {"status": "selected"}).status_code == 303
    saved = fresh(session).get(Idea, idea.id)
    assert (saved.carrier_name, saved.carrier_application_id) == ("Dominique Dupont", second.id)
    messages = [
        n.message
        for n in session.exec(select(Notification).where(Notification.user_id == second_user.id))
    ]
    assert any("retenue" in m and "porteur" in m for m in messages)
    declined = [
        n.message
        for n in session.exec(select(Notification).where(Notification.user_id == first_user.id))
    ]
    assert any("n'a pas été retenue" in m for m in declined)


def test_the_carrier_is_chosen_only_while_seeking_one(client, session, idea, signed_in_staff):
    _user, application = _apply(session, idea)
    idea.stage = "launching"
    session.add(idea)
    session.commit()
    response = post_form(
        client, f"/moderation/applications/{application.id}", {"status": "selected"}
    )
    assert response.status_code == 422
    assert "Recherche de porteur" in page_text(response.text)
    assert fresh(session).get(CarrierApplication, application.id).status == "new"
    assert fresh(session).get(Idea, idea.id).carrier_name is None
    # Other statuses still can change.
    assert (
        post_form(
            client, f"/moderation/applications/{application.id}", {"status": "met"}
        ).status_code
        == 303
    )


def test_bad_review_input_is_422_and_writes_nothing(client, session, idea, signed_in_staff):
    _user, application = _apply(session, idea)
    response = post_form(
        client, f"/moderation/applications/{application.id}", {"status": "adopted"}
    )
    assert response.status_code == 422
    assert f"status-{application.id}-error" in response.text
    assert fresh(session).get(CarrierApplication, application.id).status == "new"
    assert _count(session, AuditEntry) == 0
    assert post_form(client, "/moderation/applications/99999", {"status": "met"}).status_code == 404


def test_the_service_checks_who_reviews(session, idea):
    from app.web.errors import Forbidden

    _user, application = _apply(session, idea)
    for who in (None, make_user(session), make_user(session, role="moderator")):
        with pytest.raises(Forbidden):
            applications.review_application(
                session, who, application.id, status="declined", staff_notes=""
            )
    assert fresh(session).get(CarrierApplication, application.id).status == "new"


def test_the_staff_idea_page_panel(session, idea):
    _apply(session, idea, name="Alex Porteur")
    staff = make_user(session, role="staff")
    assert applications.applications_panel in PANELS
    context = panels_for(session, idea, staff)
    assert [row.name for row in context["carrier_applications"]] == ["Alex Porteur"]
    html = render_to_string(
        "pipeline/_applications.html", {**context, "idea": idea, "csrf_token": ""}
    )
    tree = LexborHTMLParser(html)
    assert tree.css_first("caption").text(strip=True) == "1 candidature"
    assert tree.css_first("tbody th").text(strip=True) == "Alex Porteur"
    assert tree.css_first(f'a[href="/moderation/ideas/{idea.id}/applications"]') is not None
