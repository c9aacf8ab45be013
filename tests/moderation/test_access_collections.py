"""Who may record people met offline on a need (issue 17): staff and admins only, as for the
rest of the qualification (moderators and residents 403, blocked team members 403), and a
refusal writes nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select

from app.accounts.deps import SESSION_COOKIE
from app.board.models import OfflineCollection
from app.core.audit import AuditEntry
from tests.factories import fresh, login_as, make_need, make_user, submit_form
from tests.moderation.access import ROLES, STAFF_UP, browser_as, matrix_cases

MATRIX = {
    "/moderation/needs/{need_id}/offline": STAFF_UP,
    "/moderation/needs/{need_id}/offline/{collection_id}/edit": STAFF_UP,
}

ROUTES_COVERED = {
    ("GET", "/moderation/needs/{need_id}/offline"),
    ("POST", "/moderation/needs/{need_id}/offline"),
    ("GET", "/moderation/needs/{need_id}/offline/{collection_id}/edit"),
    ("POST", "/moderation/needs/{need_id}/offline/{collection_id}/edit"),
    ("POST", "/moderation/needs/{need_id}/offline/{collection_id}/remove"),
}

# A form sent by each role: a success redirects (303) to the collections page, an anonymous
# visitor (303) to the login page.
POST_EXPECTED = [303, 403, 403, 403, 403, 303, 303]


def _collection(session, need) -> OfflineCollection:  # type: ignore[no-untyped-def]
    collection = OfflineCollection(
        need_id=need.id, people=7, method="drop_in", collected_on=date(2026, 11, 3)
    )
    session.add(collection)
    session.commit()
    return collection


@pytest.mark.parametrize(("path", "who", "expected"), matrix_cases(MATRIX))
def test_collection_pages_access(client, session, path, who, expected):
    need = make_need(session)
    collection = _collection(session, need)
    browser_as(client, session, who)
    url = path.format(need_id=need.id, collection_id=collection.id)
    response = client.get(url, follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")


def _staff_page(client, session, url: str) -> str:  # type: ignore[no-untyped-def]
    login_as(client, make_user(session, role="staff"), session)
    return client.get(url).text


def _as(client, session, who: str) -> None:  # type: ignore[no-untyped-def]
    browser_as(client, session, who)
    if who == "anonymous":  # signed out, the form token of that browser kept
        client.cookies.delete(SESSION_COOKIE)


def _audited(session) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(AuditEntry)).one()


@pytest.mark.parametrize(("who", "expected"), list(zip(ROLES, POST_EXPECTED, strict=True)))
def test_only_active_staff_add_a_collection_and_a_refusal_writes_nothing(
    client, session, who, expected
):
    need = make_need(session)
    page = f"/moderation/needs/{need.id}/offline"
    html = _staff_page(client, session, page)
    _as(client, session, who)

    fill = {"people": "12", "method": "public_meeting", "collected_on": "2026-11-14"}
    response = submit_form(client, page, page, fill, html=html)

    assert response.status_code == expected
    session = fresh(session)
    stored = session.exec(select(func.count()).select_from(OfflineCollection)).one()
    if who in ("staff", "admin"):
        assert response.headers["location"].startswith(page)
        assert stored == 1 and _audited(session) == 1
    else:
        assert stored == 0 and _audited(session) == 0


@pytest.mark.parametrize(("who", "expected"), list(zip(ROLES, POST_EXPECTED, strict=True)))
def test_only_active_staff_correct_or_remove_a_collection(client, session, who, expected):
    need = make_need(session)
    collection_id = _collection(session, need).id
    page = f"/moderation/needs/{need.id}/offline"
    edit = f"{page}/{collection_id}/edit"
    edit_html = _staff_page(client, session, edit)
    list_html = client.get(page).text
    _as(client, session, who)

    edited = submit_form(client, edit, edit, {"people": "9"}, html=edit_html)
    removed = submit_form(client, page, f"{page}/{collection_id}/remove", html=list_html)

    assert (edited.status_code, removed.status_code) == (expected, expected)
    session = fresh(session)
    left = session.get(OfflineCollection, collection_id)
    if who in ("staff", "admin"):
        assert left is None and _audited(session) == 2
    else:
        assert left is not None and left.people == 7 and _audited(session) == 0
