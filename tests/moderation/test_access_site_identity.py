"""Who may open and use the site identity pages (name, logo, colour, legal details, the long
pages): admins only, and a refused POST writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.core.audit import AuditEntry
from app.core.site_config import SiteSetting
from app.moderation.models import Revision
from tests.factories import csrf_token, fresh, login_as, make_user, read_form
from tests.moderation.access import ADMIN_ONLY, ROLES, browser_as, matrix_cases

MATRIX = {
    "/moderation/site": ADMIN_ONLY,
    "/moderation/site/pages/fr/legal": ADMIN_ONLY,
    "/moderation/site/pages/en/about": ADMIN_ONLY,
}

ROUTES_COVERED = {
    ("GET", "/moderation/site"),
    ("POST", "/moderation/site"),
    ("GET", "/moderation/site/pages/{locale}/{name}"),
    ("POST", "/moderation/site/pages/{locale}/{name}"),
}


@pytest.mark.parametrize(("path", "who", "expected"), matrix_cases(MATRIX))
def test_site_identity_pages_are_for_admins_only(client, session, path, who, expected):
    browser_as(client, session, who)
    response = client.get(path, follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")
    if expected == 403:
        assert "Accès refusé" in response.text


def _snapshot(session) -> tuple:  # type: ignore[no-untyped-def]
    fresh(session)
    settings = sorted((row.key, str(row.value)) for row in session.exec(select(SiteSetting)))
    audits = session.exec(select(func.count()).select_from(AuditEntry)).one()
    revisions = session.exec(select(func.count()).select_from(Revision)).one()
    return settings, audits, revisions


def _admin_forms(client, session) -> list[tuple[str, dict[str, str]]]:  # type: ignore[no-untyped-def]
    """The two forms as an admin's browser has them, filled: what the others will replay."""
    admin = make_user(session, role="admin")
    login_as(client, admin, session)
    _, identity, _ = read_form(client.get("/moderation/site").text, "/moderation/site")
    identity.update(name="Fabrique volée", accent="#1f4e8c")
    page_url = "/moderation/site/pages/fr/legal"
    _, page, _ = read_form(client.get(page_url).text, page_url)
    page.update(markdown="# Mentions volées\n\nRien.")
    client.cookies.clear()
    return [("/moderation/site", identity), (page_url, page)]


@pytest.mark.parametrize("who", [w for w in ROLES if w != "admin"])
def test_others_posting_the_forms_change_nothing(client, session, who):
    forms = _admin_forms(client, session)
    before = _snapshot(session)
    browser_as(client, session, who)
    for url, data in forms:
        # Their own CSRF token: what is refused is the role, not a stale token.
        data = {**data, "csrf_token": csrf_token(client)}
        response = client.post(url, data=data, follow_redirects=False)
        assert response.status_code in (303, 403), (url, response.status_code)
        if who == "anonymous":
            assert response.headers["location"].startswith("/account/login")
    assert _snapshot(session) == before


def test_a_form_without_its_csrf_token_is_refused(client, session):
    admin = make_user(session, role="admin")
    login_as(client, admin, session)
    _, values, _ = read_form(client.get("/moderation/site").text, "/moderation/site")
    before = _snapshot(session)
    values.pop("csrf_token")
    response = client.post("/moderation/site", data={**values, "name": "Sans jeton"})
    assert response.status_code == 403
    assert _snapshot(session) == before
