"""Who may do what in the moderation area. Small commented functions, tested table by table
without HTTP (tests/moderation/test_permissions.py); the routes guard with
accounts.deps.require_role, the services check again here.

Roles are ordered (resident < moderator < staff < admin) and a blocked team member acts on
nothing (accounts.permissions.has_active_role).
"""

from __future__ import annotations

from app.accounts.models import Role, User
from app.accounts.permissions import ensure_role, has_active_role
from app.web.errors import Forbidden
from app.web.i18n import gettext as _


def is_active_moderator(user: User | None) -> bool:
    # Moderators, staff and admins keep the board clean: the queue, reports, needs, accounts.
    return has_active_role(user, Role.moderator)


def ensure_moderator(user: User | None) -> User:
    return ensure_role(user, Role.moderator)


def ensure_admin(user: User | None) -> User:
    # The site's settings, categories, identity and texts, and roles.
    return ensure_role(user, Role.admin)


def can_qualify(user: User | None) -> bool:
    # Staff and admins qualify needs and record those met offline; moderators keep the board
    # clean but do not qualify (SPEC §2).
    return has_active_role(user, Role.staff)


def ensure_can_qualify(user: User | None) -> User:
    return ensure_role(
        user, Role.staff, _("Seule l'équipe de la fabrique (staff) peut qualifier les besoins.")
    )


def can_read_revisions(user: User | None) -> bool:
    # Earlier texts may hold what was removed on purpose (a phone number): staff and admins
    # read them; moderators only see that revisions exist.
    return user is not None and user.has_role(Role.staff)


def can_see_emails(viewer: User) -> bool:
    # Data minimisation: moderators judge what people write, under their public name; they
    # never need an e-mail address. Staff and admins do (contacting carriers, support).
    return viewer.has_role(Role.staff)


def can_moderate_account(actor: User, target: User) -> bool:
    """Block, unblock, trust, untrust: an active moderator, on a resident; only an admin acts
    on a team member; nobody on themselves."""
    if not is_active_moderator(actor) or actor.id == target.id:
        return False
    return not target.has_role(Role.moderator) or actor.has_role(Role.admin)


def ensure_can_moderate_account(actor: User, target: User, *, blocking: bool = False) -> None:
    """can_moderate_account for the services: Forbidden, saying which part of the rule refused
    (in the words of the block form when `blocking`)."""
    if not is_active_moderator(actor):
        raise Forbidden()
    if actor.id == target.id:
        if blocking:
            raise Forbidden(_("Vous ne pouvez pas bloquer votre propre compte."))
        raise Forbidden(_("Vous ne pouvez pas agir sur votre propre compte ici."))
    if not can_moderate_account(actor, target):
        if blocking:
            raise Forbidden(
                _("Seul·e un·e administrateur·rice peut bloquer un membre de l'équipe.")
            )
        raise Forbidden(_("Seul·e un·e administrateur·rice peut agir sur un membre de l'équipe."))
