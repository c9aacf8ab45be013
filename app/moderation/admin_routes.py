"""Admin pages of the moderation area: the moderation settings, themes and territories.

Admins only (staff and moderators get 403); the services in app.moderation.admin check it
again. Plain forms that redirect (303) after a successful POST; a refused form is re-rendered
with its messages next to the fields (422) and nothing is written.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.core.site_config import (
    AUTO_HIDE_THRESHOLD_MAX,
    AUTO_HIDE_THRESHOLD_MIN,
    BLOCKED_WORD_MAX_LENGTH,
    BLOCKED_WORDS_MAX,
)
from app.moderation import admin
from app.moderation.identity_routes import router as identity_router
from app.web.deps import SessionDep
from app.web.errors import Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import MAX_ID
from app.web.templating import render

router = APIRouter(prefix="/moderation", dependencies=[Depends(require_role(Role.admin))])
Admin = Annotated[User, Depends(require_role(Role.admin))]
FormStr = Annotated[str, Form()]
# Beyond the INTEGER range PostgreSQL fails the query: such ids are a 404 (path validation).
CategoryId = Annotated[int, Path(ge=1, le=MAX_ID)]

SETTINGS_NOTICES = {
    "saved": N_("Réglages enregistrés."),
    "unchanged": N_("Aucun changement : rien n'a été enregistré."),
}
CATEGORY_NOTICES = {
    "created": N_("Élément créé."),
    "renamed": N_("Modifications enregistrées."),
    "moved": N_("Ordre mis à jour."),
    "archived": N_("Élément archivé : il n'est plus proposé, les besoins le gardent."),
    "unarchived": N_("Élément de nouveau proposé."),
}
TITLES = {"themes": N_("Thématiques"), "territories": N_("Territoires")}


def _notice(request: Request, notices: dict[str, Any]) -> str | None:
    key = request.query_params.get("done", "")
    return _(notices[key]) if key in notices else None


# --- moderation settings ---------------------------------------------------------------------


def _settings_page(
    request: Request,
    values: admin.SettingsInput,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "moderation/settings.html",
        {
            "values": values,
            "errors": errors or {},
            "modes": admin.MODE_EXPLANATIONS,
            "threshold_min": AUTO_HIDE_THRESHOLD_MIN,
            "threshold_max": AUTO_HIDE_THRESHOLD_MAX,
            "words_max": BLOCKED_WORDS_MAX,
            "word_max_length": BLOCKED_WORD_MAX_LENGTH,
            "notice": _notice(request, SETTINGS_NOTICES),
            "section": "settings",
        },
        status_code=status_code,
    )


@router.get("/settings")
def settings_page(request: Request, session: SessionDep, user: Admin) -> Response:
    return _settings_page(request, admin.current_settings(session))


@router.post("/settings")
def save_settings(
    request: Request,
    session: SessionDep,
    user: Admin,
    moderation_mode: FormStr = "",
    auto_hide_threshold: FormStr = "",
    blocked_words: FormStr = "",
) -> Response:
    values = admin.SettingsInput(moderation_mode, auto_hide_threshold, blocked_words)
    try:
        changed = admin.update_settings(session, user, values)
    except Invalid as exc:
        return _settings_page(request, values, errors=exc.errors, status_code=422)
    done = "saved" if changed else "unchanged"
    return RedirectResponse(f"/moderation/settings?done={done}", status_code=303)


# --- themes and territories ------------------------------------------------------------------


def _categories_page(
    request: Request,
    session: Session,
    kind: str,
    *,
    errors: dict[str, str] | None = None,
    error_for: int | str | None = None,
    typed: admin.CategoryInput | None = None,
    status_code: int = 200,
) -> Response:
    model = admin.category_model(kind)
    active, archived = admin.list_categories(session, model)
    other_kind = "territories" if kind == "themes" else "themes"
    return render(
        request,
        "moderation/categories.html",
        {
            "kind": kind,
            "title": _(TITLES[kind]),
            "other_kind": other_kind,
            "other_title": _(TITLES[other_kind]),
            "active": active,
            "archived": archived,
            "in_use": admin.slugs_in_use(session, model),
            # Errors belong to one form: "new" (creation) or a category id.
            "errors": errors or {},
            "error_for": error_for,
            "typed": typed,
            "notice": _notice(request, CATEGORY_NOTICES),
            "section": "settings",
        },
        status_code=status_code,
    )


def _back(kind: str, done: str, category_id: int | None = None) -> RedirectResponse:
    anchor = f"#cat-{category_id}" if category_id else ""
    return RedirectResponse(f"/moderation/settings/{kind}?done={done}{anchor}", status_code=303)


@router.get("/settings/{kind}")
def categories_page(request: Request, session: SessionDep, user: Admin, kind: str) -> Response:
    return _categories_page(request, session, kind)


@router.post("/settings/{kind}")
def create_category(
    request: Request,
    session: SessionDep,
    user: Admin,
    kind: str,
    name: FormStr = "",
    name_en: FormStr = "",
) -> Response:
    admin.category_model(kind)  # an unknown kind is a 404, before anything is read
    typed = admin.CategoryInput(name=name, name_en=name_en)
    try:
        category = admin.create_category(session, user, kind, typed)
    except Invalid as exc:
        return _categories_page(
            request, session, kind, errors=exc.errors, error_for="new", typed=typed, status_code=422
        )
    return _back(kind, "created", category.id)


@router.post("/settings/{kind}/{category_id}")
def rename_category(
    request: Request,
    session: SessionDep,
    user: Admin,
    kind: str,
    category_id: CategoryId,
    name: FormStr = "",
    name_en: FormStr = "",
    slug: FormStr = "",
) -> Response:
    typed = admin.CategoryInput(name=name, name_en=name_en, slug=slug)
    try:
        admin.rename_category(session, user, kind, category_id, typed)
    except Invalid as exc:
        return _categories_page(
            request,
            session,
            kind,
            errors=exc.errors,
            error_for=category_id,
            typed=typed,
            status_code=422,
        )
    return _back(kind, "renamed", category_id)


@router.post("/settings/{kind}/{category_id}/move")
def move_category(
    request: Request,
    session: SessionDep,
    user: Admin,
    kind: str,
    category_id: CategoryId,
    direction: FormStr = "",
) -> Response:
    try:
        admin.move_category(session, user, kind, category_id, direction)
    except Invalid as exc:
        return _categories_page(
            request, session, kind, errors=exc.errors, error_for=category_id, status_code=422
        )
    return _back(kind, "moved", category_id)


@router.post("/settings/{kind}/{category_id}/archive")
def archive_category(
    session: SessionDep, user: Admin, kind: str, category_id: CategoryId
) -> Response:
    admin.set_archived(session, user, kind, category_id, True)
    return _back(kind, "archived", category_id)


@router.post("/settings/{kind}/{category_id}/unarchive")
def unarchive_category(
    session: SessionDep, user: Admin, kind: str, category_id: CategoryId
) -> Response:
    admin.set_archived(session, user, kind, category_id, False)
    return _back(kind, "unarchived", category_id)


# --- site identity and pages (app/moderation/identity_routes.py) -----------------------------
# Included here so they share this router's prefix, its admin guard and the CSRF check; their
# own router keeps the upload route class the logo needs.
router.include_router(identity_router)
