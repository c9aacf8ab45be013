"""app.accounts.permissions, table-driven and without HTTP (CONVENTIONS: permission rules as
small commented functions, tested directly)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.accounts.models import ApiToken, Role, User
from app.accounts.permissions import can_change_role, can_manage_token
from app.core.db import utcnow


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


# --- can_change_role: admins only, never on themselves ------------------------------------------

ROLE_CHANGES = [
    # (actor role, target is the actor, new role, allowed)
    (Role.resident, True, Role.admin, False),
    (Role.resident, True, Role.resident, False),
    (Role.resident, False, Role.moderator, False),
    (Role.moderator, False, Role.moderator, False),
    (Role.moderator, True, Role.staff, False),
    (Role.staff, False, Role.moderator, False),
    (Role.staff, True, Role.admin, False),
    (Role.admin, True, Role.resident, False),
    (Role.admin, False, Role.moderator, True),
    (Role.admin, False, Role.admin, True),
    (Role.admin, False, Role.resident, True),
]


@pytest.mark.parametrize(("role", "self_target", "new_role", "allowed"), ROLE_CHANGES)
def test_who_can_change_a_role(role, self_target, new_role, allowed):
    actor = user(1, role)
    target = actor if self_target else user(2, Role.staff)

    assert can_change_role(actor, target, new_role) is allowed


# --- roles are ordered (SPEC §2: each role can do everything the previous ones can) -------------


@pytest.mark.parametrize("holder", list(Role))
@pytest.mark.parametrize("minimum", list(Role))
def test_roles_include_every_lower_role(holder, minimum):
    order = [Role.resident, Role.moderator, Role.staff, Role.admin]

    assert user(1, holder).has_role(minimum) is (order.index(holder) >= order.index(minimum))
