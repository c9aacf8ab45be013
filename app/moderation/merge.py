"""Merging a duplicate need into another: the moderator finds the need that stays, sees what
will move, and merges; the source is marked merged and its page redirects to the target.

Merge decisions:
- Supports are united without counting anyone twice: a supporter of the source only moves
  (their row's need_id changes, its date, concern and territory kept); a supporter of both
  keeps the target's row and the source's is deleted (recorded in the audit entry). The
  target's supports_count is then counted from the rows and its trending score grows by the
  weights of the moved rows (board.trending: a score is the sum of its rows' weights).
- Comments move with their replies; `moved_from_need_id` says where they came from. The
  target's comments_count is counted from its published, non-deleted comments.
- Followers of the source follow the target too; their follow of the source stays (harmless,
  and it makes undoing by hand easier).
- The rows of both needs are locked in id order (a conditional UPDATE each) before anything
  else moves, so two merges touching the same needs wait for each other instead of
  deadlocking, and the second merge of the same source finds it no longer in the status it saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.events import NeedStatusChanged
from app.board.models import (
    PUBLIC_NEED_STATUSES,
    Comment,
    CommentStatus,
    Follow,
    Need,
    NeedStatus,
    Support,
)
from app.board.trending import support_weight
from app.core import audit, events
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.moderation.needs import REASON_MAX, get_need
from app.moderation.permissions import ensure_moderator
from app.web.errors import Conflict, Invalid
from app.web.i18n import gettext as _
from app.web.params import parse_id

SEARCH_LIMIT = 20


def search_targets(session: Session, source: Need, query: str) -> list[Need]:
    """Public needs a duplicate can be merged into: by number, or by words (the board's search:
    every word, in any order, as a prefix, accents ignored, title and text)."""
    from app.board.queries import visible_needs
    from app.board.search import match_clause, search_terms

    query = " ".join((query or "").replace("\x00", "").split())[:100]
    if not query:
        return []
    statement = visible_needs().where(Need.id != source.id)
    candidate = query.removeprefix("#").removeprefix("n°").strip()
    conditions = []
    terms = search_terms(query)
    if terms:
        conditions.append(match_clause(session.get_bind().dialect.name, terms))
    if (number := parse_id(candidate)) is not None:
        conditions.append(Need.id == number)
    if not conditions:
        return []
    statement = statement.where(or_(*conditions))
    return list(
        session.exec(statement.order_by(Need.supports_count.desc(), Need.id).limit(SEARCH_LIMIT))  # type: ignore[attr-defined]
    )


def likely_duplicates(session: Session, source: Need) -> list[Need]:
    """Public needs whose title and text look like the duplicate's: offered before any search."""
    from app.board.queries import similar_needs

    return similar_needs(session, source.title, limit=5, exclude_id=source.id)


def source_errors(source: Need) -> dict[str, str]:
    if source.deleted_at is not None:
        return {
            "source": _("Ce besoin a été supprimé par son auteur·e : il ne peut pas être fusionné.")
        }
    if source.status == NeedStatus.merged.value:
        return {"source": _("Ce besoin a déjà été fusionné dans un autre.")}
    return {}


def _target_errors(source: Need, target: Need | None) -> dict[str, str]:
    if target is None:
        return {"into": _("Aucun besoin ne porte ce numéro.")}
    if target.id == source.id:
        return {
            "into": _("Un besoin ne peut pas être fusionné avec lui-même : choisissez-en un autre.")
        }
    if target.deleted_at is not None:
        return {"into": _("Ce besoin a été supprimé : choisissez un besoin public.")}
    if target.status == NeedStatus.merged.value:
        return {
            "into": _("Ce besoin a lui-même été fusionné : choisissez le besoin qui le remplace.")
        }
    if target.status not in PUBLIC_NEED_STATUSES:
        return {
            "into": _(
                "Ce besoin n'est pas public (en attente, masqué ou refusé) : "
                "choisissez un besoin publié."
            )
        }
    return {}


def load_merge(session: Session, moderator: User, source_id: int, into: str) -> tuple[Need, Need]:
    """The source and the target of a merge, checked (Invalid with a message per field)."""
    ensure_moderator(moderator)
    source = get_need(session, source_id)
    errors = source_errors(source)
    if errors:
        raise Invalid(errors)
    target_id = parse_id(into)
    if target_id is None:
        raise Invalid({"into": _("Indiquez le numéro du besoin qui restera (un nombre entier).")})
    target = session.get(Need, target_id)
    errors = _target_errors(source, target)
    if errors:
        raise Invalid(errors)
    return source, target  # type: ignore[return-value]


