"""Feeds (SPEC §5): /feeds/needs.{atom,rss,json} and /feeds/ideas.{atom,rss,json}.

They take the filters of the page they mirror (the board: theme, territory, status, q, sort;
/ideas: stage, theme, territory), refuse an unknown value with a 400 and a French message, and
hold the 50 first items of that list, read through the public read paths only. A partner's
`ref=<slug>` (an unknown one is refused the same way) goes on every link to the site, never on
the entries' ids (app.syndication.attribution).

Conditional GET: a strong ETag (a hash of the body, so it also changes with the language)
and Last-Modified (`feeds.last_change`, never dated within the last seconds: see
`feeds.validator_date`). If-None-Match wins when present (RFC 9110 §13.2.2);
otherwise If-Modified-Since is honoured — except on the board's count-based sorts (top,
trending, discussed), whose order moves with every support or comment, which leave no date
behind: there, only the ETag can tell that nothing changed.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.board import queries
from app.board.filters import SORT_BY_KEY, parse_filters
from app.board.models import Territory, Theme
from app.board.service import active_category
from app.pipeline.queries import LATEST_MOVED_FIRST, filtered_public_ideas
from app.pipeline.service import STAGE_LABELS, stage_label
from app.syndication import attribution, feeds
from app.web.conditional import FEED_CORS, conditional_response
from app.web.deps import SessionDep
from app.web.errors import AppError, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

router = APIRouter()

NEED_FILTERS = ("theme", "territory", "status", "q", "sort")
IDEA_FILTERS = ("stage", "theme", "territory")
CACHE_CONTROL = "public, max-age=300"


class BadFeedFilter(AppError):
    """A filter the feed cannot apply (unknown theme, territory, stage, status or sort)."""

    status_code = 400
    title = N_("Requête invalide")


def _format(fmt: str) -> str:
    if fmt not in feeds.RENDERERS:
        raise NotFound(_("Ce format de flux n'existe pas : choisissez atom, rss ou json."))
    return fmt


def _refuse(errors: dict[str, str]) -> BadFeedFilter:
    detail = (
        _("Ce flux ne peut pas être construit avec ces filtres :") + " " + " ".join(errors.values())
    )
    # Readable from a partner's script too; not cached (the fix is one edit of the URL away).
    return BadFeedFilter(detail, headers=dict(FEED_CORS))


def _query(values: dict[str, str]) -> str:
    query = urlencode({k: v for k, v in values.items() if v})
    return f"?{query}" if query else ""


def _self_urls(base_url: str, kind: str, query: str) -> dict[str, str]:
    return {fmt: f"{base_url}/feeds/{kind}.{fmt}{query}" for fmt in feeds.RENDERERS}


def _category_maps(session: Session) -> tuple[dict[int, Theme], dict[int, Territory]]:
    themes, territories = queries.categories(session, include_archived=True)
    return {t.id: t for t in themes}, {t.id: t for t in territories}  # type: ignore[misc]


def _name(category: Theme | Territory | None) -> str:
    return feeds.category_name(category) if category is not None else ""


# --- conditional GET -----------------------------------------------------------------------------


def _respond(
    request: Request, body: bytes, fmt: str, last_modified: datetime, *, honour_ims: bool
) -> Response:
    """The feed with its validators (app.web.conditional), readable by other sites' scripts
    (a partner's page showing the list); the labels follow the locale cookie or
    Accept-Language."""
    return conditional_response(
        request,
        body,
        media_type=feeds.CONTENT_TYPES[fmt],
        cache_control=CACHE_CONTROL,
        cors=FEED_CORS,
        vary="Accept-Language, Cookie",
        last_modified=feeds.validator_date(last_modified),
        changed_at=last_modified if honour_ims else None,
    )


# --- needs ---------------------------------------------------------------------------------------

STATUS_NAMES = {"open": N_("sans réponse"), "covered": N_("déjà couverts")}


@router.api_route("/feeds/needs.{fmt}", methods=["GET", "HEAD"])
def needs_feed(request: Request, session: SessionDep, fmt: str) -> Response:
    fmt = _format(fmt)
    params = {k: request.query_params.get(k, "") for k in NEED_FILTERS}
    filters, errors = parse_filters(session, params)
    partner, ref_errors = attribution.parse_ref(session, request.query_params.get("ref", ""))
    errors.update(ref_errors)
    if errors:
        raise _refuse(errors)
    ref = partner.slug if partner else ""
    page = queries.board_needs(session, filters, per_page=feeds.MAX_ITEMS)
    themes, territories = _category_maps(session)
    base_url = request.app.state.settings.base_url
    query = _query(
        {
            "theme": filters.theme.slug if filters.theme else "",
            "territory": filters.territory.slug if filters.territory else "",
            "status": filters.status,
            "q": filters.q,
            "sort": "" if filters.sort == "recent" else filters.sort,
            "ref": ref,
        }
    )
    described = feeds.describe(
        [
            _name(filters.theme),
            _name(filters.territory),
            _(STATUS_NAMES[filters.status]) if filters.status else "",
            _("« %(q)s »", q=filters.q) if filters.q else "",
            _(phrase) if (phrase := SORT_BY_KEY[filters.sort].phrase) else "",
        ]
    )
    entries = feeds.need_items(session, page.needs, base_url, themes, territories, ref)
    changed = feeds.last_change(session, "needs")
    feed = feeds.Feed(
        title=_("Besoins (%(filters)s) — Bourse à initiatives", filters=described)
        if described
        else _("Besoins — Bourse à initiatives"),
        description=_("Les besoins sociaux du territoire, proposés et soutenus par ses habitants."),
        home_url=f"{base_url}/{query}",
        self_urls=_self_urls(base_url, "needs", query),
        updated=feeds.content_date(entries, changed),
        items=entries,
    )
    return _respond(
        request,
        feeds.render_feed(feed, fmt),
        fmt,
        max(changed, feed.updated),
        honour_ims=filters.sort == "recent",
    )


# --- ideas ---------------------------------------------------------------------------------------


@router.api_route("/feeds/ideas.{fmt}", methods=["GET", "HEAD"])
def ideas_feed(request: Request, session: SessionDep, fmt: str) -> Response:
    fmt = _format(fmt)
    errors: dict[str, str] = {}
    stage = request.query_params.get("stage", "")
    if stage and stage not in STAGE_LABELS:
        errors["stage"] = _("Cette étape n'existe pas.")
    chosen: dict[str, Theme | Territory | None] = {}
    for name, model in (("theme", Theme), ("territory", Territory)):
        try:
            # Archived ones too: a partner's feed URL keeps working after a reorganisation.
            chosen[name] = active_category(
                session, model, request.query_params.get(name, ""), include_archived=True
            )
        except Invalid as exc:
            errors.update(exc.errors)
    partner, ref_errors = attribution.parse_ref(session, request.query_params.get("ref", ""))
    errors.update(ref_errors)
    if errors:
        raise _refuse(errors)
    ref = partner.slug if partner else ""
    theme, territory = chosen["theme"], chosen["territory"]
    statement = filtered_public_ideas(stage, theme, territory)  # type: ignore[arg-type]
    ideas = list(session.exec(statement.order_by(*LATEST_MOVED_FIRST).limit(feeds.MAX_ITEMS)))
    themes, territories = _category_maps(session)
    base_url = request.app.state.settings.base_url
    query = _query(
        {
            "stage": stage,
            "theme": theme.slug if theme else "",
            "territory": territory.slug if territory else "",
            "ref": ref,
        }
    )
    described = feeds.describe(
        [stage_label(stage) if stage else "", _name(theme), _name(territory)]
    )
    entries = feeds.idea_items(ideas, base_url, themes, territories, ref)
    changed = feeds.last_change(session, "ideas")
    feed = feeds.Feed(
        title=_("Idées (%(filters)s) — Bourse à initiatives", filters=described)
        if described
        else _("Idées — Bourse à initiatives"),
        description=_(
            "Les idées d'entreprises sociales de la fabrique à initiatives, de la détection "
            "du besoin au lancement."
        ),
        home_url=f"{base_url}/ideas{query}",
        self_urls=_self_urls(base_url, "ideas", query),
        updated=feeds.content_date(entries, changed),
        items=entries,
    )
    body = feeds.render_feed(feed, fmt)
    return _respond(request, body, fmt, max(changed, feed.updated), honour_ims=True)
