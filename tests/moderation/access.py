"""Shared pieces of the permission matrices (one matrix per area of /moderation, every route
listed; tests/moderation/test_access.py checks that no route is left out)."""

from __future__ import annotations

from typing import Any

from app.core.db import utcnow
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

# Expected statuses for the usual access levels, in ROLES order (303 = sent to the login page).
MODERATOR_UP = [303, 403, 403, 200, 403, 200, 200]
STAFF_UP = [303, 403, 403, 403, 403, 200, 200]
ADMIN_ONLY = [303, 403, 403, 403, 403, 403, 200]


def browser_as(client: Any, session: Any, who: str) -> Any:
    """Signs `client` in as a fresh account of the role `who` (one of ROLES); returns it."""
    if who == "anonymous":
        return None
    role = who.replace("blocked ", "")
    user = make_user(session, role=role)
    if who.startswith("blocked"):
        user.blocked_at = utcnow()
        user.blocked_reason = "Messages insultants"
        session.add(user)
        session.commit()
    login_as(client, user, session)
    return user


def matrix_cases(matrix: dict[str, list[int]]) -> list[tuple[str, str, int]]:
    return [
        (path, who, status)
        for path, row in matrix.items()
        for who, status in zip(ROLES, row, strict=True)
    ]
