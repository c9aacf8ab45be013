"""Public pages of the pipeline: the list of public ideas (/ideas), an idea's page
(/ideas/{id}-{slug}) and the impact page (/impact).

What the public sees of an idea: its title, public summary, stage, theme and territory, the
public moves of its timeline (stage, date, public note — never who moved it), its public needs,
its partners, the call for carriers while it is open, and the enterprise once created. Never
study notes, verdicts, internal comments, documents, other people's applications or staff names.

A private idea is a 404 for everyone but staff, who may preview it on its public address with
a « non publique » banner (and noindex), to check what publishing it would show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.deps import OptionalUser
from app.accounts.models import Role, User
from app.board import queries as board_queries
from app.board.models import Need, Territory, Theme
from app.board.service import active_category
from app.core.text import render_markdown
from app.pipeline import applications, impact
from app.pipeline.models import Idea, IdeaNeed, IdeaPartner, Partner, PartnerLink, Stage
from app.pipeline.service import STAGE_LABELS, stage_label, timeline
from app.web.deps import SessionDep
from app.web.errors import Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import parse_id
from app.web.templating import render

router = APIRouter()

PER_PAGE = 20
MAX_PAGE = 10_000

PARTNER_LINK_LABELS = {
    PartnerLink.detected_by.value: N_("Repérée par"),
    PartnerLink.funded_by.value: N_("Financée par"),
    PartnerLink.supported_by.value: N_("Accompagnée par"),
}


def idea_url(idea: Idea) -> str:
    return f"/ideas/{idea.id}-{idea.slug}"


# --- reading ------------------------------------------------------------------------------------


def public_ideas():  # type: ignore[no-untyped-def]
    """The only read path for ideas on public pages: public ones."""
    return select(Idea).where(Idea.is_public.is_(True))  # type: ignore[attr-defined]


@dataclass
class IdeaFilters:
    stage: str = ""
    theme: Theme | None = None
    territory: Territory | None = None
    page: int = 1


def parse_idea_filters(
    session: Session, params: dict[str, str]
) -> tuple[IdeaFilters, dict[str, str]]:
    errors: dict[str, str] = {}
    filters = IdeaFilters()
    stage = params.get("stage", "")
    if stage and stage not in STAGE_LABELS:
        errors["stage"] = _("Cette étape n'existe pas.")
    else:
        filters.stage = stage
    for field, model in (("theme", Theme), ("territory", Territory)):
        try:
            setattr(filters, field, active_category(session, model, params.get(field, "")))
        except Invalid as exc:
            errors.update(exc.errors)
    page = parse_id(params.get("page", "") or "1")
    if page is None:
        errors["page"] = _("Le numéro de page doit être un nombre entier à partir de 1.")
    else:
        filters.page = page
    return filters, errors


def list_public_ideas(session: Session, filters: IdeaFilters) -> tuple[list[Idea], bool]:
    """A page of public ideas, the most recently moved first; and whether there is more."""
    if filters.page > MAX_PAGE:
        return [], False
    statement = public_ideas()
    if filters.stage:
        statement = statement.where(Idea.stage == filters.stage)
    if filters.theme:
        statement = statement.where(Idea.theme_id == filters.theme.id)
    if filters.territory:
        statement = statement.where(Idea.territory_id == filters.territory.id)
    rows = list(
        session.exec(
            statement.order_by(Idea.stage_changed_at.desc(), Idea.id.desc())  # type: ignore[attr-defined]
            .offset((filters.page - 1) * PER_PAGE)
            .limit(PER_PAGE + 1)
        )
    )
    return rows[:PER_PAGE], len(rows) > PER_PAGE


def public_need_counts(session: Session, idea_ids: list[int]) -> dict[int, tuple[int, int]]:
    """idea id → (number of its public needs, their total supports), one query."""
    if not idea_ids:
        return {}
    visible = board_queries.visible_needs().subquery()
    rows = session.exec(
        select(  # type: ignore[call-overload]
            IdeaNeed.idea_id,
            func.count(visible.c.id),
            func.coalesce(func.sum(visible.c.supports_count), 0),
        )
        .join(visible, visible.c.id == IdeaNeed.need_id)
        .where(IdeaNeed.idea_id.in_(idea_ids))  # type: ignore[attr-defined]
        .group_by(IdeaNeed.idea_id)
    ).all()
    return {int(idea_id): (int(count), int(total)) for idea_id, count, total in rows}


def public_linked_needs(session: Session, idea: Idea) -> list[Need]:
    return list(
        session.exec(
            board_queries.visible_needs()
            .join(IdeaNeed, IdeaNeed.need_id == Need.id)  # type: ignore[arg-type]
            .where(IdeaNeed.idea_id == idea.id)
            .order_by(Need.supports_count.desc(), Need.id)  # type: ignore[attr-defined]
        )
    )


def idea_partners(session: Session, idea: Idea) -> list[tuple[str, Partner]]:
    rows = session.exec(
        select(IdeaPartner.link, Partner)
        .join(Partner, Partner.id == IdeaPartner.partner_id)  # type: ignore[arg-type]
        .where(IdeaPartner.idea_id == idea.id, Partner.archived_at.is_(None))  # type: ignore[union-attr]
        .order_by(IdeaPartner.link, Partner.name)
    ).all()
    return [(link, partner) for link, partner in rows]


def _is_staff(user: User | None) -> bool:
    return user is not None and user.has_role(Role.staff) and not user.is_blocked()


# --- /ideas -------------------------------------------------------------------------------------


def _list_url(filters: IdeaFilters, **changes: Any) -> str:
    values: dict[str, Any] = {
        "stage": filters.stage,
        "theme": filters.theme.slug if filters.theme else "",
        "territory": filters.territory.slug if filters.territory else "",
        "page": filters.page,
    }
    values.update(changes)
    query = urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})
    return "/ideas" + (f"?{query}" if query else "")


@router.get("/ideas")
def ideas_page(request: Request, session: SessionDep) -> Response:
    filters, errors = parse_idea_filters(session, dict(request.query_params))
    ideas, has_next = list_public_ideas(session, filters)
    themes, territories = board_queries.categories(session)
    return render(
        request,
        "pipeline/ideas.html",
        {
            "ideas": ideas,
            "has_next": has_next,
            "filters": filters,
            "errors": errors,
            "counts": public_need_counts(session, [i.id for i in ideas]),  # type: ignore[misc]
            "themes": themes,
            "territories": territories,
            "themes_by_id": {t.id: t for t in themes},
            "territories_by_id": {t.id: t for t in territories},
            "stages": list(STAGE_LABELS),
            "stage_label": stage_label,
            "list_url": lambda **changes: _list_url(filters, **changes),
        },
        block="results",
        status_code=400 if errors else 200,
    )


# --- /impact ------------------------------------------------------------------------------------


@router.get("/impact")
def impact_page(request: Request, session: SessionDep) -> Response:
    year, territory, errors = impact.parse_filters(session, request.query_params)
    figures = impact.impact_figures(
        session, year=year, territory_id=territory.id if territory else None
    )
    _themes, territories = board_queries.categories(session)
    years = impact.available_years(session)
    if year is not None and year not in years:
        years = sorted({*years, year}, reverse=True)
    query = urlencode(
        {k: v for k, v in (("year", year), ("territory", territory and territory.slug)) if v}
    )
    return render(
        request,
        "pipeline/impact.html",
        {
            "figures": figures,
            "errors": errors,
            "years": years,
            "territories": territories,
            "stats_url": "/api/v1/stats" + (f"?{query}" if query else ""),
        },
        status_code=400 if errors else 200,
    )


# --- /ideas/{id}-{slug} ---------------------------------------------------------------------------

IDEA_NOTICES = {
    "applied": N_(
        "Merci ! Votre candidature est envoyée à la fabrique, qui vous répondra. "
        "Vous suivrez ici son avancement."
    ),
}


@router.get("/ideas/{ref}")
def idea_page(request: Request, session: SessionDep, user: OptionalUser, ref: str) -> Response:
    idea_id = parse_id(ref.split("-", 1)[0])
    idea = session.get(Idea, idea_id) if idea_id is not None else None
    preview = idea is not None and not idea.is_public and _is_staff(user)
    if idea is None or not (idea.is_public or preview):
        raise NotFound(_("Cette idée n'existe pas ou n'est pas publique."))
    canonical = idea_url(idea)
    if ref != canonical.removeprefix("/ideas/"):
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(canonical + query, status_code=301)
    themes, territories = board_queries.categories(session)
    notice_key = request.query_params.get("notice", "")
    call_open = idea.stage == Stage.seeking_carrier.value
    settings = request.app.state.settings
    return render(
        request,
        "pipeline/idea_public.html",
        {
            "idea": idea,
            "preview": preview,
            "stage_label": stage_label,
            "theme": next((t for t in themes if t.id == idea.theme_id), None),
            "territory": next((t for t in territories if t.id == idea.territory_id), None),
            "moves": timeline(session, idea, public_only=True),
            "needs": public_linked_needs(session, idea),
            "partners": idea_partners(session, idea),
            "partner_link_labels": PARTNER_LINK_LABELS,
            "call_open": call_open,
            # Written in Markdown by staff; sanitised like every user text (app.core.text).
            "carrier_call_html": render_markdown(idea.carrier_call) if call_open else "",
            "show_carrier": idea.stage in (Stage.launching.value, Stage.launched.value),
            "my_application": applications.application_of(session, idea, user),
            "application_status_label": applications.status_label,
            "canonical_url": settings.base_url + canonical,
            "notice": _(IDEA_NOTICES[notice_key]) if notice_key in IDEA_NOTICES else None,
        },
    )
