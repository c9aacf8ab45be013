"""Alerts for the team (issue 17, item 4): a need or comment waiting for moderation and a report
reach the moderators, a carrier application the staff, in the app and by e-mail (at once or in
the daily digest, each person's choice); the header's « Modération » link counts what waits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.board import team_alerts
from app.board.models import Need, Notification, NotificationKind
from app.core.settings import ModerationMode, Settings
from app.mail.models import OutboxMessage
from app.main import create_app
from tests.factories import (
    fresh,
    login_as,
    make_idea,
    make_need,
    make_user,
    submit_form,
)
from tests.factories import (
    page_text as _page_text,
)

TEAM = NotificationKind.team.value
APPLICATIONS = NotificationKind.applications.value


@pytest.fixture
def team(session: Session) -> dict[str, User]:
    return {
        role: make_user(session, role=role, display_name=f"Équipe {role}")
        for role in ("moderator", "staff", "admin")
    }


@pytest.fixture
def pre_moderated(settings: Settings) -> Iterator[TestClient]:
    application = create_app(settings.model_copy(update={"moderation_mode": ModerationMode.pre}))
    try:
        with TestClient(application, base_url="http://testserver") as browser:
            yield browser
    finally:
        application.state.engine.dispose()


def alerts(session: Session, kind: str = TEAM) -> dict[int, list[Notification]]:
    rows = fresh(session).exec(select(Notification).where(Notification.kind == kind)).all()
    found: dict[int, list[Notification]] = {}
    for row in rows:
        found.setdefault(row.user_id, []).append(row)
    return found


def page_text(html: str) -> str:
    """The main text, French typography's no-break spaces read as plain spaces."""
    return _page_text(html).replace("\u202f", " ").replace("\u00a0", " ")


def mails_to(session: Session, user: User) -> list[OutboxMessage]:
    return list(
        fresh(session).exec(select(OutboxMessage).where(OutboxMessage.to_address == user.email))
    )


def header_count(html: str) -> str | None:
    link = LexborHTMLParser(html).css_first('header a[href="/moderation/"]')
    assert link is not None
    badge = link.css_first(".badge-count")
    return badge.text(strip=True) if badge is not None else None


def test_a_need_held_for_moderation_alerts_the_whole_team_and_the_header_counts_it(
    pre_moderated: TestClient, session: Session, team: dict[str, User]
) -> None:
    resident, other = make_user(session), make_user(session)
    login_as(pre_moderated, resident, session)
    posted = submit_form(
        pre_moderated,
        "/needs/new",
        "/needs/new",
        {"title": "Un atelier de réparation de vélos", "body": "Pour les jeunes du quartier."},
    )
    assert posted.status_code == 303, posted.text
    need_id = int(posted.headers["location"].split("/needs/")[1].split("-")[0])

    found = alerts(session)
    assert set(found) == {u.id for u in team.values()}  # not the author, not another resident
    assert other.id not in found
    assert all(rows[0].need_id == need_id for rows in found.values())

    # The moderator reads it on their notifications page, with a link to the item.
    login_as(pre_moderated, team["moderator"], session)
    page = pre_moderated.get("/account/notifications")
    assert "Un besoin attend la modération : « Un atelier de réparation de vélos »" in page_text(
        page.text
    )
    assert LexborHTMLParser(page.text).css_first(f'main a[href="/moderation/needs/{need_id}"]')
    # The header's « Modération » link counts what waits, for the team only.
    assert header_count(page.text).startswith("1")  # type: ignore[union-attr]
    login_as(pre_moderated, other, session)
    assert 'href="/moderation/"' not in pre_moderated.get("/").text


def test_a_comment_held_for_moderation_alerts_the_moderators(
    pre_moderated: TestClient, session: Session, team: dict[str, User]
) -> None:
    need = make_need(session)
    resident = make_user(session)
    login_as(pre_moderated, resident, session)
    sent = submit_form(
        pre_moderated,
        f"/needs/{need.id}",
        f"/needs/{need.id}/comments",
        {"body": "Je connais un local libre rue des Lilas."},
    )
    assert sent.status_code == 303, sent.text
    found = alerts(session)
    assert set(found) == {u.id for u in team.values()}
    [row] = found[team["moderator"].id]
    assert row.need_id == need.id and row.comment_id is not None
    assert "Un commentaire attend la modération sur" in row.message


