"""Idea documents (staff only): upload from the idea page, download as an attachment, delete.
Thin routes: app.pipeline.documents does the work, app.pipeline.uploads checks the files.

The upload route uses `UploadRoute`: a request larger than BOURSE_MAX_UPLOAD_MB (plus the
form's margin) is refused with a 413 before its body is read; `save_upload` then enforces the
exact limit while copying the file.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlmodel import Session

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.pipeline import documents, uploads
from app.pipeline.idea_file import render_idea_page
from app.pipeline.models import Idea
from app.pipeline.service import get_idea
from app.web.deps import SessionDep
from app.web.errors import Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.params import is_valid_id

router = APIRouter(route_class=uploads.UploadRoute)
Staff = Annotated[User, Depends(require_role(Role.staff))]


def _idea_or_404(session: Session, idea_id: int) -> Idea:
    if not is_valid_id(idea_id):
        raise NotFound(_("Cette idée n'existe pas."))
    return get_idea(session, idea_id)


@router.post("/moderation/ideas/{idea_id}/documents")
@uploads.upload_limit(uploads.document_limit)
def upload_document(
    request: Request,
    session: SessionDep,
    user: Staff,
    idea_id: int,
    file: Annotated[UploadFile | None, File()] = None,
    stage: Annotated[str, Form()] = "",
) -> Response:
    idea = _idea_or_404(session, idea_id)
    try:
        documents.add_document(session, user, idea_id, file, stage=stage)
    except Invalid as exc:
        session.rollback()
        return render_idea_page(
            request,
            session,
            user,
            idea,
            extra={"document_errors": exc.errors, "document_values": {"stage": stage}},
            status_code=422,
        )
    return RedirectResponse(
        f"/moderation/ideas/{idea.id}?done=document_added#documents", status_code=303
    )


@router.get("/moderation/documents/{document_id}")
def download_document(session: SessionDep, user: Staff, document_id: int) -> Response:
    if not is_valid_id(document_id):
        raise NotFound(_("Ce document n'existe pas ou plus."))
    document, path = documents.document_file(session, user, document_id)
    return FileResponse(
        path,
        media_type=document.content_type,
        headers={
            "Content-Disposition": uploads.content_disposition(document.original_name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            # Opened directly, a file could still be rendered by the browser: no scripts.
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.post("/moderation/documents/{document_id}/delete")
def delete_document(session: SessionDep, user: Staff, document_id: int) -> Response:
    if not is_valid_id(document_id):
        raise NotFound(_("Ce document n'existe pas ou plus."))
    idea_id = documents.delete_document(session, user, document_id)
    return RedirectResponse(
        f"/moderation/ideas/{idea_id}?done=document_deleted#documents", status_code=303
    )
