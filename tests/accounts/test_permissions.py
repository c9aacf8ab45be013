"""app.accounts.permissions (and the guard every back office uses), table-driven and without
HTTP (CONVENTIONS: permission rules as small commented functions, tested directly)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.accounts.models import ApiToken, Role, User
from app.accounts.permissions import (
    can_change_role,
    can_manage_token,
    ensure_role,
    has_active_role,
)
from app.core.db import utcnow
from app.web.errors import Forbidden


def user(id: int, role: Role = Role.resident, **fields) -> User:
    return User(id=id, email=f"u{id}@exemple.fr", display_name=f"U{id}", role=role.value, **fields)


NOW = utcnow()
DAY = timedelta(days=1)

# --- can_manage_token: only the owner, whatever the role ---------------------------------------

TOKENS = [
    # (actor role, token owner is the actor, allowed)
    (Role.resident, True, True),
    (Role.resident, False, False),
    (Role.moderator, False, False),
    (Role.staff, False, False),
    (Role.admin, True, True),
    (Role.admin, False, False),
]


@pytest.mark.parametrize(("role", "own", "allowed"), TOKENS)
def test_who_can_manage_a_personal_token(role, own, allowed):
    actor = user(1, role)
    token = ApiToken(user_id=1 if own else 2, label="x", token_hash="h", prefix="bourse_")

    assert can_manage_token(actor, token) is allowed


# --- has_active_role / ensure_role: the one guard of the back offices -----------------------------

GUARD = [
    # (holder's role, blocked, role asked for, allowed)
    (Role.resident, False, Role.resident, True),
    (Role.resident, False, Role.moderator, False),
    (Role.moderator, False, Role.moderator, True),
    (Role.moderator, True, Role.moderator, False),
    (Role.moderator, False, Role.staff, False),
    (Role.staff, False, Role.moderator, True),
    (Role.staff, False, Role.staff, True),
    (Role.staff, True, Role.staff, False),
    (Role.staff, False, Role.admin, False),
    (Role.admin, False, Role.staff, True),
    (Role.admin, False, Role.admin, True),
    (Role.admin, True, Role.admin, False),
    (Role.admin, True, Role.resident, False),
]


@pytest.mark.parametrize(("role", "blocked", "asked", "allowed"), GUARD)
def test_the_guard_wants_the_role_and_no_block(role, blocked, asked, allowed):
    actor = user(1, role, blocked_at=NOW - DAY if blocked else None)

    assert has_active_role(actor, asked) is allowed
    if allowed:
        assert ensure_role(actor, asked) is actor
    else:
        with pytest.raises(Forbidden):
            ensure_role(actor, asked)


def test_the_guard_refuses_nobody_signed_in_and_lets_an_ended_block_pass():
    assert has_active_role(None, Role.resident) is False
    with pytest.raises(Forbidden) as refused:
        ensure_role(None, Role.staff, "Réservé à l'équipe.")
    assert refused.value.detail == "Réservé à l'équipe."
    ended = user(1, Role.staff, blocked_at=NOW - 2 * DAY, blocked_until=NOW - DAY)
    assert ensure_role(ended, Role.staff) is ended


# --- can_change_role: active admins only, never on themselves -----------------------------------

ROLE_CHANGES = [
    # (actor role, actor blocked, target is the actor, allowed)
    (Role.resident, False, True, False),
    (Role.resident, False, False, False),
    (Role.moderator, False, False, False),
    (Role.moderator, False, True, False),
    (Role.staff, False, False, False),
    (Role.staff, False, True, False),
    (Role.admin, False, True, False),  # not even to step down: another admin does it
    (Role.admin, True, False, False),
    (Role.admin, False, False, True),
]


@pytest.mark.parametrize(("role", "blocked", "self_target", "allowed"), ROLE_CHANGES)
def test_who_can_change_a_role(role, blocked, self_target, allowed):
    actor = user(1, role, blocked_at=NOW - DAY if blocked else None)
    target = actor if self_target else user(2, Role.admin)

    assert can_change_role(actor, target) is allowed


# --- roles are ordered (SPEC §2: each role can do everything the previous ones can) -------------


@pytest.mark.parametrize("holder", list(Role))
@pytest.mark.parametrize("minimum", list(Role))
def test_roles_include_every_lower_role(holder, minimum):
    order = [Role.resident, Role.moderator, Role.staff, Role.admin]

    assert user(1, holder).has_role(minimum) is (order.index(holder) >= order.index(minimum))
