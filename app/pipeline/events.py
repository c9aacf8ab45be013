"""What happens to ideas, announced for the packages above the pipeline (webhooks today)
through app/core/events.py, before the commit of the change and with its session."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.events import Event
from app.pipeline.models import Idea


@dataclass(frozen=True)
class IdeaPublished(Event):
    """An idea was created public or made public."""

    name = "idea.published"
    idea: Idea


@dataclass(frozen=True)
class IdeaUnpublished(Event):
    """A public idea was made private."""

    name = "idea.unpublished"
    idea: Idea


@dataclass(frozen=True)
class IdeaStageChanged(Event):
    """An idea moved to another stage (public or not: subscribers decide what they show)."""

    name = "idea.stage_changed"
    idea: Idea
    previous_stage: str
