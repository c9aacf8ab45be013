"""The moderation team's pages on one need: its file, editing a need or a comment (with a
revision history), merging a duplicate, the fabrique's answer and the people met offline.
Thin routes: app.moderation.needs (and answers, collections) do the work.

(/moderation/needs/new and /moderation/needs/{need_id}/qualification live in qualify_routes.)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.board import answers, offline_collections, queries
from app.board.models import (
    COLLECTION_METHOD_LABELS,
    COLLECTION_PEOPLE_MAX,
    COMMENT_STATUS_LABELS,
    MODERATION_REASONS,
    Comment,
    Need,
    OfflineCollection,
)
from app.core import clock
from app.moderation import collections, needs, qualification, revisions
from app.moderation.merge import (
    likely_duplicates,
    load_merge,
    merge_needs,
    merge_plan,
    search_targets,
    source_errors,
)
from app.moderation.permissions import ensure_moderator
from app.web.deps import SessionDep
from app.web.errors import Conflict, Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.templating import render, wants_fragment
from app.web.urls import need_url

router = APIRouter(prefix="/moderation", dependencies=[Depends(require_role(Role.moderator))])
Moderator = Annotated[User, Depends(require_role(Role.moderator))]
Staff = Annotated[User, Depends(require_role(Role.staff))]
FormStr = Annotated[str, Form()]

NOTICES = {
    "edited": N_(
        "Modification enregistrée ; l'ancienne version est conservée et l'auteur·e est prévenu·e."
    ),
    "comment-edited": N_(
        "Commentaire modifié ; l'ancienne version est conservée et son auteur·e est prévenu·e."
    ),
    "merged": N_("Fusion faite : soutiens, commentaires et abonnés sont réunis sur ce besoin."),
}


def _file_url(need_id: int, done: str = "", anchor: str = "") -> str:
    return f"/moderation/needs/{need_id}" + (f"?done={done}" if done else "") + anchor


# --- the file -----------------------------------------------------------------------------------


@router.get("/needs/{need_id}")
def need_file_page(
    request: Request, session: SessionDep, user: Moderator, need_id: int
) -> Response:
    file = needs.need_file(session, user, need_id)
    done = request.query_params.get("done", "")
    return render(
        request,
        "moderation/need.html",
        {
            "file": file,
            # Promoted already: the file names the idea instead of offering « Promouvoir ».
            "idea": qualification.ideas_of(session, [need_id]).get(need_id)
            if file.can_qualify
            else None,
            "notice": _(NOTICES[done]) if done in NOTICES else None,
            "report_reasons": MODERATION_REASONS,
            "comment_status_labels": COMMENT_STATUS_LABELS,
            "section": "need",
        },
    )


# --- editing a need -----------------------------------------------------------------------------


def _need_edit_page(
    request: Request,
    need: Need,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    conflict: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "moderation/need_edit.html",
        {
            "need": need,
            "values": values,
            "errors": {k: v for k, v in (errors or {}).items() if k != "form"},
            "form_error": (errors or {}).get("form"),
            "conflict": conflict,
            "section": "need",
        },
        status_code=status_code,
    )


@router.get("/needs/{need_id}/edit")
def need_edit_form(
    request: Request, session: SessionDep, user: Moderator, need_id: int
) -> Response:
    need = needs.editable_need(session, user, need_id)
    values = {
        "title": need.title,
        "body": need.body,
        "reason": "",
        "seen": need.updated_at.isoformat(),
    }
    return _need_edit_page(request, need, values)


@router.post("/needs/{need_id}/edit")
def need_edit(
    request: Request,
    session: SessionDep,
    user: Moderator,
    need_id: int,
    title: FormStr = "",
    body: FormStr = "",
    reason: FormStr = "",
    seen: FormStr = "",
) -> Response:
    values = {"title": title, "body": body, "reason": reason, "seen": seen}
    try:
        revisions.edit_need_text(
            session, user, need_id, title=title, body=body, reason=reason, seen_updated_at=seen
        )
    except Invalid as exc:
        need = needs.editable_need(session, user, need_id)
        return _need_edit_page(request, need, values, errors=exc.errors, status_code=422)
    except Conflict as exc:
        # Nothing was overwritten. The form now starts from the current version (shown), with
        # what the moderator typed kept, so they can redo their change knowingly.
        need = needs.editable_need(session, user, need_id)
        values["seen"] = need.updated_at.isoformat()
        return _need_edit_page(request, need, values, conflict=exc.detail, status_code=409)
    return RedirectResponse(_file_url(need_id, "edited"), status_code=303)


# --- editing a comment --------------------------------------------------------------------------


def _comment_edit_page(
    request: Request,
    session: SessionDep,
    comment: Comment,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    conflict: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "moderation/comment_edit.html",
        {
            "comment": comment,
            "need": session.get(Need, comment.need_id),
            "values": values,
            "errors": {k: v for k, v in (errors or {}).items() if k != "form"},
            "form_error": (errors or {}).get("form"),
            "conflict": conflict,
            "section": "need",
        },
        status_code=status_code,
    )


@router.get("/comments/{comment_id}/edit")
def comment_edit_form(
    request: Request, session: SessionDep, user: Moderator, comment_id: int
) -> Response:
    comment = needs.editable_comment(session, user, comment_id)
    values = {"body": comment.body, "reason": "", "seen": comment.updated_at.isoformat()}
    return _comment_edit_page(request, session, comment, values)


@router.post("/comments/{comment_id}/edit")
def comment_edit(
    request: Request,
    session: SessionDep,
    user: Moderator,
    comment_id: int,
    body: FormStr = "",
    reason: FormStr = "",
    seen: FormStr = "",
) -> Response:
    values = {"body": body, "reason": reason, "seen": seen}
    try:
        comment = revisions.edit_comment_text(
            session, user, comment_id, body=body, reason=reason, seen_updated_at=seen
        )
    except Invalid as exc:
        comment = needs.editable_comment(session, user, comment_id)
        return _comment_edit_page(
            request, session, comment, values, errors=exc.errors, status_code=422
        )
    except Conflict as exc:
        comment = needs.editable_comment(session, user, comment_id)
        values["seen"] = comment.updated_at.isoformat()
        return _comment_edit_page(
            request, session, comment, values, conflict=exc.detail, status_code=409
        )
    return RedirectResponse(
        _file_url(comment.need_id, "comment-edited", f"#comment-{comment.id}"), status_code=303
    )


# --- merging a duplicate ------------------------------------------------------------------------


def _merge_page(
    request: Request,
    session: SessionDep,
    user: User,
    need_id: int,
    *,
    query: str = "",
    into: str = "",
    note: str = "",
    errors: dict[str, str] | None = None,
    conflict: str | None = None,
    status_code: int = 200,
) -> Response:
    source = needs.get_need(session, need_id)
    errors = dict(errors or {})
    target = plan = None
    source_error = source_errors(source)
    if source_error:
        errors.update(source_error)
    elif into and not {"into", "source"} & errors.keys():
        try:
            source, target = load_merge(session, user, need_id, into)
            plan = merge_plan(session, source, target)
        except Invalid as exc:
            errors.update(exc.errors)
    if errors and status_code == 200:
        status_code = 422
    results = search_targets(session, source, query) if query and not source_error else []
    likely = (
        likely_duplicates(session, source) if not query and not into and not source_error else []
    )
    return render(
        request,
        "moderation/need_merge.html",
        {
            "need": source,
            "merged_into": session.get(Need, source.merged_into_id)
            if source.merged_into_id
            else None,
            "query": query,
            "into": into,
            "note": note,
            "results": results,
            "likely": likely,
            "target": target,
            "plan": plan,
            "errors": errors,
            "conflict": conflict,
            "section": "need",
        },
        status_code=status_code,
        block="results" if not into else None,
    )


@router.get("/needs/{need_id}/merge")
def merge_form(request: Request, session: SessionDep, user: Moderator, need_id: int) -> Response:
    ensure_moderator(user)
    params: dict[str, Any] = request.query_params
    return _merge_page(
        request,
        session,
        user,
        need_id,
        query=str(params.get("q", ""))[:100],
        into=str(params.get("into", ""))[:20],
    )


@router.post("/needs/{need_id}/merge")
def merge(
    request: Request,
    session: SessionDep,
    user: Moderator,
    need_id: int,
    into: FormStr = "",
    seen_status: FormStr = "",
    note: FormStr = "",
) -> Response:
    try:
        target = merge_needs(session, user, need_id, into, seen_status=seen_status, note=note)
    except Invalid as exc:
        return _merge_page(request, session, user, need_id, into=into, note=note, errors=exc.errors)
    except Conflict as exc:
        return _merge_page(
            request, session, user, need_id, note=note, conflict=exc.detail, status_code=409
        )
    return RedirectResponse(_file_url(target.id, "merged"), status_code=303)  # type: ignore[arg-type]


# --- the fabrique's public answer (staff; app.board.answers) ----------------------------------


def _answer_page(
    request: Request,
    need: Need,
    text: str,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    """The staff page of the answer, or (htmx) its block, which replaces the need page's own."""
    return render(
        request,
        "moderation/need_answer.html",
        {
            "need": need,
            "answer_values": {"answer": text},
            "answer_errors": errors or {},
            "answer_max": answers.ANSWER_MAX,
            "answer_notice": notice,
            "need_url": need_url(need),
            "section": "need",
        },
        block="answer",
        status_code=status_code,
    )


