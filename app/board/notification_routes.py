"""Notification pages under /account: the list, marking as read, e-mail preferences per kind,
and the unsubscribe link of e-mails (a confirmation page; only its POST changes anything,
because mail scanners open links)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.deps import CurrentUser
from app.board import notifications
from app.web.deps import SessionDep
from app.web.errors import Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import parse_id
from app.web.templating import render

router = APIRouter(prefix="/account")

NOTICES = {
    "read": N_("Toutes vos notifications sont marquées comme lues."),
    "read_one": N_("La notification est marquée comme lue."),
    "saved": N_("Vos préférences d'e-mail sont enregistrées."),
}


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice", "")
    return _(NOTICES[key]) if key in NOTICES else None


def _small_id(raw: str) -> int | None:
    return parse_id(raw)


@router.get("/notifications")
def notifications_page(
    request: Request, session: SessionDep, user: CurrentUser, before: str = ""
) -> Response:
    items, next_before = notifications.list_notifications(session, user, before=_small_id(before))
    return render(
        request,
        "accounts/notifications.html",
        {
            "items": items,
            "next_before": next_before,
            "unread": notifications.unread_count(session, user),
            "notice": _notice(request),
        },
    )


@router.post("/notifications/read")
def mark_notifications_read(
    session: SessionDep,
    user: CurrentUser,
    notification_id: str = Form(""),
) -> Response:
    """Without `notification_id`: all of them. Only ever the person's own."""
    one = _small_id(notification_id)
    if notification_id.strip() and one is None:
        raise Invalid({"notification_id": _("Cette notification n'existe pas.")})
    notifications.mark_read(session, user, one)
    notice = "read_one" if one is not None else "read"
    return RedirectResponse(f"/account/notifications?notice={notice}", status_code=303)


def _settings_page(
    request: Request, modes: dict[str, str], errors: dict[str, str] | None = None
) -> Response:
    context: dict[str, Any] = {
        "modes": modes,
        # The kinds this person can receive (preferences() gives them): no team alerts for others.
        "kinds": {k: label for k, label in notifications.KIND_LABELS.items() if k in modes},
        "mode_labels": notifications.MODE_LABELS,
        "errors": errors or {},
        "notice": _notice(request),
    }
    return render(
        request,
        "accounts/notification_settings.html",
        context,
        status_code=422 if errors else 200,
    )


@router.get("/notifications/settings")
def notification_settings_page(
    request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    return _settings_page(request, notifications.preferences(session, user))


@router.post("/notifications/settings")
async def save_notification_settings(
    request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    form = await request.form()
    modes = {kind: str(form[kind]) for kind in notifications.kinds_for(user) if kind in form}
    try:
        notifications.save_preferences(session, user, modes)
    except Invalid as exc:
        shown = {**notifications.preferences(session, user), **modes}
        return _settings_page(request, shown, exc.errors)
    return RedirectResponse("/account/notifications/settings?notice=saved", status_code=303)


@router.get("/unsubscribe")
def unsubscribe_page(request: Request, session: SessionDep, token: str = "") -> Response:
    _user, kinds = notifications.read_unsubscribe_token(session, token)
    return render(
        request,
        "accounts/unsubscribe.html",
        {"token": token, "kinds": kinds, "labels": notifications.KIND_LABELS, "done": False},
    )


@router.post("/unsubscribe")
def unsubscribe(request: Request, session: SessionDep, token: str = Form("")) -> Response:
    kinds = notifications.unsubscribe(session, token)
    return render(
        request,
        "accounts/unsubscribe.html",
        {"token": "", "kinds": kinds, "labels": notifications.KIND_LABELS, "done": True},
    )
