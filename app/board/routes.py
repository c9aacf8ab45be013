"""Public board pages: the list of needs (/), posting (/needs/new), the need page, edit and
delete. Every page works as a plain form/link page; with htmx the same routes answer with the
named block (the results list, the similar needs, the preview)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from app.accounts.deps import CurrentUser, OptionalUser
from app.accounts.models import Role, User
from app.accounts.notices import notice_for
from app.board import (
    cards,  # also registers the need_card template global
    queries,
    service,
    shared_pages,  # noqa: F401  (registers the board's pages answered before routing)
)
from app.board.badges import badges_for
from app.board.events import NeedPosted
from app.board.filters import DEFAULT_SORT, BoardFilters, parse_filters
from app.board.models import (
    MODERATION_REASONS,
    PUBLIC_NEED_STATUSES,
    Need,
    NeedStatus,
    Territory,
    Theme,
)
from app.board.permissions import can_delete_need, can_participate, is_moderator
from app.board.provenance import source_label
from app.core import events
from app.core.db import utcnow
from app.core.text import render_markdown
from app.web import personal
from app.web.deps import SessionDep
from app.web.errors import Forbidden, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import parse_id
from app.web.security import client_ip
from app.web.templating import render, wants_fragment
from app.web.urls import need_url

router = APIRouter()
FormStr = Annotated[str, Form()]


# --- the board ---------------------------------------------------------------------------------


def _board_url(filters: BoardFilters, **changes: Any) -> str:
    values = {
        "q": filters.q,
        "theme": filters.theme.slug if filters.theme else "",
        "territory": filters.territory.slug if filters.territory else "",
        "status": filters.status,
        "answer": filters.answer,
        "stage": filters.stage,
        "sort": filters.sort if filters.sort != DEFAULT_SORT else "",
        "page": filters.page if filters.page != 1 else "",
        "after": filters.after,
        "before": filters.before,
    }
    values.update(changes)
    query = urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})
    return "/" + (f"?{query}" if query else "")


@router.get("/")
def board(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    from app.board.supports import user_supports

    # Signed in: the page rendered once for people of the same shape, filled in for this one
    # (app/web/personal.py); the cards of the needs they support are swapped for marked ones.
    shared = personal.shared_page(request, session, user, "board")
    if shared is not None:
        entry = shared.lookup()
        if entry is not None:
            return shared.answer(entry, user_supports(session, entry.variants, user))
    filters, errors = parse_filters(session, dict(request.query_params))
    try:
        page = queries.board_needs(session, filters)
    except queries.BadCursor:
        errors["page"] = _("Ce lien de page n'est plus valable : voici le début de la liste.")
        filters.after = filters.before = ""
        filters.page = 1
        page = queries.board_needs(session, filters)
    # All of them (two queries, not four): archived ones still name their needs' labels.
    all_themes, all_territories = queries.categories(session, include_archived=True)
    themes = [t for t in all_themes if t.archived_at is None]
    territories = [t for t in all_territories if t.archived_at is None]
    # An archived theme chosen by an old link stays selected (and named) in the filter.
    themes += [t for t in [filters.theme] if t is not None and t.archived_at is not None]
    territories += [t for t in [filters.territory] if t is not None and t.archived_at is not None]
    themes_by_id = {t.id: t for t in all_themes}
    territories_by_id = {t.id: t for t in all_territories}
    badges = badges_for(session, [n.id for n in page.needs])
    context: dict[str, Any] = {
        "page": page,
        "filters": filters,
        "errors": errors,
        "themes": themes,
        "territories": territories,
        "themes_by_id": themes_by_id,
        "territories_by_id": territories_by_id,
        "supported": set(),
        "badges": badges,
        "board_url": lambda **changes: _board_url(filters, **changes),
        "notice": notice_for(request),
    }
    status = 400 if errors else 200
    if shared is not None:
        variants = {
            n.id: (
                cards.need_card(n, themes_by_id, territories_by_id, False, badges.get(n.id)),
                cards.need_card(n, themes_by_id, territories_by_id, True, badges.get(n.id)),
            )
            for n in page.needs
        }
        entry = shared.render(
            "board/board.html", context, block="results", status_code=status, variants=variants
        )
        if entry is not None:
            return shared.answer(entry, user_supports(session, variants, user))
    context["supported"] = user_supports(session, [n.id for n in page.needs], user)
    return render(request, "board/board.html", context, block="results", status_code=status)


# --- posting -----------------------------------------------------------------------------------


def _form_context(
    session: SessionDep,
    data: service.NeedInput,
    *,
    errors: dict[str, str] | None = None,
    preview: str | None = None,
    need: Need | None = None,
    carried: Any = None,
) -> dict[str, Any]:
    """`carried`: the posted form, when it is shown again for « Aperçu » — it keeps its
    submission key and the time it was first rendered (app.web.antiabuse)."""
    from app.web.antiabuse import carried_guard_values, guard_values

    settings = session.info["settings"]
    themes, territories = queries.categories(session)
    key = str(carried.get("submission_key", ""))[:64] if carried is not None else ""
    return {
        "values": data,
        "errors": errors or {},
        "form_error": None,
        "themes": themes,
        "territories": territories,
        "preview": preview,
        "similar": queries.similar_needs(session, data.title) if data.title else [],
        "need": need,
        "submission_key": key or secrets.token_urlsafe(16),
        "guard": carried_guard_values(carried, settings)
        if carried is not None
        else guard_values(settings),
    }


@router.get("/needs/new")
def new_need_page(
    request: Request, session: SessionDep, user: CurrentUser, title: str = ""
) -> Response:
    service.ensure_can_participate(user)
    return render(
        request,
        "board/need_form.html",
        _form_context(session, service.NeedInput(title=title[:140])),
    )


@router.post("/needs/new")
async def post_need(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    service.ensure_can_participate(user)
    form = await request.form()
    # The rest in a thread, as a sync route runs: its writes may wait for a lock (the rate
    # limits' counters, a form value sent twice) held by another request of this worker, which
    # needs the event loop to finish; waiting on the loop, the worker stopped for good
    # (tests/reliability/test_floods.py).
    return await run_in_threadpool(_post_need, request, session, user, form)


def _post_need(request: Request, session: Session, user: User, form: FormData) -> Response:
    from app.web.antiabuse import FormRejected, check_guard

    data = service.NeedInput.from_form(form)
    settings = request.app.state.settings
    if form.get("action") == "preview":
        if wants_fragment(request):  # « Aperçu » with htmx: the preview alone, in place
            return _preview_fragment(request, data)
        ctx = _form_context(session, data, preview=render_markdown(data.body), carried=form)
        return render(request, "board/need_form.html", ctx)
    started = utcnow()
    submission_key = str(form.get("submission_key", ""))[:64]
    try:
        # The same form sent again (a double click) passes once more, and create_need hands
        # back the need it wrote; a used form value is refused otherwise.
        resend_of = f"{user.id}:{submission_key}" if submission_key else ""
        check_guard(form, settings, session=session, resend_of=resend_of)
        need = service.create_need(
            session,
            user,
            data,
            submission_key=submission_key or None,
            ip=client_ip(request),
            rate_limits=settings.rate_limits == "on",
        )
    except FormRejected as exc:
        # What is wrong with the need itself is said too: a refusal of the fill time must not
        # hide that the title is too short (the person would send it again, and be refused).
        try:
            service.validate_need(session, data)
            field_errors: dict[str, str] = {}
        except Invalid as invalid:
            field_errors = invalid.errors
        ctx = _form_context(session, data, errors=field_errors)
        ctx["form_error"] = exc.detail
        return render(request, "board/need_form.html", ctx, status_code=422)
    except Invalid as exc:
        return render(
            request,
            "board/need_form.html",
            _form_context(session, data, errors=exc.errors),
            status_code=422,
        )
    # A re-sent form hands back the need it created earlier: not a new post to credit.
    if need.created_at >= started:
        events.announce(session, NeedPosted(need, request))
    notice = "pending" if need.status == NeedStatus.pending.value else "posted"
    return RedirectResponse(f"{need_url(need)}?notice={notice}", status_code=303)


@router.get("/needs/similar")
def similar(request: Request, session: SessionDep, title: str = "") -> Response:
    """While typing a title: public needs that look alike, with their support counts."""
    needs = queries.similar_needs(session, title[:140]) if len(title.strip()) >= 4 else []
    return render(request, "board/_similar.html", {"similar": needs})


def _preview_fragment(request: Request, data: service.NeedInput) -> Response:
    body = render_markdown(data.body[: service.BODY_MAX])
    return render(request, "board/_preview.html", {"preview": body})


@router.post("/needs/preview")
async def preview(request: Request, user: CurrentUser) -> Response:
    form = await request.form()
    body = str(form.get("body", ""))[: service.BODY_MAX]
    return render(request, "board/_preview.html", {"preview": render_markdown(body)})


# --- the need page --------------------------------------------------------------------------------


def _need_id(ref: str) -> int:
    need_id = parse_id(ref.split("-", 1)[0])
    if need_id is None:
        raise NotFound(_("Ce besoin n'existe pas ou n'est plus visible."))
    return need_id


NEED_NOTICES = {
    "posted": N_("Merci ! Votre besoin est publié. Partagez-le pour recueillir des soutiens."),
    "pending": N_(
        "Merci ! Votre besoin est en attente de validation par l'équipe de modération : "
        "il sera visible de tous une fois relu."
    ),
    "edited": N_("Vos modifications sont enregistrées."),
    "moderated": N_("Décision enregistrée ; l'auteur·e est prévenu·e."),
    "recorded": N_("Besoin enregistré et publié au nom de la fabrique, avec sa provenance."),
    "answered": N_("Réponse de la fabrique publiée ; les abonné·es du besoin sont prévenu·es."),
    "answer_unchanged": N_("La réponse de la fabrique n'a pas changé."),
    "answer_removed": N_("Réponse de la fabrique retirée."),
}
# Whom each notice speaks to. The address with ?notice= is the one a person copies to share
# their need: whoever opens it must not be thanked for a need they did not post.
_NOTICES_FOR_AUTHOR = frozenset({"posted", "pending", "edited"})
_NOTICES_FOR_TEAM = frozenset(
    {"moderated", "recorded", "answered", "answer_unchanged", "answer_removed"}
)


def _need_notice(request: Request, need: Need, user: User | None) -> tuple[str, str | None]:
    """The need page's notice after a redirect: (its key, its text), or ("", the account
    notices' text) when the key is not the need's or not for this viewer."""
    key = request.query_params.get("notice", "")
    if key in _NOTICES_FOR_AUTHOR and user is not None and user.id == need.author_id:
        return key, _(NEED_NOTICES[key])
    if key in _NOTICES_FOR_TEAM and is_moderator(user):
        return key, _(NEED_NOTICES[key])
    if key in NEED_NOTICES:
        return "", None
    return "", notice_for(request)


@router.get("/needs/{ref}")
def need_page(request: Request, session: SessionDep, user: OptionalUser, ref: str) -> Response:
    # First, before the need is read: on PostgreSQL the version must not be newer than the rows
    # a shared render shows (app/web/personal.py).
    shared = (
        personal.shared_page(request, session, user, "need")
        if user is not None and user.role == Role.resident.value
        else None
    )
    need = session.get(Need, _need_id(ref))
    if need is not None and need.status == NeedStatus.merged.value and need.merged_into_id:
        target = session.get(Need, need.merged_into_id)
        if target is not None:
            return RedirectResponse(need_url(target), status_code=301)
    need = queries.get_need_for(session, _need_id(ref), user)
    canonical = need_url(need)
    if ref != canonical.removeprefix("/needs/"):
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(canonical + query, status_code=301)

    from app.board.follows import is_following
    from app.board.supports import get_support, support_context

    following = bool(user and is_following(session, need, user))
    if shared is not None and _shown_alike(session, need, user):
        # A resident who neither wrote the need nor commented on it sees what every such
        # resident sees, but for their support and whether they follow it.
        row = get_support(session, need, user)
        shared.refine((row.concern, row.territory_id) if row is not None else None, following)
        entry = shared.lookup()
        if entry is None:
            support = support_context(session, need, user)
            context = _need_context(request, session, need, user, support, following, alike=True)
            context["comment_form"] = personal.shared_form_state()
            entry = shared.render("board/need.html", context)
        if entry is not None:
            return shared.answer(entry)
    support = support_context(session, need, user)
    return render(
        request,
        "board/need.html",
        _need_context(request, session, need, user, support, following),
    )


def _shown_alike(session: SessionDep, need: Need, user: User) -> bool:
    """Nothing on the page is the person's own: not the need, not a comment."""
    from app.board.models import Comment

    if need.author_id == user.id:
        return False
    mine = session.exec(
        select(Comment.id).where(Comment.need_id == need.id, Comment.author_id == user.id).limit(1)
    ).first()
    return mine is None


