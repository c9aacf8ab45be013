"""app.moderation.permissions, table by table and without HTTP: role × blocked × action."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.accounts.models import Role, User
from app.core.db import utcnow
from app.moderation import permissions
from app.web.errors import Forbidden

NOW = utcnow()
R, M, S, A = Role.resident, Role.moderator, Role.staff, Role.admin


def user(id: int, role: Role, *, blocked: bool = False) -> User:
    return User(
        id=id,
        email=f"u{id}@exemple.fr",
        display_name=f"U{id}",
        role=role.value,
        blocked_at=NOW - timedelta(days=1) if blocked else None,
    )


# What each role may do, when not blocked (a blocked account may do none of the guarded ones).
GUARDED = {
    # action: (the guard that says yes or no, the one that raises, roles allowed)
    "moderate": (permissions.is_active_moderator, permissions.ensure_moderator, {M, S, A}),
    "administer": (None, permissions.ensure_admin, {A}),
    "qualify": (permissions.can_qualify, permissions.ensure_can_qualify, {S, A}),
}
CASES = [
    (role, blocked, action)
    for action in GUARDED
    for role in (R, M, S, A)
    for blocked in (False, True)
]


@pytest.mark.parametrize(("role", "blocked", "action"), CASES)
def test_guarded_actions_by_role_and_block(role, blocked, action):
    check, ensure, roles = GUARDED[action]
    actor = user(1, role, blocked=blocked)
    allowed = role in roles and not blocked

    if check is not None:
        assert check(actor) is allowed
    if allowed:
        assert ensure(actor) is actor
    else:
        with pytest.raises(Forbidden):
            ensure(actor)


@pytest.mark.parametrize("action", list(GUARDED))
def test_nobody_signed_in_may_do_anything(action):
    check, ensure, _roles = GUARDED[action]
    if check is not None:
        assert check(None) is False
    with pytest.raises(Forbidden):
        ensure(None)


# Reading earlier texts and e-mail addresses: staff and admins (a reading right, not an action).
READS = [
    (R, False),
    (M, False),
    (S, True),
    (A, True),
]


@pytest.mark.parametrize(("role", "allowed"), READS)
def test_who_reads_revisions_and_email_addresses(role, allowed):
    viewer = user(1, role)

    assert permissions.can_read_revisions(viewer) is allowed
    assert permissions.can_see_emails(viewer) is allowed


ACCOUNT_ACTIONS = [
    # (actor role, actor blocked, target role, target is the actor, allowed)
    (R, False, R, False, False),
    (M, False, R, False, True),
    (M, True, R, False, False),
    (M, False, M, False, False),  # team members: admins only
    (M, False, M, True, False),
    (S, False, R, False, True),
    (S, False, M, False, False),
    (A, False, R, False, True),
    (A, False, M, False, True),
    (A, False, A, False, True),
    (A, False, A, True, False),  # nobody blocks or trusts themselves
    (A, True, R, False, False),
]


@pytest.mark.parametrize(
    ("role", "blocked", "target_role", "self_target", "allowed"), ACCOUNT_ACTIONS
)
def test_who_blocks_unblocks_and_trusts_whom(role, blocked, target_role, self_target, allowed):
    actor = user(1, role, blocked=blocked)
    target = actor if self_target else user(2, target_role)

    assert permissions.can_moderate_account(actor, target) is allowed
