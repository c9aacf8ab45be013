"""« Mes contributions » (issue 17, item 5): what a signed-in person posted (needs and comments,
with their status and, for them alone, the moderation team's reason), supported (with their
concern), follows, and the carrier applications they made — each with a link.

It lives in `pipeline`, the lowest layer that may read both the board's tables and the carrier
applications (pyproject.toml, [tool.importlinter]).

Reads: one statement for the five totals, then one per list shown, newest first, a page at a
time, each served by an index on the person's column (needs: ix_needs_author_id_created_at;
comments, supports, follows: their author / user index). Nothing is read per row: what a row
shows (its need's title and address, its idea) comes joined in the same statement.

What each list shows, and why:
- needs: every need of theirs not deleted, whatever its status, with the reason the moderators
  gave for hiding, refusing or « déjà couvert » (`moderation_reason`, written for the author; a
  blocked word that held a need is never said, as app.board.service.held_for_blocked_words
  requires: only the audit log names it);
- comments: theirs, not deleted, with their status and reason; the need they answer is named
  and linked only when the person may still see it (public, or their own);
- supports and follows: only needs the person may see (public, or their own), so a need hidden
  by the moderators never shows its title here;
- applications: the idea's title (they read it when applying), linked while the idea is
  public; the team's private notes are never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_, union_all
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.models import (
    COMMENT_STATUS_LABELS,
    NEED_STATUS_LABELS,
    PUBLIC_NEED_STATUSES,
    Comment,
    Follow,
    Need,
    Support,
    Territory,
    Theme,
    TopicFollow,
    TopicKind,
)
from app.core.text import excerpt
from app.pipeline.applications import status_label as application_status_label
from app.pipeline.models import CarrierApplication, Idea
from app.pipeline.queries import idea_url
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.i18n import localized_name
from app.web.params import parse_page
from app.web.urls import need_url

SECTIONS = ("needs", "comments", "supports", "follows", "applications")
SECTION_TITLES = {
    "needs": N_("Mes besoins"),
    "comments": N_("Mes commentaires"),
    "supports": N_("Mes soutiens"),
    "follows": N_("Les besoins que je suis"),
    "applications": N_("Mes candidatures de porteur"),
}
# The overview shows the latest few of each list; « Voir tout » pages through one list.
OVERVIEW_SIZE = 20
PAGE_SIZE = 50
MAX_PAGE = 10_000  # far beyond any real person's list: the offset stays small
COMMENT_EXCERPT = 160


@dataclass(frozen=True)
class PostedNeed:
    id: int
    title: str
    url: str
    status: str
    status_label: str
    reason: str  # for the author only (this page is theirs alone)
    created_at: datetime


@dataclass(frozen=True)
class PostedComment:
    id: int
    excerpt: str
    status: str
    status_label: str
    reason: str
    created_at: datetime
    need_title: str | None  # None: the need is no longer visible to the person
    url: str | None


@dataclass(frozen=True)
class SupportedNeed:
    title: str
    url: str
    concern: str | None
    created_at: datetime


@dataclass(frozen=True)
class FollowedNeed:
    title: str
    url: str
    status: str
    status_label: str
    created_at: datetime


@dataclass(frozen=True)
class FollowedTopic:
    """A theme, territory or public idea the person follows, with where to stop."""

    kind: str
    name: str  # the French name, or an idea's title
    name_en: str | None  # a theme's or territory's English name, if given
    url: str
    unfollow_url: str
    created_at: datetime

    @property
    def title(self) -> str:
        return localized_name(self)


@dataclass(frozen=True)
class Application:
    idea_title: str
    url: str | None  # None: the idea is no longer public
    status: str
    status_label: str
    created_at: datetime


@dataclass
class Section:
    name: str
    items: list[Any]
    total: int
    page: int = 1
    per_page: int = OVERVIEW_SIZE

    @property
    def title(self) -> str:
        return _(SECTION_TITLES[self.name])

    @property
    def has_more(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class _Ref:
    """What need_url and idea_url read of a row (its id and slug), from selected columns."""

    id: int
    slug: str


def _visible_to(user_id: int) -> Any:
    """The needs a resident may open: public ones, and their own (app.board.permissions
    .can_view_need), never a deleted one."""
    return and_(
        Need.deleted_at.is_(None),  # type: ignore[union-attr]
        or_(Need.status.in_(PUBLIC_NEED_STATUSES), Need.author_id == user_id),  # type: ignore[attr-defined]
    )


def _conditions(user_id: int) -> dict[str, tuple[Any, ...]]:
    return {
        "needs": (Need.author_id == user_id, Need.deleted_at.is_(None)),  # type: ignore[union-attr]
        "comments": (Comment.author_id == user_id, Comment.deleted_at.is_(None)),  # type: ignore[union-attr]
        "supports": (Support.user_id == user_id, _visible_to(user_id)),
        "follows": (Follow.user_id == user_id, _visible_to(user_id)),
        "applications": (CarrierApplication.user_id == user_id,),
    }


def totals(session: Session, user: User) -> dict[str, int]:
    """How many items each list holds: one statement."""
    where = _conditions(user.id)  # type: ignore[arg-type]
    counts = [
        select(func.count()).select_from(Need).where(*where["needs"]),
        select(func.count()).select_from(Comment).where(*where["comments"]),
        select(func.count())
        .select_from(Support)
        .join(Need, Need.id == Support.need_id)  # type: ignore[arg-type]
        .where(*where["supports"]),
        select(func.count())
        .select_from(Follow)
        .join(Need, Need.id == Follow.need_id)  # type: ignore[arg-type]
        .where(*where["follows"]),
        select(func.count()).select_from(CarrierApplication).where(*where["applications"]),
    ]
    row = session.exec(select(*(c.scalar_subquery() for c in counts))).one()  # type: ignore[call-overload]
    return dict(zip(SECTIONS, (int(n or 0) for n in row), strict=True))


def _need_label(status: str) -> str:
    return _(NEED_STATUS_LABELS[status]) if status in NEED_STATUS_LABELS else status


def posted_needs(session: Session, user: User, *, offset: int, limit: int) -> list[PostedNeed]:
    rows = session.exec(
        select(Need.id, Need.slug, Need.title, Need.status, Need.moderation_reason, Need.created_at)
        .where(*_conditions(user.id)["needs"])  # type: ignore[arg-type]
        .order_by(Need.created_at.desc(), Need.id.desc())  # type: ignore[attr-defined,union-attr]
        .offset(offset)
        .limit(limit)
    ).all()
    return [
        PostedNeed(
            id=need_id,
            title=title,
            url=need_url(_Ref(need_id, slug)),
            status=status,
            status_label=_need_label(status),
            # Empty once published again (a restore clears it).
            reason=reason if status != "published" else "",
            created_at=created_at,
        )
        for need_id, slug, title, status, reason, created_at in rows
    ]


def posted_comments(
    session: Session, user: User, *, offset: int, limit: int
) -> list[PostedComment]:
    rows = session.exec(
        select(
            Comment.id,
            Comment.body,
            Comment.status,
            Comment.moderation_reason,
            Comment.created_at,
            Need.id,
            Need.slug,
            Need.title,
            Need.status,
            Need.author_id,
            Need.deleted_at,
        )
        .join(Need, Need.id == Comment.need_id)  # type: ignore[arg-type]
        .where(*_conditions(user.id)["comments"])  # type: ignore[arg-type]
        .order_by(Comment.id.desc())  # type: ignore[union-attr]
        .offset(offset)
        .limit(limit)
    ).all()
    items = []
    for (
        comment_id,
        body,
        status,
        reason,
        created_at,
        need_id,
        slug,
        title,
        need_status,
        author_id,
        deleted_at,
    ) in rows:
        visible = deleted_at is None and (
            need_status in PUBLIC_NEED_STATUSES or author_id == user.id
        )
        items.append(
            PostedComment(
                id=comment_id,
                excerpt=excerpt(body, COMMENT_EXCERPT),
                status=status,
                status_label=_(COMMENT_STATUS_LABELS[status])
                if status in COMMENT_STATUS_LABELS
                else status,
                reason=reason if status != "published" else "",
                created_at=created_at,
                need_title=title if visible else None,
                url=f"{need_url(_Ref(need_id, slug))}#comment-{comment_id}" if visible else None,
            )
        )
    return items


def supported_needs(
    session: Session, user: User, *, offset: int, limit: int
) -> list[SupportedNeed]:
    rows = session.exec(
        select(Need.id, Need.slug, Need.title, Support.concern, Support.created_at)
        .join(Need, Need.id == Support.need_id)  # type: ignore[arg-type]
        .where(*_conditions(user.id)["supports"])  # type: ignore[arg-type]
        .order_by(Support.id.desc())  # type: ignore[union-attr]
        .offset(offset)
        .limit(limit)
    ).all()
    return [
        SupportedNeed(
            title=title, url=need_url(_Ref(need_id, slug)), concern=concern, created_at=created_at
        )
        for need_id, slug, title, concern, created_at in rows
    ]


def followed_needs(session: Session, user: User, *, offset: int, limit: int) -> list[FollowedNeed]:
    rows = session.exec(
        select(Need.id, Need.slug, Need.title, Need.status, Follow.created_at)
        .join(Need, Need.id == Follow.need_id)  # type: ignore[arg-type]
        .where(*_conditions(user.id)["follows"])  # type: ignore[arg-type]
        .order_by(Follow.id.desc())  # type: ignore[union-attr]
        .offset(offset)
        .limit(limit)
    ).all()
    return [
        FollowedNeed(
            title=title,
            url=need_url(_Ref(need_id, slug)),
            status=status,
            status_label=_need_label(status),
            created_at=created_at,
        )
        for need_id, slug, title, status, created_at in rows
    ]


def applications(session: Session, user: User, *, offset: int, limit: int) -> list[Application]:
    rows = session.exec(
        select(
            Idea.id,
            Idea.slug,
            Idea.title,
            Idea.is_public,
            CarrierApplication.status,
            CarrierApplication.created_at,
        )
        .join(Idea, Idea.id == CarrierApplication.idea_id)  # type: ignore[arg-type]
        .where(*_conditions(user.id)["applications"])  # type: ignore[arg-type]
        .order_by(CarrierApplication.id.desc())  # type: ignore[union-attr]
        .offset(offset)
        .limit(limit)
    ).all()
    return [
        Application(
            idea_title=title,
            url=idea_url(_Ref(idea_id, slug)) if is_public else None,  # type: ignore[arg-type]
            status=status,
            status_label=application_status_label(status),
            created_at=created_at,
        )
        for idea_id, slug, title, is_public, status, created_at in rows
    ]


def followed_topics(session: Session, user: User) -> list[FollowedTopic]:
    """The themes, territories and public ideas the person follows (issue 17), newest first, in
    one statement (a person follows a handful: not paged). An archived theme or territory, or
    an idea no longer public, is left out."""
    theme, territory, idea = (k.value for k in TopicKind)
    parts = [
        select(
            literal(kind), model.id, model.slug, model.name, model.name_en, TopicFollow.created_at
        )  # type: ignore[call-overload]
        .join(model, model.id == TopicFollow.target_id)
        .where(TopicFollow.kind == kind, model.archived_at.is_(None))
        for kind, model in ((theme, Theme), (territory, Territory))
    ]
    parts.append(
        select(literal(idea), Idea.id, Idea.slug, Idea.title, literal(None), TopicFollow.created_at)  # type: ignore[call-overload]
        .join(Idea, Idea.id == TopicFollow.target_id)
        .where(TopicFollow.kind == idea, Idea.is_public.is_(True))  # type: ignore[attr-defined]
    )
    mine = [part.where(TopicFollow.user_id == user.id) for part in parts]
    rows = session.execute(union_all(*mine).order_by("created_at")).all()
    topics = []
    for kind, target_id, slug, name, name_en, created_at in reversed(rows):
        if kind == idea:
            url, unfollow = idea_url(_Ref(target_id, slug)), f"/ideas/{target_id}/unfollow"  # type: ignore[arg-type]
        else:
            url, unfollow = f"/?{kind}={slug}", f"/unfollow/{kind}/{target_id}"
        topics.append(FollowedTopic(kind, name, name_en, url, unfollow, created_at))
    return topics


_READERS = {
    "needs": posted_needs,
    "comments": posted_comments,
    "supports": supported_needs,
    "follows": followed_needs,
    "applications": applications,
}


def overview(session: Session, user: User) -> list[Section]:
    """The latest OVERVIEW_SIZE items of every list, with each list's total."""
    counts = totals(session, user)
    return [
        Section(
            name,
            # An empty list is not read.
            _READERS[name](session, user, offset=0, limit=OVERVIEW_SIZE) if counts[name] else [],
            counts[name],
        )
        for name in SECTIONS
    ]


def one_section(session: Session, user: User, name: str, page: int) -> Section:
    """One list, PAGE_SIZE items a page (`name` is one of SECTIONS)."""
    total = totals(session, user)[name]
    page = min(page, MAX_PAGE)
    items = _READERS[name](session, user, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return Section(name, items, total, page=page, per_page=PAGE_SIZE)


def parse_view(params: dict[str, str]) -> tuple[str, int, dict[str, str]]:
    """The list asked for (`section`, empty: the overview), its page, and per-field errors."""
    errors: dict[str, str] = {}
    section = params.get("section", "")
    if section and section not in SECTIONS:
        errors["section"] = _("Cette liste n'existe pas.")
        section = ""
    page = parse_page(params.get("page"), errors)
    return section, page, errors
