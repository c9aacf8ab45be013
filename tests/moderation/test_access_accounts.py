"""Who may open and use the accounts pages of /moderation (table-driven), and proof that a
refused action writes nothing: the account's role, block and trust stay as they were and no
audit entry is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import func, select

from app.accounts.models import User
from app.board.models import Notification
from app.core.audit import AuditEntry
from app.core.db import utcnow
from tests.factories import fresh, make_user, post_form
from tests.moderation.access import MODERATOR_UP, ROLES, browser_as

PAGES = {
    "/moderation/accounts": MODERATOR_UP,
    "/moderation/accounts/{user_id}": MODERATOR_UP,
}

# For a POST, the allowed roles are sent back to the account's page (303), like anonymous
# visitors are sent to the login page (303); the difference is checked on the location.
ACTIVE_MODERATOR_UP = [303, 403, 403, 303, 403, 303, 303]
ADMIN_POST = [303, 403, 403, 403, 403, 403, 303]


def _blocked(user: User) -> None:
    user.blocked_at = utcnow()
    user.blocked_reason = "Spam"


def _trusted(user: User) -> None:
    user.trusted_at = utcnow()


def _state(user: User) -> tuple[Any, ...]:
    return (user.role, user.blocked_at is not None, user.trusted_at is not None)


# action → (who may, how the target starts, form data, its state once done)
ACTIONS: dict[str, tuple[list[int], Callable[[User], None] | None, dict[str, str], tuple]] = {
    "block": (ACTIVE_MODERATOR_UP, None, {"reason": "Spam"}, ("resident", True, False)),
    "unblock": (ACTIVE_MODERATOR_UP, _blocked, {}, ("resident", False, False)),
    "trust": (ACTIVE_MODERATOR_UP, None, {}, ("resident", False, True)),
    "untrust": (ACTIVE_MODERATOR_UP, _trusted, {}, ("resident", False, False)),
    "role": (ADMIN_POST, None, {"role": "moderator"}, ("moderator", False, False)),
}

ROUTES_COVERED = {("GET", path) for path in PAGES} | {
    ("POST", f"/moderation/accounts/{{user_id}}/{action}") for action in ACTIONS
}


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return fresh(session).exec(select(func.count()).select_from(model)).one()


@pytest.mark.parametrize(
    ("path", "who", "expected"),
    [
        (path, who, status)
        for path, row in PAGES.items()
        for who, status in zip(ROLES, row, strict=True)
    ],
)
def test_accounts_pages_access(client, session, path, who, expected):
    target = make_user(session)
    browser_as(client, session, who)
    response = client.get(path.format(user_id=target.id), follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")
    if expected == 403:
        assert "Accès refusé" in response.text


@pytest.mark.parametrize(
    ("action", "who", "expected"),
    [
        (action, who, status)
        for action, (row, *_rest) in ACTIONS.items()
        for who, status in zip(ROLES, row, strict=True)
    ],
)
def test_accounts_actions_access_and_a_refusal_writes_nothing(
    client, session, action, who, expected
):
    _allowed, setup, data, done = ACTIONS[action]
    target = make_user(session)
    if setup is not None:
        setup(target)
        session.add(target)
        session.commit()
    before = _state(target)
    browser_as(client, session, who)
    response = post_form(client, f"/moderation/accounts/{target.id}/{action}", data)
    assert response.status_code == expected
    after = _state(fresh(session).get(User, target.id))  # type: ignore[arg-type]
    if expected == 303 and who != "anonymous":
        assert response.headers["location"] == f"/moderation/accounts/{target.id}?done={action}"
        assert after == done
        assert _count(session, AuditEntry) == 1
        assert _count(session, Notification) == 1
    else:
        if who == "anonymous":
            assert response.headers["location"].startswith("/account/login")
        assert after == before
        assert _count(session, AuditEntry) == 0
        assert _count(session, Notification) == 0
