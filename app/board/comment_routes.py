"""Comment and follow routes: post a comment or a reply, edit it, delete it; follow and
unfollow a need.

Every route works as a plain form (303 back to the need page) and, with htmx, answers with the
fragment to swap in place. With htmx a refused form comes back as the form itself, in place
(HX-Retarget), with its status (422, 403 or 429); without it, as a page. Anonymous visitors are
sent to the login page (HX-Redirect with htmx) and nothing is written; a need that is not
public answers 404.
"""

from __future__ import annotations

import secrets
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.deps import CurrentUser, OptionalUser
from app.accounts.models import User
from app.board import comments, follows
from app.board.models import Comment, Need
from app.board.permissions import COMMENT_EDIT_WINDOW, can_edit_comment, can_participate
from app.board.queries import get_need_for, get_visible_need
from app.board.service import ensure_can_participate
from app.web.antiabuse import GuardData, check_guard, guard_values
from app.web.deps import SessionDep
from app.web.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.params import parse_id
from app.web.security import client_ip
from app.web.templating import render, wants_fragment
from app.web.urls import need_url

router = APIRouter()

FormStr = Annotated[str, Form()]
# Ids in URLs: beyond the INTEGER columns' range PostgreSQL would fail the query (a 500), so
# such ids are refused up front like any malformed id (422, nothing read or written).
RowId = Annotated[int, Path(ge=1, le=comments.MAX_ID)]