@dataclass
class MergePlan:
    """What a merge will do, for the confirmation page."""

    source_supports: int
    target_supports: int
    both: int  # people supporting both needs: counted once
    result_supports: int
    comments_moved: int  # every comment, whatever its status
    comments_published: int
    result_comments: int
    followers_added: int


def merge_plan(session: Session, source: Need, target: Need) -> MergePlan:
    def count(statement: Any) -> int:
        return session.exec(statement).one()

    target_supporters = select(Support.user_id).where(Support.need_id == target.id)
    source_supports = count(select(func.count()).where(Support.need_id == source.id))
    target_supports = count(select(func.count()).where(Support.need_id == target.id))
    both = count(
        select(func.count()).where(
            Support.need_id == source.id,
            Support.user_id.in_(target_supporters),  # type: ignore[attr-defined]
        )
    )

    def published(need_id: int) -> Any:
        return select(func.count()).where(
            Comment.need_id == need_id,
            Comment.status == CommentStatus.published.value,
            Comment.deleted_at.is_(None),  # type: ignore[union-attr]
        )

    comments_published = count(published(source.id))  # type: ignore[arg-type]
    target_followers = select(Follow.user_id).where(Follow.need_id == target.id)
    return MergePlan(
        source_supports=source_supports,
        target_supports=target_supports,
        both=both,
        result_supports=target_supports + source_supports - both,
        comments_moved=count(select(func.count()).where(Comment.need_id == source.id)),
        comments_published=comments_published,
        result_comments=count(published(target.id)) + comments_published,  # type: ignore[arg-type]
        followers_added=count(
            select(func.count()).where(
                Follow.need_id == source.id,
                Follow.user_id.not_in(target_followers),  # type: ignore[attr-defined]
            )
        ),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _counts(need: Need) -> dict[str, Any]:
    return {
        "status": need.status,
        "supports_count": need.supports_count,
        "comments_count": need.comments_count,
        "trending_score": need.trending_score,
    }


def _conflict_on_source(session: Session, source_id: int) -> Conflict:
    last = session.exec(
        select(AuditEntry)
        .where(AuditEntry.target_kind == "need", AuditEntry.target_id == source_id)
        .order_by(AuditEntry.id.desc())  # type: ignore[union-attr]
    ).first()
    who = last.actor_name if last else _("un·e autre modérateur·rice")
    return Conflict(
        _("Ce besoin a déjà été traité par %(who)s entre-temps : rechargez sa fiche.", who=who)
    )


def merge_needs(
    session: Session,
    moderator: User,
    source_id: int,
    into: str,
    *,
    seen_status: str,
    note: str = "",
) -> Need:
    """Merges the need `source_id` into the need numbered `into`, in one transaction; returns
    the target. Invalid (nothing written) when either need cannot take part; Conflict when
    the source changed since the moderator looked at it."""
    from app.board.follows import add_follow
    from app.board.notifications import notify

    source, target = load_merge(session, moderator, source_id, into)
    note = " ".join((note or "").split())
    if len(note) > REASON_MAX:
        raise Invalid({"note": _("La note doit faire au plus %(max)s caractères.", max=REASON_MAX)})
    source_pk, target_pk = source.id, target.id
    assert source_pk is not None and target_pk is not None

    # 1. Lock both rows, in id order, each UPDATE (changing nothing) re-checking what was
    # validated above; then read the counts as they are under the lock.
    for need_id in sorted((source_pk, target_pk)):
        if need_id == source_pk:
            still = (
                Need.status == seen_status,
                Need.status != NeedStatus.merged.value,
                Need.deleted_at.is_(None),  # type: ignore[union-attr]
            )
        else:
            still = (
                Need.status.in_(PUBLIC_NEED_STATUSES),  # type: ignore[attr-defined]
                Need.deleted_at.is_(None),  # type: ignore[union-attr]
            )
        locked = session.exec(
            update(Need)  # type: ignore[call-overload]
            .where(Need.id == need_id, *still)
            .values(supports_count=Need.supports_count)
            .execution_options(synchronize_session=False)
        )
        if locked.rowcount != 1:
            session.rollback()
            if need_id == source_pk:
                raise _conflict_on_source(session, source_pk)
            raise Conflict(
                _(
                    "Le besoin choisi vient de changer (masqué, fusionné ou supprimé) : "
                    "choisissez-en un autre."
                )
            )
    session.refresh(source)
    session.refresh(target)
    before = {"source": _counts(source), "target": _counts(target)}
    now = utcnow()
    session.exec(
        update(Need)  # type: ignore[call-overload]
        .where(Need.id == source_pk)
        .values(
            status=NeedStatus.merged.value,
            merged_into_id=target_pk,
            supports_count=0,
            comments_count=0,
            trending_score=0.0,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )

    # 2. Supports: duplicates deleted (the target's row stays), the others moved.
    target_supporters = select(Support.user_id).where(Support.need_id == target_pk)
    duplicates = list(
        session.exec(
            select(Support)
            .where(Support.need_id == source_pk, Support.user_id.in_(target_supporters))  # type: ignore[attr-defined]
            .order_by(Support.id)  # type: ignore[arg-type]
        )
    )
    deleted_supports = [
        {
            "id": s.id,
            "user_id": s.user_id,
            "created_at": _iso(s.created_at),
            "concern": s.concern,
            "territory_id": s.territory_id,
        }
        for s in duplicates
    ]
    if duplicates:
        session.exec(
            delete(Support)  # type: ignore[call-overload]
            .where(Support.id.in_([s.id for s in duplicates]))  # type: ignore[union-attr]
            .execution_options(synchronize_session=False)
        )
    moving = session.exec(
        select(Support.id, Support.user_id, Support.created_at)
        .where(Support.need_id == source_pk)
        .order_by(Support.id)  # type: ignore[arg-type]
    ).all()
    moved_weight = sum(support_weight(created_at) for _i, _u, created_at in moving)
    if moving:
        session.exec(
            update(Support)  # type: ignore[call-overload]
            .where(Support.need_id == source_pk)
            .values(need_id=target_pk)
            .execution_options(synchronize_session=False)
        )

    # 3. Comments, with their replies (a thread moves whole: every comment of the need moves).
    moved_comments = session.exec(
        select(Comment.id, Comment.moved_from_need_id)
        .where(Comment.need_id == source_pk)
        .order_by(Comment.id)  # type: ignore[arg-type]
    ).all()
    if moved_comments:
        session.exec(
            update(Comment)  # type: ignore[call-overload]
            .where(Comment.need_id == source_pk)
            .values(need_id=target_pk, moved_from_need_id=source_pk)
            .execution_options(synchronize_session=False)
        )

    # 4. Followers of the source follow the target.
    source_followers = session.exec(
        select(Follow.user_id).where(Follow.need_id == source_pk).order_by(Follow.user_id)  # type: ignore[arg-type]
    ).all()
    follows_added = [uid for uid in source_followers if add_follow(session, target_pk, uid)]

    # 5. The target's counts, exact from the rows (its row is locked: nobody adds meanwhile).
    supports_now = select(func.count()).select_from(Support).where(Support.need_id == target_pk)
    comments_now = (
        select(func.count())
        .select_from(Comment)
        .where(
            Comment.need_id == target_pk,
            Comment.status == CommentStatus.published.value,
            Comment.deleted_at.is_(None),  # type: ignore[union-attr]
        )
    )
    session.exec(
        update(Need)  # type: ignore[call-overload]
        .where(Need.id == target_pk)
        .values(
            supports_count=supports_now.scalar_subquery(),
            comments_count=comments_now.scalar_subquery(),
            trending_score=Need.trending_score + moved_weight,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(source)
    session.refresh(target)
    events.announce(session, NeedStatusChanged(source, seen_status))

    # 6. Audit: enough to undo by hand.
    audit.record(
        session,
        moderator,
        "need.merge",
        "need",
        source_pk,
        reason=note,
        before=before,
        after={
            "into": target_pk,
            "source": _counts(source),
            "target": _counts(target),
            "moved_supports": [{"id": i, "user_id": u} for i, u, _c in moving],
            "deleted_supports": deleted_supports,
            "moved_comments": [{"id": i, "moved_from_need_id": m} for i, m in moved_comments],
            "follows_added": follows_added,
        },
    )

    # 7. Both authors are told (the moderator never: notify skips the actor).

    def suffix() -> str:  # called inside each message, in its recipient's language
        return f" {_('Note :')} {note}" if note else ""

    notify(
        session,
        "moderation",
        [source.author_id],
        need=target,
        actor=moderator,
        message=lambda: (
            _(
                "Votre besoin « %(source)s » décrivait le même besoin que « %(target)s » : ils ont "
                "été fusionnés. Vos soutiens et vos commentaires y sont réunis.",
                source=source.title,
                target=target.title,
            )
            + suffix()
        ),
    )
    if target.author_id != source.author_id:
        notify(
            session,
            "moderation",
            [target.author_id],
            need=target,
            actor=moderator,
            message=lambda: (
                _(
                    "Le besoin « %(source)s », qui décrivait le même besoin, a été fusionné "
                    "avec le vôtre, « %(target)s » : ses soutiens et ses commentaires s'y "
                    "ajoutent.",
                    source=source.title,
                    target=target.title,
                )
                + suffix()
            ),
        )
    session.commit()
    return target
