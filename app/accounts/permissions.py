"""Who may do what with accounts, and the one guard every back office uses. Small functions,
tested without HTTP (tests/accounts/test_permissions.py)."""

from __future__ import annotations

from app.accounts.models import ApiToken, Role, User
from app.web.errors import Forbidden


def has_active_role(user: User | None, role: Role) -> bool:
    """`role` or a higher one, and not blocked now: a blocked team member keeps reading the
    public site, never the back office nor its actions."""
    return user is not None and user.has_role(role) and not user.is_blocked()


def ensure_role(user: User | None, role: Role, message: str | None = None) -> User:
    """The services' own check (routes check too, with accounts.deps.require_role): the acting
    account, or Forbidden (403) with `message`."""
    if not has_active_role(user, role):
        raise Forbidden(message)
    return user  # type: ignore[return-value]


def can_manage_token(user: User, token: ApiToken) -> bool:
    # Only the owner revokes a personal token; admins revoke by blocking the account.
    return token.user_id == user.id


def can_change_role(actor: User | None, target: User) -> bool:
    # Roles are given by active admins only (the `create-user` CLI is the bootstrap path), and
    # never to themselves: an admin who could drop their own role could leave the site without
    # anyone able to manage it. Another admin changes it for them.
    return has_active_role(actor, Role.admin) and actor.id != target.id  # type: ignore[union-attr]