def _need_context(
    request: Request,
    session: SessionDep,
    need: Need,
    user: User | None,
    support: dict[str, Any],
    following: bool,
    *,
    alike: bool = False,
) -> dict[str, Any]:
    """The need page's context. `alike`: for the render shared by residents who wrote neither
    the need nor a comment on it (the comments as such a resident sees them)."""
    from app.board.answers import ANSWER_MAX, can_answer
    from app.board.comment_routes import comment_form_state
    from app.board.comments import comment_threads

    themes, territories = queries.categories(session, include_archived=True)
    notice_key, notice = _need_notice(request, need, user)
    return {
        "need": need,
        "author": session.get(User, need.author_id) if need.author_id else None,
        "provenance": source_label(need),
        "badge": badges_for(session, [need.id]).get(need.id),
        "theme": next((t for t in themes if t.id == need.theme_id), None),
        "territory": next((t for t in territories if t.id == need.territory_id), None),
        "is_public": need.status in PUBLIC_NEED_STATUSES and need.deleted_at is None,
        **support,
        "threads": comment_threads(session, need, None if alike else user),
        "comment_form": comment_form_state(request.app.state.settings),
        "following": following,
        "can_comment": can_participate(user) and need.status in PUBLIC_NEED_STATUSES,
        "can_edit": user is not None
        and user.id == need.author_id
        and _can_edit(session, need, user),
        "can_delete": can_delete_need(user, need),
        "is_moderator": is_moderator(user),
        "moderation_reasons": MODERATION_REASONS if is_moderator(user) else {},
        # The fabrique's answer: shown to all, its form to staff (app/board/answers.py).
        "can_answer": can_answer(user) and need.deleted_at is None,
        "answer_values": {"answer": need.answer_body},
        "answer_errors": {},
        "answer_max": ANSWER_MAX,
        "canonical_url": request.app.state.settings.base_url + need_url(need),
        "notice": notice,
        # Just published: the author gets the link to pass on, ready to copy or to mail.
        "share": notice_key == "posted" and need.status == NeedStatus.published.value,
    }


