"""Comments on needs: post, reply (one level), edit within 15 minutes, soft delete, and the
threads a need page shows.

Every write follows load → authorise → validate → execute → commit. The HTML of a comment is
made once, when it is written (app.core.text). `Need.comments_count` counts the published,
non-deleted comments (replies included) and is changed with a relative UPDATE in the same
transaction as the comment, so it stays exact under concurrent requests.

Replies are one level deep: a reply to a reply joins the same thread (its parent becomes the
top-level comment) but the author of the comment actually answered is the one notified.

A deleted comment disappears, unless replies hang under it: then the thread stays, its place
taken by « Commentaire supprimé ». Pending and hidden comments are shown only to their author
and to moderators (to others, like a deleted one: a placeholder if it has replies, else
nothing).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import User
from app.board import team_alerts
from app.board.answers import is_team_member
from app.board.events import CommentPublished
from app.board.follows import follow, follower_ids
from app.board.models import Comment, CommentStatus, Need, NotificationKind
from app.board.notifications import notify
from app.board.permissions import can_delete_comment, can_edit_comment, is_moderator
from app.board.queries import get_need_for, get_visible_need
from app.board.service import audit_hold, ensure_can_participate, held_for_blocked_words
from app.core import events
from app.core.db import utcnow
from app.core.ratelimit import check_rate
from app.core.settings import ModerationMode, Settings
from app.core.site_config import blocked_words_in, site_config
from app.core.text import render_markdown
from app.web.antiabuse import check_link_limit
from app.web.errors import Forbidden, Invalid, NotFound
from app.web.i18n import gettext as _

BODY_MAX = 5000
# The largest id an INTEGER column holds: larger ones are refused before any query, because
# PostgreSQL fails a comparison with an out-of-range integer instead of finding nothing.
from app.web.params import MAX_ID  # noqa: E402

# Control characters other than tab and newlines: invisible, and PostgreSQL refuses NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _settings(session: Session, settings: Settings | None) -> Settings:
    return settings or session.info.get("settings") or Settings()


def _need_id(need: Need | int) -> int:
    return need if isinstance(need, int) else need.id  # type: ignore[return-value]


def clean_body(body: str) -> str:
    """The text to store, or Invalid on the `body` field."""
    text = _CONTROL.sub("", body or "").strip()
    if not text:
        raise Invalid({"body": _("Écrivez votre commentaire avant de l'envoyer.")})
    if len(text) > BODY_MAX:
        raise Invalid(
            {
                "body": _(
                    "Le commentaire doit faire au plus %(max)s caractères (il en fait %(length)s).",
                    max=BODY_MAX,
                    length=len(text),
                )
            }
        )
    return text


def _submission_key(author_id: int, need_id: int, parent_id: int | None, key: str) -> str:
    # Scoped to the author, the need and the form (top-level or which reply), so one value per
    # rendered page is enough and nobody can collide with someone else's comment.
    raw = f"{author_id}:{need_id}:{parent_id or ''}:{key}"
    return hashlib.sha256(raw.encode()).hexdigest()


def change_comment_count(session: Session, need_id: int, delta: int) -> None:
    session.exec(  # type: ignore[call-overload]
        update(Need)
        .where(Need.id == need_id)  # type: ignore[arg-type]
        .values(comments_count=Need.comments_count + delta)
        .execution_options(synchronize_session=False)
    )


def _resolve_parent(session: Session, need: Need, parent_id: int | None) -> Comment | None:
    """The comment answered (None for a top-level comment). It must be a published,
    non-deleted comment of the same need."""
    if parent_id is None:
        return None
    parent = session.get(Comment, parent_id) if 1 <= parent_id <= MAX_ID else None
    if (
        parent is None
        or parent.need_id != need.id
        or parent.deleted_at is not None
        or parent.status != CommentStatus.published.value
    ):
        raise Invalid(
            {"parent_id": _("Le commentaire auquel vous répondez n'existe plus ou a été masqué.")}
        )
    return parent


def post_comment(
    session: Session,
    need: Need | int,
    author: User | None,
    body: str,
    *,
    parent_id: int | None = None,
    submission_key: str | None = None,
    ip: str = "",
    settings: Settings | None = None,
) -> Comment:
    """Posts a comment or a reply on a public need; the author then follows the need. The
    same submission key (one per rendered form) never creates two comments: the first one is
    returned. Commits."""

    settings = _settings(session, settings)
    need = get_visible_need(session, _need_id(need))
    author = ensure_can_participate(author)
    key = _submission_key(author.id, need.id, parent_id, submission_key) if submission_key else None  # type: ignore[arg-type]
    if key:
        existing = session.exec(select(Comment).where(Comment.submission_key == key)).first()
        if existing is not None:
            return existing
    text = clean_body(body)
    answered = _resolve_parent(session, need, parent_id)
    check_link_limit(author.created_at, text, field="body")
    check_rate(session, "comment", user_id=author.id, ip=ip, enabled=settings.rate_limits == "on")
    # The effective mode (the admin's setting over the environment's): pre-moderation holds
    # every comment but those of the team and of trusted accounts; a blocked word holds it in
    # any mode, trusted or not (the author is never told which word: see
    # service.held_for_blocked_words).
    config = site_config(session, settings)
    blocked = held_for_blocked_words(session, author, text, config=config)
    held = bool(blocked) or (
        config.moderation_mode == ModerationMode.pre
        and not is_moderator(author)
        and author.trusted_at is None
    )
    now = utcnow()
    comment = Comment(
        need_id=need.id,  # type: ignore[arg-type]
        author_id=author.id,
        parent_id=(answered.parent_id or answered.id) if answered else None,
        body=text,
        body_html=render_markdown(text),
        status=(CommentStatus.pending if held else CommentStatus.published).value,
        created_at=now,
        updated_at=now,
        submission_key=key,
    )
    session.add(comment)
    try:
        session.flush()
    except IntegrityError:
        # The same form sent twice at once: the other request wrote it.
        session.rollback()
        if key is None:
            raise
        existing = session.exec(select(Comment).where(Comment.submission_key == key)).first()
        if existing is None:
            raise
        return existing
    follow(session, need, author, commit=False)
    if blocked:
        audit_hold(session, "comment", comment.id, blocked)
    if held:
        team_alerts.comment_waiting(session, need, comment, author)
    else:
        change_comment_count(session, need.id, +1)  # type: ignore[arg-type]
        notify_new_comment(session, need, comment, author, answered=answered, settings=settings)
        events.announce(session, CommentPublished(comment, need))
    session.commit()
    return comment


def notify_new_comment(
    session: Session,
    need: Need,
    comment: Comment,
    author: User,
    *,
    answered: Comment | None = None,
    settings: Settings | None = None,
) -> None:
    """A reply tells the author of the comment answered (kind `reply`); every follower of the
    need hears of it too (kind `comment`), once each, never the author. No commit: also meant
    for the moderation queue when it publishes a held comment."""
    replied_to: set[int] = set()
    if answered is not None and answered.author_id is not None:
        notify(
            session,
            NotificationKind.reply,
            [answered.author_id],
            need=need,
            comment=comment,
            actor=author,
            settings=settings,
        )
        replied_to.add(answered.author_id)
    followers = [uid for uid in follower_ids(session, need.id) if uid not in replied_to]  # type: ignore[arg-type]
    notify(
        session,
        NotificationKind.comment,
        followers,
        need=need,
        comment=comment,
        actor=author,
        settings=settings,
    )


def _load(session: Session, comment: Comment | int) -> Comment:
    if isinstance(comment, int):
        found = session.get(Comment, comment) if 1 <= comment <= MAX_ID else None
    else:
        found = comment
    if found is None:
        raise NotFound(_("Ce commentaire n'existe pas ou plus."))
    return found


def edit_comment(session: Session, comment: Comment | int, user: User | None, body: str) -> Comment:
    """The author rewrites their comment within 15 minutes of posting it. If the edit adds a
    blocked word to a published comment, the comment goes back to the queue (pending, out of
    the count), said to nobody but the audit log. Commits."""
    comment = _load(session, comment)
    get_visible_need(session, comment.need_id)
    if comment.deleted_at is not None:
        raise NotFound(_("Ce commentaire n'existe pas ou plus."))
    if user is not None and user.id == comment.author_id:
        ensure_can_participate(user)  # a blocked author is told why, with the end date
    if not can_edit_comment(user, comment):
        raise Forbidden(
            _(
                "Un commentaire ne peut être modifié que par son auteur ou autrice, "
                "dans les 15 minutes qui suivent son envoi."
            )
        )
    assert user is not None
    text = clean_body(body)
    check_link_limit(user.created_at, text, field="body")
    blocked: list[str] = []
    if comment.status == CommentStatus.published.value:
        config = site_config(session)
        already = set(blocked_words_in(config, comment.body))
        found = held_for_blocked_words(session, user, text, config=config)
        blocked = [w for w in found if w not in already]
    if blocked:
        # Conditional: a moderator hiding it at the same moment must not make the count drop
        # twice.
        result = session.exec(  # type: ignore[call-overload]
            update(Comment)
            .where(Comment.id == comment.id, Comment.status == CommentStatus.published.value)  # type: ignore[arg-type]
            .values(status=CommentStatus.pending.value)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            change_comment_count(session, comment.need_id, -1)
            audit_hold(session, "comment", comment.id, blocked, before="published")
            need = session.get(Need, comment.need_id)
            if need is not None:
                team_alerts.comment_waiting(session, need, comment, user)
        session.refresh(comment, ["status"])
    comment.body = text
    comment.body_html = render_markdown(text)
    comment.updated_at = utcnow()
    session.add(comment)
    session.commit()
    return comment


def delete_comment(session: Session, comment: Comment | int, user: User | None) -> Comment:
    """Soft delete, by the author or a moderator. Idempotent for them (a second click does
    nothing); the count drops once. Commits."""
    comment = _load(session, comment)
    get_need_for(session, comment.need_id, user)
    if comment.deleted_at is not None:
        if user is not None and (user.id == comment.author_id or is_moderator(user)):
            return comment
        raise NotFound(_("Ce commentaire n'existe pas ou plus."))
    if not can_delete_comment(user, comment):
        raise Forbidden(_("Vous ne pouvez supprimer que vos propres commentaires."))
    now = utcnow()
    result = session.exec(  # type: ignore[call-overload]
        update(Comment)
        .where(Comment.id == comment.id, Comment.deleted_at.is_(None))  # type: ignore[arg-type, union-attr]
        .values(deleted_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1 and comment.status == CommentStatus.published.value:
        change_comment_count(session, comment.need_id, -1)
    session.commit()
    session.refresh(comment)
    return comment


# --- reading -------------------------------------------------------------------------------------


@dataclass
class CommentView:
    """A comment as one viewer sees it. `placeholder` is set when the comment itself is not
    shown (deleted, or hidden from this viewer) but its replies are."""

    id: int
    need_id: int
    parent_id: int | None
    author_id: int | None
    author_name: str | None  # None: the account was deleted
    body_html: str
    status: str
    created_at: datetime
    edited: bool
    placeholder: str | None
    can_edit: bool
    can_delete: bool
    replies: list[CommentView] = field(default_factory=list)
    # Why a moderator hid it (shown to its author and moderators only, like the comment).
    moderation_reason: str = ""
    # Set when the comment came here from a duplicate merged into this need: its title.
    moved_from: str | None = None
    # Written by the fabrique's team (staff, admins): « Équipe de la fabrique » (answers.py).
    by_team: bool = False

    @property
    def is_pending(self) -> bool:
        return self.status == CommentStatus.pending.value

    @property
    def is_hidden(self) -> bool:
        return self.status == CommentStatus.hidden.value


def _visible_to(comment: Comment, viewer: User | None) -> bool:
    if comment.deleted_at is not None:
        return False
    if comment.status == CommentStatus.published.value:
        return True
    return viewer is not None and (viewer.id == comment.author_id or is_moderator(viewer))


def view_of(
    comment: Comment, author: User | None, viewer: User | None, now: datetime | None = None
) -> CommentView:
    now = now or utcnow()
    shown = _visible_to(comment, viewer)
    placeholder = None
    if not shown:
        placeholder = (
            _("Commentaire supprimé")
            if comment.deleted_at is not None
            else _("Commentaire masqué par la modération")
        )
    return CommentView(
        id=comment.id,  # type: ignore[arg-type]
        need_id=comment.need_id,
        parent_id=comment.parent_id,
        author_id=comment.author_id if shown else None,
        author_name=(author.display_name if author else None) if shown else None,
        body_html=comment.body_html if shown else "",
        status=comment.status,
        created_at=comment.created_at,
        # Set by edit_comment only (a new comment has both dates equal).
        edited=comment.updated_at > comment.created_at,
        placeholder=placeholder,
        can_edit=shown and can_edit_comment(viewer, comment, now),
        can_delete=shown and can_delete_comment(viewer, comment),
        moderation_reason=comment.moderation_reason if shown else "",
        by_team=shown and is_team_member(author),
    )


def comments_with_authors(session: Session, need_id: int) -> list[tuple[Comment, User | None]]:
    """Every comment of a need, whatever its status, with its author (None once the account is
    erased), in posting order: one query. What a viewer may see is the caller's to decide."""
    return list(
        session.exec(
            select(Comment, User)
            .outerjoin(User, User.id == Comment.author_id)  # type: ignore[arg-type]
            .where(Comment.need_id == need_id)
            .order_by(Comment.created_at, Comment.id)  # type: ignore[arg-type]
        ).all()
    )


