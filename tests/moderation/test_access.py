"""Who may open each /moderation route (table-driven).

Every area of the moderation space has its own matrix module (tests/moderation/test_access*.py)
that declares ROUTES_COVERED; the last test here fails when a /moderation route of the app is
in none of them, so a new route cannot ship without its row.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func
from sqlmodel import select

import tests.moderation
from app.board.models import Need
from app.core.audit import AuditEntry
from tests.factories import csrf_token, make_need, make_user
from tests.moderation.access import MODERATOR_UP, ROLES, STAFF_UP, browser_as, matrix_cases

MATRIX = {
    "/moderation/": MODERATOR_UP,
    "/moderation/queue": MODERATOR_UP,
    "/moderation/audit": STAFF_UP,
    "/moderation/audit.csv": STAFF_UP,
}

ROUTES_COVERED = {("GET", path) for path in MATRIX} | {
    ("POST", "/moderation/needs/{need_id}/decision")
}


@pytest.mark.parametrize(("path", "who", "expected"), matrix_cases(MATRIX))
def test_moderation_route_access(client, session, path, who, expected):
    browser_as(client, session, who)
    response = client.get(path, follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")
    if expected == 403:
        assert "Accès refusé" in response.text


@pytest.mark.parametrize(
    ("who", "expected"), list(zip(ROLES, [303, 403, 403, 303, 403, 303, 303], strict=True))
)
def test_only_active_moderators_decide_and_a_refusal_writes_nothing(client, session, who, expected):
    need = make_need(session, author=make_user(session), status="pending")
    browser_as(client, session, who)
    response = client.post(
        f"/moderation/needs/{need.id}/decision",
        data={"csrf_token": csrf_token(client), "decision": "approve", "seen_status": "pending"},
        follow_redirects=False,
    )
    assert response.status_code == expected
    session.expire_all()
    approved = session.get(Need, need.id).status == "published"
    entries = session.exec(select(func.count()).select_from(AuditEntry)).one()
    if who in ("moderator", "staff", "admin"):
        assert response.headers["location"] == "/moderation/queue?done=1"
        assert approved and entries == 1
    else:
        assert not approved and entries == 0


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_audit_log_has_no_write_route(client, session, method):
    browser_as(client, session, "admin")
    response = getattr(client, method)("/moderation/audit", headers={"X-CSRF-Token": "x"})
    assert response.status_code == 405


def test_the_header_links_to_the_moderation_area_for_the_team_only(client, session):
    browser_as(client, session, "resident")
    assert 'href="/moderation/"' not in client.get("/").text
    browser_as(client, session, "moderator")
    assert 'href="/moderation/"' in client.get("/").text


def test_every_moderation_route_is_in_a_permission_matrix(app):
    covered: set[tuple[str, str]] = set()
    for module in pkgutil.iter_modules(tests.moderation.__path__):
        if module.name.startswith("test_access"):
            imported = importlib.import_module(f"tests.moderation.{module.name}")
            covered |= getattr(imported, "ROUTES_COVERED", set())
    routes = {
        (method, path)
        for path, methods in _declared_routes(app)
        if path.startswith("/moderation")
        for method in methods
        if method != "HEAD"
    }
    assert len(routes) > 20  # the walk below really sees the app's routes
    assert routes - covered == set(), "add these routes to a permission matrix"


def _declared_routes(app) -> list[tuple[str, set[str]]]:  # type: ignore[no-untyped-def]
    """(path, methods) of every route, whether FastAPI keeps it as an APIRoute or, since
    0.16x, behind an included-router object."""
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.append((route.path, set(route.methods)))
        elif hasattr(route, "effective_route_contexts"):
            for context in route.effective_route_contexts():
                found.append((context.path, set(context.methods or ())))
    return found
