"""Staff pages for webhooks (/moderation/webhooks…): register partners' endpoints, show their
secret, send a test event, and read and replay the delivery log (issue 6).

Every route is for staff and admins (`Staff` also refuses blocked team members). The writes
are small, so they live here below the routes' helpers, each in the order load → authorise →
validate → execute, with its audit row in the same transaction; app.syndication.webhooks does
the signing, the endpoint checks (SSRF) and the test event, the worker does the sending.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import and_, case, delete, func
from sqlmodel import Session, select

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.db import utcnow
from app.moderation import audit
from app.pipeline.service import ensure_staff
from app.settings import Settings
from app.syndication import webhooks
from app.syndication.models import DeliveryStatus, Webhook, WebhookDelivery
from app.web.deps import SessionDep
from app.web.errors import Conflict, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import is_valid_id, parse_id
from app.web.templating import render

router = APIRouter()
Staff = Annotated[User, Depends(require_role(Role.staff))]
FormStr = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]

DESCRIPTION_MAX = 200
LOG_SIZE = 50
# The list's "failed lately" column: long enough to notice a partner's site that is down
# over a weekend, short enough that an old incident does not hide a healthy endpoint.
FAILED_WINDOW = timedelta(days=7)

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

STATUS_LABELS = {
    DeliveryStatus.queued.value: N_("En attente"),
    DeliveryStatus.sending.value: N_("Envoi en cours"),
    DeliveryStatus.delivered.value: N_("Réussi"),
    DeliveryStatus.failed.value: N_("Échoué"),
}


def status_label(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def event_label(event: str) -> str:
    if event == webhooks.PING_EVENT:
        return _("Événement de test")
    label = webhooks.EVENT_LABELS.get(event)
    return _(label) if label else event


def pretty_payload(payload: str) -> str:
    """The stored body indented for reading; shown as stored if it is not JSON."""
    try:
        return json.dumps(json.loads(payload), ensure_ascii=False, indent=2)
    except ValueError:
        return payload


# --- writes (no HTTP here) ----------------------------------------------------------------------


@dataclass
class WebhookInput:
    url: str = ""
    description: str = ""
    events: list[str] = field(default_factory=list)
    active: bool = True


def _snapshot(hook: Webhook) -> dict[str, Any]:
    # Never the secret: the audit log is readable by every staff member and exported as CSV.
    return {
        "url": hook.url,
        "description": hook.description,
        "events": hook.event_list(),
        "active": hook.active,
    }


def validate_webhook(data: WebhookInput, settings: Settings) -> WebhookInput:
    """The cleaned input, or Invalid with every field's error at once."""
    errors: dict[str, str] = {}
    url = data.url
    try:
        url = webhooks.validate_endpoint(data.url, settings)
    except Invalid as exc:
        errors.update(exc.errors)
    description = (data.description or "").replace("\x00", "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _("La description doit faire au plus {max} caractères.").format(
            max=DESCRIPTION_MAX
        )
    events: list[str] = []
    try:
        events = webhooks.parse_events(data.events)
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    return WebhookInput(url=url, description=description, events=events, active=data.active)


