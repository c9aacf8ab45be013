"""Staff routes of an idea itself: creating one (from needs or another origin), its page,
editing its description and linking needs to it.

Staff and admins only: the router asks for Role.staff and every service checks it again. Every
form is a plain POST answered by a 303, or the form again with its errors (422).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.board import queries
from app.board.models import PUBLIC_NEED_STATUSES, Need, Territory, Theme
from app.board.service import active_category
from app.pipeline import service, stage_data
from app.pipeline.idea_file import (
    SAVED_NOTICES,
    form_text,
    refused_page,
    render_idea_page,
    saved_redirect,
)
from app.pipeline.models import (
    Idea,
    Origin,
    Partner,
)
from app.web.deps import SessionDep
from app.web.errors import Invalid
from app.web.i18n import gettext as _
from app.web.params import parse_id
from app.web.templating import render

router = APIRouter(prefix="/moderation", dependencies=[Depends(require_role(Role.staff))])
Staff = Annotated[User, Depends(require_role(Role.staff))]


MAX_NEEDS_PER_IDEA = 50


def _categories(session: Session, idea: Idea | None = None) -> tuple[list[Theme], list[Territory]]:
    """Active themes and territories, plus the idea's own when archived since."""
    if idea is None:
        return queries.categories(session)
    return queries.categories_keeping(session, idea.theme_id, idea.territory_id)


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
        "title": form_text(form, "title", 1000),
        "summary": form_text(form, "summary", service.SUMMARY_MAX * 2),
        "theme": form_text(form, "theme", 100),
        "territory": form_text(form, "territory", 100),
        "origin": form_text(form, "origin", 40),
        "partner_id": form_text(form, "partner_id", 20),
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


@router.get("/ideas/{idea_id}")
def idea_page(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    idea = service.get_idea(session, idea_id)
    saved = request.query_params.get("saved", "") or request.query_params.get("done", "")
    notice = _(SAVED_NOTICES[saved]) if saved in SAVED_NOTICES else None
    typed = " ".join(request.query_params.get("need_q", "").split())[:100]
    extra = {"need_q": typed, "need_choices": need_choices(session, idea, typed)}
    return render_idea_page(request, session, user, idea, notice=notice, saved=saved, extra=extra)


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
    return saved_redirect(idea_id, "idea", "idea-title")


@router.post("/ideas/{idea_id}/needs")
async def link_needs(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    idea = service.get_idea(session, idea_id)
    form = await request.form()
    raw = form_text(form, "need_ids", 2000)
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
        return refused_page(request, session, user, idea_id, "needs", Invalid(errors), submitted)
    return saved_redirect(idea_id, "needs", "needs")