def test_a_report_alerts_the_moderators_but_not_the_reporter(
    client: TestClient, session: Session, team: dict[str, User]
) -> None:
    author = make_user(session)
    need = make_need(session, author=author, title="Une épicerie solidaire à Cenon")
    login_as(client, team["moderator"], session)  # a moderator reporting is not told of it
    shown = client.get(f"/report?kind=need&id={need.id}")
    assert shown.status_code == 200
    sent = submit_form(
        client, f"/report?kind=need&id={need.id}", "/report", {"reason": "spam"}, html=shown.text
    )
    assert sent.status_code == 303, sent.text
    found = alerts(session)
    assert set(found) == {team["staff"].id, team["admin"].id}
    message = found[team["staff"].id][0].message.replace("\u00a0", " ")
    assert message == "Le besoin « Une épicerie solidaire à Cenon » a été signalé"


def test_a_carrier_application_alerts_the_staff_and_leads_to_the_waiting_list(
    client: TestClient, session: Session, team: dict[str, User]
) -> None:
    idea = make_idea(
        session,
        "Une laverie solidaire",
        stage="seeking_carrier",
        is_public=True,
        carrier_call="Une structure d'insertion.",
    )
    applicant = make_user(session, display_name="Alex Porteur")
    login_as(client, applicant, session)
    sent = submit_form(
        client,
        f"/ideas/{idea.id}/apply",
        f"/ideas/{idea.id}/apply",
        {
            "motivation": "Notre association gère déjà une laverie : ce projet la prolonge.",
            "experience": "Dix ans d'accompagnement.",
            "contact": "07 12 34 56 78",
        },
    )
    assert sent.status_code == 303, sent.text
    assert set(alerts(session, APPLICATIONS)) == {team["staff"].id, team["admin"].id}
    assert not alerts(session, TEAM)  # moderators are not told of applications

    login_as(client, team["staff"], session)
    page = client.get("/account/notifications")
    link = LexborHTMLParser(page.text).css_first('main a[href="/moderation/applications"]')
    assert link is not None
    waiting = client.get("/moderation/applications")
    assert waiting.status_code == 200
    text = page_text(waiting.text)
    assert "Une laverie solidaire" in text and "Alex Porteur" in text
    # A moderator may not open the staff's list.
    login_as(client, team["moderator"], session)
    assert client.get("/moderation/applications", follow_redirects=False).status_code == 403


def test_each_person_chooses_how_alerts_arrive_and_residents_are_not_offered_them(
    client: TestClient, session: Session, team: dict[str, User]
) -> None:
    resident = make_user(session)
    login_as(client, resident, session)
    names = {
        node.attributes.get("name")
        for node in LexborHTMLParser(client.get("/account/notifications/settings").text).css(
            "main select"
        )
    }
    assert TEAM not in names and APPLICATIONS not in names
    login_as(client, team["moderator"], session)
    page = client.get("/account/notifications/settings").text
    names = {n.attributes.get("name") for n in LexborHTMLParser(page).css("main select")}
    assert TEAM in names and APPLICATIONS not in names

    # Without a choice: the digest, no e-mail at once.
    author = make_user(session)
    need = make_need(session, author=author, status="pending")
    team_alerts.need_waiting(session, need, author)
    session.commit()
    assert len(alerts(session)[team["moderator"].id]) == 1
    assert not mails_to(session, team["moderator"])

    # « Un e-mail à chaque fois », chosen on the form: the next alert is mailed at once.
    saved = submit_form(
        client,
        "/account/notifications/settings",
        "/account/notifications/settings",
        {TEAM: "immediate"},
    )
    assert saved.status_code == 303, saved.text
    team_alerts.need_waiting(session, fresh(session).get(Need, need.id), author)  # type: ignore[arg-type]
    session.commit()
    assert len(mails_to(session, team["moderator"])) == 1
    assert not mails_to(session, team["staff"])  # still the digest for the others


def test_someone_who_left_the_team_no_longer_sees_what_an_alert_named(
    client: TestClient, session: Session, team: dict[str, User]
) -> None:
    author = make_user(session)
    need = make_need(session, author=author, status="pending", title="Un titre à ne pas montrer")
    team_alerts.need_waiting(session, need, author)
    session.commit()
    former = fresh(session).get(User, team["moderator"].id)
    assert former is not None
    former.role = Role.resident.value
    session.add(former)
    session.commit()
    login_as(client, former, session)
    page = page_text(client.get("/account/notifications").text)
    assert "Un titre à ne pas montrer" not in page
    assert "Alerte réservée à l'équipe de la fabrique" in page
