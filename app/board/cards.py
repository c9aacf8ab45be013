"""Need cards of the board, rendered once per exact content.

A card is the `need_card` macro of templates/_macros/needs.html; the board shows twenty, and
they were a third of a signed-in board's rendering (bench/README.md, profile). Signed-in pages
cannot come from the anonymous response cache, but their cards are mostly the same from one
visitor to the next. So each card's HTML is remembered under a key made of everything the
macro prints: the language, the need's shown fields and counts, its theme's and territory's
names, the visitor's « soutenu » mark, the stage badge and the relative date's words. A card
whose content changed has another key: never a stale card, no invalidation to get wrong. The
memory is bounded (emptied when full: cheaper under threads than an LRU, refilled by the
next pages).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from app.board.badges import NeedBadge
from app.board.models import Need
from app.web.i18n import get_locale, iso, localized_name, timeago
from app.web.templating import environment

MAX_CARDS = 2000
_cards: dict[tuple[Any, ...], Markup] = {}
_lock = threading.Lock()


def need_card(
    need: Need,
    themes_by_id: Mapping[int, Any],
    territories_by_id: Mapping[int, Any],
    supported: bool = False,
    badge: NeedBadge | None = None,
) -> Markup:
    """The macro's HTML for this card (a Jinja global, as the macro is called)."""
    theme = themes_by_id.get(need.theme_id) if need.theme_id is not None else None
    territory = territories_by_id.get(need.territory_id) if need.territory_id is not None else None
    created = need.created_at
    key = (
        get_locale(),
        need.id,
        need.slug,
        need.title,
        need.excerpt,
        need.status,
        need.supports_count,
        need.comments_count,
        iso(created),
        # Also notes, for the anonymous cache, until when these words stay true.
        timeago(created),
        localized_name(theme) if theme is not None else None,
        localized_name(territory) if territory is not None else None,
        bool(supported),
        badge,
    )
    card = _cards.get(key)
    if card is None:
        macro = environment.get_template("_macros/needs.html").module.need_card  # type: ignore[attr-defined]
        card = Markup(macro(need, themes_by_id, territories_by_id, supported, badge))
        with _lock:
            if len(_cards) >= MAX_CARDS:
                _cards.clear()
            _cards[key] = card
    return card


environment.globals["need_card"] = need_card
