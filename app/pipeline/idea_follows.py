"""Following a public idea (issue 17, item 5): the board keeps the rows (app/board/topic_follows.py,
kind « idea »); the pipeline knows which ideas may be followed and tells their followers when
one moves to another stage (IdeaStageChanged, subscribed at start-up by app/ops/wiring.py).

The people behind the idea's needs (authors, supporters, followers) already hear of the move
(app/pipeline/service.py, kind « pipeline »): the idea's followers among them are not told a
second time. One statement reads who to tell.
"""

from __future__ import annotations

from sqlmodel import Session, select, union

from app.accounts.models import User
from app.board.models import Follow, Need, NotificationKind, Support, TopicFollow, TopicKind
from app.board.notifications import notify
from app.board.topic_follows import follow_topic, is_following_topic, unfollow_topic
from app.core import events
from app.core.settings import Settings
from app.pipeline.events import IdeaStageChanged
from app.pipeline.models import Idea, IdeaNeed
from app.pipeline.service import stage_label
from app.web.errors import NotFound
from app.web.i18n import gettext as _

IDEA = TopicKind.idea.value


def followable_idea(session: Session, idea_id: int | None) -> Idea:
    """A public idea, or NotFound in plain French (a private idea is not named)."""
    idea = session.get(Idea, idea_id) if idea_id is not None else None
    if idea is None or not idea.is_public:
        raise NotFound(_("Cette idée n'existe pas ou n'est pas publique."))
    return idea


def is_following_idea(session: Session, user: User | None, idea: Idea) -> bool:
    return is_following_topic(session, user, IDEA, idea.id)  # type: ignore[arg-type]


def follow_idea(
    session: Session, user: User, idea: Idea, *, ip: str = "", settings: Settings | None = None
) -> None:
    """Follows a public idea (the caller loaded it with followable_idea). Commits."""
    follow_topic(session, user, IDEA, idea.id, ip=ip, settings=settings)  # type: ignore[arg-type]


def unfollow_idea(session: Session, user: User, idea: Idea) -> None:
    unfollow_topic(session, user, IDEA, idea.id)  # type: ignore[arg-type]


def notify_idea_followers(session: Session, idea: Idea) -> list[int]:
    """Tells the idea's followers (kind « topics ») of its new stage, but those the pipeline
    already tells as people behind its needs. One statement. Returns their ids."""
    needs = select(IdeaNeed.need_id).where(IdeaNeed.idea_id == idea.id)
    behind = union(
        select(Support.user_id).where(Support.need_id.in_(needs)),  # type: ignore[attr-defined]
        select(Follow.user_id).where(Follow.need_id.in_(needs)),  # type: ignore[attr-defined]
        select(Need.author_id).where(
            Need.id.in_(needs),  # type: ignore[union-attr]
            Need.author_id.is_not(None),  # type: ignore[union-attr]
        ),
    )
    people = sorted(
        session.exec(
            select(TopicFollow.user_id).where(
                TopicFollow.kind == IDEA,
                TopicFollow.target_id == idea.id,
                TopicFollow.user_id.not_in(behind),  # type: ignore[attr-defined]
            )
        )
    )

    def message() -> str:  # in each recipient's language
        return _(
            "L'idée « %(idea)s », que vous suivez, passe à l'étape : %(stage)s.",
            idea=idea.title,
            stage=stage_label(idea.stage),
        )

    notify(session, NotificationKind.topics, people, message=message)
    return people


def _on_idea_stage_changed(session: Session, event: IdeaStageChanged) -> None:
    if event.idea.is_public and event.previous_stage != event.idea.stage:
        notify_idea_followers(session, event.idea)


def subscribe() -> None:
    """At start-up (app/ops/wiring.py); harmless if repeated."""
    events.subscribe(IdeaStageChanged, _on_idea_stage_changed)
