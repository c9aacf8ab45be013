"""The JSON shapes of the public API (SPEC §5 "Machine endpoints"): needs, ideas, themes and
territories, as partners, feeds and the docs rely on them.

Callers pass rows they loaded through the public read paths (`visible_needs()`,
`public_ideas()`); the related rows (categories, authors, ideas of needs) are loaded here in a
few queries for a whole page, never one per item. A need's idea is shown only when staff made
the idea public.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, select

from app.accounts.models import User
from app.board.answers import public_answer
from app.board.demand import Demand, demand_of, need_pairs
from app.board.models import Need as NeedRow
from app.board.models import NeedSource, Territory, Theme
from app.pipeline.models import Stage
from app.pipeline.queries import idea_url, public_demand, public_need_counts
from app.pipeline.service import idea_of_needs, stage_label
from app.web.i18n import gettext as _
from app.web.urls import need_url


def rfc3339(value: datetime | None) -> str | None:
    """RFC 3339 with an explicit UTC offset, e.g. 2026-11-26T08:42:08.123456+00:00."""
    if value is None:
        return None
    if value.tzinfo is None:  # stored values are aware (app.core.db.UTCDateTime); be safe anyway
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def category_json(category: Theme | Territory | None) -> dict[str, str] | None:
    if category is None:
        return None
    return {"slug": category.slug, "name": category.name}


def listed_category_json(category: Theme | Territory) -> dict[str, Any]:
    """A theme or a territory in the API's lists of them: one shape for both."""
    return {
        "slug": category.slug,
        "name": category.name,
        "name_en": category.name_en,
        "archived": category.archived_at is not None,
    }


theme_json = territory_json = listed_category_json


def _categories(session: Session) -> tuple[dict[int, Theme], dict[int, Territory]]:
    themes = {t.id: t for t in session.exec(select(Theme))}
    territories = {t.id: t for t in session.exec(select(Territory))}
    return themes, territories  # type: ignore[return-value]


def fabrique_name() -> str:
    """Who signs the needs staff collected offline (SPEC: published under the fabrique's name)."""
    return _("La fabrique à initiatives")


def author_names(session: Session, author_ids: Iterable[int]) -> dict[int, str]:
    """id → display name of these accounts, in one query reading two columns."""
    ids = set(author_ids)
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.display_name).where(User.id.in_(ids)))  # type: ignore[union-attr]
    return dict(rows.all())  # type: ignore[arg-type]


def _author_name(need: NeedRow, authors: dict[int, str]) -> str:
    if need.author_id is None:
        if need.source != NeedSource.online.value:
            return fabrique_name()
        return _("Un compte supprimé")
    name = authors.get(need.author_id)
    return name if name is not None else _("Un compte supprimé")


def answer_json(need: NeedRow) -> dict[str, Any] | None:
    """The fabrique's official answer on a public need (app.board.answers), or None."""
    answer = public_answer(need)
    if answer is None:
        return None
    return {"body_html": answer["body_html"], "at": rfc3339(answer["at"])}


def public_ideas_of_needs(session: Session, need_ids: list[int]) -> dict[int, Any]:
    """need id → its idea, only when the idea is public (one query)."""
    return {i: idea for i, idea in idea_of_needs(session, need_ids).items() if idea.is_public}


def needs_json(session: Session, needs: Iterable[NeedRow], base_url: str) -> list[dict[str, Any]]:
    """The JSON of public needs (a page of them), in five queries whatever their number."""
    rows = list(needs)
    if not rows:
        return []
    themes, territories = _categories(session)
    authors = author_names(session, (n.author_id for n in rows if n.author_id is not None))
    ideas = public_ideas_of_needs(session, [n.id for n in rows])  # type: ignore[misc]
    # People per concern, as the need page shows them to everyone (never per territory: a
    # small count per place could point at a person).
    demand = demand_of(session, need_pairs([n.id for n in rows]), territories=False)  # type: ignore[arg-type, misc]
    items = []
    for need in rows:
        idea = ideas.get(need.id)  # type: ignore[arg-type]
        item: dict[str, Any] = {
            "id": need.id,
            "title": need.title,
            "url": base_url + need_url(need),
            "excerpt": need.excerpt,
            "body_html": need.body_html,
            "theme": category_json(themes.get(need.theme_id)),  # type: ignore[arg-type]
            "territory": category_json(territories.get(need.territory_id)),  # type: ignore[arg-type]
            "supports": need.supports_count,
            "comments": need.comments_count,
            "status": need.status,
            "idea": {
                "id": idea.id,
                "url": base_url + idea_url(idea),
                "stage": idea.stage,
            }
            if idea is not None
            else None,
            "author": {"display_name": _author_name(need, authors)},  # type: ignore[arg-type]
            "created_at": rfc3339(need.created_at),
            "updated_at": rfc3339(need.updated_at),
            "demand": demand.get(need.id, Demand()).api_counts(),
            "answer": answer_json(need),
        }
        if need.status == "covered":
            item["covered_by"] = {"name": need.covered_name, "url": need.covered_url}
        items.append(item)
    return items


def need_json(session: Session, need: NeedRow, base_url: str) -> dict[str, Any]:
    return needs_json(session, [need], base_url)[0]


def ideas_json(session: Session, ideas: Iterable[Any], base_url: str) -> list[dict[str, Any]]:
    """The JSON of public ideas: what the public idea page shows, never internal notes."""
    rows = list(ideas)
    if not rows:
        return []
    themes, territories = _categories(session)
    counts = public_need_counts(session, [i.id for i in rows])
    people = public_demand(session, [i.id for i in rows], territories=False)
    items = []
    for idea in rows:
        needs_count, supports = counts.get(idea.id, (0, 0))
        launched = idea.stage in (Stage.launching.value, Stage.launched.value)
        items.append(
            {
                "id": idea.id,
                "title": idea.title,
                "url": base_url + idea_url(idea),
                "summary_html": idea.summary_html,
                "stage": idea.stage,
                "stage_label": stage_label(idea.stage),
                "theme": category_json(themes.get(idea.theme_id)),
                "territory": category_json(territories.get(idea.territory_id)),
                "needs": needs_count,
                "supports": supports,
                # Distinct people behind its public needs: one person behind two counts once.
                "supporters": people[idea.id].people,
                "carrier_call_open": idea.stage == Stage.seeking_carrier.value,
                "enterprise": {
                    "name": idea.enterprise_name,
                    "legal_form": idea.legal_form,
                    "jobs_created": idea.jobs_created,
                    "launch_date": _day(idea.launch_date),
                    "website": idea.enterprise_website,
                }
                if launched and idea.enterprise_name
                else None,
                "stage_changed_at": rfc3339(idea.stage_changed_at),
                "created_at": rfc3339(idea.created_at),
                "updated_at": rfc3339(idea.updated_at),
            }
        )
    return items


def idea_json(session: Session, idea: Any, base_url: str) -> dict[str, Any]:
    return ideas_json(session, [idea], base_url)[0]


def comment_json(comment: Any, need: NeedRow, author_name: str, base_url: str) -> dict[str, Any]:
    """A comment as the API's write answer and the comment.published webhook give it."""
    return {
        "id": comment.id,
        "need_id": need.id,
        "parent_id": comment.parent_id,
        "url": f"{base_url}{need_url(need)}#comment-{comment.id}",
        # pending: held for the moderation team, published once approved.
        "status": comment.status,
        "body_html": comment.body_html,
        "author": {"display_name": author_name},
        "created_at": rfc3339(comment.created_at),
    }
