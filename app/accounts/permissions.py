"""Who may do what with accounts. Small functions, tested without HTTP."""

from __future__ import annotations

from app.accounts.models import ApiToken, Role, User


def can_manage_token(user: User, token: ApiToken) -> bool:
    # Only the owner revokes a personal token; admins revoke by blocking the account.
    return token.user_id == user.id


def can_change_role(actor: User, target: User, new_role: Role) -> bool:
    # Roles are given by admins only (the `create-user` CLI is the bootstrap path); nobody
    # gives themself a role through the account pages.
    return actor.has_role(Role.admin) and actor.id != target.id
