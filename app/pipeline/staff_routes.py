"""Staff pages of the idea pipeline: the board (one column per stage), the filtered list and its
CSV, creating an idea (from needs or another origin), the idea page with its timeline, moves,
stage data, milestones and internal comments.

Staff and admins only: the router asks for Role.staff and every service checks it again. Every
form is a plain POST answered by a 303 (or the page again with its errors: 422, or 409 when
someone else moved the idea first); on the board, htmx swaps the board in place instead.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.dates import format_timedelta
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.board import queries
from app.board.models import NEED_STATUS_LABELS, PUBLIC_NEED_STATUSES, Need, Territory, Theme
from app.board.service import active_category
from app.core.db import utcnow
from app.pipeline import export, idea_sections, service, stage_data
from app.pipeline.models import (
    STAGE_ORDER,
    Idea,
    IdeaPartner,
    Origin,
    Partner,
    PartnerLink,
    Stage,
    StageChange,
)
from app.pipeline.panels import panels_for
from app.web import freshness, personal, personal_path
from app.web.deps import SessionDep
from app.web.errors import Conflict, Invalid
from app.web.i18n import get_locale, localized_name
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import parse_id
from app.web.templating import render, wants_fragment

router = APIRouter(prefix="/moderation", dependencies=[Depends(require_role(Role.staff))])
Staff = Annotated[User, Depends(require_role(Role.staff))]

# The idea page's panels written in other modules register themselves when imported.
for _module in ("app.pipeline.documents", "app.pipeline.partners", "app.pipeline.applications"):
    try:
        importlib.import_module(_module)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise

MAX_NEEDS_PER_IDEA = 50
LINK_LABELS = {
    PartnerLink.detected_by.value: N_("Détectée par"),
    PartnerLink.funded_by.value: N_("Financée par"),
    PartnerLink.supported_by.value: N_("Accompagnée par"),
}
SAVED_NOTICES = {
    "idea": N_("Idée enregistrée."),
    "created": N_("Idée créée."),
    "study": N_("Étude d'opportunité enregistrée."),
    "call": N_("Appel à porteurs enregistré."),
    "carrier": N_("Porteur retenu enregistré."),
    # Redirect of « Retenir ce porteur » (app/pipeline/application_routes.py).
    "carrier_selected": N_("Candidature retenue : la personne est prévenue qu'elle porte l'idée."),
    "enterprise": N_("Entreprise enregistrée."),
    "milestones": N_("Étapes de lancement enregistrées."),
    "comment": N_("Commentaire ajouté."),
    "needs": N_("Besoins ajoutés à l'idée."),
    "moved": N_("L'idée a changé d'étape."),
    # Redirects of the panels' own routes (documents, partners), with ?done=.
    "document_added": N_("Document ajouté."),
    "document_deleted": N_("Document supprimé."),
    "partner_linked": N_("Partenaire lié à l'idée."),
    "partner_unlinked": N_("Lien avec le partenaire retiré."),
}


def in_stage_since(moment: datetime) -> str:
    """« depuis 3 semaines »: how long the idea has been at its stage."""
    elapsed = (utcnow() - moment).total_seconds()
    # A page rendered once for the team (app/web/personal.py) is kept only while these words
    # stay true.
    if elapsed < 60:
        freshness.expires_at(time.time() + 60 - elapsed)
        return _("depuis un instant")
    freshness.expires_at(time.time() + freshness.relative_text_lasts(elapsed))
    age = format_timedelta(timedelta(seconds=elapsed), threshold=1.1, locale=get_locale())
    return _("depuis %(age)s", age=age)


def _text(form: FormData, name: str, limit: int = 100_000) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def _categories(session: Session, idea: Idea | None = None) -> tuple[list[Theme], list[Territory]]:
    """Active themes and territories, plus the idea's own when archived since."""
    themes, territories = queries.categories(session)
    if idea is not None:
        for items, model, current_id in (
            (themes, Theme, idea.theme_id),
            (territories, Territory, idea.territory_id),
        ):
            if current_id and all(item.id != current_id for item in items):
                current = session.get(model, current_id)
                if current is not None:
                    items.append(current)  # type: ignore[arg-type]
    return themes, territories


