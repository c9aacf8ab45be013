"""Read paths of the pipeline. `public_ideas()` is the only public read path for ideas: every
public surface (the /ideas list, an idea's page, feeds, API, embed, webhooks) starts from it, so a
private idea cannot leak by a forgotten filter. The other readers here are shared by the public
pages and the syndication surfaces: the filters of the /ideas list, an idea's public needs and
partners, the counts shown beside each idea, and an idea's public address."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from app.board import queries as board_queries
from app.board.demand import Demand, demand_of
from app.board.models import Need, Territory, Theme
from app.board.service import active_category
from app.pipeline.models import Idea, IdeaNeed, IdeaPartner, Partner
from app.pipeline.service import STAGE_LABELS
from app.web.errors import Invalid
from app.web.i18n import gettext as _
from app.web.params import parse_page

PER_PAGE = 20
MAX_PAGE = 10_000


def public_ideas() -> SelectOfScalar[Idea]:
    """The only read path for ideas on public surfaces: public ones."""
    return select(Idea).where(Idea.is_public.is_(True))  # type: ignore[attr-defined]


def filtered_public_ideas(
    stage: str = "", theme: Theme | None = None, territory: Territory | None = None
) -> SelectOfScalar[Idea]:
    """Public ideas at a stage, of a theme, on a territory (each filter optional): the /ideas
    list, its feeds, the API and the embed."""
    statement = public_ideas()
    if stage:
        statement = statement.where(Idea.stage == stage)
    if theme is not None:
        statement = statement.where(Idea.theme_id == theme.id)
    if territory is not None:
        statement = statement.where(Idea.territory_id == territory.id)
    return statement


# The order of the /ideas list, its feeds and the embed: the ideas moved last first.
LATEST_MOVED_FIRST = (Idea.stage_changed_at.desc(), Idea.id.desc())  # type: ignore[attr-defined]


def idea_url(idea: Idea) -> str:
    """An idea's canonical public address (a path: callers add the base URL if they need it)."""
    return f"/ideas/{idea.id}-{idea.slug}"


@dataclass
class IdeaFilters:
    stage: str = ""
    theme: Theme | None = None
    territory: Territory | None = None
    page: int = 1


def parse_idea_filters(
    session: Session, params: dict[str, str]
) -> tuple[IdeaFilters, dict[str, str]]:
    """The /ideas list's filters (also taken by the API): the filters, and per-field errors."""
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
    filters.page = parse_page(params.get("page"), errors)
    return filters, errors


def list_public_ideas(session: Session, filters: IdeaFilters) -> tuple[list[Idea], bool]:
    """A page of public ideas, the most recently moved first; and whether there is more."""
    if filters.page > MAX_PAGE:
        return [], False
    statement = filtered_public_ideas(filters.stage, filters.theme, filters.territory)
    rows = list(
        session.exec(
            statement.order_by(*LATEST_MOVED_FIRST)
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


def public_demand(
    session: Session, idea_ids: list[int], *, territories: bool = True
) -> dict[int, Demand]:
    """idea id → the distinct people behind its public needs, per concern and (unless
    `territories=False`) per territory, in one statement for all these ideas (app.board.demand).
    An idea without any public support maps to an empty Demand."""
    if not idea_ids:
        return {}
    visible = board_queries.visible_needs().subquery()
    pairs = (
        select(IdeaNeed.idea_id, IdeaNeed.need_id)
        .join(visible, visible.c.id == IdeaNeed.need_id)
        .where(IdeaNeed.idea_id.in_(idea_ids))  # type: ignore[attr-defined]
    )
    found = demand_of(session, pairs, territories=territories)  # type: ignore[arg-type]
    return {idea_id: found.get(idea_id) or Demand() for idea_id in idea_ids}


def public_linked_needs(session: Session, idea: Idea) -> list[Need]:
    """An idea's public needs, the most supported first."""
    return list(
        session.exec(
            board_queries.visible_needs()
            .join(IdeaNeed, IdeaNeed.need_id == Need.id)  # type: ignore[arg-type]
            .where(IdeaNeed.idea_id == idea.id)
            .order_by(Need.supports_count.desc(), Need.id)  # type: ignore[attr-defined]
        )
    )


def idea_partners(session: Session, idea: Idea) -> list[tuple[str, Partner]]:
    """(link, partner) for each active partner of an idea, grouped by link."""
    rows = session.exec(
        select(IdeaPartner.link, Partner)
        .join(Partner, Partner.id == IdeaPartner.partner_id)  # type: ignore[arg-type]
        .where(IdeaPartner.idea_id == idea.id, Partner.archived_at.is_(None))  # type: ignore[union-attr]
        .order_by(IdeaPartner.link, Partner.name)
    ).all()
    return [(link, partner) for link, partner in rows]
