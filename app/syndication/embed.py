"""The embeddable widget: parameters and data.

The rendered widget is stored, like every public answer, by the anonymous response cache
(app/web/cache.py), which the content version invalidates at the first write: a widget shows a
« Moi aussi » given a moment ago, whichever worker or instance took it.

Only public data enters the widget: needs come from `visible_needs()` (through the board's own
query), ideas from `public_ideas()`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from app.board import filters as board_filters
from app.board import queries as board_queries
from app.board.models import Need, Territory, Theme
from app.board.service import active_category
from app.pipeline.models import Idea, Partner
from app.pipeline.queries import LATEST_MOVED_FIRST, filtered_public_ideas
from app.pipeline.service import STAGE_LABELS
from app.syndication import attribution
from app.web.colours import darken_for, readable_on
from app.web.errors import Invalid
from app.web.i18n import SUPPORTED_LOCALES
from app.web.i18n import gettext as _

LIMIT_DEFAULT, LIMIT_MAX = 5, 20
KINDS = ("needs", "ideas")
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


# --- parameters ---------------------------------------------------------------------------------


@dataclass
class EmbedParams:
    """What a widget shows, validated. `query()` is the normalised query string (cache key,
    links to the site, embed codes)."""

    kind: str = "needs"
    theme: Theme | None = None
    territory: Territory | None = None
    status: str = ""  # needs: "", open, covered
    sort: str = "recent"  # needs
    q: str = ""  # needs: the board's text search, the same words as on the site
    stage: str = ""  # ideas
    limit: int = LIMIT_DEFAULT
    accent: str = ""  # normalised "#rrggbb" or ""
    lang: str = ""
    # The partner whose site shows the widget (`ref=`): every link to the site carries it, so
    # visits and posts arriving through it are counted for them (app.syndication.attribution).
    partner: Partner | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return self.partner.slug if self.partner else ""

    def filters(self) -> dict[str, str]:
        values = {
            "theme": self.theme.slug if self.theme else "",
            "territory": self.territory.slug if self.territory else "",
        }
        if self.kind == "needs":
            values.update(
                status=self.status, sort="" if self.sort == "recent" else self.sort, q=self.q
            )
        else:
            values["stage"] = self.stage
        return {k: v for k, v in values.items() if v}

    def query(self) -> str:
        values = self.filters()
        if self.limit != LIMIT_DEFAULT:
            values["limit"] = str(self.limit)
        if self.accent:
            values["accent"] = self.accent
        if self.lang:
            values["lang"] = self.lang
        if self.partner:
            values["ref"] = self.partner.slug
        return urlencode(sorted(values.items()))


def parse_accent(raw: str) -> str:
    """'#abc' or '#aabbcc' (any case) → '#aabbcc'; ValueError otherwise."""
    if not _HEX.fullmatch(raw):
        raise ValueError(raw)
    digits = raw[1:].lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


def parse_params(session: Session, kind: str, params: dict[str, str]) -> EmbedParams:
    """The widget's parameters with a French message per bad value (never an exception)."""
    result = EmbedParams(kind=kind)
    errors = result.errors
    for name, model in (("theme", Theme), ("territory", Territory)):
        slug = params.get(name, "")
        if slug:
            try:
                # Archived categories still filter: partners' codes outlive a reorganisation.
                row = active_category(session, model, slug, include_archived=True)  # type: ignore[arg-type]
                setattr(result, name, row)
            except Invalid as exc:
                errors.update(exc.errors)
    if kind == "needs":
        sort = params.get("sort", "") or "recent"
        if sort in board_filters.SORT_BY_KEY:
            result.sort = sort
        else:
            errors["sort"] = _("Ce tri n'existe pas.")
        # As on the board (app.board.routes): spaces normalised, at most 200 characters.
        result.q = " ".join((params.get("q", "") or "").split())[:200]
        status = params.get("status", "")
        if status == "" or status in board_filters.STATUS_FILTERS:
            result.status = status
        else:
            errors["status"] = _("Ce statut n'existe pas.")
    else:
        stage = params.get("stage", "")
        if stage == "" or stage in STAGE_LABELS:
            result.stage = stage
        else:
            errors["stage"] = _("Cette étape n'existe pas.")
    raw_limit = params.get("limit", "")
    if raw_limit:
        if raw_limit.isascii() and raw_limit.isdigit() and 1 <= int(raw_limit) <= LIMIT_MAX:
            result.limit = int(raw_limit)
        else:
            errors["limit"] = _(
                "Le nombre d'éléments doit être un nombre entier de 1 à %(max)s.", max=LIMIT_MAX
            )
    raw_accent = params.get("accent", "")
    if raw_accent:
        try:
            result.accent = parse_accent(raw_accent)
        except ValueError:
            errors["accent"] = _("La couleur doit être un code hexadécimal comme #1f4e8c ou #c30.")
    lang = params.get("lang", "")
    if lang == "" or lang in SUPPORTED_LOCALES:
        result.lang = lang
    else:
        errors["lang"] = _("La langue doit être « fr » ou « en ».")
    result.partner, ref_errors = attribution.parse_ref(session, params.get("ref", ""))  # type: ignore[arg-type]
    errors.update(ref_errors)
    return result


# --- colours ------------------------------------------------------------------------------------


# The arithmetic lives in app/web/colours.py, shared with the site's own accent.


def accent_css(accent: str) -> str:
    """Custom properties for the widget's stylesheet: links in a readable shade of the accent,
    buttons in the accent itself with black or white text."""
    link = darken_for(accent)
    return (
        ":root {\n"
        f"  --embed-accent: {accent};\n"
        f"  --embed-accent-text: {readable_on(accent)};\n"
        f"  --embed-link: {link};\n"
        "}\n"
    )


# --- data ---------------------------------------------------------------------------------------


def widget_needs(session: Session, params: EmbedParams) -> list[Need]:
    filters = board_filters.BoardFilters(
        sort=params.sort,
        theme=params.theme,
        territory=params.territory,
        status=params.status,
        q=params.q,
    )
    return board_queries.board_needs(session, filters, per_page=params.limit).needs  # type: ignore[arg-type]


def widget_ideas(session: Session, params: EmbedParams) -> list[Idea]:
    statement = filtered_public_ideas(params.stage, params.theme, params.territory)
    return list(session.exec(statement.order_by(*LATEST_MOVED_FIRST).limit(params.limit)))