def _category_id(
    session: Session,
    model: type[Theme] | type[Territory],
    slug: str,
    current_id: int | None,
    errors: dict[str, str],
) -> int | None:
    """A theme or territory id from its slug (active, or the idea's current one)."""
    if current_id:
        current = session.get(model, current_id)
        if current is not None and current.slug == slug:
            return current_id
    try:
        row = active_category(session, model, slug)
    except Invalid as exc:
        errors.update(exc.errors)
        return None
    return row.id if row is not None else None


def _category_slugs(session: Session, idea_or_need: Any) -> tuple[str, str]:
    theme = session.get(Theme, idea_or_need.theme_id) if idea_or_need.theme_id else None
    territory = (
        session.get(Territory, idea_or_need.territory_id) if idea_or_need.territory_id else None
    )
    return (theme.slug if theme else "", territory.slug if territory else "")


def _move_options(idea: Idea, reached: set[str]) -> list[tuple[str, str]]:
    """The stages the idea may move to now (a note given where one is needed)."""
    return [
        (stage, service.stage_label(stage))
        for stage in service.STAGE_LABELS
        if not service.transition_errors(idea, stage, note="-", reached=reached)
    ]


@dataclass(frozen=True)
class MoveChoice:
    """One stage in the idea page's « Nouvelle étape » list."""

    value: str
    label: str
    disabled: bool = False  # the next stage while its information is missing
    backward: bool = False


def _move_choices(idea: Idea, reached: set[str]) -> list[MoveChoice]:
    """The stages the idea may move to now, in the ladder's order, steps back marked as such,
    and the next stage shown but disabled while its information is missing (the page lists
    what to fill in, with links), so the list never starts on a step backwards."""
    allowed = dict(_move_options(idea, reached))
    following = _next_stage(idea)
    choices = []
    for stage in service.STAGE_LABELS:
        backward = service.is_backward(idea, stage)
        if stage in allowed:
            label = allowed[stage]
            if backward:
                label = _("← %(stage)s (retour en arrière)", stage=label)
            choices.append(MoveChoice(stage, label, backward=backward))
        elif stage == following:
            label = _("%(stage)s (à compléter d'abord)", stage=service.stage_label(stage))
            choices.append(MoveChoice(stage, label, disabled=True))
    return choices


def _next_stage(idea: Idea) -> str | None:
    if idea.stage not in STAGE_ORDER or idea.stage == Stage.launched.value:
        return None
    return STAGE_ORDER[STAGE_ORDER.index(Stage(idea.stage)) + 1].value


def _next_requirements(idea: Idea) -> list[str]:
    """What is missing before the next stage (empty: the idea may move on)."""
    return list(_next_missing(idea).values())


def _next_missing(idea: Idea) -> dict[str, str]:
    """field → what to fill in before the next stage (the fields' ids are `f-<field>`)."""
    following = _next_stage(idea)
    if following is None:
        return {}
    return service.transition_errors(idea, following, note="-")


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
            i.id: _move_options(i, reached.get(i.id, set()))  # type: ignore[arg-type]
            for i in ideas
        },
        "next_stage": _next_stage,
        "next_requirements": _next_requirements,
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


# --- creating an idea --------------------------------------------------------------------------


def _need_ids(values: list[str]) -> tuple[list[int], bool]:
    """Need ids from repeated `need` fields and comma-separated `needs` ones; True when one of
    them is not an id."""
    ids: list[int] = []
    bad = False
    for value in values:
        for raw in value.split(","):
            if not raw.strip():
                continue
            parsed = parse_id(raw)
            if parsed is None:
                bad = True
            elif parsed not in ids:
                ids.append(parsed)
    return ids, bad


