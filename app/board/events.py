"""What happens to needs, supports and comments, announced for the packages above the board
(webhooks, the partner counters) through app/core/events.py. Announced before the commit of
the change, with its session (see that module), but for NeedPosted."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from app.board.models import Comment, Need
from app.core.events import Event


@dataclass(frozen=True)
class NeedPublished(Event):
    """A need was created already public (direct publication, a need met offline)."""

    name = "need.published"
    need: Need


@dataclass(frozen=True)
class NeedStatusChanged(Event):
    """A need's status changed, or it was deleted (`was_deleted` says whether it already was):
    published by a moderator, hidden, restored, merged, held back by a blocked word…"""

    name = "need.status_changed"
    need: Need
    previous_status: str
    was_deleted: bool = False


@dataclass(frozen=True)
class NeedPosted(Event):
    """A person posted a need from the form (`origin`: that request, whose cookies say which
    partner's link they came through). Announced after the need's commit (create_need
    commits): a handler that writes commits its own change."""

    name = "need.posted"
    need: Need
    origin: HTTPConnection


@dataclass(frozen=True)
class SupportGiven(Event):
    """A person gave a new support from a page (`origin`: that request)."""

    name = "support.given"
    need: Need
    origin: HTTPConnection


@dataclass(frozen=True)
class CommentPublished(Event):
    """A comment became visible: posted without moderation, approved or restored."""

    name = "comment.published"
    comment: Comment
    need: Need | None = None
