"""The board's `stage=` filter (issue 17): needs promoted into a public idea at that stage.
Registered on the board at start-up (app/ops/wiring.py), since the board imports no idea.

The condition is a semi-join driven from the ideas: public ideas at that stage (the index led
by `stage`), their needs (idea_needs by idea id), then those needs by primary key — a few rows
whatever the size of the board, where a scan of the board's sort index would read it all.
Private ideas never count: their stage is the team's internal work (as for the stage badges).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from app.board.filters import StageFilter, register_stage_filter
from app.board.models import Need
from app.pipeline.models import Idea, IdeaNeed, Stage
from app.pipeline.service import stage_label


def stage_choices() -> list[tuple[str, str]]:
    return [(stage.value, stage_label(stage.value)) for stage in Stage]


def needs_at_stage(stage: str) -> Any:
    ideas_at_stage = (
        select(IdeaNeed.need_id)
        .join(Idea, Idea.id == IdeaNeed.idea_id)  # type: ignore[arg-type]
        .where(Idea.stage == stage, Idea.is_public.is_(True))  # type: ignore[attr-defined]
    )
    return Need.id.in_(ideas_at_stage)  # type: ignore[union-attr]


def register() -> None:
    """Idempotent."""
    register_stage_filter(StageFilter(choices=stage_choices, clause=needs_at_stage))
