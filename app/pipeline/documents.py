"""Documents attached to an idea (issue 5 item 4): opportunity studies, minutes, pictures.

Staff only, for reading as for writing. The file is checked and stored by
app.pipeline.uploads (type from the content, random name, outside static/); the row keeps the
cleaned original name for the download's Content-Disposition. Adding writes the file first and
removes it again if the row cannot be committed; deleting removes the file only once the
row's deletion is committed, so a failure never leaves a row without its file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import UploadFile
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from app.accounts.models import User
from app.core import audit
from app.core.settings import Settings, get_settings
from app.pipeline import uploads
from app.pipeline.models import Idea, IdeaDocument
from app.pipeline.panels import PANELS
from app.pipeline.permissions import ensure_staff
from app.pipeline.service import STAGE_LABELS, get_idea
from app.web.errors import Invalid, NotFound
from app.web.i18n import gettext as _

log = logging.getLogger(__name__)


def _settings(session: Session) -> Settings:
    return session.info.get("settings") or get_settings()


def documents_of(session: Session, idea: Idea) -> list[IdeaDocument]:
    return list(
        session.exec(
            select(IdeaDocument)
            .where(IdeaDocument.idea_id == idea.id)
            .order_by(IdeaDocument.id.desc())  # type: ignore[union-attr]
        )
    )


def add_document(
    session: Session,
    actor: User,
    idea_id: int,
    upload: UploadFile | None,
    *,
    stage: str = "",
) -> IdeaDocument:
    """Checks and stores the file, attaches it to the idea (audited, committed)."""
    ensure_staff(actor)
    idea = get_idea(session, idea_id)
    stage = (stage or "").strip()
    if stage and stage not in STAGE_LABELS:
        raise Invalid({"stage": _("Choisissez une étape dans la liste.")})
    if upload is None or not uploads.has_file(upload):
        raise Invalid({"file": _("Choisissez un fichier à joindre.")})
    settings = _settings(session)
    stored = uploads.save_upload(
        upload,
        allowed=uploads.DOCUMENT_TYPES,
        max_bytes=uploads.document_limit(settings),
        directory=uploads.documents_dir(settings),
    )
    try:
        document = IdeaDocument(
            idea_id=idea.id,  # type: ignore[arg-type]
            original_name=stored.original_name,
            stored_name=stored.stored_name,
            content_type=stored.content_type,
            size=stored.size,
            stage=stage or None,
            uploaded_by_id=actor.id,
        )
        session.add(document)
        session.flush()
        audit.record(
            session,
            actor,
            "idea.document_add",
            "idea",
            idea.id,
            after={
                "document_id": document.id,
                "name": document.original_name,
                "type": document.content_type,
                "size": document.size,
                "stage": document.stage,
            },
        )
        session.commit()
    except BaseException:
        session.rollback()
        uploads.remove_file(stored.path)
        raise
    session.refresh(document)
    return document


def get_document(session: Session, actor: User | None, document_id: int) -> IdeaDocument:
    ensure_staff(actor)
    document = session.get(IdeaDocument, document_id)
    if document is None:
        raise NotFound(_("Ce document n'existe pas ou plus."))
    return document


def document_file(
    session: Session, actor: User | None, document_id: int
) -> tuple[IdeaDocument, Path]:
    """The document and its file on disk, for a staff download (404 if either is gone)."""
    document = get_document(session, actor, document_id)
    path = uploads.stored_path(uploads.documents_dir(_settings(session)), document.stored_name)
    if path is None or not path.is_file():
        log.warning("document %s: file %s is missing", document.id, document.stored_name)
        raise NotFound(_("Le fichier de ce document est introuvable."))
    return document, path


def delete_document(session: Session, actor: User, document_id: int) -> int:
    """Removes the row (audited) then its file; returns the idea's id."""
    document = get_document(session, actor, document_id)
    idea_id = document.idea_id
    path = uploads.stored_path(uploads.documents_dir(_settings(session)), document.stored_name)
    audit.record(
        session,
        actor,
        "idea.document_delete",
        "idea",
        idea_id,
        before={
            "document_id": document.id,
            "name": document.original_name,
            "type": document.content_type,
            "size": document.size,
        },
    )
    session.delete(document)
    try:
        session.commit()
    except StaleDataError as exc:  # deleted meanwhile by someone else
        session.rollback()
        raise NotFound(_("Ce document n'existe pas ou plus.")) from exc
    uploads.remove_file(path)
    return idea_id


def human_size(size: int) -> str:
    if size < 1024:
        return _("%(n)s octets", n=size)
    if size < 1024 * 1024:
        return _("%(n)s Ko", n=round(size / 1024))
    return _("%(n)s Mo", n=f"{size / (1024 * 1024):.1f}".replace(".", ","))


TYPE_LABELS = {
    uploads.PDF: "PDF",
    uploads.ODT: "ODT",
    uploads.DOCX: "DOCX",
    uploads.PNG: "PNG",
    uploads.JPEG: "JPEG",
    uploads.GIF: "GIF",
    uploads.WEBP: "WebP",
}


def documents_panel(session: Session, idea: Idea, user: User) -> dict[str, Any]:
    """Context of templates/pipeline/_documents.html on the staff idea page."""
    return {
        "documents": documents_of(session, idea),
        "document_max_mb": _settings(session).max_upload_mb,
        "document_stages": STAGE_LABELS,
        "document_types": TYPE_LABELS,
        "document_size": human_size,
    }


PANELS.append(documents_panel)
