"""Reports in the queue: « classer » closes them (audited), an item hidden only because of its
reports comes back, newer reports stay open; and bulk actions, each item handled as if alone."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.board.models import Comment, Need, Report
from app.core.audit import AuditEntry
from app.moderation.service import decide
from tests.factories import fresh, login_as, make_need, make_user, page_text, post_form
from tests.moderation.queue_helpers import (
    audit_actions,
    count,
    make_comment,
    make_report,
    notes_for,
)


def _dismiss(client, kind, target_id, seen_report=None, **extra):  # type: ignore[no-untyped-def]
    data = {"seen_report": str(seen_report) if seen_report else "", **extra}
    return post_form(client, f"/moderation/reports/{kind}/{target_id}/dismiss", data)


def _report_auto_hide(client, session, need, people: int):  # type: ignore[no-untyped-def]
    """Reports through the site, as residents do, until the automatic hiding applies."""
    for _n in range(people):
        login_as(client, make_user(session), session)
        response = post_form(client, "/report", {"kind": "need", "id": need.id, "reason": "spam"})
        assert response.status_code in (200, 303)


def test_dismissing_closes_the_open_reports_and_is_audited(client, session):
    need = make_need(session)
    first = make_report(session, make_user(session), "need", need.id)
    last = make_report(session, make_user(session), "need", need.id, reason="off_topic")
    moderator = make_user(session, role="moderator")
    login_as(client, moderator, session)
    response = _dismiss(client, "need", need.id, last.id)
    assert response.status_code == 303
    fresh(session)
    reports = session.exec(select(Report).order_by(Report.id)).all()  # type: ignore[arg-type]
    assert [r.status for r in reports] == ["dismissed", "dismissed"]
    assert all(r.resolved_at is not None for r in reports)
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.action, entry.target_kind, entry.target_id, entry.actor_id) == (
        "report.dismiss",
        "need",
        need.id,
        moderator.id,
    )
    assert entry.before == {"open_reports": 2} and entry.after == {"open_reports": 0}
    assert first.id < last.id
    assert f"item-need-{need.id}" not in client.get("/moderation/queue").text
    assert session.get(Need, need.id).status == "published"  # type: ignore[union-attr]


def test_a_report_made_after_the_page_was_shown_stays_open(client, session):
    need = make_need(session)
    seen = make_report(session, make_user(session), "need", need.id)
    newer = make_report(session, make_user(session), "need", need.id)
    login_as(client, make_user(session, role="moderator"), session)
    assert _dismiss(client, "need", need.id, seen.id).status_code == 303
    fresh(session)
    assert session.get(Report, newer.id).status == "open"  # type: ignore[union-attr]
    page = client.get("/moderation/queue").text
    assert "Signalé par 1 personne" in page_text(page, f"#item-need-{need.id}")


def test_dismissing_twice_says_who_was_first(client, session):
    need = make_need(session)
    report = make_report(session, make_user(session), "need", need.id)
    login_as(client, make_user(session, role="moderator", display_name="Alice"), session)
    _dismiss(client, "need", need.id, report.id)
    login_as(client, make_user(session, role="moderator"), session)
    response = _dismiss(client, "need", need.id, report.id)
    assert response.status_code == 409
    assert "déjà été traité par Alice" in response.text
    assert count(session, AuditEntry) == 1


def test_dismissing_the_reports_of_an_automatically_hidden_need_restores_it(client, session):
    author = make_user(session)
    need = make_need(session, author=author)
    _report_auto_hide(client, session, need, 3)
    fresh(session)
    assert session.get(Need, need.id).status == "hidden"  # type: ignore[union-attr]
    moderator = make_user(session, role="moderator")
    login_as(client, moderator, session)
    page = client.get("/moderation/queue").text
    form = LexborHTMLParser(page).css_first(
        f'form[action="/moderation/reports/need/{need.id}/dismiss"]'
    )
    seen = form.css_first("input[name=seen_report]").attributes["value"]
    response = _dismiss(client, "need", need.id, seen, back="kind=need")
    assert response.headers["location"] == "/moderation/queue?kind=need&done=1"
    fresh(session)
    stored = session.get(Need, need.id)
    assert stored.status == "published" and stored.moderation_reason == ""  # type: ignore[union-attr]
    assert [a for a, _k, _i in audit_actions(session)] == [
        "need.auto_hide",
        "report.dismiss",
        "need.restore",
    ]
    assert "de nouveau visible" in notes_for(session, author)[-1].message


def test_a_need_hidden_by_a_moderator_stays_hidden_when_reports_are_dismissed(client, session):
    need = make_need(session)
    moderator = make_user(session, role="moderator")
    decide(session, moderator, "need", need.id, "hide", seen_status="published", reason="spam")
    report = make_report(session, make_user(session), "need", need.id)
    login_as(client, moderator, session)
    assert _dismiss(client, "need", need.id, report.id).status_code == 303
    fresh(session)
    assert session.get(Need, need.id).status == "hidden"  # type: ignore[union-attr]


def test_dismissing_restores_an_automatically_hidden_comment_and_its_count(client, session):
    need = make_need(session)
    comment = make_comment(session, need, make_user(session))
    hidden = session.get(Comment, comment.id)
    hidden.status = "hidden"  # type: ignore[union-attr]
    session.add(hidden)
    stored_need = session.get(Need, need.id)
    stored_need.comments_count = 0  # type: ignore[union-attr]
    session.add(stored_need)
    session.commit()
    report = make_report(session, make_user(session), "comment", comment.id, reason="abusive")
    login_as(client, make_user(session, role="moderator"), session)
    assert _dismiss(client, "comment", comment.id, report.id).status_code == 303
    fresh(session)
    assert session.get(Comment, comment.id).status == "published"  # type: ignore[union-attr]
    assert session.get(Need, need.id).comments_count == 1  # type: ignore[union-attr]


def test_dismissing_the_reports_on_an_account(client, session):
    account = make_user(session)
    report = make_report(session, make_user(session), "user", account.id)
    login_as(client, make_user(session, role="moderator"), session)
    response = post_form(
        client,
        f"/moderation/reports/account/{account.id}/dismiss",
        {"seen_report": str(report.id)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "data-queue-done" in response.text
    fresh(session)
    assert session.get(Report, report.id).status == "dismissed"  # type: ignore[union-attr]
    assert session.exec(select(AuditEntry)).one().target_kind == "user"


def test_dismissing_without_reports_or_on_an_unknown_kind_is_a_404(client, session):
    need = make_need(session)
    login_as(client, make_user(session, role="moderator"), session)
    assert _dismiss(client, "need", need.id).status_code == 404
    assert _dismiss(client, "idea", need.id).status_code == 404
    assert count(session, AuditEntry) == 0


# --- bulk ------------------------------------------------------------------------------------


def _bulk(client, action, items, **extra):  # type: ignore[no-untyped-def]
    return post_form(client, "/moderation/queue/bulk", {"action": action, "items": items, **extra})


def test_bulk_approve_with_one_stale_item_does_the_others_and_says_which_failed(client, session):
    first = make_need(session, status="pending")
    second = make_need(session, status="pending")
    stale = make_need(session, status="pending")
    decide(
        session,
        make_user(session, role="moderator", display_name="Bob"),
        "need",
        stale.id,
        "reject",
        seen_status="pending",
        reason="spam",
    )
    login_as(client, make_user(session, role="moderator"), session)
    items = [f"need:{n.id}:pending:" for n in (first, second, stale)]
    response = _bulk(client, "approve", items, back="kind=need")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/moderation/queue?kind=need&bulk=1")
    fresh(session)
    statuses = [session.get(Need, n.id).status for n in (first, second, stale)]  # type: ignore[union-attr]
    assert statuses == ["published", "published", "rejected"]
    summary = page_text(client.get(response.headers["location"]).text, ".notice")
    assert "2 éléments traités" in summary
    assert f"Besoin n° {stale.id}" in summary and "déjà traité par Bob" in summary


def test_bulk_reject_needs_one_reason_and_writes_nothing_without_it(client, session):
    need = make_need(session, status="pending")
    comment = make_comment(session, make_need(session), make_user(session), status="pending")
    login_as(client, make_user(session, role="moderator"), session)
    items = [f"need:{need.id}:pending:", f"comment:{comment.id}:pending:"]
    refused = _bulk(client, "reject", items)
    assert refused.status_code == 422
    select_node = LexborHTMLParser(refused.text).css_first("#bulk-reason")
    assert select_node.attributes["aria-invalid"] == "true"
    assert count(session, AuditEntry) == 0
    response = _bulk(client, "reject", items, reason="off_topic")
    assert response.status_code == 303
    fresh(session)
    assert session.get(Need, need.id).status == "rejected"  # type: ignore[union-attr]
    assert session.get(Comment, comment.id).status == "hidden"  # type: ignore[union-attr]
    assert {a for a, _k, _i in audit_actions(session)} == {"need.reject", "comment.reject"}


def test_bulk_hide_and_dismiss(client, session):
    reported = make_need(session)
    other = make_need(session)
    spam = make_report(session, make_user(session), "need", reported.id)
    noise = make_report(session, make_user(session), "need", other.id)
    login_as(client, make_user(session, role="moderator"), session)
    _bulk(client, "hide", [f"need:{reported.id}:published:{spam.id}"], reason="spam")
    _bulk(client, "dismiss", [f"need:{other.id}:published:{noise.id}"])
    fresh(session)
    assert session.get(Need, reported.id).status == "hidden"  # type: ignore[union-attr]
    assert session.get(Report, spam.id).status == "actioned"  # type: ignore[union-attr]
    assert session.get(Report, noise.id).status == "dismissed"  # type: ignore[union-attr]
    assert session.get(Need, other.id).status == "published"  # type: ignore[union-attr]


def test_bulk_without_a_selection_or_with_garbage_says_so(client, session):
    login_as(client, make_user(session, role="moderator"), session)
    make_need(session, status="pending")
    empty = _bulk(client, "approve", [])
    assert empty.status_code == 422 and "Cochez au moins un élément" in empty.text
    garbage = _bulk(client, "approve", ["need:abc", "idea:1:x:"])
    assert garbage.status_code == 422 and "illisible" in garbage.text
    unknown = _bulk(client, "explode", ["need:1:pending:"])
    assert unknown.status_code == 422
    assert "Choisissez l'action" in page_text(unknown.text)
    assert count(session, AuditEntry) == 0


def test_the_queue_items_carry_their_bulk_checkbox(client, session):
    need = make_need(session, status="pending")
    login_as(client, make_user(session, role="moderator"), session)
    page = LexborHTMLParser(client.get("/moderation/queue").text)
    box = page.css_first(f"#need-{need.id}-select")
    assert box.attributes["form"] == "bulk-form"
    assert box.attributes["value"] == f"need:{need.id}:pending:"
    assert page.css_first(f'label[for="need-{need.id}-select"]') is not None
    assert page.css_first("form#bulk-form") is not None
