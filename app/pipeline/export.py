"""The staff list of ideas: filters, sorting, and the same rows as CSV.

One query (`filtered_ideas`) feeds the list page and the export, so what staff download is
exactly what they were looking at; the board's filters (`board_ideas`) are that query too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.board.demand import Demand
from app.board.models import Territory, Theme
from app.board.service import active_category
from app.core.db import utcnow
from app.pipeline import service
from app.pipeline.models import Idea, Stage
from app.pipeline.queries import public_demand
from app.web.errors import Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import parse_page

PER_PAGE = 50
QUERY_MAX = 100

SORTS = {
    "oldest": N_("Depuis le plus longtemps à son étape"),
    "newest": N_("Arrivées le plus récemment à leur étape"),
}
PUBLIC_CHOICES = {
    "yes": N_("Publiques"),
    "no": N_("Internes"),
}


@dataclass
class IdeaFilters:
    stage: str = ""
    origin: str = ""
    theme: Theme | None = None
    territory: Territory | None = None
    public: str = ""
    q: str = ""
    sort: str = "oldest"
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    def query(self) -> dict[str, str]:
        """The filters as URL parameters (for links that keep them: pages, CSV)."""
        values = {
            "stage": self.stage,
            "origin": self.origin,
            "theme": self.theme.slug if self.theme else "",
            "territory": self.territory.slug if self.territory else "",
            "public": self.public,
            "q": self.q,
            "sort": "" if self.sort == "oldest" else self.sort,
        }
        return {k: v for k, v in values.items() if v}


def parse_filters(session: Session, params: Mapping[str, str]) -> IdeaFilters:
    """Filters from the query string; unknown values are reported in `errors` and ignored."""
    filters = IdeaFilters()
    errors = filters.errors
    stage = params.get("stage", "")
    if stage:
        if stage in service.STAGE_LABELS:
            filters.stage = stage
        else:
            errors["stage"] = _("Cette étape n'existe pas.")
    origin = params.get("origin", "")
    if origin:
        if origin in service.ORIGIN_LABELS:
            filters.origin = origin
        else:
            errors["origin"] = _("Cette origine n'existe pas.")
    for name, model in (("theme", Theme), ("territory", Territory)):
        try:
            setattr(filters, name, active_category(session, model, params.get(name, "")))
        except Invalid as exc:
            errors.update(exc.errors)
    public = params.get("public", "")
    if public:
        if public in PUBLIC_CHOICES:
            filters.public = public
        else:
            errors["public"] = _("Choisissez publiques, internes, ou toutes.")
    filters.q = " ".join(params.get("q", "").replace("\x00", "").split())[:QUERY_MAX]
    sort = params.get("sort", "") or "oldest"
    if sort in SORTS:
        filters.sort = sort
    else:
        errors["sort"] = _("Ce tri n'existe pas.")
    filters.page = parse_page(params.get("page"), errors)
    return filters


# The board's filters: the list's, less the stage (the board's columns are the stages) and the
# order and page (each column shows the ideas waiting longest, then links to the list).
BOARD_FILTERS = ("q", "origin", "theme", "territory", "public")


def parse_board_filters(session: Session, params: Mapping[str, str]) -> IdeaFilters:
    """The board's filters from the query string, read as the list reads them (unknown values
    reported in `errors` and ignored); the list's other parameters are not the board's."""
    return parse_filters(session, {name: params.get(name, "") for name in BOARD_FILTERS})


def board_ideas(session: Session, filters: IdeaFilters) -> list[Idea]:
    """Every idea the board's filters keep, the longest at its stage first: the same query as
    the list and the CSV, so a column's « Voir les N idées » lists exactly its N ideas."""
    return list(session.exec(_statement(filters)).all())


def _statement(filters: IdeaFilters):  # type: ignore[no-untyped-def]
    statement = select(Idea)
    if filters.stage:
        statement = statement.where(Idea.stage == filters.stage)
    if filters.origin:
        statement = statement.where(Idea.origin == filters.origin)
    if filters.theme is not None:
        statement = statement.where(Idea.theme_id == filters.theme.id)
    if filters.territory is not None:
        statement = statement.where(Idea.territory_id == filters.territory.id)
    if filters.public:
        statement = statement.where(col(Idea.is_public).is_(filters.public == "yes"))
    if filters.q:
        statement = statement.where(
            func.lower(Idea.title).contains(filters.q.lower(), autoescape=True)
        )
    order = col(Idea.stage_changed_at)
    order = order.asc() if filters.sort == "oldest" else order.desc()
    return statement.order_by(order, col(Idea.id))


