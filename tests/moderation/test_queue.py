"""The moderation queue: pending needs and comments and reported items, one entry per item,
oldest first, filterable; and the decisions on needs taken from it (each one changes the need,
is audited, reaches the author with its reason; two moderators never overwrite each other)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import func, select

from app.board.models import Need, Notification
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.moderation.queue import PER_PAGE
from app.moderation.service import decide
from app.web.errors import Conflict, Invalid
from tests.factories import login_as, make_need, make_user, page_text, post_form, submit_form
from tests.moderation.queue_helpers import make_comment, make_report


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(model)).one()


def _item_ids(html: str) -> list[str]:
    return [node.attributes["id"] for node in LexborHTMLParser(html).css("li[data-queue-item]")]


def _item(html: str, key: str):  # type: ignore[no-untyped-def]
    return LexborHTMLParser(html).css_first(f"#item-{key}")


@pytest.fixture
def pending(session):  # type: ignore[no-untyped-def]
    return make_need(session, title="Un besoin en attente de validation", status="pending")


# --- what the queue shows --------------------------------------------------------------------


def test_pending_and_reported_items_are_listed_oldest_first(client, session, signed_in_moderator):
    now = utcnow()
    reporter = make_user(session)
    old_need = make_need(session, status="pending", created_at=now - timedelta(days=2))
    published = make_need(session, created_at=now - timedelta(days=10))
    comment = make_comment(
        session, published, make_user(session), status="pending", created_at=now - timedelta(days=1)
    )
    # Reported three days ago: older than both pending items, whatever its creation date.
    make_report(session, reporter, "need", published.id, created_at=now - timedelta(days=3))
    page = client.get("/moderation/queue").text
    assert _item_ids(page) == [
        f"item-need-{published.id}",
        f"item-need-{old_need.id}",
        f"item-comment-{comment.id}",
    ]
    assert "3 éléments à traiter" in page_text(page)


def test_reports_are_grouped_into_one_entry_with_distinct_reporters(
    client, session, signed_in_moderator
):
    need = make_need(session)
    first, second = make_user(session, display_name="Bérénice"), make_user(session)
    # Three reports from two accounts: the first person's earlier report was already closed.
    make_report(session, first, "need", need.id, reason="spam", status="dismissed")
    make_report(
        session, first, "need", need.id, reason="abusive", detail="Insultes en fin de texte"
    )
    make_report(session, second, "need", need.id, reason="abusive")
    page = client.get("/moderation/queue").text
    assert _item_ids(page) == [f"item-need-{need.id}"]
    item = _item(page, f"need-{need.id}")
    text = item.text(separator=" ")
    assert "Signalé par 2 personnes" in text
    assert "Propos injurieux 2" in " ".join(text.split())
    assert "Bérénice" in text and "Insultes en fin de texte" in text
    assert item.css_first(f'a[href="/moderation/accounts/{first.id}"]') is not None
    assert item.css_first('button[value="hide"]') is not None
    assert item.css_first(f'form[action="/moderation/reports/need/{need.id}/dismiss"]') is not None


def test_a_reported_account_links_to_its_page_and_can_be_dismissed(
    client, session, signed_in_moderator
):
    account = make_user(session, display_name="Compte douteux")
    make_report(session, make_user(session), "user", account.id, reason="spam")
    page = client.get("/moderation/queue?kind=account").text
    item = _item(page, f"user-{account.id}")
    assert "Compte douteux" in item.text()
    assert item.css_first(f'a[href="/moderation/accounts/{account.id}"]') is not None
    assert item.css_first(f'form[action="/moderation/reports/account/{account.id}/dismiss"]')


def test_an_automatically_hidden_item_appears_as_reported(client, session, signed_in_moderator):
    need = make_need(session, status="hidden")
    for _n in range(3):
        make_report(session, make_user(session), "need", need.id)
    page = client.get("/moderation/queue").text
    item = _item(page, f"need-{need.id}")
    assert "Signalé par 3 personnes" in item.text(separator=" ")
    assert item.css_first('button[value="restore"]') is not None


def test_the_kind_filter(client, session, signed_in_moderator):
    need = make_need(session, status="pending")
    comment = make_comment(session, make_need(session), make_user(session), status="pending")
    account = make_user(session)
    make_report(session, make_user(session), "user", account.id)
    assert _item_ids(client.get("/moderation/queue?kind=need").text) == [f"item-need-{need.id}"]
    assert _item_ids(client.get("/moderation/queue?kind=comment").text) == [
        f"item-comment-{comment.id}"
    ]
    assert _item_ids(client.get("/moderation/queue?kind=account").text) == [
        f"item-user-{account.id}"
    ]


def test_the_reason_filter_keeps_items_reported_for_that_reason(
    client, session, signed_in_moderator
):
    make_need(session, status="pending")
    abusive = make_need(session)
    spam = make_need(session)
    make_report(session, make_user(session), "need", abusive.id, reason="abusive")
    make_report(session, make_user(session), "need", spam.id, reason="spam")
    page = client.get("/moderation/queue?reason=abusive").text
    assert _item_ids(page) == [f"item-need-{abusive.id}"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("kind=idea", "Type inconnu"),
        ("reason=boring", "Motif de signalement inconnu"),
        ("page=0", "numéro de page"),
        ("page=abc", "numéro de page"),
    ],
)
def test_unknown_filter_values_are_a_clear_400(
    client, session, signed_in_moderator, query, message
):
    response = client.get(f"/moderation/queue?{query}")
    assert response.status_code == 400
    assert message in response.text


def test_the_queue_shows_fifty_items_a_page_and_the_total(client, session, signed_in_moderator):
    author = make_user(session)
    start = utcnow() - timedelta(days=1)
    for n in range(PER_PAGE + 3):
        make_need(session, author=author, status="pending", created_at=start + timedelta(minutes=n))
    first = client.get("/moderation/queue").text
    assert len(_item_ids(first)) == PER_PAGE
    assert "53 éléments à traiter" in page_text(first) and "page 1 sur 2" in page_text(first)
    second = client.get("/moderation/queue?page=2").text
    assert len(_item_ids(second)) == 3


def test_the_dashboard_counts_what_waits_and_links_to_the_queue(
    client, session, signed_in_moderator
):
    make_need(session, status="pending")
    make_need(session, status="pending")
    make_comment(session, make_need(session), make_user(session), status="pending")
    reported = make_need(session)
    make_report(session, make_user(session), "need", reported.id)
    make_report(session, make_user(session), "need", reported.id)
    page = client.get("/moderation/").text
    text = page_text(page)
    assert "2 besoins en attente de validation" in text
    assert "1 commentaire en attente de validation" in text
    assert "1 contenu ou compte signalé" in text and "2 signalements ouverts" in text
    links = {a.attributes["href"] for a in LexborHTMLParser(page).css("main a")}
    assert {"/moderation/queue?kind=need", "/moderation/queue?kind=comment"} <= links


def test_a_boosted_visit_turns_into_a_full_page_load_for_the_shortcuts(
    client, session, signed_in_moderator
):
    response = client.get(
        "/moderation/queue?kind=need", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert response.headers["HX-Redirect"] == "/moderation/queue?kind=need"
    page = client.get("/moderation/queue").text
    assert '<script src="/static/js/moderation.js" defer></script>' in page
    assert "Raccourcis clavier" in page


# --- decisions on needs ----------------------------------------------------------------------


def test_the_queue_offers_every_decision_on_a_pending_need(
    client, session, signed_in_moderator, pending
):
    page = client.get("/moderation/queue").text
    item = _item(page, f"need-{pending.id}")
    values = {b.attributes["value"] for b in item.css("button[name=decision]")}
    assert values == {"approve", "trust", "reject", "reject_block", "covered"}
    assert item.attributes["tabindex"] == "-1"
    for field in item.css("input:not([type=hidden]), select, textarea"):
        assert item.css_first(f'label[for="{field.attributes["id"]}"]') is not None


def test_approving_publishes_audits_and_tells_the_author(
    client, session, signed_in_moderator, pending
):
    response = post_form(
        client,
        f"/moderation/needs/{pending.id}/decision",
        {"decision": "approve", "seen_status": "pending"},
    )
    assert response.status_code == 303
    session.expire_all()
    assert session.get(Need, pending.id).status == "published"  # type: ignore[union-attr]
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.action, entry.actor_id, entry.before, entry.after) == (
        "need.approve",
        signed_in_moderator.id,
        {"status": "pending"},
        {"status": "published"},
    )
    note = session.exec(select(Notification).where(Notification.user_id == pending.author_id)).one()
    assert note.kind == "moderation" and "validé" in note.message
    assert pending.title in client.get("/").text


def test_a_decision_returns_to_the_filtered_queue(client, session, signed_in_moderator, pending):
    response = post_form(
        client,
        f"/moderation/needs/{pending.id}/decision",
        {"decision": "approve", "seen_status": "pending", "back": "kind=need&evil=1&reason=x"},
    )
    assert response.headers["location"] == "/moderation/queue?kind=need&done=1"


def test_rejecting_needs_a_reason_and_writes_nothing_without_one(
    client, session, signed_in_moderator, pending
):
    response = post_form(
        client,
        f"/moderation/needs/{pending.id}/decision",
        {"decision": "reject", "seen_status": "pending", "detail": "gardé"},
    )
    assert response.status_code == 422
    item = _item(response.text, f"need-{pending.id}")
    select_node = item.css_first("select[name=reason]")
    assert select_node.attributes["aria-invalid"] == "true"
    error_id = select_node.attributes["aria-describedby"].split()[-1]
    assert "Choisissez un motif" in item.css_first(f"#{error_id}").text()
    assert item.css_first("input[name=detail]").attributes["value"] == "gardé"
    session.expire_all()
    assert session.get(Need, pending.id).status == "pending"  # type: ignore[union-attr]
    assert _count(session, AuditEntry) == 0
    assert _count(session, Notification) == 0


def test_a_rejection_reaches_the_author_with_its_reason(
    client, session, signed_in_moderator, pending
):
    post_form(
        client,
        f"/moderation/needs/{pending.id}/decision",
        {
            "decision": "reject",
            "seen_status": "pending",
            "reason": "off_topic",
            "detail": "Voir la charte",
        },
    )
    session.expire_all()
    need = session.get(Need, pending.id)
    assert need.status == "rejected"  # type: ignore[union-attr]
    assert need.moderation_reason.startswith("Hors sujet")  # type: ignore[union-attr]
    note = session.exec(select(Notification)).one()
    assert "Hors sujet" in note.message and "Voir la charte" in note.message
    assert session.exec(select(AuditEntry)).one().reason.startswith("Hors sujet")


def test_the_second_moderator_is_told_who_handled_it_and_nothing_is_overwritten(session, pending):
    alice = make_user(session, role="moderator", display_name="Alice")
    bob = make_user(session, role="moderator", display_name="Bob")
    decide(session, alice, "need", pending.id, "approve", seen_status="pending")
    with pytest.raises(Conflict, match="Alice"):
        decide(session, bob, "need", pending.id, "reject", seen_status="pending", reason="spam")
    session.expire_all()
    assert session.get(Need, pending.id).status == "published"  # type: ignore[union-attr]
    assert _count(session, AuditEntry) == 1


def test_the_conflict_is_a_clear_page_in_the_queue(client, session, pending):
    decide(
        session,
        make_user(session, role="moderator", display_name="Alice"),
        "need",
        pending.id,
        "approve",
        seen_status="pending",
    )
    login_as(client, make_user(session, role="moderator"), session)
    response = post_form(
        client,
        f"/moderation/needs/{pending.id}/decision",
        {"decision": "approve", "seen_status": "pending"},
    )
    assert response.status_code == 409
    assert "déjà été traité par Alice" in response.text


def test_with_htmx_the_answer_replaces_the_item(client, session, signed_in_moderator, pending):
    response = post_form(
        client,
        f"/moderation/needs/{pending.id}/decision",
        {"decision": "approve", "seen_status": "pending"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    done = LexborHTMLParser(response.text).css_first("li")
    assert done.attributes["id"] == f"item-need-{pending.id}"
    assert "data-queue-done" in done.attributes
    assert "Besoin validé" in done.text()


def test_with_htmx_a_refused_form_comes_back_in_place(
    client, session, signed_in_moderator, pending
):
    response = post_form(
        client,
        f"/moderation/needs/{pending.id}/decision",
        {"decision": "reject", "seen_status": "pending"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    item = LexborHTMLParser(response.text).css_first("li")
    assert item.attributes["id"] == f"item-need-{pending.id}"
    assert "Choisissez un motif" in item.text()


def test_with_htmx_a_conflict_says_who_was_faster(client, session, signed_in_moderator, pending):
    decide(
        session,
        make_user(session, role="moderator", display_name="Bob"),
        "need",
        pending.id,
        "approve",
        seen_status="pending",
    )
    response = post_form(
        client,
        f"/moderation/needs/{pending.id}/decision",
        {"decision": "reject", "seen_status": "pending", "reason": "spam"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 409
    assert "déjà été traité par Bob" in response.text


def test_hide_then_restore_a_published_need(session):
    moderator = make_user(session, role="moderator")
    need = make_need(session)
    decide(session, moderator, "need", need.id, "hide", seen_status="published", reason="spam")
    assert session.get(Need, need.id).status == "hidden"  # type: ignore[union-attr]
    decide(session, moderator, "need", need.id, "restore", seen_status="hidden")
    assert session.get(Need, need.id).status == "published"  # type: ignore[union-attr]
    actions = session.exec(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["need.hide", "need.restore"]


@pytest.mark.parametrize(
    ("decision", "seen", "extra"),
    [
        ("bogus", "pending", {}),
        ("approve", "published", {}),
        ("reject", "pending", {"reason": "other"}),
        ("covered", "pending", {}),
    ],
)
def test_invalid_decisions_are_refused_with_a_message(session, pending, decision, seen, extra):
    with pytest.raises(Invalid):
        decide(
            session,
            make_user(session, role="moderator"),
            "need",
            pending.id,
            decision,
            seen_status=seen,
            **extra,
        )
    assert _count(session, AuditEntry) == 0


def test_an_unknown_need_is_a_404(client, session, signed_in_moderator):
    response = post_form(
        client,
        "/moderation/needs/999999/decision",
        {"decision": "approve", "seen_status": "pending"},
    )
    assert response.status_code == 404


def _approve_with_htmx(client, page: str, need_id: int, current_url: str):  # type: ignore[no-untyped-def]
    """« Valider » pressed on the need's item of the queue `page`, as htmx sends it from
    `current_url` (the HX-Current-URL header)."""
    html = LexborHTMLParser(page).css_first(f"#item-need-{need_id} form.queue-actions").html
    return submit_form(
        client,
        "",
        f"/moderation/needs/{need_id}/decision",
        html=html,
        press="decision=approve",
        headers={"HX-Request": "true", "HX-Current-URL": current_url},
    )


def test_a_current_url_that_is_no_address_counts_the_whole_queue(
    client, session, signed_in_moderator
):
    # HX-Current-URL is the client's word: brackets that hold no IPv6 address made urlsplit
    # raise (was a 500); the counter then follows no filter.
    first = make_need(session, status="pending")
    make_need(session, status="pending")
    page = client.get("/moderation/queue").text
    response = _approve_with_htmx(client, page, first.id, "http://[testserver/moderation/queue")
    assert response.status_code == 200
    assert "1 élément à traiter" in page_text(response.text, "#queue-total")


def test_the_counter_follows_each_decision_made_with_htmx(client, session, signed_in_moderator):
    first = make_need(session, status="pending")
    make_need(session, status="pending")
    make_need(session, status="pending")
    page = client.get("/moderation/queue?kind=need").text
    assert "3 éléments à traiter" in page_text(page, "#queue-total")
    # « Valider » pressed with htmx on the filtered queue: the item's answer carries the
    # counter out of band, for the same filters.
    current = "http://testserver/moderation/queue?kind=need"
    response = _approve_with_htmx(client, page, first.id, current)
    assert response.status_code == 200
    counter = LexborHTMLParser(response.text).css_first("#queue-total")
    assert counter is not None and counter.attributes.get("data-hx-swap-oob") == "true"
    assert "2 éléments à traiter" in counter.text()
    # Without htmx the page itself says the same.
    assert "2 éléments à traiter" in page_text(client.get("/moderation/queue").text, "#queue-total")
