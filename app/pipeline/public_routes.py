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

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.deps import OptionalUser
from app.accounts.models import User
from app.board import queries as board_queries
from app.board.demand import PUBLIC_TERRITORY_MIN, public_territories
from app.core.text import render_markdown
from app.pipeline import applications, idea_follows, impact
from app.pipeline.models import Idea, PartnerLink, Stage
from app.pipeline.permissions import can_view_idea
from app.pipeline.queries import (
    IdeaFilters,
    idea_partners,
    idea_url,
    list_public_ideas,
    parse_idea_filters,
    public_demand,
    public_linked_needs,
    public_need_counts,
)
from app.pipeline.service import STAGE_LABELS, stage_label, timeline
from app.web.deps import SessionDep
from app.web.errors import AppError, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import parse_id
from app.web.security import client_ip
from app.web.templating import render, wants_fragment

router = APIRouter()

PARTNER_LINK_LABELS = {
    PartnerLink.detected_by.value: N_("Repérée par"),
    PartnerLink.funded_by.value: N_("Financée par"),
    PartnerLink.supported_by.value: N_("Accompagnée par"),
}


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
    if idea is None or not can_view_idea(user, idea):
        raise NotFound(_("Cette idée n'existe pas ou n'est pas publique."))
    canonical = idea_url(idea)
    if ref != canonical.removeprefix("/ideas/"):
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(canonical + query, status_code=301)
    themes, territories = board_queries.categories(session)
    notice_key = request.query_params.get("notice", "")
    call_open = idea.stage == Stage.seeking_carrier.value
    settings = request.app.state.settings
    demand = public_demand(session, [idea.id])[idea.id]  # type: ignore[list-item]
    territories_shown, territories_folded = public_territories(demand)
    return render(
        request,
        "pipeline/idea_public.html",
        {
            "idea": idea,
            "preview": not idea.is_public,  # only the team gets this far (can_view_idea)
            "stage_label": stage_label,
            "theme": next((t for t in themes if t.id == idea.theme_id), None),
            "territory": next((t for t in territories if t.id == idea.territory_id), None),
            "moves": timeline(session, idea, public_only=True),
            "needs": public_linked_needs(session, idea),
            # Distinct people behind its public needs; places named by too few are folded.
            "demand": demand,
            "demand_territories": territories_shown,
            "demand_folded": territories_folded,
            "demand_min": PUBLIC_TERRITORY_MIN,
            "partners": idea_partners(session, idea),
            "partner_link_labels": PARTNER_LINK_LABELS,
            "call_open": call_open,
            # Written in Markdown by staff; sanitised like every user text (app.core.text).
            "carrier_call_html": render_markdown(idea.carrier_call) if call_open else "",
            "show_carrier": idea.stage in (Stage.launching.value, Stage.launched.value),
            "my_application": applications.application_of(session, idea, user),
            "following": idea_follows.is_following_idea(session, user, idea),
            "application_status_label": applications.status_label,
            "canonical_url": settings.base_url + canonical,
            "notice": _(IDEA_NOTICES[notice_key]) if notice_key in IDEA_NOTICES else None,
        },
    )


# --- following an idea (issue 17) -------------------------------------------------------------


def _set_follow(
    request: Request, session: SessionDep, user: User | None, ref: str, wanted: bool
) -> Response:
    idea = idea_follows.followable_idea(session, parse_id(ref))
    fragment = wants_fragment(request)
    if user is None:
        url = "/account/login?next=" + quote(idea_url(idea))
        if fragment:
            return Response(status_code=200, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)
    error: AppError | None = None
    try:
        if wanted:
            idea_follows.follow_idea(
                session, user, idea, ip=client_ip(request), settings=request.app.state.settings
            )
        else:
            idea_follows.unfollow_idea(session, user, idea)
    except AppError as exc:
        if not fragment:
            raise
        error = exc
    if not fragment:
        return RedirectResponse(idea_url(idea), status_code=303)
    return render(
        request,
        "pipeline/_idea_follow.html",
        {
            "idea": idea,
            "following": idea_follows.is_following_idea(session, user, idea),
            "follow_error": error.detail if error else None,
        },
        status_code=error.status_code if error else 200,
        headers=error.headers if error else None,
    )


@router.post("/ideas/{ref}/follow")
def follow_idea(request: Request, session: SessionDep, user: OptionalUser, ref: str) -> Response:
    return _set_follow(request, session, user, ref, True)


@router.post("/ideas/{ref}/unfollow")
def unfollow_idea(request: Request, session: SessionDep, user: OptionalUser, ref: str) -> Response:
    return _set_follow(request, session, user, ref, False)
