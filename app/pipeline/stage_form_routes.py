"""Staff forms of an idea's stage data (study, call for carriers, carrier, enterprise), its
launch milestones and its internal comments, posted from the idea page.

The four stage-data forms are one table (app.pipeline.stage_data.STAGE_FORMS) and one handler:
read the form's fields, save them through the same service, answer with a 303 to the form's
section or the page again with the errors (422).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.pipeline import stage_data
from app.pipeline.idea_file import form_text, refused_page, saved_redirect
from app.web.deps import SessionDep
from app.web.errors import Invalid
from app.web.i18n import gettext as _

router = APIRouter(prefix="/moderation", dependencies=[Depends(require_role(Role.staff))])
Staff = Annotated[User, Depends(require_role(Role.staff))]


@router.post("/ideas/{idea_id}/study")
async def save_study(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    form = await request.form()
    submitted = {
        "study_notes": form_text(form, "study_notes", stage_data.STUDY_NOTES_MAX * 2),
        "verdict": form_text(form, "verdict", 40),
    }
    try:
        stage_data.update_study(session, user, idea_id, **submitted)
    except Invalid as exc:
        return refused_page(request, session, user, idea_id, "study", exc, submitted)
    return saved_redirect(idea_id, "study", "study")


@router.post("/ideas/{idea_id}/call")
async def save_call(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    form = await request.form()
    submitted = {"carrier_call": form_text(form, "carrier_call", stage_data.CARRIER_CALL_MAX * 2)}
    try:
        stage_data.update_call(session, user, idea_id, **submitted)
    except Invalid as exc:
        return refused_page(request, session, user, idea_id, "call", exc, submitted)
    return saved_redirect(idea_id, "call", "call")


@router.post("/ideas/{idea_id}/carrier")
async def save_carrier(
    request: Request, session: SessionDep, user: Staff, idea_id: int
) -> Response:
    """A carrier who did not apply, typed by name; one who applied is retained from the
    applications list (« Retenir ce porteur », app/pipeline/application_routes.py)."""
    form = await request.form()
    submitted = {"carrier_name": form_text(form, "carrier_name", 1000)}
    try:
        stage_data.update_carrier(session, user, idea_id, **submitted)
    except Invalid as exc:
        return refused_page(request, session, user, idea_id, "carrier", exc, submitted)
    return saved_redirect(idea_id, "carrier", "carrier")


@router.post("/ideas/{idea_id}/enterprise")
async def save_enterprise(
    request: Request, session: SessionDep, user: Staff, idea_id: int
) -> Response:
    form = await request.form()
    submitted = {name: form_text(form, name, 1000) for name in stage_data.ENTERPRISE_FIELDS}
    try:
        stage_data.update_enterprise(
            session, user, idea_id, stage_data.EnterpriseInput(**submitted)
        )
    except Invalid as exc:
        return refused_page(request, session, user, idea_id, "enterprise", exc, submitted)
    return saved_redirect(idea_id, "enterprise", "enterprise")


@router.post("/ideas/{idea_id}/milestones")
async def add_milestone(
    request: Request, session: SessionDep, user: Staff, idea_id: int
) -> Response:
    form = await request.form()
    label = form_text(form, "label", 2000)
    try:
        stage_data.add_milestone(session, user, idea_id, label)
    except Invalid as exc:
        return refused_page(
            request,
            session,
            user,
            idea_id,
            "milestones",
            exc,
            {"milestone-label": label},
            prefix="milestone-",
        )
    return saved_redirect(idea_id, "milestones", "milestones")


MILESTONE_ACTIONS = ("done", "undone", "rename", "delete", "up", "down")


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
        return refused_page(
            request,
            session,
            user,
            idea_id,
            "milestones",
            exc,
            {f"milestone-{milestone_id}-label": label},
            prefix=f"milestone-{milestone_id}-",
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
            request,
            session,
            user,
            idea_id,
            "comment",
            exc,
            {"comment-body": body},
            prefix="comment-",
        )
    return saved_redirect(idea_id, "comment", f"comment-{comment.id}")
