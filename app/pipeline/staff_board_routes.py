"""The staff idea board (/moderation/ideas: one column per stage), the filtered list and its CSV,
and moving an idea between stages, from a card of the board or from the idea page.

Staff and admins only: the router asks for Role.staff and every service checks it again. A
move is a plain POST answered by a 303 (or the page again with its errors: 422, or 409 when
someone else moved the idea first); on the board, htmx swaps the board in place instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlmodel import Session, col, select

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.board import queries
from app.board.models import Territory, Theme
from app.pipeline import export, service
from app.pipeline.idea_file import (
    form_text,
    in_stage_since,
    move_options,
    next_requirements,
    next_stage,
    render_idea_page,
    saved_redirect,
)
from app.pipeline.models import (
    STAGE_ORDER,
    Idea,
    Stage,
    StageChange,
)
from app.web import personal, personal_path
from app.web.deps import SessionDep
from app.web.errors import Conflict, Invalid
from app.web.i18n import gettext as _
from app.web.i18n import localized_name
from app.web.params import parse_id
from app.web.templating import render, wants_fragment

router = APIRouter(prefix="/moderation", dependencies=[Depends(require_role(Role.staff))])
Staff = Annotated[User, Depends(require_role(Role.staff))]


def _reached_by_idea(session: Session, ideas: list[Idea]) -> dict[int, set[str]]:
    ids = [i.id for i in ideas if i.stage == Stage.abandoned.value]
    reached: dict[int, set[str]] = {}
    if ids:
        rows = session.exec(
            select(StageChange.idea_id, StageChange.to_stage).where(
                col(StageChange.idea_id).in_(ids)
            )
        ).all()
        for idea_id, stage in rows:
            reached.setdefault(idea_id, set()).add(stage)
    return reached


# --- the board ---------------------------------------------------------------------------------


# Cards per stage on the board (the demo's 110 ideas put 45 in « Détectée »: a 15,000-pixel
# page); the list view, filtered by stage, holds them all.
COLUMN_LIMIT = 12


def _board_page(
    request: Request,
    session: Session,
    *,
    card_errors: dict[int, dict[str, str]] | None = None,
    card_values: dict[int, dict[str, str]] | None = None,
    notice: str | None = None,
    focus: int | None = None,
    status_code: int = 200,
    shared: personal.SharedPage | None = None,
) -> Response:
    """The board, narrowed by the filters of the address (the board's own, or the one a card's
    move form posts to, so that the board it gives back keeps them); with `shared` (a plain
    GET), rendered once for the team members of the same role and version, then filled in with
    each one's form token (app/web/personal.py)."""
    filters = export.parse_board_filters(session, request.query_params)
    if filters.errors and status_code == 200:
        status_code = 400  # as the list says it: the board shown with the good filters only
    everything = export.board_ideas(session, filters)
    columns: dict[str, list[Idea]] = {stage: [] for stage in service.STAGE_LABELS}
    for idea in everything:
        columns.setdefault(idea.stage, []).append(idea)
    # A column shows the ideas waiting longest at its stage, COLUMN_LIMIT of them, and links to
    # the list filtered by stage for the rest; a card just moved or refused stays in sight.
    keep = {focus, *(card_errors or {})}
    shown = {
        stage: [i for n, i in enumerate(ideas) if n < COLUMN_LIMIT or i.id in keep]
        for stage, ideas in columns.items()
    }
    ideas = [i for stage_ideas in shown.values() for i in stage_ideas]
    reached = _reached_by_idea(session, ideas)
    themes, territories = queries.categories(session, include_archived=True)
    kept = filters.query()
    context = {
        "columns": [(s.value, shown[s.value], len(columns[s.value])) for s in STAGE_ORDER],
        "abandoned": shown[Stage.abandoned.value],
        "abandoned_total": len(columns[Stage.abandoned.value]),
        "matching": len(everything),
        "totals": service.support_totals(session, [i.id for i in ideas]),  # type: ignore[misc]
        "themes_by_id": {t.id: t for t in themes},
        "territories_by_id": {t.id: t for t in territories},
        # The filters: their form (archived categories only label old ideas), what they keep,
        # and the addresses that keep them (« Voir les N idées », the cards' move forms).
        "filters": filters,
        "errors": filters.errors,
        "filter_query": kept,
        "move_query": f"?{urlencode(kept)}" if kept else "",
        "themes": [t for t in themes if t.archived_at is None],
        "territories": [t for t in territories if t.archived_at is None],
        "choices": {
            "origin": _labelled(service.ORIGIN_LABELS),
            "public": _labelled(export.PUBLIC_CHOICES),
        },
        # A filter applied in place says how many ideas it keeps (app.js, data-announce).
        "announce": request.method == "GET" and bool(kept),
        "options": {
            i.id: move_options(i, reached.get(i.id, set()))  # type: ignore[arg-type]
            for i in ideas
        },
        "next_stage": next_stage,
        "next_requirements": next_requirements,
        "stage_label": service.stage_label,
        "origin_labels": service.ORIGIN_LABELS,
        "since": in_stage_since,
        "card_errors": card_errors or {},
        "card_values": card_values or {},
        "notice": notice,
        "focus": focus,
        "section": "ideas",
    }
    if shared is not None:
        entry = shared.render(
            "pipeline/board.html", context, block="board", status_code=status_code
        )
        if entry is not None:
            return shared.answer(entry)
    return render(
        request,
        "pipeline/board.html",
        context,
        block="board",
        status_code=status_code,
    )


