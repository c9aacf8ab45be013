"""The embeddable widget: parameters, data and a cache of the rendered HTML.

Partners' pages may be viewed far more often than the board changes, so the widget's HTML is
kept in memory per (path, normalised query, locale) under a "board version":

- a generation counter of this process, bumped after every commit that wrote needs, ideas,
  their links, themes or territories (ORM unit of work and ORM `update()`/`delete()`
  statements alike — the support and comment counters are relative UPDATEs);
- the largest need id and audit entry id in the database (two primary-key lookups), so a need
  posted or a moderation or pipeline action taken in another worker process invalidates too;
- a short time to live, which bounds what neither catches across processes (a support counted
  by another worker) to a minute.

Only public data enters the widget: needs come from `visible_needs()` (through the board's own
query), ideas from `public_ideas()`.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import event, func
from sqlalchemy.orm import ORMExecuteState, Session
from sqlmodel import Session as SQLModelSession
from sqlmodel import select

from app.board import queries as board_queries
from app.board.models import Need, Territory, Theme
from app.board.service import active_category
from app.moderation.models import AuditEntry
from app.pipeline.models import Idea, Partner
from app.pipeline.public_routes import public_ideas
from app.pipeline.service import STAGE_LABELS
from app.syndication import attribution
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
        if sort in board_queries.SORTS:
            result.sort = sort
        else:
            errors["sort"] = _("Ce tri n'existe pas.")
        # As on the board (app.board.routes): spaces normalised, at most 200 characters.
        result.q = " ".join((params.get("q", "") or "").split())[:200]
        status = params.get("status", "")
        if status == "" or status in board_queries.STATUS_FILTERS:
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


def _channel(value: float) -> float:
    value /= 255
    return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two '#rrggbb' colours."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def darken_for(colour: str, background: str = "#ffffff", ratio: float = 4.5) -> str:
    """The colour itself if it reads on `background`, else the same hue darkened until it does
    (black at worst, which always reads on white)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(0, 101):
        k = 1 - step / 100
        candidate = f"#{round(r * k):02x}{round(g * k):02x}{round(b * k):02x}"
        if contrast(candidate, background) >= ratio:
            return candidate
    return "#000000"


def readable_on(colour: str) -> str:
    """Black or white, whichever reads better on `colour` (one of them is always ≥ 4.5:1)."""
    return "#000000" if contrast("#000000", colour) >= contrast("#ffffff", colour) else "#ffffff"


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
    filters = board_queries.BoardFilters(
        sort=params.sort,
        theme=params.theme,
        territory=params.territory,
        status=params.status,
        q=params.q,
    )
    return board_queries.board_needs(session, filters, per_page=params.limit).needs  # type: ignore[arg-type]


def widget_ideas(session: Session, params: EmbedParams) -> list[Idea]:
    statement = public_ideas()
    if params.stage:
        statement = statement.where(Idea.stage == params.stage)
    if params.theme:
        statement = statement.where(Idea.theme_id == params.theme.id)
    if params.territory:
        statement = statement.where(Idea.territory_id == params.territory.id)
    statement = statement.order_by(Idea.stage_changed_at.desc(), Idea.id.desc())  # type: ignore[attr-defined]
    return list(session.exec(statement.limit(params.limit)))  # type: ignore[attr-defined]


# --- the cache ------------------------------------------------------------------------------------

_TRACKED_TABLES = frozenset({"needs", "ideas", "idea_needs", "themes", "territories"})
_generation = 0
_generation_lock = threading.Lock()
_DIRTY = "embed_cache_dirty"


def generation() -> int:
    return _generation


def _bump() -> None:
    global _generation
    with _generation_lock:
        _generation += 1


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in _TRACKED_TABLES:
            session.info[_DIRTY] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        mapper = state.bind_mapper
        table = getattr(mapper, "local_table", None) if mapper is not None else None
        if getattr(table, "name", None) in _TRACKED_TABLES:
            state.session.info[_DIRTY] = True


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    # After the commit, not at the flush: a render between the two would read the old rows
    # and store them under the new version.
    if session.info.pop(_DIRTY, False):
        _bump()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_DIRTY, None)


def database_stamp(session: SQLModelSession) -> tuple[int, int]:
    """(largest need id, largest audit entry id): two index lookups, shared by all workers."""
    need_max = session.exec(select(func.max(Need.id))).one()
    audit_max = session.exec(select(func.max(AuditEntry.id))).one()
    return int(need_max or 0), int(audit_max or 0)


class RenderCache:
    """A small thread-safe LRU of rendered pages, each valid for `ttl` seconds."""

    def __init__(self, max_entries: int = 512, ttl: float = 60.0) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: OrderedDict[tuple[Any, ...], tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, key: tuple[Any, ...], render: Callable[[], str]) -> str:
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] > now:
                self._entries.move_to_end(key)
                return found[1]
        body = render()
        with self._lock:
            self._entries[key] = (now + self.ttl, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return body

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache_creation = threading.Lock()


def cache_for(app: Any) -> RenderCache:
    """The app's cache (one per application instance, so tests never share one)."""
    cache = getattr(app.state, "embed_cache", None)
    if cache is None:
        with _cache_creation:
            cache = getattr(app.state, "embed_cache", None)
            if cache is None:
                cache = app.state.embed_cache = RenderCache()
    return cache
