"""Account moderation (issue 4, item 4): search accounts, see what a person wrote and what was
reported, block and unblock, trust and untrust, change roles.

Blocking decision (issue 4): a blocked person keeps their sessions — they can still read,
export and delete their data, as the charter promises — but every write path (forms and the
API) refuses them with the reason and the end date (`accounts.service.blocked_message`,
through `board.service.ensure_can_participate`): posting, editing, supporting or withdrawing a
support, commenting and replying, reporting. Following a need is refused too (it is part of
`board.permissions.can_participate`: a block pauses every form of participation), while
unfollowing stays open, since it only reduces what the account receives. A block with an end
date simply stops applying once that date has passed (`User.is_blocked` compares with now):
nobody has to lift it by hand.

End date: the form asks for a day (AAAA-MM-JJ); the block lasts until the end of that day in
Europe/Paris (the fabrique's time), stored in UTC as midnight Paris time the next day.

Who may act: moderators block, unblock, trust and untrust residents; only admins act on team
members (moderator, staff, admin) and change roles; nobody blocks themselves nor changes their
own role; the last active admin can never be demoted. Every action: load → authorise →
validate → execute → audit (same transaction) → notify the person (in-app, and by e-mail per
their preference) → commit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.accounts.permissions import can_change_role
from app.core import audit
from app.core.db import utcnow
from app.core.settings import Settings
from app.moderation.permissions import ensure_can_moderate_account
from app.web.errors import Conflict, Forbidden, Invalid, NotFound
from app.web.i18n import format_date
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import is_valid_id

if TYPE_CHECKING:
    from app.board.notifications import Message

BLOCK_REASON_MAX = 500
NOTE_MAX = 500
PER_PAGE = 50
DETAIL_LIMIT = 100  # rows per list on an account's page (the total is shown beside it)
PARIS = ZoneInfo("Europe/Paris")

ROLE_LABELS = {
    Role.resident.value: N_("Habitant·e"),
    Role.moderator.value: N_("Modérateur·rice"),
    Role.staff.value: N_("Équipe de la fabrique"),
    Role.admin.value: N_("Administrateur·rice"),
}


# --- loading ---------------------------------------------------------------------------------


def get_account(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if is_valid_id(user_id) else None
    if user is None:
        raise NotFound(_("Ce compte n'existe pas ou a été supprimé."))
    return user


# --- block and unblock -----------------------------------------------------------------------


def _clean_reason(reason: str | None, *, required: bool, maximum: int) -> tuple[str, str | None]:
    """The reason on one line, and the error to show beside the field (or None)."""
    cleaned = " ".join((reason or "").split())
    if required and not cleaned:
        return cleaned, _("Indiquez le motif du blocage : il sera montré à la personne.")
    if len(cleaned) > maximum:
        return cleaned, _("Le motif doit faire au plus %(max)s caractères.", max=maximum)
    return cleaned, None


def today_in_paris(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(PARIS).date()


def end_of_day(day: date) -> datetime:
    """The instant a block « until `day` » ends: midnight in Paris at the start of the next
    day, in UTC."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=PARIS).astimezone(UTC)


def last_blocked_day(user: User) -> date | None:
    """The last day (Paris time) of a block with an end date, as the moderator chose it."""
    if user.blocked_until is None:
        return None
    return (user.blocked_until.astimezone(PARIS) - timedelta(microseconds=1)).date()


def is_iso_date(raw: str) -> bool:
    try:
        date.fromisoformat(raw.strip())
    except ValueError:
        return False
    return True


def parse_until(raw: str | None, now: datetime | None = None) -> tuple[datetime | None, str | None]:
    """The end of a block from the form's date field: (None, None) when left empty."""
    raw = (raw or "").strip()
    if not raw:
        return None, None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None, _("Indiquez une date au format AAAA-MM-JJ, ou laissez vide.")
    if day < today_in_paris(now):
        return None, _(
            "Cette date est passée : choisissez aujourd'hui ou un jour à venir, "
            "ou laissez vide pour un blocage sans fin."
        )
    return end_of_day(day), None


def _settings(session: Session) -> Settings:
    return session.info.get("settings") or Settings()


def _charter_url(session: Session) -> str:
    return _settings(session).base_url.rstrip("/") + "/charter"


def block_message(user: User, session: Session) -> str:
    """What the blocked person is told (stored on the notification: notify() keeps 300
    characters, so the reason comes last and only it can be cut)."""
    day = last_blocked_day(user)
    if day is not None:
        head = _(
            "Votre compte est bloqué jusqu'au %(date)s inclus : vous pouvez lire le site, "
            "exporter ou supprimer vos données, mais plus y participer (charte : %(charter)s).",
            date=format_date(datetime.combine(day, time.min)),
            charter=_charter_url(session),
        )
    else:
        head = _(
            "Votre compte est bloqué : vous pouvez lire le site, exporter ou supprimer vos "
            "données, mais plus y participer (charte : %(charter)s).",
            charter=_charter_url(session),
        )
    return head + " " + _("Motif : %(reason)s", reason=user.blocked_reason or "")


def _tell(session: Session, actor: User, user: User, message: Message) -> None:
    from app.board.notifications import notify

    notify(session, "moderation", [user.id], actor=actor, message=message)