def _can_edit(session: SessionDep, need: Need, user: Any) -> bool:
    try:
        service.ensure_can_edit(session, need, user)
    except Exception:
        return False
    return True


@router.get("/needs/{need_id}/edit")
def edit_page(request: Request, session: SessionDep, user: CurrentUser, need_id: int) -> Response:
    need = queries.get_need_for(session, need_id, user)
    service.ensure_can_edit(session, need, user)
    theme = session.get(Theme, need.theme_id) if need.theme_id else None
    territory = session.get(Territory, need.territory_id) if need.territory_id else None
    data = service.NeedInput(
        title=need.title,
        body=need.body,
        theme=theme.slug if theme else "",
        territory=territory.slug if territory else "",
    )
    return render(request, "board/need_form.html", _form_context(session, data, need=need))


@router.post("/needs/{need_id}/edit")
async def edit(request: Request, session: SessionDep, user: CurrentUser, need_id: int) -> Response:
    need = queries.get_need_for(session, need_id, user)
    form = await request.form()
    data = service.NeedInput.from_form(form)
    if form.get("action") == "preview":
        service.ensure_can_edit(session, need, user)
        if wants_fragment(request):
            return _preview_fragment(request, data)
        ctx = _form_context(session, data, preview=render_markdown(data.body), need=need)
        return render(request, "board/need_form.html", ctx)
    was_pending = need.status == NeedStatus.pending.value
    try:
        need = service.edit_need(session, need, user, data)
    except Invalid as exc:
        ctx = _form_context(session, data, errors=exc.errors, need=need)
        return render(request, "board/need_form.html", ctx, status_code=422)
    # Sent back to the queue by the edit: the usual notice, never why (service.edit_need).
    held = need.status == NeedStatus.pending.value and not was_pending
    return RedirectResponse(
        f"{need_url(need)}?notice={'pending' if held else 'edited'}", status_code=303
    )


@router.get("/needs/{need_id}/delete")
def delete_page(request: Request, session: SessionDep, user: CurrentUser, need_id: int) -> Response:
    need = queries.get_need_for(session, need_id, user)
    if not can_delete_need(user, need):
        raise Forbidden(_("Vous ne pouvez supprimer que vos propres besoins."))
    return render(request, "board/need_delete.html", {"need": need})


@router.post("/needs/{need_id}/delete")
def delete(session: SessionDep, user: CurrentUser, need_id: int) -> Response:
    need = queries.get_need_for(session, need_id, user)
    service.delete_need(session, need, user)
    return RedirectResponse("/?notice=need_deleted", status_code=303)
