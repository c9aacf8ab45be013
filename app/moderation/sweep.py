"""« Refuser et bloquer »: the author is blocked and everything else they posted is hidden
(published needs and comments hidden, waiting ones refused), each item audited, the counts
kept exact and the reports actioned, in the decision's transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.board.comments import change_comment_count
from app.board.events import NeedStatusChanged
from app.board.models import Comment, CommentStatus, Need
from app.core import audit, events
from app.moderation.decisions import COVERED, HIDDEN, PENDING, PUBLISHED, REJECTED, close_reports
from app.web.errors import Forbidden, Invalid
from app.web.i18n import gettext as _


def ensure_can_block(moderator: User, author: User | None) -> User:
    """The same rules as accounts.block_user, checked before anything is written."""
    if author is None:
        raise Invalid(
            {"decision": _("Ce contenu n'a plus d'auteur·e : il n'y a personne à bloquer.")}
        )
    if author.id == moderator.id:
        raise Forbidden(_("Vous ne pouvez pas bloquer votre propre compte."))
    if author.has_role(Role.moderator) and not moderator.has_role(Role.admin):
        raise Forbidden(_("Seul·e un·e administrateur·rice peut bloquer un membre de l'équipe."))
    return author


@dataclass
class Sweep:
    """What « refuser et bloquer » hid besides the item decided on."""

    needs: int = 0
    comments: int = 0


def block_and_sweep(
    session: Session,
    moderator: User,
    author: User,
    why: str,
    *,
    skip: tuple[str, int],
) -> Sweep:
    """Blocks the author and hides everything they posted (published needs and comments are
    hidden, waiting ones refused), each item audited, counts kept exact, reports actioned."""
    from app.moderation.accounts import block_user

    block_user(session, moderator, author, reason=why[:500], commit=False)
    sweep = Sweep()
    needs = session.exec(
        select(Need).where(
            Need.author_id == author.id,
            Need.deleted_at.is_(None),  # type: ignore[union-attr]
            Need.status.in_((PENDING, PUBLISHED, COVERED)),  # type: ignore[attr-defined]
        )
    ).all()
    for need in needs:
        if ("need", need.id) == skip:
            continue
        before = need.status
        target = REJECTED if before == PENDING else HIDDEN
        result = session.exec(  # type: ignore[call-overload]
            update(Need)
            .where(Need.id == need.id, Need.status == before)  # type: ignore[arg-type]
            .values(status=target, moderation_reason=why)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue  # changed meanwhile by someone else: left as they decided
        action = "need.reject" if target == REJECTED else "need.hide"
        audit.record(
            session,
            moderator,
            action,
            "need",
            need.id,
            reason=why,
            before={"status": before},
            after={"status": target},
        )
        close_reports(session, "need", need.id, "actioned")  # type: ignore[arg-type]
        session.refresh(need)
        events.announce(session, NeedStatusChanged(need, before))
        sweep.needs += 1
    comments = session.exec(
        select(Comment).where(
            Comment.author_id == author.id,
            Comment.deleted_at.is_(None),  # type: ignore[union-attr]
            Comment.status.in_(  # type: ignore[attr-defined]
                (CommentStatus.pending.value, CommentStatus.published.value)
            ),
        )
    ).all()
    for comment in comments:
        if ("comment", comment.id) == skip:
            continue
        before = comment.status
        result = session.exec(  # type: ignore[call-overload]
            update(Comment)
            .where(Comment.id == comment.id, Comment.status == before)  # type: ignore[arg-type]
            .values(status=CommentStatus.hidden.value, moderation_reason=why)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue
        if before == CommentStatus.published.value:
            change_comment_count(session, comment.need_id, -1)
        audit.record(
            session,
            moderator,
            "comment.hide" if before == CommentStatus.published.value else "comment.reject",
            "comment",
            comment.id,
            reason=why,
            before={"status": before},
            after={"status": CommentStatus.hidden.value},
        )
        close_reports(session, "comment", comment.id, "actioned")  # type: ignore[arg-type]
        sweep.comments += 1
    return sweep


def sweep_sentence(sweep: Sweep) -> str:
    if not sweep.needs and not sweep.comments:
        return ""
    return " " + _(
        "Vos autres contributions sont masquées aussi (%(needs)s besoin(s), "
        "%(comments)s commentaire(s)).",
        needs=sweep.needs,
        comments=sweep.comments,
    )
