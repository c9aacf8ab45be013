"""Who may open and use the webhook routes of /moderation (table-driven): staff and admins only.
A refused POST writes nothing: no webhook, delivery or audit row changes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func
from sqlmodel import select

from app.core.audit import AuditEntry
from app.syndication import webhook_routes
from app.syndication.models import Webhook, WebhookDelivery
from tests.factories import csrf_token, fresh
from tests.moderation.access import ROLES, STAFF_UP, browser_as, matrix_cases

PAGES = {
    "/moderation/webhooks": STAFF_UP,
    "/moderation/webhooks/new": STAFF_UP,
    "/moderation/webhooks/{hook_id}": STAFF_UP,
}

# Allowed roles are sent on (303) like anonymous visitors are sent to the login page (303):
# the difference is checked on the location and on what was written.
STAFF_POST = [303, 403, 403, 403, 403, 303, 303]

HOOK_FORM = {"url": "https://partenaire.example/hook", "events": ["need.published"]}

ACTIONS: dict[str, dict[str, Any]] = {
    "/moderation/webhooks/new": HOOK_FORM,
    "/moderation/webhooks/{hook_id}": {
        **HOOK_FORM,
        "description": "Nouveau nom",
        "events": ["comment.published"],
    },
    "/moderation/webhooks/{hook_id}/ping": {},
    "/moderation/webhooks/{hook_id}/secret": {"confirm": "1"},
    "/moderation/webhooks/{hook_id}/delete": {"confirm": "1"},
    "/moderation/webhooks/{hook_id}/deliveries/{delivery_id}/retry": {},
}

ROUTES_COVERED = {("GET", path) for path in PAGES} | {("POST", path) for path in ACTIONS}


def _world(session) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One endpoint with one failed delivery (so that retrying it is possible)."""
    hook = Webhook(
        url="https://partenaire.example/ancien",
        events="need.published idea.stage_changed",
        secret="whsec_ancien",
    )
    session.add(hook)
    session.commit()
    delivery = WebhookDelivery(
        webhook_id=hook.id,
        event="need.published",
        event_id="00000000-0000-0000-0000-000000000001",
        payload='{"event":"need.published"}',
        status="failed",
        attempts=8,
        last_error="Connection refused",
    )
    session.add(delivery)
    session.commit()
    return {"hook_id": hook.id, "delivery_id": delivery.id}


def _state(session) -> tuple[Any, ...]:  # type: ignore[no-untyped-def]
    db = fresh(session)
    hooks = tuple(
        (h.id, h.url, h.description, h.events, h.active, h.secret)
        for h in db.exec(select(Webhook).order_by(Webhook.id))
    )
    deliveries = tuple(
        (d.id, d.webhook_id, d.event, d.status, d.attempts)
        for d in db.exec(select(WebhookDelivery).order_by(WebhookDelivery.id))
    )
    audit_rows = db.exec(select(func.count()).select_from(AuditEntry)).one()
    return hooks, deliveries, audit_rows


@pytest.mark.parametrize(("path", "who", "expected"), matrix_cases(PAGES))
def test_webhook_pages_access(client, session, path, who, expected):
    world = _world(session)
    browser_as(client, session, who)
    response = client.get(path.format(**world), follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")
    if expected == 403:
        assert "Accès refusé" in response.text
        assert "whsec_ancien" not in response.text


@pytest.mark.parametrize(
    ("path", "who", "expected"),
    [
        (path, who, status)
        for path in ACTIONS
        for who, status in zip(ROLES, STAFF_POST, strict=True)
    ],
)
def test_only_active_staff_act_on_webhooks_and_a_refusal_writes_nothing(
    client, session, path, who, expected
):
    world = _world(session)
    before = _state(session)
    browser_as(client, session, who)
    response = client.post(
        path.format(**world),
        data={"csrf_token": csrf_token(client), **ACTIONS[path]},
        follow_redirects=False,
    )
    assert response.status_code == expected
    after = _state(session)
    if who in ("staff", "admin"):
        assert response.headers["location"].startswith("/moderation/webhooks")
        assert after[:2] != before[:2]
        assert after[2] == before[2] + 1  # one audit entry
    else:
        if expected == 303:
            assert response.headers["location"].startswith("/account/login?next=/moderation")
        assert after == before


def test_every_webhook_route_is_in_the_matrix():
    declared = {
        (method, route.path)
        for route in webhook_routes.router.routes
        if isinstance(route, APIRoute) and route.path.startswith("/moderation")
        for method in route.methods
        if method != "HEAD"
    }
    assert declared == ROUTES_COVERED