@router.get("/needs/{need_id}/answer")
def answer_form(request: Request, session: SessionDep, user: Staff, need_id: int) -> Response:
    need = answers.answerable_need(session, need_id)
    return _answer_page(request, need, need.answer_body)


@router.post("/needs/{need_id}/answer")
def answer(
    request: Request,
    session: SessionDep,
    user: Staff,
    need_id: int,
    answer: FormStr = "",
    action: FormStr = "save",
) -> Response:
    need = answers.answerable_need(session, need_id)
    if action == "remove":
        answers.remove_answer(session, user, need)
        done, notice = "answer_removed", _("Réponse de la fabrique retirée.")
    else:
        try:
            changed = answers.save_answer(session, user, need, answer)
        except Invalid as exc:
            session.rollback()
            need = answers.answerable_need(session, need_id)
            return _answer_page(request, need, answer, errors=exc.errors, status_code=422)
        done = "answered" if changed else "answer_unchanged"
        notice = (
            _("Réponse de la fabrique publiée ; les abonné·es du besoin sont prévenu·es.")
            if changed
            else _("La réponse de la fabrique n'a pas changé.")
        )
    if wants_fragment(request):
        return _answer_page(request, need, need.answer_body, notice=notice)
    return RedirectResponse(f"{need_url(need)}?notice={done}#answer", status_code=303)