def comment_threads(session: Session, need: Need, viewer: User | None) -> list[CommentView]:
    """The top-level comments in posting order, each with its replies. One query (comments
    joined to their authors), whatever the number of comments."""
    rows = comments_with_authors(session, need.id)  # type: ignore[arg-type]
    now = utcnow()
    tops: list[tuple[Comment, User | None]] = []
    replies: dict[int, list[CommentView]] = {}
    for comment, author in rows:
        if comment.parent_id is None:
            tops.append((comment, author))
        elif _visible_to(comment, viewer):
            replies.setdefault(comment.parent_id, []).append(view_of(comment, author, viewer, now))
    threads = []
    for comment, author in tops:
        thread_replies = replies.get(comment.id, [])  # type: ignore[arg-type]
        if not thread_replies and not _visible_to(comment, viewer):
            continue
        view = view_of(comment, author, viewer, now)
        view.replies = thread_replies
        threads.append(view)
    _name_merged_sources(session, rows, threads)
    return threads


def _name_merged_sources(session: Session, rows: Any, threads: list[CommentView]) -> None:
    """Comments moved by a merge say where they come from (issue 4: « with a note »). One
    more query, only on needs that received such comments."""
    sources = {c.id: c.moved_from_need_id for c, _author in rows if c.moved_from_need_id}
    if not sources:
        return
    titles = dict(
        session.exec(
            select(Need.id, Need.title).where(Need.id.in_(set(sources.values())))  # type: ignore[union-attr]
        ).all()
    )
    for view in threads:
        for item in [view, *view.replies]:
            if item.id in sources and not item.placeholder:
                item.moved_from = titles.get(sources[item.id])


def comment_view(session: Session, comment: Comment, viewer: User | None) -> CommentView:
    """One comment (without its replies) for an htmx fragment."""
    author = session.get(User, comment.author_id) if comment.author_id else None
    return view_of(comment, author, viewer)


def thread_of(
    session: Session, need: Need, comment_id: int, viewer: User | None
) -> CommentView | None:
    """The thread a top-level comment heads, as the viewer sees it (None if it vanished)."""
    return next((t for t in comment_threads(session, need, viewer) if t.id == comment_id), None)
