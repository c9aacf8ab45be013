"""The fabrique's public answer on a need (issue 17): one official text per need, written,
edited and removed by staff (staff and admins; moderators keep the board clean but do not speak
for the fabrique), shown at the top of the need page under « Réponse de la fabrique », in the
feeds and in the API (`public_answer`), and told to the need's followers and author.

The answer lives on the need (answer_body, answer_html, answer_at; migration 0012): the Markdown
as typed, its sanitised HTML (app.core.text, as need bodies) and when it was last written. Who
wrote it is in the audit log. Writes follow load → authorise → validate → execute → audit →
notify → commit, in one transaction: a refused form has written nothing.

Also here: who counts as « Équipe de la fabrique » on comments (`is_team_member`).
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

from app.accounts.models import Role, User
from app.accounts.permissions import ensure_role, has_active_role
from app.board.follows import follower_ids
from app.board.models import PUBLIC_NEED_STATUSES, Need, NeedStatus, NotificationKind
from app.board.notifications import notify
from app.core import audit
from app.core.db import utcnow
from app.core.text import excerpt, plain_text, render_markdown
from app.web.errors import Invalid, NotFound
from app.web.i18n import gettext as _

ANSWER_MAX = 5000  # characters, as a need's description
NOTIFY_EXCERPT = 200
# Control characters other than tab and newlines (PostgreSQL refuses NUL).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- who ---------------------------------------------------------------------------------------


def can_answer(user: User | None) -> bool:
    # Staff and admins answer in the fabrique's name; moderators (often volunteers) do not.
    return has_active_role(user, Role.staff)


def ensure_can_answer(user: User | None) -> User:
    return ensure_role(
        user,
        Role.staff,
        _("Seule l'équipe de la fabrique (staff) peut répondre au nom de la fabrique."),
    )


def is_team_member(user: User | None) -> bool:
    """Whose comments carry « Équipe de la fabrique »: staff and admins, by their role now (a
    person who leaves the team loses the badge on their old comments too). Not moderators:
    they moderate the board, they are not the fabrique's voice."""
    return user is not None and user.has_role(Role.staff)


# --- reading -----------------------------------------------------------------------------------


def has_answer(need: Need) -> bool:
    return need.answer_at is not None


def public_answer(need: Need) -> dict[str, Any] | None:
    """The answer as the API shows it: {"body_html": sanitised HTML, "at": aware UTC datetime
    of its last writing}, or None. The caller checks the need is public (visible_needs)."""
    if need.answer_at is None:
        return None
    return {"body_html": need.answer_html, "at": need.answer_at}


def answerable_need(session: Session, need_id: int) -> Need:
    """A need staff may answer: any that exists, is not deleted and not merged (a merged need's
    page redirects to the need it went into, which is where an answer belongs)."""
    need = session.get(Need, need_id)
    if need is None or need.deleted_at is not None or need.status == NeedStatus.merged.value:
        raise NotFound(_("Ce besoin n'existe pas ou n'est plus visible."))
    return need


# --- writing -----------------------------------------------------------------------------------


def clean_answer(body: str) -> str:
    """The text to store, or Invalid({"answer": …}) in words staff can act on."""
    text = _CONTROL.sub("", body or "").replace("\r\n", "\n").strip()
    if not text or not plain_text(text):
        raise Invalid(
            {"answer": _("La réponse est vide : écrivez le texte que les habitants liront.")}
        )
    if len(text) > ANSWER_MAX:
        raise Invalid(
            {
                "answer": _(
                    "La réponse est trop longue : %(max)s caractères au plus "
                    "(elle en compte %(count)s).",
                    max=f"{ANSWER_MAX:,}".replace(",", "\u202f"),
                    count=f"{len(text):,}".replace(",", "\u202f"),
                )
            }
        )
    return text


def save_answer(session: Session, user: User | None, need: Need, body: str) -> bool:
    """Writes or edits the answer, audits it and, when the need is public, tells its followers
    and author (in-app, and by e-mail per their choice for « pipeline » news). Commits.
    Returns False when the text did not change (nothing written, nobody told)."""
    actor = ensure_can_answer(user)
    text = clean_answer(body)
    if text == need.answer_body and need.answer_at is not None:
        return False
    first = need.answer_at is None
    before = None if first else {"answer": need.answer_body}
    need.answer_body = text
    need.answer_html = render_markdown(text)
    need.answer_at = utcnow()
    session.add(need)
    audit.record(
        session,
        actor,
        "need.answer" if first else "need.answer_edit",
        "need",
        need.id,
        before=before,
        after={"answer": text},
    )
    if need.status in PUBLIC_NEED_STATUSES:
        _notify(session, actor, need, first=first)
    session.commit()
    return True


def remove_answer(session: Session, user: User | None, need: Need) -> bool:
    """Takes the answer down (audited, nobody told). Commits. False if there was none."""
    actor = ensure_can_answer(user)
    if need.answer_at is None:
        return False
    audit.record(
        session, actor, "need.answer_remove", "need", need.id, before={"answer": need.answer_body}
    )
    need.answer_body = need.answer_html = ""
    need.answer_at = None
    session.add(need)
    session.commit()
    return True


def _notify(session: Session, actor: User, need: Need, *, first: bool) -> None:
    people = [*follower_ids(session, need.id), need.author_id]  # type: ignore[arg-type]
    quoted = excerpt(need.answer_body, NOTIFY_EXCERPT)

    def message() -> str:  # in each recipient's language
        if first:
            return _("La fabrique à initiatives a répondu : « %(text)s »", text=quoted)
        return _("La fabrique à initiatives a mis à jour sa réponse : « %(text)s »", text=quoted)

    # « pipeline »: news of a need I follow from the fabrique, in the same e-mail choice (a
    # daily digest by default) and brought up to date rather than repeated when staff edit
    # it again within minutes (notifications.COALESCE_WINDOW).
    notify(session, NotificationKind.pipeline, people, need=need, actor=actor, message=message)