# --- offline collections (staff; app.moderation.collections) -----------------------------------

COLLECTION_NOTICES = {
    "added": N_("Recueil hors ligne enregistré : il compte dans la demande du besoin."),
    "edited": N_("Recueil hors ligne corrigé."),
    "unchanged": N_("Le recueil hors ligne n'a pas changé."),
    "removed": N_("Recueil hors ligne retiré."),
}


def _offline_url(need_id: int, done: str = "") -> str:
    return f"/moderation/needs/{need_id}/offline" + (f"?done={done}" if done else "")


def _offline_page(
    request: Request,
    session: SessionDep,
    need: Need,
    values: collections.CollectionInput | None = None,
    *,
    editing: OfflineCollection | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The need's collections and the form to add one, or (`editing`) the form of one."""
    _themes, territories = queries.categories(session)
    done = request.query_params.get("done", "")
    rows = offline_collections.collections_for_needs(session, [need.id])  # type: ignore[list-item]
    return render(
        request,
        "moderation/need_offline.html",
        {
            "need": need,
            "collections": rows.get(need.id, []),  # type: ignore[arg-type]
            "editing": editing,
            "values": values or collections.CollectionInput(),
            "errors": errors or {},
            "methods": [(code, _(label)) for code, label in COLLECTION_METHOD_LABELS.items()],
            "territories": territories,
            "today": clock.local_today().isoformat(),
            "people_max": COLLECTION_PEOPLE_MAX,
            "notice": _(COLLECTION_NOTICES[done]) if done in COLLECTION_NOTICES else None,
            "section": "need",
        },
        status_code=status_code,
    )


@router.get("/needs/{need_id}/offline")
def offline_collections_page(
    request: Request, session: SessionDep, user: Staff, need_id: int
) -> Response:
    need = collections.collection_need(session, user, need_id)
    return _offline_page(request, session, need)


def _collection_input(
    people: FormStr = "",
    method: FormStr = "",
    collected_on: FormStr = "",
    place: FormStr = "",
    territory: FormStr = "",
    note: FormStr = "",
) -> collections.CollectionInput:
    return collections.CollectionInput(people, method, collected_on, place, territory, note)


CollectionForm = Annotated[collections.CollectionInput, Depends(_collection_input)]


@router.post("/needs/{need_id}/offline")
def offline_collection_add(
    request: Request, session: SessionDep, user: Staff, need_id: int, data: CollectionForm
) -> Response:
    need = collections.collection_need(session, user, need_id)
    try:
        collections.add_collection(session, user, need, data)
    except Invalid as exc:
        session.rollback()
        return _offline_page(request, session, need, data, errors=exc.errors, status_code=422)
    return RedirectResponse(_offline_url(need_id, "added"), status_code=303)


@router.get("/needs/{need_id}/offline/{collection_id}/edit")
def offline_collection_edit_form(
    request: Request, session: SessionDep, user: Staff, need_id: int, collection_id: int
) -> Response:
    need = collections.collection_need(session, user, need_id)
    collection = collections.get_collection(session, need, collection_id)
    values = collections.stored_input(session, collection)
    return _offline_page(request, session, need, values, editing=collection)


@router.post("/needs/{need_id}/offline/{collection_id}/edit")
def offline_collection_edit(
    request: Request,
    session: SessionDep,
    user: Staff,
    need_id: int,
    collection_id: int,
    data: CollectionForm,
) -> Response:
    need = collections.collection_need(session, user, need_id)
    collection = collections.get_collection(session, need, collection_id)
    try:
        changed = collections.update_collection(session, user, collection, data)
    except Invalid as exc:
        session.rollback()
        return _offline_page(
            request, session, need, data, editing=collection, errors=exc.errors, status_code=422
        )
    return RedirectResponse(
        _offline_url(need_id, "edited" if changed else "unchanged"), status_code=303
    )


@router.post("/needs/{need_id}/offline/{collection_id}/remove")
def offline_collection_remove(
    request: Request, session: SessionDep, user: Staff, need_id: int, collection_id: int
) -> Response:
    need = collections.collection_need(session, user, need_id)
    collection = collections.get_collection(session, need, collection_id)
    collections.remove_collection(session, user, collection)
    return RedirectResponse(_offline_url(need_id, "removed"), status_code=303)