def filtered_ideas(session: Session, filters: IdeaFilters) -> tuple[list[Idea], int]:
    """One page of the filtered ideas, and how many there are in all."""
    statement = _statement(filters)
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    rows = session.exec(statement.offset((filters.page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    return list(rows), int(total)


CSV_COLUMNS = [
    "id",
    "title",
    "stage",
    "stage_label",
    "stage_changed_at",
    "days_in_stage",
    "origin",
    "theme",
    "territory",
    "is_public",
    "needs",
    "supports",
    # Distinct people behind its public needs (issue 17): in all, per concern, per territory.
    "supporters",
    "people_has_need",
    "people_would_use",
    "people_could_help",
    "people_org_could_support",
    "people_by_territory",
    # People staff met offline (app.board.models.OfflineCollection), not among the supporters.
    "people_offline",
    "verdict",
    "carrier_name",
    "enterprise_name",
    "legal_form",
    "jobs_created",
    "launch_date",
    "enterprise_website",
    "created_at",
    "abandon_reason",
]


def _safe_cell(value: Any) -> Any:
    """Spreadsheets run cells starting with = + - @ as formulas: quote them (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _territory_cell(demand: Demand) -> str:
    """« Pessac: 4; Bègles: 1; ?: 2 » — the people per territory, « ? » for none named."""
    return "; ".join(
        f"{row.name if row.territory_id is not None else '?'}: {row.people}"
        for row in demand.by_territory
    )


def export_csv(session: Session, filters: IdeaFilters) -> Iterable[str]:
    """Every filtered idea (all pages) as CSV, UTF-8, one header line, streamed in chunks; a
    batch of 200 ideas costs three statements (supports, needs, people), whatever its needs."""
    from app.pipeline.models import IdeaNeed

    themes = {t.id: t.name for t in session.exec(select(Theme))}
    territories = {t.id: t.name for t in session.exec(select(Territory))}
    now = utcnow()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    batch: list[Idea] = []

    def flush_batch() -> None:
        ids = [i.id for i in batch]
        totals = service.support_totals(session, ids)  # type: ignore[arg-type]
        counts = dict(
            session.exec(
                select(IdeaNeed.idea_id, func.count())
                .where(col(IdeaNeed.idea_id).in_(ids))
                .group_by(IdeaNeed.idea_id)
            ).all()
        )
        people = public_demand(session, ids)  # type: ignore[arg-type]
        for idea in batch:
            demand = people[idea.id]  # type: ignore[index]
            writer.writerow(
                [
                    _safe_cell(value)
                    for value in (
                        idea.id,
                        idea.title,
                        idea.stage,
                        service.stage_label(idea.stage),
                        idea.stage_changed_at.isoformat(),
                        (now - idea.stage_changed_at).days,
                        idea.origin,
                        themes.get(idea.theme_id, ""),
                        territories.get(idea.territory_id, ""),
                        "yes" if idea.is_public else "no",
                        counts.get(idea.id, 0),
                        totals.get(idea.id, 0),  # type: ignore[arg-type]
                        demand.people,
                        *demand.by_concern.values(),
                        _territory_cell(demand),
                        demand.offline,
                        idea.verdict or "",
                        idea.carrier_name or "",
                        idea.enterprise_name or "",
                        idea.legal_form or "",
                        "" if idea.jobs_created is None else idea.jobs_created,
                        idea.launch_date.isoformat() if idea.launch_date else "",
                        idea.enterprise_website or "",
                        idea.created_at.isoformat(),
                        # A reopened idea keeps its old reason on the row: not current.
                        idea.abandon_reason if idea.stage == Stage.abandoned.value else "",
                    )
                ]
            )
        batch.clear()

    for idea in session.exec(_statement(filters)):
        batch.append(idea)
        if len(batch) >= 200:
            flush_batch()
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if batch:
        flush_batch()
    yield buffer.getvalue()
