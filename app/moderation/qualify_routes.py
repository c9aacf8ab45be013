"""Staff pages of the moderation area: qualifying needs (theme, territory, tags, internal note,
« qualifié »), the lists staff work from, the tags autocomplete, and needs collected offline.

Staff and admins only (moderators get 403): each route asks for Role.staff, and each service
checks it again. Included before the need file's router, so /moderation/needs/new wins over
/moderation/needs/{need_id}.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import select

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.board import queries
from app.board.demand import Demand, demand_of, need_pairs
from app.board.models import Need, Territory, Theme
from app.board.service import active_category
from app.core import clock
from app.moderation import offline, qualification
from app.moderation.models import Tag
from app.web.deps import SessionDep
from app.web.errors import Conflict, Invalid
from app.web.i18n import gettext as _
from app.web.params import parse_id
from app.web.templating import render, render_to_string
from app.web.urls import need_url

router = APIRouter(prefix="/moderation", dependencies=[Depends(require_role(Role.moderator))])
Staff = Annotated[User, Depends(require_role(Role.staff))]


# --- the lists -----------------------------------------------------------------------------------


def _list_filters(
    session: SessionDep, params: dict[str, str]
) -> tuple[qualification.ListFilters, dict[str, str]]:
    errors: dict[str, str] = {}
    filters = qualification.ListFilters()
    for name, model in (("theme", Theme), ("territory", Territory)):
        slug = params.get(name, "")
        if slug:
            try:
                setattr(filters, name, active_category(session, model, slug))
            except Invalid as exc:
                errors.update(exc.errors)
    tag_slug = params.get("tag", "")
    if tag_slug:
        tag = None
        # NUL (refused by PostgreSQL) or longer than the column: no such tag anyway.
        if "\x00" not in tag_slug and len(tag_slug) <= 60:
            tag = session.exec(select(Tag).where(Tag.slug == tag_slug)).first()
        if tag is None:
            errors["tag"] = _("Cette étiquette n'existe pas.")
        filters.tag = tag
    for name in ("todo_page", "done_page", "idea_page"):
        raw = params.get(name, "") or "1"
        page = parse_id(raw)
        if page is None:
            errors[name] = _("Le numéro de page doit être un nombre entier à partir de 1.")
        else:
            setattr(filters, name, page)
    return filters, errors


def _list_url(
    query: dict[str, Any], filters: qualification.ListFilters, name: str, number: int
) -> str:
    """The lists' address with one list's page changed (the other list keeps its page)."""
    values = {
        **query,
        "todo_page": filters.todo_page,
        "done_page": filters.done_page,
        "idea_page": filters.idea_page,
    }
    values[name] = number
    return "/moderation/qualification?" + urlencode({k: v for k, v in values.items() if v != 1})


@router.get("/qualification")
def qualification_lists(request: Request, session: SessionDep, user: Staff) -> Response:
    params = dict(request.query_params)
    filters, errors = _list_filters(session, params)
    todo = qualification.to_qualify(session, filters)
    done = qualification.qualified_not_promoted(session, filters)
    in_ideas = qualification.qualified_in_ideas(session, filters)
    shown = todo.needs + done.needs + in_ideas.needs
    themes, territories = queries.categories(session)
    query: dict[str, Any] = {
        k: v
        for k, v in params.items()
        if k in ("theme", "territory", "tag") and v and k not in errors
    }
    return render(
        request,
        "moderation/qualification.html",
        {
            "todo": todo,
            "done": done,
            "in_ideas": in_ideas,
            "ideas": qualification.ideas_of(session, [n.id for n in in_ideas.needs]),  # type: ignore[misc]
            "filters": filters,
            "values": params,
            "errors": errors,
            "query": query,
            "themes": themes,
            "territories": territories,
            "all_tags": qualification.matching_tags(session, "", qualification.DATALIST_MAX),
            "themes_by_id": {t.id: t for t in themes},
            "territories_by_id": {t.id: t for t in territories},
            "tags": qualification.tags_of(session, [n.id for n in shown]),  # type: ignore[misc]
            # People per concern and per territory of each need shown, in one statement.
            "demand": demand_of(session, need_pairs([n.id for n in shown])) if shown else {},  # type: ignore[arg-type, misc]
            "no_demand": Demand(),
            "note_first_line": qualification.note_first_line,
            "by_source": offline.needs_by_source(session),
            "source_name": offline.source_name,
            "page_url": lambda name, number: _list_url(query, filters, name, number),
            "section": "qualification",
        },
        block="lists",
        status_code=400 if errors else 200,
    )


@router.get("/tags")
def tag_suggestions(
    request: Request, session: SessionDep, user: Staff, q: str = "", tags: str = ""
) -> Response:
    """Autocomplete for the tag field: an HTML <datalist> fragment that htmx swaps in place of
    the page's own. HTML rather than JSON because it needs no script of ours (the page stays
    free of inline JavaScript under the CSP) and the same block renders the full page's list."""
    typed = (q or tags)[:2000]
    options = qualification.suggestions(session, typed)
    body = render_to_string(
        "moderation/qualify_need.html", {"tag_options": options}, block="tag_options"
    )
    return HTMLResponse(body, headers={"Cache-Control": "private, no-store"})


