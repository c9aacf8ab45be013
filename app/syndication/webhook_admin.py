"""What the staff pages for webhooks do, without HTTP: create, edit, test, rotate the secret,
delete and replay deliveries, each in the order load → authorise → validate → execute with its
audit row in the same transaction; and the reads behind the list and the delivery log.
app.syndication.webhooks does the signing, the endpoint checks (SSRF) and the test event, the
worker (app.syndication.webhook_delivery) does the sending.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func
from sqlmodel import Session, select

from app.accounts.models import User
from app.core import audit
from app.core.db import utcnow
from app.core.settings import Settings
from app.pipeline.permissions import ensure_staff
from app.syndication import webhooks
from app.syndication.models import DeliveryStatus, Webhook, WebhookDelivery
from app.web.errors import Conflict, Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

DESCRIPTION_MAX = 200
LOG_SIZE = 50
# The list's "failed lately" column: long enough to notice a partner's site that is down
# over a weekend, short enough that an old incident does not hide a healthy endpoint.
FAILED_WINDOW = timedelta(days=7)

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
