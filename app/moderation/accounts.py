"""Account moderation: block and unblock (more in this module: search, roles).

Blocking decision (issue 4): a blocked person keeps their sessions — they can still read,
export and delete their data, as the charter promises — but every write path (forms and the
API) refuses them with the reason and the end date (`accounts.service.blocked_message`).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app.accounts.models import Role, User
from app.db import utcnow
from app.moderation import audit
from app.web.errors import Forbidden, Invalid
from app.web.i18n import gettext as _

BLOCK_REASON_MAX = 500


def block_user(
    session: Session,
    moderator: User,
    user: User,
    *,
    reason: str,
    until: datetime | None = None,
    commit: bool = True,
) -> User:
    """Blocks `user` (audited, the caller's transaction). A moderator never blocks someone of
    their own rank or above: only an admin blocks team members, and nobody blocks themselves."""
    if not moderator.has_role(Role.moderator) or moderator.is_blocked():
        raise Forbidden()
    if user.id == moderator.id:
        raise Forbidden(_("Vous ne pouvez pas bloquer votre propre compte."))
    if user.has_role(Role.moderator) and not moderator.has_role(Role.admin):
        raise Forbidden(_("Seul·e un·e administrateur·rice peut bloquer un membre de l'équipe."))
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid({"reason": _("Indiquez le motif du blocage : il sera montré à la personne.")})
    if len(reason) > BLOCK_REASON_MAX:
        raise Invalid(
            {"reason": _("Le motif doit faire au plus %(max)s caractères.", max=BLOCK_REASON_MAX)}
        )
    now = utcnow()
    if until is not None and until <= now:
        raise Invalid({"until": _("La date de fin du blocage doit être dans le futur.")})
    before = {"blocked_at": user.blocked_at, "blocked_until": user.blocked_until}
    user.blocked_at = now
    user.blocked_until = until
    user.blocked_reason = reason
    session.add(user)
    audit.record(
        session,
        moderator,
        "user.block",
        "user",
        user.id,
        reason=reason,
        before=before,
        after={"blocked_at": now, "blocked_until": until},
    )
    if commit:
        session.commit()
    return user
