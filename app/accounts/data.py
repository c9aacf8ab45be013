"""A person's own data: the copy they download (right of access and portability) and the
deletion of their account (right to erasure), both from « Mon compte » (SPEC §5 `/account/...`).

Decisions:
- The export is every row that belongs to the account, as JSON, column by column, so a new
  column is exported without anyone remembering to add it; left out are secrets (password and
  token hashes) and the team's working notes and names (a need's internal note, notes on a
  carrier application): the privacy page says to write to the contact for those.
- Deleting the account erases the person's contributions too (issue 4: « delete their data,
  including their own needs »): their needs and comments are deleted as if they had deleted
  each one (gone from every public surface and partners' webhooks, kept for the moderation
  history), their « Moi aussi » are withdrawn (counts and trending recomputed) — the board does
  it on AccountErasing (app/board/account_data.py), the export gathers each package's
  sections (EXPORT_SECTIONS) —, and the account
  row goes with everything hanging off it (sessions, tokens, follows, notifications, reports
  made, carrier applications), by the foreign keys' ON DELETE CASCADE. The audit log keeps one
  entry without a name. Ideas built from their needs stay: they belong to the fabrique.
- The last active administrator cannot delete their account (nobody could administer the site).
- A team member's name stays on the actions they took (audit log, idea timelines): that is the
  fabrique's record of its own work, not the person's contributions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, SQLModel, select

from app.accounts import service
from app.accounts.events import AccountErasing
from app.accounts.models import ApiToken, Role, User, UserSession
from app.core import audit, events
from app.core.db import utcnow
from app.mail.service import queue_mail
from app.web.errors import Conflict, Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

EXPORT_FORMAT = "bourse-export-1"
DELETED_SUBJECT = N_("Votre compte a été supprimé")
# Columns never exported: what would let someone sign in or call the API as the person, and
# the team's own working notes and names (see the module's docstring).
_SECRET_COLUMNS = frozenset(
    {
        "password_hash",
        "token_hash",
        "submission_key",
        "internal_note",
        "staff_notes",
        "qualified_by_id",
        "recorded_by_id",
    }
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def exported_rows(session: Session, model: type[SQLModel], *where: Any) -> list[dict[str, Any]]:
    """The rows of `model` that match `where`, as the export shows them (no secret column)."""
    order = model.id if hasattr(model, "id") else None  # type: ignore[attr-defined]
    statement = select(model).where(*where)
    if order is not None:
        statement = statement.order_by(order)
    return [_exported(row) for row in session.exec(statement)]


def _exported(row: SQLModel) -> dict[str, Any]:
    return {
        key: _plain(value) for key, value in row.model_dump().items() if key not in _SECRET_COLUMNS
    }


# What the packages above keep of a person, each a function (session, user id) → {section:
# rows}: the board's contributions and notifications, the pipeline's carrier applications.
# Registered at start-up (app/ops/wiring.py), in the order the file lists them.
ExportSection = Callable[[Session, int], dict[str, list[dict[str, Any]]]]
EXPORT_SECTIONS: list[ExportSection] = []


def register_export(section: ExportSection) -> None:
    """Adds a section to the export once, however often start-up runs."""
    if section not in EXPORT_SECTIONS:
        EXPORT_SECTIONS.append(section)


def export_data(session: Session, user: User) -> dict[str, Any]:
    """Everything stored about `user` that is theirs, as JSON-ready data."""
    uid = user.id
    assert uid is not None
    account = {**_exported(user), "has_password": bool(user.password_hash)}
    exported: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow().isoformat(),
        "account": account,
    }
    for section in EXPORT_SECTIONS:
        exported.update(section(session, uid))
    exported["api_tokens"] = exported_rows(session, ApiToken, ApiToken.user_id == uid)
    exported["sessions"] = exported_rows(session, UserSession, UserSession.user_id == uid)
    return exported


def export_filename(today: date) -> str:
    return f"bourse-mes-donnees-{today.isoformat()}.json"


# --- deletion -------------------------------------------------------------------------------


def check_deletion(
    session: Session, user: User, *, password: str, email: str, confirmed: bool, ip: str
) -> None:
    """Invalid unless the person proved it is them (their password — a wrong one counts as a
    failed login —, or their address for accounts that sign in by e-mailed link) and ticked the
    box."""
    errors: dict[str, str] = {}
    if user.password_hash:
        if not service.current_password_ok(session, user, password, ip):
            errors["delete_password"] = _("Le mot de passe est incorrect.")
    elif " ".join(email.split()).lower() != user.email:
        errors["delete_email"] = _("Saisissez l'adresse e-mail de ce compte.")
    if not confirmed:
        errors["delete_confirm"] = _("Cochez la case pour confirmer que vous voulez tout effacer.")
    if errors:
        raise Invalid(errors)


def _ensure_not_last_admin(session: Session, user: User) -> None:
    if user.role != Role.admin.value:
        return
    # Locked (PostgreSQL) like a change of role: two admins leaving at once cannot both go.
    admins = session.exec(select(User).where(User.role == Role.admin.value).with_for_update()).all()
    if not [a for a in admins if a.id != user.id and not a.is_blocked()]:
        raise Conflict(
            _(
                "Vous êtes le dernier compte administrateur actif : nommez d'abord un·e autre "
                "administrateur·rice, puis supprimez votre compte."
            )
        )


def delete_account(session: Session, user: User) -> dict[str, int]:
    """Erases the account and the person's contributions in one transaction (see the module's
    docstring): the packages that keep contributions erase theirs on AccountErasing. Commits
    and returns what was erased. The caller has checked the confirmation."""
    _ensure_not_last_admin(session, user)
    uid, address, locale = user.id, user.email, user.locale
    erasing = AccountErasing(user, utcnow())
    events.announce(session, erasing)
    erased = dict(erasing.erased)
    audit.record(session, None, "account.delete", "user", uid, after=erased)
    session.delete(user)
    queue_mail(
        session,
        to=address,
        subject=DELETED_SUBJECT,
        template="mail/account_deleted.txt",
        context={},
        locale=locale,
    )
    session.commit()
    return erased
