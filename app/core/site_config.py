"""Settings an admin changes from the moderation area, stored in the database.

The environment (app.core.settings) gives the defaults; a row in `site_settings` overrides it, so an
admin can switch to pre-moderation during a spam wave without a redeploy, and every app
instance sharing the database sees the change at once. The board reads these through
`site_config()`; only the moderation area writes them (audited there).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer
from sqlmodel import Field, Session, SQLModel, select

from app.core.db import UTCDateTime, utcnow
from app.core.settings import ModerationMode, Settings

DEFAULT_AUTO_HIDE_THRESHOLD = 3
AUTO_HIDE_THRESHOLD_MIN = 1
AUTO_HIDE_THRESHOLD_MAX = 50
BLOCKED_WORDS_MAX = 500  # entries
BLOCKED_WORD_MAX_LENGTH = 60  # characters per entry


class SiteSetting(SQLModel, table=True):
    __tablename__ = "site_settings"

    key: str = Field(primary_key=True, max_length=40)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_by_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )


@dataclass(frozen=True)
class SiteConfig:
    moderation_mode: ModerationMode
    # Distinct reporters after which an item is hidden until a moderator reviews it.
    auto_hide_threshold: int = DEFAULT_AUTO_HIDE_THRESHOLD
    # Lower-cased, accent-stripped words or phrases that send a new post to the queue.
    blocked_words: tuple[str, ...] = field(default_factory=tuple)


def _settings(session: Session, settings: Settings | None) -> Settings:
    return settings or session.info.get("settings") or Settings()


def site_config(session: Session, settings: Settings | None = None) -> SiteConfig:
    """The effective configuration: database rows over environment defaults."""
    env = _settings(session, settings)
    rows = {row.key: row.value for row in session.exec(select(SiteSetting))}
    mode = env.moderation_mode
    try:
        if rows.get("moderation_mode"):
            mode = ModerationMode(rows["moderation_mode"])
    except ValueError:
        pass  # an unknown stored value falls back to the environment's
    threshold = rows.get("auto_hide_threshold")
    if (
        not isinstance(threshold, int)
        or isinstance(threshold, bool)
        or not AUTO_HIDE_THRESHOLD_MIN <= threshold <= AUTO_HIDE_THRESHOLD_MAX
    ):
        threshold = DEFAULT_AUTO_HIDE_THRESHOLD
    words = rows.get("blocked_words")
    if not isinstance(words, list):
        words = []
    return SiteConfig(
        moderation_mode=mode,
        auto_hide_threshold=threshold,
        blocked_words=tuple(normalise(w) for w in words if isinstance(w, str) and w.strip()),
    )


def set_value(session: Session, key: str, value: Any, *, user_id: int | None) -> None:
    """Adds the change to the caller's transaction (the caller audits and commits)."""
    row = session.get(SiteSetting, key)
    if row is None:
        row = SiteSetting(key=key)
    row.value = value
    row.updated_at = utcnow()
    row.updated_by_id = user_id
    session.add(row)


def stored_blocked_words(session: Session) -> list[str]:
    """The blocked words as the admin typed them (the settings form shows these)."""
    row = session.get(SiteSetting, "blocked_words")
    value = row.value if row is not None else None
    return [w for w in value if isinstance(w, str)] if isinstance(value, list) else []


def clean_blocked_words(text: str) -> list[str]:
    """One word or phrase per line → the list to store: spaces trimmed and collapsed, empty
    lines dropped, duplicates (compared like the matching does: case and accents ignored)
    dropped, the first spelling kept. Length limits are checked by the caller."""
    words: list[str] = []
    seen: set[str] = set()
    for line in (text or "").splitlines():
        word = " ".join("".join(c if c.isprintable() else " " for c in line).split())
        key = normalise(word)
        if word and key not in seen:
            seen.add(key)
            words.append(word)
    return words


def normalise(text: str) -> str:
    """Lower case, no accents, single spaces: « Crédit GRATUIT » matches « credit gratuit »."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


def blocked_words_in(config: SiteConfig, *texts: str) -> list[str]:
    """The blocked words found in `texts`, matched on whole words (so « con » does not catch
    « conseil »)."""
    if not config.blocked_words:
        return []
    haystack = " ".join(normalise(t) for t in texts)
    found = []
    for word in config.blocked_words:
        if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", haystack):
            found.append(word)
    return found
