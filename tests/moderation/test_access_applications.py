"""Who may review carrier applications and retain one as the idea's carrier (table-driven), and
proof that a refusal writes nothing: the application keeps its status and notes, the idea its
carrier, and no audit entry or notification is written."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from app.accounts.deps import SESSION_COOKIE
from app.board.models import Notification
from app.core.audit import AuditEntry
from app.pipeline.models import CarrierApplication, Idea
from tests.factories import fresh, login_as, make_user, post_form, submit_form
from tests.moderation.access import ROLES, STAFF_UP, browser_as, matrix_cases
from tests.pipeline.test_public_ideas import make_idea

PAGES = {
    "/moderation/ideas/{idea_id}/applications": STAFF_UP,
    # Every idea's applications still to be decided, where the staff's alerts lead.
    "/moderation/applications": STAFF_UP,
}
# Allowed roles are sent back to the review page (303), anonymous visitors to the login page.
ACTIVE_STAFF_POST = [303, 403, 403, 403, 403, 303, 303]

ROUTES_COVERED = {("GET", path) for path in PAGES} | {
    ("POST", "/moderation/applications/{application_id}"),
    ("POST", "/moderation/ideas/{idea_id}/carrier/application"),
}


def _application(session):  # type: ignore[no-untyped-def]
    idea = make_idea(session, stage="seeking_carrier")
    applicant = make_user(session)
    application = CarrierApplication(
        idea_id=idea.id,
        user_id=applicant.id,
        motivation="Une motivation assez longue pour être acceptée.",
        contact="06 00 00 00 00",
        organisation="Asso Rebond",
    )
    session.add(application)
    session.commit()
    session.refresh(application)
    return idea, application


@pytest.mark.parametrize(("path", "who", "expected"), matrix_cases(PAGES))
def test_application_pages_access(client, session, path, who, expected):
    idea, _application_row = _application(session)
    browser_as(client, session, who)
    response = client.get(path.format(idea_id=idea.id), follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")
    if expected == 403:
        assert "Accès refusé" in response.text
        assert "06 00 00 00 00" not in response.text


@pytest.mark.parametrize(("who", "expected"), list(zip(ROLES, ACTIVE_STAFF_POST, strict=True)))
def test_only_active_staff_review_and_a_refusal_writes_nothing(client, session, who, expected):
    idea, application = _application(session)
    browser_as(client, session, who)
    response = post_form(
        client,
        f"/moderation/applications/{application.id}",
        {"status": "selected", "staff_notes": "Note"},
    )
    assert response.status_code == expected
    row = fresh(session).get(CarrierApplication, application.id)
    saved = session.get(Idea, idea.id)
    audits = session.exec(select(func.count()).select_from(AuditEntry)).one()
    notes = session.exec(select(func.count()).select_from(Notification)).one()
    if expected == 303 and who in ("staff", "admin"):
        assert response.headers["location"].startswith(f"/moderation/ideas/{idea.id}/applications")
        assert (row.status, row.staff_notes) == ("selected", "Note")
        assert saved.carrier_application_id == application.id
        assert audits == 2 and notes == 1
    else:
        if expected == 303:
            assert response.headers["location"].startswith("/account/login")
        assert (row.status, row.staff_notes) == ("new", "")
        assert (saved.carrier_name, saved.carrier_application_id) == (None, None)
        assert audits == 0 and notes == 0


@pytest.mark.parametrize(("who", "expected"), list(zip(ROLES, ACTIVE_STAFF_POST, strict=True)))
def test_only_active_staff_retain_a_carrier_and_a_refusal_writes_nothing(
    client, session, who, expected
):
    """« Retenir ce porteur » on the staff idea page: the form as a team member's page shows
    it, then sent by `who` from the same browser (its form token stays valid)."""
    idea, application = _application(session)
    login_as(client, make_user(session, role="staff"), session)
    page = client.get(f"/moderation/ideas/{idea.id}").text
    client.cookies.delete(SESSION_COOKIE)
    browser_as(client, session, who)
    action = f"/moderation/ideas/{idea.id}/carrier/application"
    response = submit_form(client, "", action, html=page, press=f"application={application.id}")
    assert response.status_code == expected
    row = fresh(session).get(CarrierApplication, application.id)
    saved = fresh(session).get(Idea, idea.id)
    audits = session.exec(select(func.count()).select_from(AuditEntry)).one()
    notes = session.exec(select(func.count()).select_from(Notification)).one()
    if who in ("staff", "admin"):
        assert response.headers["location"] == (
            f"/moderation/ideas/{idea.id}?saved=carrier_selected#carrier"
        )
        assert row.status == "selected" and saved.carrier_application_id == application.id
        assert audits == 2 and notes == 1
    else:
        if expected == 303:
            assert response.headers["location"].startswith("/account/login")
        assert row.status == "new"
        assert (saved.carrier_name, saved.carrier_application_id) == (None, None)
        assert audits == 0 and notes == 0
