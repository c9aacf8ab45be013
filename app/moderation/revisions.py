"""A moderator rewrites the text of a need or a comment (to remove a phone number, an
insult…): one editor for both. The earlier text is kept in a Revision row (staff read it in the
need's file), the author is told why, and an optimistic check on `updated_at` (in the UPDATE's
WHERE) means two people editing at once never overwrite each other: the second is told who
changed it first. Load → authorise → validate → execute → revision and audit entry → the
author's notification → commit, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.models import Comment, Need
from app.core import audit
from app.core.db import utcnow
from app.core.text import excerpt, render_markdown, slugify
from app.moderation.models import Revision
from app.moderation.needs import clean_reason, editable_comment, editable_need, parse_seen
from app.web.errors import Conflict, Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_


@dataclass(frozen=True)
class TextKind:
    """What differs between rewriting a need and a comment."""

    name: str  # the revision's and the audit entry's target kind
    model: type[Need] | type[Comment]
    unchanged: str  # the form sent the same text
    changed_meanwhile: str  # someone else changed it since the form was opened
    told: str  # what the author is told


NEED_TEXT = TextKind(
    "need",
    Need,
    N_("Le texte n'a pas changé : modifiez le titre ou la description."),
    N_(
        "Déjà modifié par %(who)s entre-temps : ce besoin a changé depuis l'ouverture du "
        "formulaire. Rien n'a été écrasé ; partez de sa version actuelle."
    ),
    N_("Votre besoin « %(title)s » a été modifié par l'équipe de modération. Motif : %(reason)s"),
)
COMMENT_TEXT = TextKind(
    "comment",
    Comment,
    N_("Le texte n'a pas changé : modifiez le commentaire."),
    N_(
        "Déjà modifié par %(who)s entre-temps : ce commentaire a changé depuis l'ouverture "
        "du formulaire. Rien n'a été écrasé ; partez de sa version actuelle."
    ),
    N_(
        "Votre commentaire sur « %(title)s » a été modifié par l'équipe de modération. "
        "Motif : %(reason)s"
    ),
)


def edit_need_text(
    session: Session,
    moderator: User,
    need_id: int,
    *,
    title: str,
    body: str,
    reason: str,
    seen_updated_at: str,
) -> Need:
    """A moderator rewrites a need's title and body. Theme and territory are not edited here
    (qualification is): only the text. Commits."""
    from app.board.service import NeedInput, validate_need

    need = editable_need(session, moderator, need_id)
    errors: dict[str, str] = {}
    new_title, new_body = need.title, need.body
    try:
        new_title, new_body, _theme, _territory = validate_need(
            session, NeedInput(title=title, body=body)
        )
    except Invalid as exc:
        errors.update(exc.errors)
    text = {"title": new_title, "body": new_body}
    derived = {
        "slug": slugify(new_title),
        "body_html": render_markdown(new_body),
        "excerpt": excerpt(new_body),
    }
    _rewrite(session, moderator, NEED_TEXT, need, text, derived, reason, seen_updated_at, errors)
    return need


def edit_comment_text(
    session: Session,
    moderator: User,
    comment_id: int,
    *,
    body: str,
    reason: str,
    seen_updated_at: str,
) -> Comment:
    """A moderator rewrites a comment. Commits."""
    from app.board.comments import clean_body

    comment = editable_comment(session, moderator, comment_id)
    errors: dict[str, str] = {}
    new_body = comment.body
    try:
        new_body = clean_body(body)
    except Invalid as exc:
        errors.update(exc.errors)
    text = {"body": new_body}
    _rewrite(
        session,
        moderator,
        COMMENT_TEXT,
        comment,
        text,
        {"body_html": render_markdown(new_body)},
        reason,
        seen_updated_at,
        errors,
        noted={"need_id": comment.need_id},
    )
    return comment


def _rewrite(
    session: Session,
    moderator: User,
    kind: TextKind,
    item: Need | Comment,
    text: dict[str, str],
    derived: dict[str, Any],
    reason: str,
    seen_updated_at: str,
    errors: dict[str, str],
    *,
    noted: dict[str, Any] | None = None,
) -> None:
    """The steps both rewrites share, from the reason's check to the commit. `text`: the fields
    a revision keeps (the new values; the old ones are read from `item`); `derived`: what is
    computed from them; `errors`: what the text's own validation found; `noted`: more context
    for the audit entry."""
    why = ""
    try:
        why = clean_reason(reason)
    except Invalid as exc:
        errors.update(exc.errors)
    old = {name: getattr(item, name) for name in text}
    if not errors and text == old:
        errors["body"] = _(kind.unchanged)
    if errors:
        raise Invalid(errors)
    seen = parse_seen(seen_updated_at)
    now = utcnow()
    model = kind.model
    result = session.exec(
        update(model)  # type: ignore[call-overload]
        .where(
            model.id == item.id,
            model.updated_at == seen,  # type: ignore[arg-type]
            model.deleted_at.is_(None),  # type: ignore[union-attr]
        )
        .values(**text, **derived, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.rollback()
        raise _changed_by(session, kind, item.id, seen)  # type: ignore[arg-type]
    session.add(
        Revision(
            target_kind=kind.name,
            target_id=item.id,  # type: ignore[arg-type]
            editor_id=moderator.id,
            editor_name=moderator.display_name[:60],
            reason=why,
            created_at=now,
            **old,
        )
    )
    audit.record(
        session,
        moderator,
        f"{kind.name}.edit",
        kind.name,
        item.id,
        reason=why,
        before={**old, "updated_at": seen, **(noted or {})},
        after={**text, "updated_at": now},
    )
    session.refresh(item)
    comment = item if isinstance(item, Comment) else None
    need = item if isinstance(item, Need) else session.get(Need, item.need_id)
    _tell_author(session, moderator, kind, item.author_id, why, need=need, comment=comment)
    session.commit()


def _tell_author(
    session: Session,
    moderator: User,
    kind: TextKind,
    author_id: int | None,
    why: str,
    *,
    need: Need | None,
    comment: Comment | None,
) -> None:
    from app.board.notifications import notify

    notify(
        session,
        "moderation",
        [author_id],
        need=need,
        comment=comment,
        actor=moderator,
        # In the author's language (app.board.notifications.Message).
        message=lambda: _(kind.told, title=need.title if need else "", reason=why),
    )


def _changed_by(session: Session, kind: TextKind, target_id: int, since: datetime) -> Conflict:
    """The clear « already changed by X » refusal (nothing written: the caller rolled back):
    the last moderator who edited it since, or else its author."""
    revision = session.exec(
        select(Revision)
        .where(
            Revision.target_kind == kind.name,
            Revision.target_id == target_id,
            Revision.created_at >= since,  # type: ignore[operator]
        )
        .order_by(Revision.id.desc())  # type: ignore[union-attr]
    ).first()
    who = revision.editor_name if revision else None
    if who is None:
        row = session.get(kind.model, target_id)
        author = session.get(User, row.author_id) if row and row.author_id else None
        who = author.display_name if author else _("son auteur·e")
    return Conflict(_(kind.changed_meanwhile, who=who))
