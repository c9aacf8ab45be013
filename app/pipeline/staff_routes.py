"""The staff pages of the idea pipeline, under /moderation (staff and admins only), gathered in
the order their paths must be tried: the board's fixed paths (/moderation/ideas/list,
/moderation/ideas.csv) and the new-idea form (/moderation/ideas/new) before an idea's own
/moderation/ideas/{idea_id}.

- app.pipeline.staff_board_routes: the board, the filtered list and its CSV, moving an idea;
- app.pipeline.staff_idea_routes: creating an idea, its page, editing it, linking needs;
- app.pipeline.stage_form_routes: each stage's data, the launch milestones, internal comments;
- app.pipeline.idea_file: the idea page they all answer with (not routes).
"""

from __future__ import annotations

from fastapi import APIRouter

from app.pipeline import staff_board_routes, staff_idea_routes, stage_form_routes

router = APIRouter()
for _routes in (staff_board_routes, staff_idea_routes, stage_form_routes):
    router.include_router(_routes.router)
