"""Staff pages for webhooks (/moderation/webhooks…): register partners' endpoints, show their
secret, send a test event, and read and replay the delivery log (issue 6).

Every route is for staff and admins (`Staff` also refuses blocked team members); what they do
is in app.syndication.webhook_admin.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.syndication import webhooks
from app.syndication.models import Webhook, WebhookDelivery
from app.syndication.webhook_admin import (
    DESCRIPTION_MAX,
    LOG_SIZE,
    STATUS_LABELS,
    WebhookInput,
    create_webhook,
    delete_webhook,
    delivery_log,
    event_label,
    list_webhooks,
    pretty_payload,
    regenerate_secret,
    retry_delivery,
    send_test,
    status_label,
    update_webhook,
)
from app.web.deps import SessionDep
from app.web.errors import Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import is_valid_id, parse_id
from app.web.templating import render

router = APIRouter()
Staff = Annotated[User, Depends(require_role(Role.staff))]
FormStr = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]


NOTICES = {
    "created": N_(
        "Le webhook est créé. Copiez maintenant son secret (ci-dessous, « Afficher le secret ») "
        "et transmettez-le à l'équipe technique du partenaire : il sert à vérifier la signature "
        "de chaque envoi."
    ),
    "saved": N_("Les modifications sont enregistrées."),
    "pinged": N_(
        "Un événement de test est en file d'attente : le service d'envoi l'expédie dans les "
        "secondes qui viennent. Rechargez la page pour voir le résultat dans le journal."
    ),
    "secret": N_(
        "Un nouveau secret est créé : l'ancien ne signe plus rien. Transmettez le nouveau au "
        "partenaire."
    ),
    "retried": N_(
        "L'envoi est remis en file d'attente : il repart dans les secondes qui viennent."
    ),
    "deleted": N_("Le webhook et son journal d'envois sont supprimés."),
}

# --- routes -------------------------------------------------------------------------------------


def _hook_or_404(session: Session, hook_id: int) -> Webhook:
    hook = session.get(Webhook, hook_id) if is_valid_id(hook_id) else None
    if hook is None:
        raise NotFound(_("Ce webhook n'existe pas ou plus."))
    return hook


def _delivery_or_404(session: Session, hook: Webhook, delivery_id: int) -> WebhookDelivery:
    delivery = session.get(WebhookDelivery, delivery_id) if is_valid_id(delivery_id) else None
    # Another endpoint's delivery is not reachable through this one's address.
    if delivery is None or delivery.webhook_id != hook.id:
        raise NotFound(_("Cet envoi n'existe pas ou plus."))
    return delivery


def _notice(request: Request) -> str | None:
    done = request.query_params.get("done", "")
    return _(NOTICES[done]) if done in NOTICES else None


def _common() -> dict[str, Any]:
    return {
        "section": "webhooks",
        "event_labels": webhooks.EVENT_LABELS,
        "event_label": event_label,
        "status_label": status_label,
        "signature_header": webhooks.SIGNATURE_HEADER,
        "description_max": DESCRIPTION_MAX,
        "log_size": LOG_SIZE,
    }


def _input(url: str, description: str, events: list[str], active: bool = True) -> WebhookInput:
    return WebhookInput(url=url, description=description, events=events, active=active)


@router.get("/moderation/webhooks")
def webhooks_admin(request: Request, session: SessionDep, user: Staff) -> Response:
    return render(
        request,
        "syndication/webhooks.html",
        {**_common(), "rows": list_webhooks(session), "notice": _notice(request)},
    )


def _new_page(
    request: Request,
    values: WebhookInput,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "syndication/webhook_form.html",
        {**_common(), "values": values, "errors": errors or {}},
        status_code=status_code,
    )


@router.get("/moderation/webhooks/new")
def new_webhook_page(request: Request, user: Staff) -> Response:
    return _new_page(request, WebhookInput())


@router.post("/moderation/webhooks/new")
def create_webhook_route(
    request: Request,
    session: SessionDep,
    user: Staff,
    url: FormStr = "",
    description: FormStr = "",
    events: FormList = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    data = _input(url, description, events)
    try:
        hook = create_webhook(session, user, data, request.app.state.settings)
    except Invalid as exc:
        session.rollback()
        return _new_page(request, data, errors=exc.errors, status_code=422)
    return RedirectResponse(f"/moderation/webhooks/{hook.id}?done=created", status_code=303)


def _hook_page(
    request: Request,
    session: Session,
    hook: Webhook,
    *,
    values: WebhookInput | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    status = request.query_params.get("status", "")
    status = status if status in STATUS_LABELS else ""
    before = parse_id(request.query_params.get("before"))
    deliveries, older = delivery_log(session, hook.id, status=status, before=before)  # type: ignore[arg-type]
    done = request.query_params.get("done", "")
    return render(
        request,
        "syndication/webhook.html",
        {
            **_common(),
            "hook": hook,
            "values": values
            or _input(hook.url, hook.description, hook.event_list(), active=hook.active),
            "errors": errors or {},
            "notice": _notice(request),
            # Right after creating or regenerating, the secret is what the page is for.
            "show_secret": done in ("created", "secret"),
            "deliveries": deliveries,
            "older": older,
            "before": before,
            "status_filter": status,
            "status_labels": STATUS_LABELS,
            "pretty_payload": pretty_payload,
        },
        status_code=status_code,
        # The page holds the signing secret: no shared or back-button cache keeps it.
        headers={"Cache-Control": "private, no-store"},
    )


@router.get("/moderation/webhooks/{hook_id}")
def webhook_page(request: Request, session: SessionDep, user: Staff, hook_id: int) -> Response:
    return _hook_page(request, session, _hook_or_404(session, hook_id))


@router.post("/moderation/webhooks/{hook_id}")
def update_webhook_route(
    request: Request,
    session: SessionDep,
    user: Staff,
    hook_id: int,
    url: FormStr = "",
    description: FormStr = "",
    events: FormList = [],  # noqa: B006
    active: FormStr = "",
) -> Response:
    hook = _hook_or_404(session, hook_id)
    data = _input(url, description, events, active=active == "1")
    try:
        update_webhook(session, user, hook, data, request.app.state.settings)
    except Invalid as exc:
        session.rollback()
        hook = _hook_or_404(session, hook_id)
        return _hook_page(request, session, hook, values=data, errors=exc.errors, status_code=422)
    return RedirectResponse(f"/moderation/webhooks/{hook_id}?done=saved", status_code=303)


@router.post("/moderation/webhooks/{hook_id}/ping")
def ping_webhook(session: SessionDep, user: Staff, hook_id: int) -> Response:
    hook = _hook_or_404(session, hook_id)
    send_test(session, user, hook)
    return RedirectResponse(
        f"/moderation/webhooks/{hook_id}?done=pinged#deliveries", status_code=303
    )


def _confirmed(
    request: Request, session: Session, hook: Webhook, confirm: str, name: str
) -> Response | None:
    """None when the box was ticked; else the page again with the box's error (the browser
    already requires it, this covers clients without that check)."""
    if confirm == "1":
        return None
    return _hook_page(
        request,
        session,
        hook,
        errors={name: _("Cochez la case pour confirmer.")},
        status_code=422,
    )


@router.post("/moderation/webhooks/{hook_id}/secret")
def regenerate_secret_route(
    request: Request, session: SessionDep, user: Staff, hook_id: int, confirm: FormStr = ""
) -> Response:
    hook = _hook_or_404(session, hook_id)
    refused = _confirmed(request, session, hook, confirm, "confirm_secret")
    if refused is not None:
        return refused
    regenerate_secret(session, user, hook)
    return RedirectResponse(f"/moderation/webhooks/{hook_id}?done=secret#secret", status_code=303)


@router.post("/moderation/webhooks/{hook_id}/delete")
def delete_webhook_route(
    request: Request, session: SessionDep, user: Staff, hook_id: int, confirm: FormStr = ""
) -> Response:
    hook = _hook_or_404(session, hook_id)
    refused = _confirmed(request, session, hook, confirm, "confirm_delete")
    if refused is not None:
        return refused
    delete_webhook(session, user, hook)
    return RedirectResponse("/moderation/webhooks?done=deleted", status_code=303)


@router.post("/moderation/webhooks/{hook_id}/deliveries/{delivery_id}/retry")
def retry_delivery_route(
    session: SessionDep, user: Staff, hook_id: int, delivery_id: int
) -> Response:
    hook = _hook_or_404(session, hook_id)
    retry_delivery(session, user, _delivery_or_404(session, hook, delivery_id))
    return RedirectResponse(
        f"/moderation/webhooks/{hook_id}?done=retried#deliveries", status_code=303
    )
