"""Staff forms of an idea's stage data (study, call for carriers, carrier, enterprise), its
launch milestones and its internal comments, posted from the idea page.

The four stage-data forms are one table (app.pipeline.stage_data.STAGE_FORMS) and one handler:
read the form's fields, save them through the same service, answer with a 303 to the form's
section or the page again with the errors (422).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.pipeline import stage_data
from app.pipeline.idea_file import form_text, refused_page, saved_redirect
from app.web.deps import SessionDep
from app.web.errors import Invalid
from app.web.i18n import gettext as _

router = APIRouter(prefix="/moderation", dependencies=[Depends(require_role(Role.staff))])
Staff = Annotated[User, Depends(require_role(Role.staff))]


def _save_stage_form(
    request: Request, session: Session, user: User, idea_id: int, name: str, form: FormData
) -> Response:
    submitted = {
        field: form_text(form, field, stage_data.FIELD_READ_LIMITS[field])
        for field in stage_data.STAGE_FORMS[name].fields
    }
    try:
        stage_data.save_stage_form(session, user, idea_id, name, submitted)
    except Invalid as exc:
        return refused_page(request, session, user, idea_id, name, exc, submitted)
    return saved_redirect(idea_id, name, name)


def _stage_form_route(name: str) -> Callable[..., Awaitable[Response]]:
    async def save(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
        return _save_stage_form(request, session, user, idea_id, name, await request.form())

    save.__name__ = save.__qualname__ = f"save_{name}"
    return save


# POST /moderation/ideas/{idea_id}/study, /call, /carrier, /enterprise. A carrier who applied is
# retained from the applications list instead (app/pipeline/application_routes.py).
for _name in stage_data.STAGE_FORMS:
    router.add_api_route(f"/ideas/{{idea_id}}/{_name}", _stage_form_route(_name), methods=["POST"])


@router.post("/ideas/{idea_id}/milestones")
async def add_milestone(
    request: Request, session: SessionDep, user: Staff, idea_id: int
) -> Response:
    form = await request.form()
    label = form_text(form, "label", 2000)
    try:
        stage_data.add_milestone(session, user, idea_id, label)
    except Invalid as exc:
        prefix = "milestone-"
        return refused_page(
            request, session, user, idea_id, "milestones", exc, {"label": label}, prefix=prefix
        )
    return saved_redirect(idea_id, "milestones", "milestones")


@router.post("/ideas/{idea_id}/milestones/{milestone_id}")
async def change_milestone(
    request: Request, session: SessionDep, user: Staff, idea_id: int, milestone_id: int
) -> Response:
    form = await request.form()
    action = form_text(form, "action", 20)
    label = form_text(form, "label", 2000)
    try:
        if action in ("done", "undone"):
            stage_data.set_milestone_done(session, user, idea_id, milestone_id, action == "done")
        elif action == "rename":
            stage_data.rename_milestone(session, user, idea_id, milestone_id, label)
        elif action == "delete":
            stage_data.delete_milestone(session, user, idea_id, milestone_id)
        elif action in ("up", "down"):
            stage_data.move_milestone(session, user, idea_id, milestone_id, action)
        else:
            raise Invalid({"action": _("Cette action n'existe pas.")})
    except Invalid as exc:
        prefix = f"milestone-{milestone_id}-"
        return refused_page(
            request, session, user, idea_id, "milestones", exc, {"label": label}, prefix=prefix
        )
    return saved_redirect(idea_id, "milestones", f"milestone-{milestone_id}")


@router.post("/ideas/{idea_id}/comments")
async def add_comment(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    form = await request.form()
    body = form_text(form, "body", stage_data.COMMENT_MAX * 2)
    try:
        comment = stage_data.add_comment(session, user, idea_id, body)
    except Invalid as exc:
        return refused_page(
            request, session, user, idea_id, "comment", exc, {"body": body}, prefix="comment-"
        )
    return saved_redirect(idea_id, "comment", f"comment-{comment.id}")