def comment_form_state(settings: Any) -> dict[str, Any]:
    """What a rendered comment form needs besides the need: the anti-abuse fields (signed
    rendering time, honeypot) and a fresh submission key, so that sending the same form twice
    creates one comment. Pass it to board/_comments.html as `comment_form`.

    A need page shows several comment forms (the new comment's and one reply form per thread)
    and a signed rendering time serves one write only: `new_guard` gives each form its own
    (templates/_macros/comments.html), so a person can post a comment, then a reply, from the
    same page. The submission key may be shared: it is scoped to the form (top level or which
    reply) in app.board.comments."""
    return {
        **guard_values(settings),
        "new_guard": partial(guard_values, settings),
        "submission_key": secrets.token_urlsafe(16),
    }


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _login_redirect(request: Request, next_path: str) -> Response:
    url = f"/account/login?next={quote(next_path)}"
    if wants_fragment(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return _redirect(url)


def _reload_page() -> Response:
    """htmx: the thing on the page is gone (404): reload, the page will say why."""
    return Response(status_code=200, headers={"HX-Refresh": "true"})


def _parse_id(raw: str, field: str, message: str) -> int | None:
    if not (raw or "").strip():
        return None
    value = parse_id(raw)
    if value is None:
        raise Invalid({field: message})
    return value


# --- posting -------------------------------------------------------------------------------------


def _comment_form_response(
    request: Request,
    need: Need,
    *,
    parent_id: int | None,
    reply_to: str | None,
    body: str,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    status_code: int = 422,
    headers: dict[str, str] | None = None,
) -> Response:
    settings = request.app.state.settings
    fragment = wants_fragment(request)
    headers = dict(headers or {})
    if fragment:
        form_id = f"reply-form-{parent_id}" if parent_id else f"comment-form-{need.id}"
        headers.update({"HX-Retarget": f"#{form_id}", "HX-Reswap": "outerHTML"})
    return render(
        request,
        "board/comment_new.html",
        {
            "need": need,
            "parent_id": parent_id,
            "reply_to": reply_to,
            "values": {"body": body},
            "errors": errors or {},
            "form_error": form_error,
            "comment_form": comment_form_state(settings),
            "plain": not fragment,
        },
        block="form",
        status_code=status_code,
        headers=headers,
    )


def _author_name(session: SessionDep, comment_id: int | None) -> str | None:
    if comment_id is None:
        return None
    comment = session.get(Comment, comment_id)
    if comment is None or comment.author_id is None:
        return None
    author = session.get(User, comment.author_id)
    return author.display_name if author else None


@router.post("/needs/{need_id}/comments")
def post_comment(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    guard: GuardData,
    need_id: RowId,
    body: FormStr = "",
    parent_id: FormStr = "",
    submission_key: FormStr = "",
) -> Response:
    if user is None:
        return _login_redirect(request, f"/needs/{need_id}#commentaires")
    settings = request.app.state.settings
    try:
        need = get_visible_need(session, need_id)
    except NotFound:
        if wants_fragment(request):
            return _reload_page()
        raise
    try:
        parent = _parse_id(
            parent_id, "parent_id", _("Le commentaire auquel vous répondez n'existe pas.")
        )
    except Invalid as exc:
        return _comment_form_response(
            request, need, parent_id=None, reply_to=None, body=body, errors=exc.errors
        )
    reply_to = _author_name(session, parent)
    try:
        ensure_can_participate(user)
        # The same form sent again (same value, same submission key, same place) returns the
        # comment it wrote; without a submission key it could write another: no second pass.
        key = submission_key[:200]
        resend_of = f"{user.id}:{need.id}:{parent or ''}:{key}" if key else ""
        check_guard(guard, settings, session=session, resend_of=resend_of)
        comment = comments.post_comment(
            session,
            need,
            user,
            body,
            parent_id=parent,
            submission_key=key or None,
            ip=client_ip(request),
            settings=settings,
        )
    except Invalid as exc:
        return _comment_form_response(
            request,
            need,
            parent_id=parent,
            reply_to=reply_to,
            body=body,
            errors=exc.errors,
            form_error=exc.detail,
        )
    except AppError as exc:
        # Blocked account (403), too many comments (429): the form in place with htmx, the
        # French error page without it.
        if not wants_fragment(request):
            raise
        return _comment_form_response(
            request,
            need,
            parent_id=parent,
            reply_to=reply_to,
            body=body,
            form_error=exc.detail,
            status_code=exc.status_code,
            headers=exc.headers,
        )
    if not wants_fragment(request):
        return _redirect(f"{need_url(need)}#comment-{comment.id}")
    session.refresh(need)
    view = comments.comment_view(session, comment, user)
    return render(
        request,
        "board/_comment.html",
        {
            "need": need,
            "comment": view,
            "can_comment": True,
            "comment_form": comment_form_state(settings),
            "refresh_form": True,
            "form_parent_id": parent,
            "reply_to": reply_to,
        },
    )


@router.get("/comments/{comment_id}/reply")
def reply_page(
    request: Request, session: SessionDep, user: OptionalUser, comment_id: RowId
) -> Response:
    """The reply form of a thread, asked for when a person chooses « Répondre »: with htmx
    the form alone, put in place under the comment; without it, a page with the form. The
    need page used to carry one reply form per thread, each with its own signed guard: half
    of a 50-comment page's bytes and most of its time (bench/README.md, issue 13)."""
    comment = session.get(Comment, comment_id)
    if comment is None or comment.deleted_at is not None or comment.parent_id is not None:
        raise NotFound(_("Ce commentaire n'existe pas ou plus."))
    if user is None:
        return _login_redirect(request, f"/comments/{comment_id}/reply")
    need = get_visible_need(session, comment.need_id)
    if comment.status != "published":
        raise NotFound(_("Ce commentaire n'existe pas ou plus."))
    ensure_can_participate(user)
    fragment = wants_fragment(request)
    author = session.get(User, comment.author_id) if comment.author_id else None
    return render(
        request,
        "board/comment_new.html",
        {
            "need": need,
            "parent_id": comment.id,
            "reply_to": author.display_name if author else None,
            "replied": comments.comment_view(session, comment, user),
            "values": {},
            "errors": {},
            "form_error": None,
            "comment_form": comment_form_state(request.app.state.settings),
            "plain": not fragment,
        },
        block="reply",
    )


# --- editing and deleting ------------------------------------------------------------------------


def _comment_and_need(
    session: SessionDep, comment_id: int, user: User | None
) -> tuple[Comment, Need]:
    comment = session.get(Comment, comment_id)
    if comment is None or comment.deleted_at is not None:
        raise NotFound(_("Ce commentaire n'existe pas ou plus."))
    return comment, get_need_for(session, comment.need_id, user)


def _edit_page(
    request: Request, need: Need, comment: Comment, body: str, errors: dict[str, str] | None = None
) -> Response:
    return render(
        request,
        "board/comment_edit.html",
        {
            "need": need,
            "comment": comment,
            "values": {"body": body},
            "errors": errors or {},
            "editable_until": comment.created_at + COMMENT_EDIT_WINDOW,
        },
        status_code=422 if errors else 200,
    )


@router.get("/comments/{comment_id}/edit")
def edit_comment_page(
    request: Request, session: SessionDep, user: CurrentUser, comment_id: RowId
) -> Response:
    comment, need = _comment_and_need(session, comment_id, user)
    get_visible_need(session, need.id)  # type: ignore[arg-type]
    if not can_edit_comment(user, comment):
        raise Forbidden(
            _(
                "Un commentaire ne peut être modifié que par son auteur ou autrice, "
                "dans les 15 minutes qui suivent son envoi."
            )
        )
    return _edit_page(request, need, comment, comment.body)


@router.post("/comments/{comment_id}/edit")
def edit_comment(
    request: Request, session: SessionDep, user: CurrentUser, comment_id: RowId, body: FormStr = ""
) -> Response:
    comment, need = _comment_and_need(session, comment_id, user)
    try:
        comments.edit_comment(session, comment, user, body)
    except Invalid as exc:
        return _edit_page(request, need, comment, body, exc.errors)
    return _redirect(f"{need_url(need)}#comment-{comment.id}")


@router.post("/comments/{comment_id}/delete")
def delete_comment(
    request: Request, session: SessionDep, user: OptionalUser, comment_id: RowId
) -> Response:
    comment = session.get(Comment, comment_id)
    if user is None:
        target = f"/needs/{comment.need_id}#commentaires" if comment else "/"
        return _login_redirect(request, target)
    try:
        comment = comments.delete_comment(session, comment_id, user)
        need = get_need_for(session, comment.need_id, user)
    except AppError:
        # With htmx the page reloads and shows the comment as it is (the button only appears
        # for those who may delete, so this is a stale page or a forged request).
        if wants_fragment(request):
            return _reload_page()
        raise
    if not wants_fragment(request):
        return _redirect(f"{need_url(need)}#commentaires")
    session.refresh(need)  # the count changed in SQL
    # What remains in place of the swapped <li>: nothing, or the thread with its placeholder.
    remaining = None
    if comment.parent_id is None:
        remaining = comments.thread_of(session, need, comment.id, user)  # type: ignore[arg-type]
    return render(
        request,
        "board/_comment.html",
        {
            "need": need,
            "comment": remaining,
            "can_comment": can_participate(user),
            "comment_form": comment_form_state(request.app.state.settings),
            "refresh_form": False,
            "form_parent_id": None,
            "reply_to": None,
        },
    )


# --- following -----------------------------------------------------------------------------------


def _set_follow(
    request: Request, session: SessionDep, user: User | None, need_id: int, wanted: bool
) -> Response:
    if user is None:
        return _login_redirect(request, f"/needs/{need_id}")
    fragment = wants_fragment(request)
    context: dict[str, Any] = {}
    try:
        if wanted:
            follows.follow(
                session,
                need_id,
                user,
                ip=client_ip(request),
                settings=request.app.state.settings,
            )
        else:
            follows.unfollow(session, need_id, user)
    except (NotFound, Conflict):
        # Gone or changed (merged into another need, hidden) meanwhile: the page, reloaded,
        # shows where it went.
        if fragment:
            return _reload_page()
        raise
    except AppError as exc:
        if not fragment:
            raise
        context = {"follow_error": exc.detail, "status": exc.status_code, "headers": exc.headers}
    need = get_visible_need(session, need_id)
    if not fragment:
        return _redirect(need_url(need))
    return render(
        request,
        "board/_follow.html",
        {
            "need": need,
            "following": follows.is_following(session, need, user),
            "follow_error": context.get("follow_error"),
        },
        status_code=context.get("status", 200),
        headers=context.get("headers"),
    )


@router.post("/needs/{need_id}/follow")
def follow_need(
    request: Request, session: SessionDep, user: OptionalUser, need_id: RowId
) -> Response:
    return _set_follow(request, session, user, need_id, True)


@router.post("/needs/{need_id}/unfollow")
def unfollow_need(
    request: Request, session: SessionDep, user: OptionalUser, need_id: RowId
) -> Response:
    return _set_follow(request, session, user, need_id, False)