def block_user(
    session: Session,
    moderator: User,
    user: User,
    *,
    reason: str,
    until: datetime | None = None,
    commit: bool = True,
) -> User:
    """Blocks `user` (audited and told to them, in the caller's transaction). A moderator never
    blocks someone of their own rank or above: only an admin blocks team members, and nobody
    blocks themselves. Blocking again changes the reason and the end date."""
    ensure_can_moderate_account(moderator, user, blocking=True)
    reason, error = _clean_reason(reason, required=True, maximum=BLOCK_REASON_MAX)
    if error:
        raise Invalid({"reason": error})
    now = utcnow()
    if until is not None and until <= now:
        raise Invalid({"until": _("La date de fin du blocage doit être dans le futur.")})
    before = {
        "blocked_at": user.blocked_at,
        "blocked_until": user.blocked_until,
        "blocked_reason": user.blocked_reason,
    }
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
        after={"blocked_at": now, "blocked_until": until, "blocked_reason": reason},
    )
    _tell(session, moderator, user, lambda: block_message(user, session))
    if commit:
        session.commit()
    return user


def block_account(
    session: Session, moderator: User, user_id: int, *, reason: str, until: str
) -> User:
    """The moderation form: both fields checked at once, so every error shows beside its
    field. Commits."""
    user = get_account(session, user_id)
    ensure_can_moderate_account(moderator, user)
    errors: dict[str, str] = {}
    cleaned, reason_error = _clean_reason(reason, required=True, maximum=BLOCK_REASON_MAX)
    if reason_error:
        errors["reason"] = reason_error
    end, until_error = parse_until(until)
    if until_error:
        errors["until"] = until_error
    if errors:
        raise Invalid(errors)
    return block_user(session, moderator, user, reason=cleaned, until=end)


def unblock_account(session: Session, moderator: User, user_id: int, *, note: str = "") -> User:
    """Lifts a block before its end (audited `user.unblock`, told to the person). Commits."""
    user = get_account(session, user_id)
    ensure_can_moderate_account(moderator, user)
    note, error = _clean_reason(note, required=False, maximum=NOTE_MAX)
    if error:
        raise Invalid({"note": error})
    if user.blocked_at is None:
        raise Conflict(_("Ce compte n'est pas bloqué."))
    before = {
        "blocked_at": user.blocked_at,
        "blocked_until": user.blocked_until,
        "blocked_reason": user.blocked_reason,
    }
    user.blocked_at = user.blocked_until = user.blocked_reason = None
    session.add(user)
    audit.record(
        session,
        moderator,
        "user.unblock",
        "user",
        user.id,
        reason=note,
        before=before,
        after={"blocked_at": None, "blocked_until": None, "blocked_reason": None},
    )

    def message() -> str:  # in the person's language
        text = _("Votre compte est débloqué : vous pouvez de nouveau participer.")
        if note:
            text += " " + _("Note de l'équipe : %(note)s", note=note)
        return text

    _tell(session, moderator, user, message)
    session.commit()
    return user


# --- trust -----------------------------------------------------------------------------------


def set_trust(session: Session, moderator: User, user_id: int, *, trusted: bool) -> bool:
    """Trusts (their posts skip the queue) or stops trusting an account. Idempotent: False,
    and nothing written, when it already was so. Commits."""
    user = get_account(session, user_id)
    ensure_can_moderate_account(moderator, user)
    if (user.trusted_at is not None) == trusted:
        return False
    before = {"trusted_at": user.trusted_at}
    user.trusted_at = utcnow() if trusted else None
    session.add(user)
    audit.record(
        session,
        moderator,
        "user.trust" if trusted else "user.untrust",
        "user",
        user.id,
        before=before,
        after={"trusted_at": user.trusted_at},
    )

    def message() -> str:  # in the person's language
        if trusted:
            return _(
                "L'équipe de modération vous fait confiance : vos prochaines publications "
                "paraîtront sans attendre de validation."
            )
        return _(
            "Vos prochaines publications seront relues par l'équipe de modération avant "
            "de paraître."
        )

    _tell(session, moderator, user, message)
    session.commit()
    return True


# --- roles -----------------------------------------------------------------------------------


def change_role(
    session: Session, admin: User, user_id: int, new_role: str, *, note: str = ""
) -> User:
    """An admin gives another account another role (never their own: another admin changes
    it for them), and the last active admin cannot be demoted, so the site always keeps someone
    able to manage it. Commits."""
    user = get_account(session, user_id)
    if not can_change_role(admin, user):
        if admin.id == user.id and admin.has_role(Role.admin):
            raise Forbidden(_("Vous ne pouvez pas agir sur votre propre compte ici."))
        raise Forbidden(_("Seul·e un·e administrateur·rice peut changer un rôle."))
    if new_role not in ROLE_LABELS:
        raise Invalid({"role": _("Choisissez un rôle dans la liste.")})
    note, error = _clean_reason(note, required=False, maximum=NOTE_MAX)
    if error:
        raise Invalid({"note": error})
    if user.role == new_role:
        raise Invalid({"role": _("Ce compte a déjà ce rôle.")})
    if user.role == Role.admin.value:
        # Lock the admins' rows (PostgreSQL): two admins demoting each other at the same time
        # wait for one another, and the second sees the first's change.
        admins = session.exec(
            select(User).where(User.role == Role.admin.value).with_for_update()
        ).all()
        others = [a for a in admins if a.id != user.id and not a.is_blocked()]
        if not others:
            raise Conflict(
                _(
                    "C'est le dernier compte administrateur actif : nommez d'abord un·e autre "
                    "administrateur·rice."
                )
            )
    before = {"role": user.role}
    user.role = new_role
    session.add(user)
    audit.record(
        session,
        admin,
        "user.role",
        "user",
        user.id,
        reason=note,
        before=before,
        after={"role": new_role},
    )
    _tell(
        session,
        admin,
        user,
        lambda: _("Votre rôle est maintenant : %(role)s.", role=_(ROLE_LABELS[new_role])),
    )
    session.commit()
    return user
