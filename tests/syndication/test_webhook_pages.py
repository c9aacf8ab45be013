"""The staff pages for webhooks: staff register an endpoint (checked against SSRF in
production), edit or pause it, send a test event, regenerate its secret, delete it, and read and
replay its delivery log; every action is audited and bad input writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.core.settings import Settings
from app.main import create_app
from app.syndication.models import Webhook, WebhookDelivery
from tests.factories import form_errors, fresh, login_as, make_user, page_text, post_form


def _form(**overrides):  # type: ignore[no-untyped-def]
    data = {
        "url": "https://partenaire.example/bourse-webhook",
        "description": "Site de la Ville de Mérignac",
        "events": ["need.published", "comment.published"],
    }
    data.update(overrides)
    return data


def _hooks(session) -> list[Webhook]:  # type: ignore[no-untyped-def]
    return list(fresh(session).exec(select(Webhook).order_by(Webhook.id)))


def _deliveries(session, hook_id=None) -> list[WebhookDelivery]:  # type: ignore[no-untyped-def]
    statement = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if hook_id is not None:
        statement = statement.where(WebhookDelivery.webhook_id == hook_id)
    return list(fresh(session).exec(statement))


def _audit(session, action=None):  # type: ignore[no-untyped-def]
    statement = select(AuditEntry)
    if action:
        statement = statement.where(AuditEntry.action == action)
    return list(fresh(session).exec(statement))


def _make_hook(session, **values):  # type: ignore[no-untyped-def]
    hook = Webhook(
        url=values.pop("url", "https://partenaire.example/hook"),
        events=values.pop("events", "need.published"),
        secret=values.pop("secret", "whsec_initial"),
        **values,
    )
    session.add(hook)
    session.commit()
    session.refresh(hook)
    return hook


def _make_delivery(session, hook, **values):  # type: ignore[no-untyped-def]
    delivery = WebhookDelivery(
        webhook_id=hook.id,
        event=values.pop("event", "need.published"),
        event_id=values.pop("event_id", "00000000-0000-0000-0000-000000000001"),
        payload=values.pop("payload", '{"event":"need.published","data":{}}'),
        **values,
    )
    session.add(delivery)
    session.commit()
    session.refresh(delivery)
    return delivery


# --- create ------------------------------------------------------------------------------------


def test_staff_create_a_webhook_with_a_secret_and_an_audit_entry(staff_client, session, staff_user):
    response = post_form(staff_client, "/moderation/webhooks/new", _form())
    assert response.status_code == 303
    [hook] = _hooks(session)
    assert response.headers["location"] == f"/moderation/webhooks/{hook.id}?done=created"
    assert hook.url == "https://partenaire.example/bourse-webhook"
    assert hook.description == "Site de la Ville de Mérignac"
    assert hook.event_list() == ["need.published", "comment.published"]
    assert hook.active is True
    assert hook.secret.startswith("whsec_") and len(hook.secret) > 30
    assert hook.created_by_id == staff_user.id
    [entry] = _audit(session, "webhook.create")
    assert entry.actor_id == staff_user.id and entry.target_id == hook.id
    assert entry.after["events"] == ["need.published", "comment.published"]
    # The audit log is read by every staff member and exported: never the secret.
    assert hook.secret not in str(entry.after)

    page = staff_client.get(response.headers["location"])
    assert page.status_code == 200
    assert (
        "private" in page.headers["cache-control"] and "no-store" in page.headers["cache-control"]
    )
    assert "Copiez maintenant son secret" in page_text(page.text)
    tree = LexborHTMLParser(page.text)
    secret_box = tree.css_first("#secret details")
    assert "open" in secret_box.attributes  # opened right after creation
    assert secret_box.css_first("summary").text(strip=True) == "Afficher le secret"
    assert hook.secret in secret_box.text()
    assert "X-Bourse-Signature" in secret_box.text()


def test_the_forms_label_every_field_and_group_the_events(staff_client, session):
    hook = _make_hook(session)
    for url in ("/moderation/webhooks/new", f"/moderation/webhooks/{hook.id}"):
        tree = LexborHTMLParser(staff_client.get(url).text)
        for form in tree.css("main form"):
            for field in form.css("input:not([type=hidden]), select, textarea"):
                label = tree.css_first(f"label[for={field.attributes['id']}]")
                assert label is not None, field.html
        events = tree.css_first("fieldset#f-events")
        assert events.css_first("legend") is not None
        assert [box.attributes["value"] for box in events.css("input[type=checkbox]")] == [
            "need.published",
            "need.status_changed",
            "idea.stage_changed",
            "idea.published",
            "idea.unpublished",
            "comment.published",
        ]
    nav = LexborHTMLParser(staff_client.get("/moderation/webhooks").text).css_first(
        "nav.moderation-nav a[aria-current=page]"
    )
    assert nav.attributes["href"] == "/moderation/webhooks"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"url": ""}, "url", "Indiquez l'adresse qui recevra les événements."),
        ({"url": "pas une adresse"}, "url", "commençant par https://"),
        ({"url": "ftp://partenaire.example/hook"}, "url", "commençant par https://"),
        ({"url": "https://[partenaire.example/hook"}, "url", "commençant par https://"),
        ({"url": "https://moi:secret@partenaire.example/"}, "url", "identifiants"),
        ({"events": []}, "events", "Choisissez au moins un événement dans la liste."),
        ({"events": ["need.deleted"]}, "events", "Choisissez au moins un événement"),
        (
            {"events": ["need.published", "need.deleted"]},
            "events",
            "Choisissez au moins un événement",
        ),
        ({"description": "x" * 201}, "description", "au plus 200 caractères"),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_nothing_is_written(
    staff_client, session, overrides, field, message
):
    response = post_form(staff_client, "/moderation/webhooks/new", _form(**overrides))
    assert response.status_code == 422
    assert any(message in error for error in form_errors(response.text))
    tree = LexborHTMLParser(response.text)
    invalid = tree.css_first(f"#f-{field}")
    assert f"f-{field}-error" in (invalid.attributes.get("aria-describedby") or "")
    # What was typed is kept.
    assert tree.css_first("#f-url").attributes["value"] == _form(**overrides)["url"]
    assert _hooks(session) == []
    assert _audit(session) == []


@pytest.fixture
def production_client(settings, session, tmp_path):  # type: ignore[no-untyped-def]
    production = Settings(
        env="production",
        secret_key="a-production-secret-key-long-enough",
        database_url=settings.database_url,
        data_dir=tmp_path / "production-data",
        base_url="https://bourse.example",
        _env_file=None,
    )
    application = create_app(production)
    try:
        # https: production cookies are Secure, a client on http:// would not send them back.
        with TestClient(application, base_url="https://testserver") as browser:
            login_as(browser, make_user(session, role="staff"), session)
            yield browser
    finally:
        application.state.engine.dispose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://partenaire.example/hook", "L'adresse doit commencer par https://."),
        ("https://127.0.0.1/hook", "adresse privée ou locale"),
        ("https://10.1.2.3/hook", "adresse privée ou locale"),
    ],
)
def test_production_refuses_plain_http_and_private_addresses(
    production_client, session, url, message
):
    response = post_form(production_client, "/moderation/webhooks/new", _form(url=url))
    assert response.status_code == 422
    assert any(message in error for error in form_errors(response.text))
    assert _hooks(session) == []
    assert _audit(session) == []


def test_production_refuses_a_private_address_when_editing_too(production_client, session):
    hook = _make_hook(session)
    response = post_form(
        production_client,
        f"/moderation/webhooks/{hook.id}",
        _form(url="https://192.168.1.20/hook", active="1"),
    )
    assert response.status_code == 422
    assert any("adresse privée ou locale" in error for error in form_errors(response.text))
    assert _hooks(session)[0].url == "https://partenaire.example/hook"


# --- edit, pause, test, secret, delete -----------------------------------------------------------


def test_staff_change_the_events_and_pause_an_endpoint(staff_client, session, staff_user):
    hook = _make_hook(session, events="need.published")
    response = post_form(
        staff_client,
        f"/moderation/webhooks/{hook.id}",
        _form(events=["idea.stage_changed", "need.status_changed"], description="Agenda"),
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/moderation/webhooks/{hook.id}?done=saved"
    [saved] = _hooks(session)
    # Canonical order, whatever the order of the form.
    assert saved.event_list() == ["need.status_changed", "idea.stage_changed"]
    assert saved.description == "Agenda"
    assert saved.active is False  # the box was not sent: paused
    assert saved.secret == "whsec_initial"
    [entry] = _audit(session, "webhook.update")
    assert entry.before["active"] is True and entry.after["active"] is False
    page = staff_client.get(response.headers["location"])
    assert "Ce webhook est en pause" in page_text(page.text)
    listing = page_text(staff_client.get("/moderation/webhooks").text)
    assert "En pause" in listing and "Idée passée à une autre étape" in listing

    post_form(staff_client, f"/moderation/webhooks/{hook.id}", _form(active="1"))
    assert _hooks(session)[0].active is True


def test_a_bad_edit_keeps_the_typed_values_and_changes_nothing(staff_client, session):
    hook = _make_hook(session)
    response = post_form(
        staff_client, f"/moderation/webhooks/{hook.id}", _form(url="gopher://x", events=[])
    )
    assert response.status_code == 422
    errors = form_errors(response.text)
    assert any("commençant par https://" in error for error in errors)
    assert any("Choisissez au moins un événement" in error for error in errors)
    tree = LexborHTMLParser(response.text)
    assert tree.css_first("#f-url").attributes["value"] == "gopher://x"
    [unchanged] = _hooks(session)
    assert (unchanged.url, unchanged.events) == (
        "https://partenaire.example/hook",
        "need.published",
    )
    assert _audit(session) == []


def test_the_test_button_queues_one_ping_delivery(staff_client, session):
    hook = _make_hook(session, active=False)  # a paused endpoint can still be tested
    response = post_form(staff_client, f"/moderation/webhooks/{hook.id}/ping")
    assert response.status_code == 303
    assert response.headers["location"] == f"/moderation/webhooks/{hook.id}?done=pinged#deliveries"
    [delivery] = _deliveries(session)
    assert (delivery.webhook_id, delivery.event, delivery.status) == (hook.id, "ping", "queued")
    assert len(_audit(session, "webhook.ping")) == 1
    page = staff_client.get(response.headers["location"])
    assert "dans les secondes qui viennent" in page_text(page.text)
    assert "Événement de test" in page_text(page.text, "#deliveries")


def test_regenerating_the_secret_needs_the_confirmation_box(staff_client, session):
    hook = _make_hook(session)
    refused = post_form(staff_client, f"/moderation/webhooks/{hook.id}/secret")
    assert refused.status_code == 422
    assert "Cochez la case pour confirmer." in form_errors(refused.text)
    assert _hooks(session)[0].secret == "whsec_initial"

    response = post_form(staff_client, f"/moderation/webhooks/{hook.id}/secret", {"confirm": "1"})
    assert response.status_code == 303
    secret = _hooks(session)[0].secret
    assert secret != "whsec_initial" and secret.startswith("whsec_")
    [entry] = _audit(session, "webhook.secret")
    assert secret not in str(entry.after) and secret not in str(entry.before)


def test_deleting_needs_the_confirmation_and_removes_the_log(staff_client, session):
    hook = _make_hook(session)
    other = _make_hook(session, url="https://autre.example/hook")
    _make_delivery(session, hook)
    kept = _make_delivery(session, other)
    hook_id, other_id, kept_id = hook.id, other.id, kept.id

    refused = post_form(staff_client, f"/moderation/webhooks/{hook_id}/delete")
    assert refused.status_code == 422
    assert len(_hooks(session)) == 2

    response = post_form(staff_client, f"/moderation/webhooks/{hook_id}/delete", {"confirm": "1"})
    assert response.status_code == 303
    assert response.headers["location"] == "/moderation/webhooks?done=deleted"
    assert [h.id for h in _hooks(session)] == [other_id]
    assert [d.id for d in _deliveries(session)] == [kept_id]
    [entry] = _audit(session, "webhook.delete")
    assert entry.before["url"] == "https://partenaire.example/hook"
    assert staff_client.get(f"/moderation/webhooks/{hook_id}").status_code == 404


# --- delivery log ------------------------------------------------------------------------------


def test_retry_requeues_only_a_failed_delivery_of_that_endpoint(staff_client, session):
    hook = _make_hook(session)
    other = _make_hook(session, url="https://autre.example/hook")
    failed = _make_delivery(
        session,
        hook,
        status="failed",
        attempts=8,
        last_status_code=500,
        last_error="HTTP 500",
        next_attempt_at=utcnow() + timedelta(days=3),
        locked_until=utcnow() + timedelta(minutes=1),
    )
    delivered = _make_delivery(session, hook, status="delivered", attempts=1)
    foreign = _make_delivery(session, other, status="failed", attempts=8)

    response = post_form(
        staff_client, f"/moderation/webhooks/{hook.id}/deliveries/{failed.id}/retry"
    )
    assert response.status_code == 303
    requeued = fresh(session).get(WebhookDelivery, failed.id)
    assert (requeued.status, requeued.attempts, requeued.locked_until) == ("queued", 0, None)
    assert requeued.next_attempt_at <= utcnow()
    assert len(_audit(session, "webhook.retry")) == 1

    not_failed = post_form(
        staff_client, f"/moderation/webhooks/{hook.id}/deliveries/{delivered.id}/retry"
    )
    assert not_failed.status_code == 409
    assert "Seul un envoi en échec peut être renvoyé." in not_failed.text
    assert fresh(session).get(WebhookDelivery, delivered.id).status == "delivered"

    # Another endpoint's delivery is not reachable through this endpoint's address.
    wrong_hook = post_form(
        staff_client, f"/moderation/webhooks/{hook.id}/deliveries/{foreign.id}/retry"
    )
    assert wrong_hook.status_code == 404
    assert fresh(session).get(WebhookDelivery, foreign.id).status == "failed"
    assert len(_audit(session, "webhook.retry")) == 1


def test_the_log_shows_french_statuses_and_escaped_payloads(staff_client, session):
    hook = _make_hook(session)
    other = _make_hook(session, url="https://autre.example/hook")
    _make_delivery(session, hook, status="delivered", attempts=1, delivered_at=utcnow())
    _make_delivery(
        session,
        hook,
        status="failed",
        attempts=8,
        last_status_code=502,
        last_error="Bad gateway",
        payload='{"data":{"need":{"title":"<script>alert(1)</script>"}}}',
    )
    _make_delivery(session, hook, status="queued", attempts=2)
    _make_delivery(session, other, event="comment.published", payload='{"secret":"ailleurs"}')

    response = staff_client.get(f"/moderation/webhooks/{hook.id}")
    tree = LexborHTMLParser(response.text)
    rows = tree.css("#deliveries tbody tr")
    assert [row.css_first(".badge-status").text(strip=True) for row in rows] == [
        "En attente",
        "Échoué",
        "Réussi",
    ]
    assert rows[0].css_first("th").text(strip=True) == "Besoin publié"
    # The payload is text, pretty-printed: never markup of the page.
    assert "<script>alert(1)</script>" not in response.text
    payload = rows[1].css_first("details pre").text()
    assert '"title": "<script>alert(1)</script>"' in payload
    assert "Bad gateway" in rows[1].text() and "502" in rows[1].text()
    assert [row.css_first("form button") is not None for row in rows] == [False, True, False]
    # Only this endpoint's deliveries.
    assert "ailleurs" not in response.text and "Commentaire publié" not in page_text(
        response.text, "#deliveries"
    )

    failed_only = LexborHTMLParser(
        staff_client.get(f"/moderation/webhooks/{hook.id}?status=failed").text
    )
    assert [r.css_first(".badge-status").text(strip=True) for r in failed_only.css("tbody tr")] == [
        "Échoué"
    ]


def test_the_log_shows_fifty_deliveries_and_links_to_older_ones(staff_client, session):
    hook = _make_hook(session)
    session.add_all(
        WebhookDelivery(
            webhook_id=hook.id,
            event="need.published",
            event_id=f"00000000-0000-0000-0000-{n:012d}",
            payload=f'{{"n":{n}}}',
        )
        for n in range(55)
    )
    session.commit()
    ids = [d.id for d in _deliveries(session, hook.id)]

    tree = LexborHTMLParser(staff_client.get(f"/moderation/webhooks/{hook.id}").text)
    assert len(tree.css("#deliveries tbody tr")) == 50
    older = [a for a in tree.css("#deliveries a") if a.text(strip=True) == "Plus anciennes"]
    assert older[0].attributes["href"].startswith(f"/moderation/webhooks/{hook.id}?before=")

    rest = LexborHTMLParser(staff_client.get(older[0].attributes["href"]).text)
    payloads = [row.css_first("pre").text() for row in rest.css("#deliveries tbody tr")]
    assert len(payloads) == 5 and '"n": 0' in payloads[-1]
    assert not [a for a in rest.css("#deliveries a") if a.text(strip=True) == "Plus anciennes"]
    assert ids[0] < ids[-1]


def test_the_list_shows_the_last_delivery_and_recent_failures(staff_client, session):
    busy = _make_hook(session, description="Ville de Pessac")
    quiet = _make_hook(session, url="https://calme.example/hook")
    _make_delivery(session, busy, status="failed", created_at=utcnow() - timedelta(days=8))
    _make_delivery(session, busy, status="failed", created_at=utcnow() - timedelta(days=2))
    _make_delivery(session, busy, status="failed", created_at=utcnow() - timedelta(days=1))
    _make_delivery(session, busy, status="delivered", created_at=utcnow())

    response = staff_client.get("/moderation/webhooks")
    tree = LexborHTMLParser(response.text)
    rows = {row.css_first("th a").text(strip=True): row for row in tree.css("tbody tr")}
    cells = [cell.text(strip=True) for cell in rows[busy.url].css("td")]
    assert cells[0] == "Ville de Pessac"
    assert cells[1] == "Besoin publié"
    assert cells[2] == "Actif"
    assert cells[3].startswith("Réussi")
    assert cells[4].startswith("2")  # the failure of 8 days ago is not counted
    quiet_cells = [cell.text(strip=True) for cell in rows[quiet.url].css("td")]
    assert quiet_cells[3] == "Aucun envoi" and quiet_cells[4] == "0"
    assert tree.css_first('a[href="/api/v1/docs#webhooks"]') is not None
    assert "X-Bourse-Signature" in page_text(response.text)


@pytest.mark.parametrize(
    "path",
    [
        "/moderation/webhooks/abc",
        "/moderation/webhooks/0",
        "/moderation/webhooks/99999999999",
        "/moderation/webhooks/424242",
    ],
)
def test_unknown_or_malformed_ids_are_not_found(staff_client, session, path):
    assert staff_client.get(path).status_code == 404
    for action in ("", "/ping", "/secret", "/delete", "/deliveries/1/retry"):
        assert post_form(staff_client, path + action, {"confirm": "1"}).status_code == 404


def test_a_malformed_delivery_id_is_not_found(staff_client, session):
    hook = _make_hook(session)
    for delivery_id in ("abc", "0", "99999999999", "424242"):
        response = post_form(
            staff_client, f"/moderation/webhooks/{hook.id}/deliveries/{delivery_id}/retry"
        )
        assert response.status_code == 404
    assert _audit(session) == []
