"""Who may qualify needs and enter needs collected offline: staff and admins only (moderators
403), and a refusal writes nothing."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from app.board.models import Need
from app.core.audit import AuditEntry
from app.moderation.models import NeedTag, Tag
from tests.factories import csrf_token, fresh, make_need
from tests.moderation.access import ROLES, STAFF_UP, browser_as, matrix_cases

MATRIX = {
    "/moderation/qualification": STAFF_UP,
    "/moderation/tags?q=log": STAFF_UP,
    "/moderation/needs/new": STAFF_UP,
    "/moderation/needs/{need_id}/qualification": STAFF_UP,
}

ROUTES_COVERED = {
    ("GET", "/moderation/qualification"),
    ("GET", "/moderation/tags"),
    ("GET", "/moderation/needs/new"),
    ("POST", "/moderation/needs/new"),
    ("GET", "/moderation/needs/{need_id}/qualification"),
    ("POST", "/moderation/needs/{need_id}/qualification"),
}

# A successful POST redirects (303) like an anonymous refusal: told apart by the location.
POST_EXPECTED = [303, 403, 403, 403, 403, 303, 303]


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(model)).one()


@pytest.mark.parametrize(("path", "who", "expected"), matrix_cases(MATRIX))
def test_qualification_route_access(client, session, path, who, expected):
    need = make_need(session)
    browser_as(client, session, who)
    response = client.get(path.format(need_id=need.id), follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")
    if expected == 403:
        assert "Accès refusé" in response.text


@pytest.mark.parametrize(("who", "expected"), list(zip(ROLES, POST_EXPECTED, strict=True)))
def test_only_active_staff_qualify_and_a_refusal_writes_nothing(client, session, who, expected):
    need = make_need(session)
    browser_as(client, session, who)
    response = client.post(
        f"/moderation/needs/{need.id}/qualification",
        data={
            "csrf_token": csrf_token(client),
            "tags": "logement",
            "internal_note": "Note",
            "qualified": "1",
        },
        follow_redirects=False,
    )
    assert response.status_code == expected
    session = fresh(session)
    qualified = session.get(Need, need.id).qualified_at is not None
    written = (_count(session, AuditEntry), _count(session, Tag), _count(session, NeedTag))
    if who in ("staff", "admin"):
        assert response.headers["location"].startswith(f"/moderation/needs/{need.id}/")
        assert qualified and written == (1, 1, 1)
    else:
        if expected == 303:
            assert response.headers["location"].startswith("/account/login")
        assert not qualified and written == (0, 0, 0)
        assert session.get(Need, need.id).internal_note == ""


@pytest.mark.parametrize(("who", "expected"), list(zip(ROLES, POST_EXPECTED, strict=True)))
def test_only_active_staff_enter_offline_needs_and_a_refusal_writes_nothing(
    client, session, who, expected
):
    browser_as(client, session, who)
    response = client.post(
        "/moderation/needs/new",
        data={
            "csrf_token": csrf_token(client),
            "title": "Un besoin entendu lors d'une réunion publique",
            "source": "meeting",
            "source_date": "2026-01-15",
        },
        follow_redirects=False,
    )
    assert response.status_code == expected
    session = fresh(session)
    needs, entries = _count(session, Need), _count(session, AuditEntry)
    if who in ("staff", "admin"):
        assert response.headers["location"].startswith("/needs/")
        assert (needs, entries) == (1, 1)
    else:
        if expected == 303:
            assert response.headers["location"].startswith("/account/login")
        assert (needs, entries) == (0, 0)
