"""The board's filters: the one table of sorts, the status filters, and reading both from a URL.

The board, the embed builder and its code generator, the feeds and the API all take the same
filters with the same words; they read them here, so a sort added or renamed changes everywhere
at once (the templates get the table as the `board_sorts` global).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.board.models import Need, Territory, Theme
from app.board.service import active_category
from app.web.errors import Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import parse_page
from app.web.templating import environment


@dataclass(frozen=True)
class Sort:
    """One order of the board. `column` is the need's column it sorts by (newest or largest
    first, the id breaking ties); `label` names it in a menu, `phrase` inside a sentence (a
    feed's title: « Besoins (les plus soutenus) »), empty for the default order that goes
    without saying. Both are marked for translation, translated where they are shown."""

    key: str
    column: Any
    label: str
    phrase: str


SORTS: tuple[Sort, ...] = (
    Sort("recent", Need.created_at, N_("Les plus récents"), ""),
    Sort("top", Need.supports_count, N_("Les plus soutenus"), N_("les plus soutenus")),
    Sort("trending", Need.trending_score, N_("Tendance"), N_("tendance")),
    Sort("discussed", Need.comments_count, N_("Les plus discutés"), N_("les plus discutés")),
)
SORT_BY_KEY: dict[str, Sort] = {sort.key: sort for sort in SORTS}
DEFAULT_SORT = SORTS[0].key

# `status=` of the URL → the need status it keeps.
STATUS_FILTERS = {"open": "published", "covered": "covered"}
# `answer=` of the URL: needs with the fabrique's public answer (app/board/answers.py), or not.
ANSWER_FILTERS = {"yes": N_("Avec une réponse de la fabrique"), "no": N_("En attente de réponse")}
Q_MAX = 200


@dataclass(frozen=True)
class StageFilter:
    """`stage=` of the URL: needs promoted into a public idea at that stage. The board knows no
    idea (imports point one way), so the pipeline registers this at start-up
    (app/pipeline/need_filters.py), as it does the stage badges: `choices()` gives the
    (stage, translated label) pairs, `clause(stage)` the condition on Need."""

    choices: Callable[[], list[tuple[str, str]]]
    clause: Callable[[str], Any]


STAGE_FILTERS: list[StageFilter] = []


def register_stage_filter(stage_filter: StageFilter) -> None:
    STAGE_FILTERS[:] = [stage_filter]


def stage_choices() -> list[tuple[str, str]]:
    """The idea stages the board filters by, labelled; empty without the pipeline."""
    return STAGE_FILTERS[0].choices() if STAGE_FILTERS else []


def stage_clause(stage: str) -> Any:
    return STAGE_FILTERS[0].clause(stage)


@dataclass
class BoardFilters:
    sort: str = DEFAULT_SORT
    theme: Theme | None = None
    territory: Territory | None = None
    status: str = ""
    answer: str = ""  # "", or a key of ANSWER_FILTERS
    stage: str = ""  # "", or an idea stage of stage_choices()
    q: str = ""
    page: int = 1  # shown to people; used as an offset only when no cursor is given
    after: str = ""  # keyset cursor: the needs after this one (the "next page" link)
    before: str = ""  # keyset cursor: the needs before this one (the "previous page" link)


def parse_filters(
    session: Session, params: Mapping[str, str]
) -> tuple[BoardFilters, dict[str, str]]:
    """Board filters from the URL, with a French message per bad value (never a 500). The API,
    the feeds and the embeds validate filters with it, exactly as the board does."""
    errors: dict[str, str] = {}
    filters = BoardFilters()
    sort = params.get("sort", "") or DEFAULT_SORT
    if sort in SORT_BY_KEY:
        filters.sort = sort
    else:
        errors["sort"] = _(
            "Ce tri n'existe pas : les besoins sont affichés du plus récent au plus ancien."
        )
    for field, model in (("theme", Theme), ("territory", Territory)):
        slug = params.get(field, "")
        if slug:
            try:
                category = active_category(session, model, slug, include_archived=True)
                setattr(filters, field, category)
            except Invalid as exc:
                errors.update(exc.errors)
    status = params.get("status", "")
    if status in STATUS_FILTERS or status == "":
        filters.status = status
    else:
        errors["status"] = _("Ce statut n'existe pas.")
    answer = params.get("answer", "")
    if answer in ANSWER_FILTERS or answer == "":
        filters.answer = answer
    else:
        errors["answer"] = _("Ce choix de réponse de la fabrique n'existe pas.")
    stage = params.get("stage", "")
    if stage == "" or stage in dict(stage_choices()):
        filters.stage = stage
    else:
        errors["stage"] = _("Cette étape d'idée n'existe pas.")
    filters.q = (params.get("q", "") or "")[:Q_MAX]
    # Any page number: beyond the last one the board is simply empty (queries.MAX_PAGE).
    filters.page = parse_page(params.get("page"), errors, unbounded=True)
    filters.after = (params.get("after", "") or "")[:Q_MAX]
    filters.before = "" if filters.after else (params.get("before", "") or "")[:Q_MAX]
    return filters, errors


environment.globals["board_sorts"] = SORTS
environment.globals["board_answer_filters"] = ANSWER_FILTERS
environment.globals["board_stage_choices"] = stage_choices
