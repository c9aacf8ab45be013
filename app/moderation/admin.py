"""Admin settings: the moderation rules (mode, auto-hide threshold, blocked words) and the two
reference lists, themes and territories (create, rename, reorder, archive).

Every write: authorise (admins only, checked here as well as by the router) → validate (a
French message per field, nothing written) → execute → one audit entry in the same
transaction → commit.

A slug appears in URLs, feeds and partners' embed codes (`/?theme=mobilite`): once a need or a
support uses a theme or territory, its slug never changes (renaming keeps the old slug).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.models import Need, Support, Territory, Theme
from app.core import audit
from app.core.db import utcnow
from app.core.settings import ModerationMode
from app.core.site_config import (
    AUTO_HIDE_THRESHOLD_MAX,
    AUTO_HIDE_THRESHOLD_MIN,
    BLOCKED_WORD_MAX_LENGTH,
    BLOCKED_WORDS_MAX,
    clean_blocked_words,
    normalise,
    set_value,
    site_config,
    stored_blocked_words,
)
from app.core.text import slugify
from app.moderation.permissions import ensure_admin
from app.web.errors import Conflict, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

MODE_EXPLANATIONS = {
    ModerationMode.post.value: (
        N_("Publication immédiate"),
        N_(
            "Tout est publié aussitôt ; l'équipe examine ensuite ce qui est signalé. "
            "Pour une communauté qui se connaît bien."
        ),
    ),
    ModerationMode.first_post.value: (
        N_("Premiers messages relus (recommandé)"),
        N_(
            "Les besoins d'un nouveau compte attendent une validation jusqu'à ce que l'un "
            "d'eux soit publié ; ensuite, ses besoins sont publiés aussitôt."
        ),
    ),
    ModerationMode.pre.value: (
        N_("Tout est relu avant publication"),
        N_(
            "Chaque besoin et chaque commentaire attend la validation d'un·e modérateur·rice "
            "(sauf les comptes de confiance). Utile pendant une vague de spam."
        ),
    ),
}


# --- moderation settings ---------------------------------------------------------------------


@dataclass
class SettingsInput:
    """The settings form as typed (kept to re-render it with errors)."""

    moderation_mode: str = ""
    auto_hide_threshold: str = ""
    blocked_words: str = ""


def current_settings(session: Session) -> SettingsInput:
    config = site_config(session)
    return SettingsInput(
        moderation_mode=config.moderation_mode.value,
        auto_hide_threshold=str(config.auto_hide_threshold),
        blocked_words="\n".join(stored_blocked_words(session)),
    )


def _validate_settings(data: SettingsInput) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if data.moderation_mode in MODE_EXPLANATIONS:
        values["moderation_mode"] = data.moderation_mode
    else:
        errors["moderation_mode"] = _("Choisissez l'un des trois modes de modération.")
    raw = data.auto_hide_threshold.strip()
    threshold = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else 0
    if AUTO_HIDE_THRESHOLD_MIN <= threshold <= AUTO_HIDE_THRESHOLD_MAX:
        values["auto_hide_threshold"] = threshold
    else:
        errors["auto_hide_threshold"] = _(
            "Indiquez un nombre entier de %(min)s à %(max)s.",
            min=AUTO_HIDE_THRESHOLD_MIN,
            max=AUTO_HIDE_THRESHOLD_MAX,
        )
    words = clean_blocked_words(data.blocked_words)
    too_long = [w for w in words if len(w) > BLOCKED_WORD_MAX_LENGTH]
    if too_long:
        errors["blocked_words"] = _(
            "Chaque mot ou expression doit faire au plus %(max)s caractères ; trop long : "
            "« %(word)s ».",
            max=BLOCKED_WORD_MAX_LENGTH,
            word=too_long[0][:80],
        )
    elif len(words) > BLOCKED_WORDS_MAX:
        errors["blocked_words"] = _(
            "La liste peut compter au plus %(max)s mots ou expressions (elle en compte %(count)s).",
            max=BLOCKED_WORDS_MAX,
            count=len(words),
        )
    else:
        values["blocked_words"] = words
    if errors:
        raise Invalid(errors)
    return values


def update_settings(session: Session, admin: User, data: SettingsInput) -> dict[str, Any]:
    """Saves what changed, with one `settings.update` audit entry (before/after of the changed
    keys only). Returns the changed keys and their new values ({} when nothing changed: then
    nothing is written). Commits."""
    ensure_admin(admin)
    values = _validate_settings(data)
    config = site_config(session)
    before_all: dict[str, Any] = {
        "moderation_mode": config.moderation_mode.value,
        "auto_hide_threshold": config.auto_hide_threshold,
        "blocked_words": stored_blocked_words(session),
    }
    changed = {key: value for key, value in values.items() if before_all[key] != value}
    if not changed:
        return {}
    for key, value in changed.items():
        set_value(session, key, value, user_id=admin.id)
    audit.record(
        session,
        admin,
        "settings.update",
        "setting",
        None,
        before={key: before_all[key] for key in changed},
        after=changed,
    )
    try:
        session.commit()
    except IntegrityError:
        # Two admins saved a setting never saved before at the same moment.
        session.rollback()
        raise Conflict(
            _("Les réglages viennent d'être modifiés par quelqu'un d'autre : rechargez la page.")
        ) from None
    return changed


# --- themes and territories ------------------------------------------------------------------

KINDS: dict[str, type[Theme] | type[Territory]] = {"themes": Theme, "territories": Territory}
NAME_MAX = 80
SLUG_MAX = 60
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def category_model(kind: str) -> type[Theme] | type[Territory]:
    model = KINDS.get(kind)
    if model is None:
        raise NotFound()
    return model


def _target_kind(model: type[Theme] | type[Territory]) -> str:
    return "theme" if model is Theme else "territory"


@dataclass
class CategoryInput:
    name: str = ""
    name_en: str = ""
    slug: str = ""  # only read when renaming a category nobody uses yet


def list_categories(
    session: Session, model: type[Theme] | type[Territory]
) -> tuple[list[Any], list[Any]]:
    """Active ones in display order, archived ones apart (by name)."""
    rows = list(
        session.exec(select(model).order_by(model.position, model.name, model.id))  # type: ignore[arg-type]
    )
    active = [r for r in rows if r.archived_at is None]
    archived = sorted((r for r in rows if r.archived_at is not None), key=lambda r: r.name)
    return active, archived


def slug_in_use(session: Session, category: Theme | Territory) -> bool:
    """Is the slug already out there? A need (whatever its status, even deleted: its page
    and the feeds may have been seen) or, for a territory, a support names it."""
    if isinstance(category, Theme):
        used = exists().where(Need.theme_id == category.id)
    else:
        used = exists().where(Need.territory_id == category.id) | exists().where(
            Support.territory_id == category.id
        )
    return bool(session.exec(select(used)).one())


def slugs_in_use(session: Session, model: type[Theme] | type[Territory]) -> set[int]:
    """The ids whose slug can no longer change (two queries for the whole list)."""
    column = Need.theme_id if model is Theme else Need.territory_id
    ids = set(session.exec(select(column).where(column.is_not(None)).distinct()))  # type: ignore[union-attr]
    if model is Territory:
        ids |= set(
            session.exec(
                select(Support.territory_id).where(Support.territory_id.is_not(None)).distinct()  # type: ignore[union-attr]
            )
        )
    return ids  # type: ignore[return-value]


def has_slug(name: str) -> bool:
    # slugify() falls back to "besoin" when nothing is left; a prefix tells the cases apart.
    return slugify(f"x {name}") != "x"


def _clean_names(
    session: Session, model: type[Theme] | type[Territory], data: CategoryInput, own_id: int | None
) -> tuple[str, str | None, dict[str, str]]:
    errors: dict[str, str] = {}
    name = " ".join("".join(c if c.isprintable() else " " for c in data.name).split())
    name_en = " ".join("".join(c if c.isprintable() else " " for c in data.name_en).split())
    if not name:
        errors["name"] = _("Indiquez un nom.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("Le nom doit faire au plus %(max)s caractères.", max=NAME_MAX)
    elif not has_slug(name):
        errors["name"] = _(
            "Le nom doit contenir au moins une lettre latine ou un chiffre (il sert à faire "
            "l'adresse)."
        )
    else:
        key = normalise(name)
        for other in session.exec(select(model).where(model.id != own_id)):  # type: ignore[arg-type]
            if normalise(other.name) == key:
                errors["name"] = (
                    _("Un élément archivé porte déjà ce nom : désarchivez-le plutôt.")
                    if other.archived_at is not None
                    else _("Un élément porte déjà ce nom.")
                )
                break
    if len(name_en) > NAME_MAX:
        errors["name_en"] = _("Le nom doit faire au plus %(max)s caractères.", max=NAME_MAX)
    return name, name_en or None, errors


def _free_slug(session: Session, model: type[Theme] | type[Territory], base: str) -> str:
    """`base`, or `base-2`, `base-3`… the first one no theme (or territory) has."""
    taken = set(session.exec(select(model.slug).where(model.slug.startswith(base))))  # type: ignore[attr-defined]
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        n += 1


def create_category(
    session: Session, admin: User, kind: str, data: CategoryInput
) -> Theme | Territory:
    ensure_admin(admin)
    model = category_model(kind)
    name, name_en, errors = _clean_names(session, model, data, None)
    if errors:
        raise Invalid(errors)
    slug = _free_slug(session, model, slugify(name, SLUG_MAX))
    last = session.exec(select(func.max(model.position))).one()  # type: ignore[arg-type]
    category = model(slug=slug, name=name, name_en=name_en, position=(last or 0) + 1)
    session.add(category)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Invalid(
            {"name": _("Un élément vient d'être créé avec ce nom : rechargez la page.")}
        ) from None
    audit.record(
        session,
        admin,
        f"{_target_kind(model)}.create",
        _target_kind(model),
        category.id,
        after={"slug": slug, "name": name, "name_en": name_en},
    )
    session.commit()
    return category


def _load(session: Session, model: type[Theme] | type[Territory], category_id: int) -> Any:
    category = session.get(model, category_id)
    if category is None:
        raise NotFound()
    return category


def rename_category(
    session: Session, admin: User, kind: str, category_id: int, data: CategoryInput
) -> Theme | Territory:
    """New name and English name; a new slug too while nobody uses the current one."""
    ensure_admin(admin)
    model = category_model(kind)
    category = _load(session, model, category_id)
    name, name_en, errors = _clean_names(session, model, data, category.id)
    slug = (data.slug or "").strip() or category.slug
    if slug != category.slug:
        if slug_in_use(session, category):
            errors["slug"] = _(
                "Cette adresse est déjà utilisée (besoins, liens, flux) : elle ne peut plus "
                "changer."
            )
        elif len(slug) > SLUG_MAX or not _SLUG.fullmatch(slug):
            errors["slug"] = _(
                "L'adresse ne peut contenir que des lettres minuscules sans accent, des "
                "chiffres et des tirets (au plus %(max)s caractères).",
                max=SLUG_MAX,
            )
        elif session.exec(select(model.id).where(model.slug == slug)).first() is not None:  # type: ignore[arg-type]
            errors["slug"] = _("Cette adresse est déjà prise par un autre élément.")
    if errors:
        raise Invalid(errors)
    before = {"name": category.name, "name_en": category.name_en, "slug": category.slug}
    after = {"name": name, "name_en": name_en, "slug": slug}
    changed = [key for key in before if before[key] != after[key]]
    if not changed:
        return category
    category.name, category.name_en, category.slug = name, name_en, slug
    session.add(category)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Invalid({"slug": _("Cette adresse est déjà prise par un autre élément.")}) from None
    audit.record(
        session,
        admin,
        f"{_target_kind(model)}.rename",
        _target_kind(model),
        category.id,
        before={key: before[key] for key in changed},
        after={key: after[key] for key in changed},
    )
    session.commit()
    return category


def move_category(
    session: Session, admin: User, kind: str, category_id: int, direction: str
) -> Theme | Territory:
    """Swaps an active item with its neighbour above or below; positions are renumbered
    0, 1, 2… in the displayed order, so old equal positions cannot stall a move."""
    ensure_admin(admin)
    model = category_model(kind)
    category = _load(session, model, category_id)
    if direction not in ("up", "down"):
        raise Invalid({"direction": _("Choisissez de monter ou de descendre l'élément.")})
    if category.archived_at is not None:
        raise Invalid({"direction": _("Un élément archivé n'a pas de place dans la liste.")})
    active, _archived = list_categories(session, model)
    index = next(i for i, row in enumerate(active) if row.id == category.id)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(active):
        return category  # already first (or last): nothing to do
    before = index
    active[index], active[other] = active[other], active[index]
    for position, row in enumerate(active):
        if row.position != position:
            row.position = position
            session.add(row)
    audit.record(
        session,
        admin,
        f"{_target_kind(model)}.move",
        _target_kind(model),
        category.id,
        before={"position": before},
        after={"position": other},
    )
    session.commit()
    return category


def set_archived(
    session: Session, admin: User, kind: str, category_id: int, archived: bool
) -> Theme | Territory:
    """Archived: gone from the board's filters and forms; needs keep it. Unarchived: back at
    the end of the list."""
    ensure_admin(admin)
    model = category_model(kind)
    category = _load(session, model, category_id)
    if (category.archived_at is not None) == archived:
        return category  # already so (a second click): nothing written
    before = {"archived_at": category.archived_at}
    if archived:
        category.archived_at = utcnow()
    else:
        category.archived_at = None
        last = session.exec(
            select(func.max(model.position)).where(model.archived_at.is_(None))  # type: ignore[arg-type, union-attr]
        ).one()
        category.position = (last if last is not None else -1) + 1
    session.add(category)
    audit.record(
        session,
        admin,
        f"{_target_kind(model)}.{'archive' if archived else 'unarchive'}",
        _target_kind(model),
        category.id,
        before=before,
        after={"archived_at": category.archived_at},
    )
    session.commit()
    return category