def create_webhook(
    session: Session, actor: User, data: WebhookInput, settings: Settings
) -> Webhook:
    ensure_staff(actor)
    data = validate_webhook(data, settings)
    now = utcnow()
    hook = Webhook(
        url=data.url,
        description=data.description,
        events=" ".join(data.events),
        secret=webhooks.new_secret(),
        active=True,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(hook)
    session.flush()
    audit.record(session, actor, "webhook.create", "webhook", hook.id, after=_snapshot(hook))
    session.commit()
    session.refresh(hook)
    return hook


def update_webhook(
    session: Session, actor: User, hook: Webhook, data: WebhookInput, settings: Settings
) -> Webhook:
    ensure_staff(actor)
    data = validate_webhook(data, settings)
    before = _snapshot(hook)
    hook.url, hook.description = data.url, data.description
    hook.events, hook.active = " ".join(data.events), data.active
    hook.updated_at = utcnow()
    session.add(hook)
    audit.record(
        session, actor, "webhook.update", "webhook", hook.id, before=before, after=_snapshot(hook)
    )
    session.commit()
    return hook


def send_test(session: Session, actor: User, hook: Webhook) -> WebhookDelivery:
    ensure_staff(actor)
    delivery = webhooks.ping(session, hook)
    session.flush()
    audit.record(
        session, actor, "webhook.ping", "webhook", hook.id, after={"delivery_id": delivery.id}
    )
    session.commit()
    return delivery


def regenerate_secret(session: Session, actor: User, hook: Webhook) -> None:
    ensure_staff(actor)
    hook.secret = webhooks.new_secret()
    hook.updated_at = utcnow()
    session.add(hook)
    audit.record(session, actor, "webhook.secret", "webhook", hook.id)
    session.commit()


def delete_webhook(session: Session, actor: User, hook: Webhook) -> None:
    ensure_staff(actor)
    before = _snapshot(hook)
    # The foreign key cascades too; deleting explicitly does not depend on the engine's setting.
    session.exec(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id))  # type: ignore[call-overload, arg-type]
    session.delete(hook)
    audit.record(session, actor, "webhook.delete", "webhook", hook.id, before=before)
    session.commit()


def retry_delivery(session: Session, actor: User, delivery: WebhookDelivery) -> None:
    """Puts a failed delivery back in the queue with a fresh set of attempts (same event id,
    so a receiver that did handle it can recognise it)."""
    ensure_staff(actor)
    if delivery.status != DeliveryStatus.failed.value:
        raise Conflict(_("Seul un envoi en échec peut être renvoyé."))
    delivery.status = DeliveryStatus.queued.value
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    delivery.locked_until = None
    session.add(delivery)
    audit.record(
        session,
        actor,
        "webhook.retry",
        "webhook",
        delivery.webhook_id,
        after={"delivery_id": delivery.id, "event": delivery.event},
    )
    session.commit()


# --- reads --------------------------------------------------------------------------------------


@dataclass
class WebhookRow:
    hook: Webhook
    last: WebhookDelivery | None
    failed_recently: int


def list_webhooks(session: Session) -> list[WebhookRow]:
    """Every endpoint with its latest delivery and its recent failures, in one query."""
    since = utcnow() - FAILED_WINDOW
    recent_failure = and_(
        WebhookDelivery.status == DeliveryStatus.failed.value,
        WebhookDelivery.created_at >= since,  # type: ignore[operator]
    )
    stats = (
        select(
            WebhookDelivery.webhook_id,
            func.max(WebhookDelivery.id).label("last_id"),
            func.sum(case((recent_failure, 1), else_=0)).label("failed"),
        )
        .group_by(WebhookDelivery.webhook_id)
        .subquery()
    )
    rows = session.exec(
        select(Webhook, WebhookDelivery, stats.c.failed)
        .outerjoin(stats, stats.c.webhook_id == Webhook.id)
        .outerjoin(WebhookDelivery, WebhookDelivery.id == stats.c.last_id)  # type: ignore[arg-type]
        .order_by(Webhook.id)  # type: ignore[arg-type]
    ).all()
    return [WebhookRow(hook, last, int(failed or 0)) for hook, last, failed in rows]


def delivery_log(
    session: Session, hook_id: int, *, status: str | None = None, before: int | None = None
) -> tuple[list[WebhookDelivery], int | None]:
    """Up to LOG_SIZE deliveries, newest first, and the id to page on (None: no older ones)."""
    statement = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook_id)
    if status:
        statement = statement.where(WebhookDelivery.status == status)
    if before:
        statement = statement.where(WebhookDelivery.id < before)  # type: ignore[operator]
    rows = list(
        session.exec(statement.order_by(WebhookDelivery.id.desc()).limit(LOG_SIZE + 1))  # type: ignore[union-attr]
    )
    older = rows[LOG_SIZE - 1].id if len(rows) > LOG_SIZE else None
    return rows[:LOG_SIZE], older


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
