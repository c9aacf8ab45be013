"""Who may write the fabrique's public answer on a need (issue 17): staff and admins only
(moderators and residents 403, blocked team members 403), and a refusal writes nothing."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from app.accounts.deps import SESSION_COOKIE
from app.board.models import Need
from app.core.audit import AuditEntry
from app.web.urls import need_url
from tests.factories import fresh, login_as, make_need, make_user, submit_form
from tests.moderation.access import ROLES, STAFF_UP, browser_as, matrix_cases

MATRIX = {"/moderation/needs/{need_id}/answer": STAFF_UP}

ROUTES_COVERED = {
    ("GET", "/moderation/needs/{need_id}/answer"),
    ("POST", "/moderation/needs/{need_id}/answer"),
}

# The staff form sent by each role: a success redirects (303) to the need page, an anonymous
# visitor (303) to the login page.
POST_EXPECTED = [303, 403, 403, 403, 403, 303, 303]


@pytest.mark.parametrize(("path", "who", "expected"), matrix_cases(MATRIX))
def test_answer_page_access(client, session, path, who, expected):
    need = make_need(session)
    browser_as(client, session, who)
    response = client.get(path.format(need_id=need.id), follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")


@pytest.mark.parametrize(("who", "expected"), list(zip(ROLES, POST_EXPECTED, strict=True)))
def test_only_active_staff_answer_and_a_refusal_writes_nothing(client, session, who, expected):
    need = make_need(session)
    # The form as staff see it on the need page, then sent from each role's browser.
    login_as(client, make_user(session, role="staff"), session)
    staff_page = client.get(need_url(need)).text
    browser_as(client, session, who)
    if who == "anonymous":  # signed out, the form token of that browser kept
        client.cookies.delete(SESSION_COOKIE)

    response = submit_form(
        client,
        need_url(need),
        f"/moderation/needs/{need.id}/answer",
        {"answer": "Nous étudions ce besoin."},
        html=staff_page,
    )

    assert response.status_code == expected
    session = fresh(session)
    answered = session.get(Need, need.id).answer_at is not None
    audited = session.exec(select(func.count()).select_from(AuditEntry)).one()
    if who in ("staff", "admin"):
        assert response.headers["location"].startswith(need_url(need))
        assert answered and audited == 1
    else:
        if expected == 303:
            assert response.headers["location"].startswith("/account/login")
        assert not answered and audited == 0