def _needs_to_promote(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """The needs asked for, each with what stops it from becoming an idea (None: nothing)."""
    found = (
        {n.id: n for n in session.exec(select(Need).where(col(Need.id).in_(ids)))} if ids else {}
    )
    ideas = service.idea_of_needs(session, ids)
    rows = []
    for need_id in ids:
        need = found.get(need_id)
        problem = None
        if need is None:
            problem = _("Ce besoin n'existe pas.")
        elif need.deleted_at is not None or need.status not in PUBLIC_NEED_STATUSES:
            problem = _("Ce besoin n'est pas public : il ne peut pas devenir une idée.")
        elif need_id in ideas:
            problem = _(
                "Ce besoin fait déjà partie de l'idée « %(title)s ».", title=ideas[need_id].title
            )
        rows.append({"id": need_id, "need": need, "problem": problem, "idea": ideas.get(need_id)})
    return rows


def _partners(session: Session) -> list[Partner]:
    return list(
        session.exec(
            select(Partner).where(col(Partner.archived_at).is_(None)).order_by(col(Partner.name))
        )
    )


def _idea_form(
    request: Request,
    session: Session,
    values: dict[str, Any],
    *,
    idea: Idea | None = None,
    need_rows: list[dict[str, Any]] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    themes, territories = _categories(session, idea)
    return render(
        request,
        "pipeline/idea_form.html",
        {
            "idea": idea,
            "values": values,
            "errors": errors or {},
            "need_rows": need_rows or [],
            "themes": themes,
            "territories": territories,
            "origins": [
                (code, label)
                for code, label in service.ORIGIN_LABELS.items()
                if code != Origin.resident.value
            ],
            "origin_labels": service.ORIGIN_LABELS,
            "partners": _partners(session) if idea is None else [],
            "title_max": service.TITLE_MAX,
            "summary_max": service.SUMMARY_MAX,
            "section": "ideas",
        },
        status_code=status_code,
    )


@router.get("/ideas/new")
def new_idea_page(request: Request, session: SessionDep, user: Staff) -> Response:
    params = request.query_params
    ids, bad = _need_ids(params.getlist("need") + params.getlist("needs"))
    ids = ids[:MAX_NEEDS_PER_IDEA]
    rows = _needs_to_promote(session, ids)
    values: dict[str, Any] = {
        "title": "",
        "summary": "",
        "theme": "",
        "territory": "",
        "origin": "",
        "partner_id": "",
        "is_public": False,
    }
    first = next((r["need"] for r in rows if r["need"] is not None), None)
    if first is not None:
        values["title"] = first.title[: service.TITLE_MAX]
        values["theme"], values["territory"] = _category_slugs(session, first)
    errors = {"needs": _("Un des besoins demandés n'est pas un numéro valable.")} if bad else {}
    return _idea_form(request, session, values, need_rows=rows, errors=errors)


def _idea_values(form: FormData) -> dict[str, Any]:
    return {
        "title": _text(form, "title", 1000),
        "summary": _text(form, "summary", service.SUMMARY_MAX * 2),
        "theme": _text(form, "theme", 100),
        "territory": _text(form, "territory", 100),
        "origin": _text(form, "origin", 40),
        "partner_id": _text(form, "partner_id", 20),
        "is_public": bool(form.get("is_public")),
    }


@router.post("/ideas/new")
async def create_idea(request: Request, session: SessionDep, user: Staff) -> Response:
    form = await request.form()
    values = _idea_values(form)
    ids, bad = _need_ids([v for v in form.getlist("need") if isinstance(v, str)])
    ids = ids[:MAX_NEEDS_PER_IDEA]
    errors: dict[str, str] = {}
    if bad:
        errors["needs"] = _("Un des besoins demandés n'est pas un numéro valable.")
    theme_id = _category_id(session, Theme, values["theme"], None, errors)
    territory_id = _category_id(session, Territory, values["territory"], None, errors)
    partner_id = None
    if values["partner_id"] and not ids:
        partner_id = parse_id(values["partner_id"])
        if partner_id is None:
            errors["partner_id"] = _("Ce partenaire n'existe pas.")
    data = service.IdeaInput(
        title=values["title"],
        summary=values["summary"],
        theme_id=theme_id,
        territory_id=territory_id,
        origin=values["origin"],
        partner_id=partner_id,
        is_public=values["is_public"],
    )
    try:
        try:
            service.validate_idea(session, data, from_needs=bool(ids))
        except Invalid as exc:
            errors = {**exc.errors, **errors}
        if errors:
            raise Invalid(errors)
        idea = service.create_idea(session, user, data, need_ids=ids)
    except Invalid as exc:
        session.rollback()
        return _idea_form(
            request,
            session,
            values,
            need_rows=_needs_to_promote(session, ids),
            errors=exc.errors,
            status_code=422,
        )
    return RedirectResponse(f"/moderation/ideas/{idea.id}?saved=created", status_code=303)


# --- the idea page -----------------------------------------------------------------------------


def _form_values(idea: Idea) -> dict[str, Any]:
    enterprise = stage_data.enterprise_input(idea)
    return {
        "study_notes": idea.study_notes,
        "verdict": idea.verdict or "",
        "carrier_call": idea.carrier_call,
        "carrier_name": idea.carrier_name or "",
        **{name: getattr(enterprise, name) for name in stage_data.ENTERPRISE_FIELDS},
        "to_stage": "",
        "note": "",
        "internal_note": False,
        "need_ids": "",
        "milestone-label": "",
        "comment-body": "",
    }


def _idea_page(
    request: Request,
    session: Session,
    user: User,
    idea: Idea,
    *,
    form: str = "",
    errors: dict[str, str] | None = None,
    submitted: Mapping[str, Any] | None = None,
    form_error: str | None = None,
    notice: str | None = None,
    saved: str = "",
    extra: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    values = _form_values(idea)
    values.update(submitted or {})
    reached = service.reached_stages(session, idea)
    needs = service.linked_needs(session, idea)
    partners = session.exec(
        select(IdeaPartner, Partner)
        .join(Partner, col(Partner.id) == IdeaPartner.partner_id)
        .where(IdeaPartner.idea_id == idea.id)
        .order_by(col(IdeaPartner.link), col(Partner.name))
    ).all()
    theme = session.get(Theme, idea.theme_id) if idea.theme_id else None
    territory = session.get(Territory, idea.territory_id) if idea.territory_id else None
    following = _next_stage(idea)
    context: dict[str, Any] = {
        "idea": idea,
        "theme": theme,
        "territory": territory,
        "needs": needs,
        "supports_total": sum(n.supports_count for n in needs),
        "need_status_labels": NEED_STATUS_LABELS,
        "partners": partners,
        "link_labels": LINK_LABELS,
        "timeline": service.timeline(session, idea),
        "move_options": _move_choices(idea, reached),
        "next_stage": following,
        "next_requirements": _next_missing(idea),
        "milestones": stage_data.milestones(session, idea),
        "comments": stage_data.comments(session, idea),
        "stage_label": service.stage_label,
        "origin_labels": service.ORIGIN_LABELS,
        "verdict_labels": service.VERDICT_LABELS,
        "legal_form_labels": stage_data.LEGAL_FORM_LABELS,
        "since": in_stage_since,
        "today": date.today().isoformat(),
        "values": values,
        "form": form,
        "errors": errors or {},
        "form_error": form_error,
        "notice": notice,
        "limits": {
            "study_notes": stage_data.STUDY_NOTES_MAX,
            "carrier_call": stage_data.CARRIER_CALL_MAX,
            "carrier_name": stage_data.CARRIER_NAME_MAX,
            "enterprise_name": stage_data.ENTERPRISE_NAME_MAX,
            "website": stage_data.WEBSITE_MAX,
            "jobs": stage_data.JOBS_MAX,
            "milestone": stage_data.MILESTONE_MAX,
            "comment": stage_data.COMMENT_MAX,
            "note": service.NOTE_MAX,
        },
        "section": "ideas",
    }
    context.update(panels_for(session, idea, user))
    context.update(extra or {})
    # The current stage's section first; folded sections open where the person has something
    # to do or to see (app/pipeline/idea_sections.py).
    linked_fields = list(context["next_requirements"])
    if context["form"] == "move":
        linked_fields += list(context["errors"])
    place = idea_sections.notice_place(saved)
    if context["notice"] and place:
        # Said where the person comes back to, not at the top of the page.
        context["section_notice"] = (place, context["notice"])
        context["notice"] = None
    context["sections"] = idea_sections.idea_sections(
        idea.stage,
        refused=idea_sections.refused_forms(context),
        saved=saved,
        fields=linked_fields,
        also_open=["needs"] if context.get("need_q") else [],
    )
    return render(request, "pipeline/idea.html", context, status_code=status_code)


def render_idea_page(
    request: Request,
    session: Session,
    user: User,
    idea: Idea,
    *,
    extra: Mapping[str, Any] | None = None,
    status_code: int = 422,
) -> Response:
    """The idea page again with a panel's refused form (`extra`: its errors and values), for
    the routes of the panels written in other modules (documents, partners, applications)."""
    return _idea_page(request, session, user, idea, extra=extra, status_code=status_code)


@router.get("/ideas/{idea_id}")
def idea_page(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    idea = service.get_idea(session, idea_id)
    saved = request.query_params.get("saved", "") or request.query_params.get("done", "")
    notice = _(SAVED_NOTICES[saved]) if saved in SAVED_NOTICES else None
    typed = " ".join(request.query_params.get("need_q", "").split())[:100]
    extra = {"need_q": typed, "need_choices": need_choices(session, idea, typed)}
    return _idea_page(request, session, user, idea, notice=notice, saved=saved, extra=extra)


NEED_CHOICES = 10


def need_choices(session: Session, idea: Idea, typed: str) -> list[Need]:
    """Public needs staff may tick to link to the idea: those matching the words typed (the
    board's search: any order, accents ignored) or, before any search, those that look like the
    idea's title; never one already in an idea (a need belongs to one idea at most)."""
    from app.board.search import matching_needs
    from app.pipeline.models import IdeaNeed

    taken = select(IdeaNeed.need_id)
    if typed:
        statement = matching_needs(session, queries.visible_needs(), typed)
        if statement is None:
            return []
        statement = statement.where(col(Need.id).not_in(taken))
        return list(
            session.exec(
                statement.order_by(col(Need.supports_count).desc(), col(Need.id)).limit(
                    NEED_CHOICES
                )
            )
        )
    alike = queries.similar_needs(session, idea.title, limit=NEED_CHOICES * 2)
    linked = set(session.exec(taken.where(col(IdeaNeed.need_id).in_([n.id for n in alike]))).all())
    return [n for n in alike if n.id not in linked][:NEED_CHOICES]


def _saved(idea_id: int, what: str, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/moderation/ideas/{idea_id}?saved={what}#{anchor}", status_code=303)


def _refused(
    request: Request,
    session: Session,
    user: User,
    idea_id: int,
    form: str,
    exc: Invalid,
    submitted: Mapping[str, Any],
    *,
    prefix: str = "",
) -> Response:
    session.rollback()
    idea = service.get_idea(session, idea_id)
    errors = {f"{prefix}{key}": message for key, message in exc.errors.items()}
    return _idea_page(
        request,
        session,
        user,
        idea,
        form=form,
        errors=errors,
        submitted=submitted,
        status_code=422,
    )


@router.post("/ideas/{idea_id}/move")
async def move_idea(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    form = await request.form()
    to_stage = _text(form, "to_stage", 40)
    seen_stage = _text(form, "seen_stage", 40)
    note = _text(form, "note", service.NOTE_MAX * 4)
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
        return _idea_page(
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
        return _idea_page(
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
    return _saved(idea_id, "moved", "move")


@router.get("/ideas/{idea_id}/edit")
def edit_idea_page(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    idea = service.get_idea(session, idea_id)
    theme, territory = _category_slugs(session, idea)
    values = {
        "title": idea.title,
        "summary": idea.summary,
        "theme": theme,
        "territory": territory,
        "is_public": idea.is_public,
    }
    return _idea_form(request, session, values, idea=idea)


@router.post("/ideas/{idea_id}/edit")
async def edit_idea(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    idea = service.get_idea(session, idea_id)
    form = await request.form()
    values = _idea_values(form)
    errors: dict[str, str] = {}
    theme_id = _category_id(session, Theme, values["theme"], idea.theme_id, errors)
    territory_id = _category_id(session, Territory, values["territory"], idea.territory_id, errors)
    try:
        if errors:
            raise Invalid(errors)
        stage_data.update_idea(
            session,
            user,
            idea_id,
            stage_data.IdeaEdit(
                title=values["title"],
                summary=values["summary"],
                theme_id=theme_id,
                territory_id=territory_id,
                is_public=values["is_public"],
            ),
        )
    except Invalid as exc:
        session.rollback()
        idea = service.get_idea(session, idea_id)
        return _idea_form(
            request, session, values, idea=idea, errors={**exc.errors, **errors}, status_code=422
        )
    return _saved(idea_id, "idea", "idea-title")


@router.post("/ideas/{idea_id}/needs")
async def link_needs(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    idea = service.get_idea(session, idea_id)
    form = await request.form()
    raw = _text(form, "need_ids", 2000)
    ids, bad = _need_ids([raw, *[v for v in form.getlist("need") if isinstance(v, str)]])
    submitted = {"need_ids": raw}
    try:
        if bad:
            raise Invalid(
                {"need_ids": _("Indiquez des numéros de besoins séparés par des virgules.")}
            )
        if not ids:
            raise Invalid({"need_ids": _("Indiquez au moins un numéro de besoin.")})
        if len(ids) > MAX_NEEDS_PER_IDEA:
            raise Invalid(
                {"need_ids": _("%(max)s besoins au plus à la fois.", max=MAX_NEEDS_PER_IDEA)}
            )
        service.link_needs(session, user, idea, ids)
    except Invalid as exc:
        errors = {("need_ids" if k == "needs" else k): v for k, v in exc.errors.items()}
        return _refused(request, session, user, idea_id, "needs", Invalid(errors), submitted)
    return _saved(idea_id, "needs", "needs")


@router.post("/ideas/{idea_id}/study")
async def save_study(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    form = await request.form()
    submitted = {
        "study_notes": _text(form, "study_notes", stage_data.STUDY_NOTES_MAX * 2),
        "verdict": _text(form, "verdict", 40),
    }
    try:
        stage_data.update_study(session, user, idea_id, **submitted)
    except Invalid as exc:
        return _refused(request, session, user, idea_id, "study", exc, submitted)
    return _saved(idea_id, "study", "study")


@router.post("/ideas/{idea_id}/call")
async def save_call(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    form = await request.form()
    submitted = {"carrier_call": _text(form, "carrier_call", stage_data.CARRIER_CALL_MAX * 2)}
    try:
        stage_data.update_call(session, user, idea_id, **submitted)
    except Invalid as exc:
        return _refused(request, session, user, idea_id, "call", exc, submitted)
    return _saved(idea_id, "call", "call")


@router.post("/ideas/{idea_id}/carrier")
async def save_carrier(
    request: Request, session: SessionDep, user: Staff, idea_id: int
) -> Response:
    """A carrier who did not apply, typed by name; one who applied is retained from the
    applications list (« Retenir ce porteur », app/pipeline/application_routes.py)."""
    form = await request.form()
    submitted = {"carrier_name": _text(form, "carrier_name", 1000)}
    try:
        stage_data.update_carrier(session, user, idea_id, **submitted)
    except Invalid as exc:
        return _refused(request, session, user, idea_id, "carrier", exc, submitted)
    return _saved(idea_id, "carrier", "carrier")


@router.post("/ideas/{idea_id}/enterprise")
async def save_enterprise(
    request: Request, session: SessionDep, user: Staff, idea_id: int
) -> Response:
    form = await request.form()
    submitted = {name: _text(form, name, 1000) for name in stage_data.ENTERPRISE_FIELDS}
    try:
        stage_data.update_enterprise(
            session, user, idea_id, stage_data.EnterpriseInput(**submitted)
        )
    except Invalid as exc:
        return _refused(request, session, user, idea_id, "enterprise", exc, submitted)
    return _saved(idea_id, "enterprise", "enterprise")


@router.post("/ideas/{idea_id}/milestones")
async def add_milestone(
    request: Request, session: SessionDep, user: Staff, idea_id: int
) -> Response:
    form = await request.form()
    label = _text(form, "label", 2000)
    try:
        stage_data.add_milestone(session, user, idea_id, label)
    except Invalid as exc:
        return _refused(
            request,
            session,
            user,
            idea_id,
            "milestones",
            exc,
            {"milestone-label": label},
            prefix="milestone-",
        )
    return _saved(idea_id, "milestones", "milestones")


MILESTONE_ACTIONS = ("done", "undone", "rename", "delete", "up", "down")


@router.post("/ideas/{idea_id}/milestones/{milestone_id}")
async def change_milestone(
    request: Request, session: SessionDep, user: Staff, idea_id: int, milestone_id: int
) -> Response:
    form = await request.form()
    action = _text(form, "action", 20)
    label = _text(form, "label", 2000)
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
        return _refused(
            request,
            session,
            user,
            idea_id,
            "milestones",
            exc,
            {f"milestone-{milestone_id}-label": label},
            prefix=f"milestone-{milestone_id}-",
        )
    return _saved(idea_id, "milestones", f"milestone-{milestone_id}")


@router.post("/ideas/{idea_id}/comments")
async def add_comment(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    form = await request.form()
    body = _text(form, "body", stage_data.COMMENT_MAX * 2)
    try:
        comment = stage_data.add_comment(session, user, idea_id, body)
    except Invalid as exc:
        return _refused(
            request,
            session,
            user,
            idea_id,
            "comment",
            exc,
            {"comment-body": body},
            prefix="comment-",
        )
    return _saved(idea_id, "comment", f"comment-{comment.id}")
