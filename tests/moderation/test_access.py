"""Who may open each /moderation route (table-driven; grows with every route of the area)."""

from __future__ import annotations

import pytest

from app.db import utcnow
from tests.factories import login_as, make_user

ROLES = [
    "anonymous",
    "resident",
    "blocked resident",
    "moderator",
    "blocked moderator",
    "staff",
    "admin",
]

# route → expected status per role (303 = redirected to the login page).
MATRIX = {
    "/moderation/": [303, 403, 403, 200, 403, 200, 200],
    "/moderation/queue": [303, 403, 403, 200, 403, 200, 200],
    "/moderation/audit": [303, 403, 403, 403, 403, 200, 200],
    "/moderation/audit.csv": [303, 403, 403, 403, 403, 200, 200],
}


def _browser_as(client, session, who: str):  # type: ignore[no-untyped-def]
    if who == "anonymous":
        return
    role = who.replace("blocked ", "")
    user = make_user(session, role=role)
    if who.startswith("blocked"):
        user.blocked_at = utcnow()
        user.blocked_reason = "Messages insultants"
        session.add(user)
        session.commit()
    login_as(client, user, session)


@pytest.mark.parametrize(
    ("path", "who", "expected"),
    [
        (path, who, status)
        for path, row in MATRIX.items()
        for who, status in zip(ROLES, row, strict=True)
    ],
)
def test_moderation_route_access(client, session, path, who, expected):
    _browser_as(client, session, who)
    response = client.get(path, follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")
    if expected == 403:
        assert "Accès refusé" in response.text


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_audit_log_has_no_write_route(client, session, method):
    login_as(client, make_user(session, role="admin"), session)
    response = getattr(client, method)("/moderation/audit", headers={"X-CSRF-Token": "x"})
    assert response.status_code == 405


def test_the_header_links_to_the_moderation_area_for_the_team_only(client, session):
    login_as(client, make_user(session), session)
    assert 'href="/moderation/"' not in client.get("/").text
    login_as(client, make_user(session, role="moderator"), session)
    assert 'href="/moderation/"' in client.get("/").text