# --- qualifying one need -----------------------------------------------------------------------


def _qualify_page(
    request: Request,
    session: SessionDep,
    need: Need,
    values: qualification.QualificationInput,
    *,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    themes, territories = queries.categories_keeping(session, need.theme_id, need.territory_id)
    return render(
        request,
        "moderation/qualify_need.html",
        {
            "need": need,
            "values": values,
            "errors": errors or {},
            "form_error": form_error,
            "refusal": qualification.qualification_refusal(need),
            "notice": notice,
            "themes": themes,
            "territories": territories,
            # Without JavaScript the page's own list completes the field after what it holds.
            "tag_options": qualification.suggestions(
                session, f"{values.tags}, " if values.tags.strip() else "", 200
            ),
            "provenance": offline.source_label(need),
            "qualified_by": session.get(User, need.qualified_by_id)
            if need.qualified_by_id
            else None,
            "need_url": need_url(need),
            "idea": qualification.ideas_of(session, [need.id]).get(need.id),  # type: ignore[list-item]
            "tag_max": qualification.TAG_MAX,
            "tags_per_need": qualification.TAGS_PER_NEED,
            "note_max": qualification.NOTE_MAX,
            "section": "qualification",
        },
        status_code=status_code,
    )


@router.get("/needs/{need_id}/qualification")
def qualify_page(request: Request, session: SessionDep, user: Staff, need_id: int) -> Response:
    need = qualification.load_qualifiable(session, need_id)
    values = qualification.QualificationInput.from_need(session, need)
    notice = _("Qualification enregistrée.") if request.query_params.get("saved") else None
    return _qualify_page(request, session, need, values, notice=notice)


@router.post("/needs/{need_id}/qualification")
async def qualify(request: Request, session: SessionDep, user: Staff, need_id: int) -> Response:
    form = await request.form()
    data = qualification.QualificationInput.from_form(form)
    try:
        qualification.qualify_need(session, user, need_id, data)
    except Invalid as exc:
        session.rollback()
        need = qualification.load_qualifiable(session, need_id)
        return _qualify_page(request, session, need, data, errors=exc.errors, status_code=422)
    except Conflict as exc:
        session.rollback()
        need = qualification.load_qualifiable(session, need_id)
        fresh = qualification.QualificationInput.from_need(session, need)
        return _qualify_page(request, session, need, fresh, form_error=exc.detail, status_code=409)
    return RedirectResponse(f"/moderation/needs/{need_id}/qualification?saved=1", status_code=303)


# --- needs collected offline ---------------------------------------------------------------------


def _offline_page(
    request: Request,
    session: SessionDep,
    values: offline.OfflineNeedInput,
    *,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> Response:
    themes, territories = queries.categories(session)
    return render(
        request,
        "moderation/offline_need.html",
        {
            "values": values,
            "errors": errors or {},
            "form_error": form_error,
            "themes": themes,
            "territories": territories,
            "sources": [(code, offline.source_name(code)) for code in offline.OFFLINE_SOURCES],
            "today": clock.local_today().isoformat(),
            "submission_key": secrets.token_urlsafe(16),
            "section": "offline",
        },
        status_code=status_code,
    )


@router.get("/needs/new")
def offline_need_page(request: Request, session: SessionDep, user: Staff) -> Response:
    return _offline_page(request, session, offline.OfflineNeedInput())


@router.post("/needs/new")
async def offline_need(request: Request, session: SessionDep, user: Staff) -> Response:
    form = await request.form()
    data = offline.OfflineNeedInput.from_form(form)
    try:
        need = offline.create_offline_need(
            session,
            user,
            data,
            submission_key=str(form.get("submission_key", ""))[:64] or None,
        )
    except Invalid as exc:
        session.rollback()
        return _offline_page(request, session, data, errors=exc.errors, status_code=422)
    except Conflict as exc:
        return _offline_page(request, session, data, form_error=exc.detail, status_code=409)
    return RedirectResponse(f"{need_url(need)}?notice=recorded", status_code=303)