# Answered before routing when rendered for the member's shape (app/web/personal_path.py):
# nothing on the board is a member's own.
personal_path.register(
    personal_path.FastPage(
        "ideas", re.compile(r"/moderation/ideas"), roles=frozenset({Role.staff, Role.admin})
    )
)


@router.get("/ideas")
def board(request: Request, session: SessionDep, user: Staff) -> Response:
    # Before any read: on PostgreSQL the version must not be newer than the rows it shows.
    shared = personal.shared_page(request, session, user, "ideas")
    if shared is not None:
        entry = shared.lookup()
        if entry is not None:
            return shared.answer(entry)
    moved = parse_id(request.query_params.get("moved"))
    notice = None
    if moved is not None:
        idea = session.get(Idea, moved)
        if idea is not None:
            notice = _(
                "« %(title)s » est maintenant à l'étape : %(stage)s.",
                title=idea.title,
                stage=service.stage_label(idea.stage),
            )
    return _board_page(request, session, notice=notice, focus=moved, shared=shared)


# --- the list and its CSV --------------------------------------------------------------------


def _labelled(labels: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(code, _(label)) for code, label in labels.items()]


def _list_page(
    request: Request, session: Session, filters: export.IdeaFilters, *, status_code: int = 200
) -> Response:
    ideas, total = export.filtered_ideas(session, filters) if not filters.errors else ([], 0)
    themes, territories = queries.categories(session)
    query = filters.query()
    pages = max(1, -(-total // export.PER_PAGE))
    return render(
        request,
        "pipeline/list.html",
        {
            "ideas": ideas,
            "total": total,
            "filters": filters,
            "values": dict(request.query_params),
            "errors": filters.errors,
            "query": query,
            "page": filters.page,
            "pages": pages,
            "choices": {
                "stage": _labelled(service.STAGE_LABELS),
                "origin": _labelled(service.ORIGIN_LABELS),
                "theme": [(t.slug, localized_name(t)) for t in themes],
                "territory": [(t.slug, localized_name(t)) for t in territories],
                "public": _labelled(export.PUBLIC_CHOICES),
                "sort": _labelled(export.SORTS),
            },
            "themes_by_id": {t.id: t for t in session.exec(select(Theme))},
            "territories_by_id": {t.id: t for t in session.exec(select(Territory))},
            "totals": service.support_totals(session, [i.id for i in ideas]),  # type: ignore[misc]
            "origin_labels": service.ORIGIN_LABELS,
            "stage_label": service.stage_label,
            "since": in_stage_since,
            "section": "ideas",
        },
        block="results",
        status_code=status_code,
    )


@router.get("/ideas/list")
def idea_list(request: Request, session: SessionDep, user: Staff) -> Response:
    filters = export.parse_filters(session, request.query_params)
    return _list_page(request, session, filters, status_code=400 if filters.errors else 200)


@router.get("/ideas.csv")
def idea_csv(request: Request, session: SessionDep, user: Staff) -> Response:
    filters = export.parse_filters(session, request.query_params)
    if filters.errors:
        return _list_page(request, session, filters, status_code=400)
    filename = f"idees-{date.today().isoformat()}.csv"
    return StreamingResponse(
        export.export_csv(session, filters),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/ideas/{idea_id}/move")
async def move_idea(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    form = await request.form()
    to_stage = form_text(form, "to_stage", 40)
    seen_stage = form_text(form, "seen_stage", 40)
    note = form_text(form, "note", service.NOTE_MAX * 4)
    internal = bool(form.get("internal_note"))
    backward_ok = form.get("confirm_backward") == "1"
    from_board = form.get("from") == "board"
    submitted = {"to_stage": to_stage, "note": note, "internal_note": internal}
    try:
        idea = service.move_idea(
            session,
            user,
            idea_id,
            to_stage,
            seen_stage=seen_stage,
            note=note,
            public_note=not internal,
            confirmed_backward=backward_ok,
        )
    except Invalid as exc:
        session.rollback()
        errors = {("to_stage" if k == "stage" else k): v for k, v in exc.errors.items()}
        if from_board:
            return _board_page(
                request,
                session,
                card_errors={idea_id: errors},
                card_values={idea_id: submitted},
                focus=idea_id,
                status_code=422,
            )
        idea = service.get_idea(session, idea_id)
        return render_idea_page(
            request,
            session,
            user,
            idea,
            form="move",
            errors=errors,
            submitted=submitted,
            status_code=422,
        )
    except Conflict as exc:
        session.rollback()
        if from_board:
            return _board_page(
                request,
                session,
                card_errors={idea_id: {"form": exc.detail or ""}},
                focus=idea_id,
                status_code=409,
            )
        idea = service.get_idea(session, idea_id)
        return render_idea_page(
            request, session, user, idea, form="move", form_error=exc.detail, status_code=409
        )
    if from_board:
        if wants_fragment(request):
            notice = _(
                "« %(title)s » est maintenant à l'étape : %(stage)s.",
                title=idea.title,
                stage=service.stage_label(idea.stage),
            )
            return _board_page(request, session, notice=notice, focus=idea_id)
        # Back to the board as it was filtered: the card's form posts with the filters.
        kept = export.parse_board_filters(session, request.query_params).query()
        return RedirectResponse(
            f"/moderation/ideas?{urlencode({**kept, 'moved': idea_id})}#idea-{idea_id}",
            status_code=303,
        )
    return saved_redirect(idea_id, "moved", "move")
