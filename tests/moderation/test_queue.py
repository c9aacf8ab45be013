"""The validation queue: each decision changes the need, is audited, reaches the author with
its reason, and two moderators never overwrite each other."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from app.board.models import Need, Notification
from app.moderation.models import AuditEntry
from app.moderation.service import decide_need
from app.web.errors import Conflict, Invalid
from tests.factories import login_as, make_need, make_user, post_form


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def pending(session):  # type: ignore[no-untyped-def]
    return make_need(session, title="Un besoin en attente de validation", status="pending")


def test_the_queue_lists_pending_needs_oldest_first(client, session, pending):
    login_as(client, make_user(session, role="moderator"), session)
    page = client.get("/moderation/queue").text
    assert pending.title in page
    assert 'value="approve"' in page and 'value="reject"' in page


def test_approving_publishes_audits_and_tells_the_author(client, session, pending):
    moderator = make_user(session, role="moderator", display_name="Alice")
    login_as(client, moderator, session)
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
        moderator.id,
        {"status": "pending"},
        {"status": "published"},
    )
    note = session.exec(select(Notification).where(Notification.user_id == pending.author_id)).one()
    assert note.kind == "moderation" and "validé" in note.message
    assert pending.title in client.get("/").text


def test_rejecting_needs_a_reason_and_writes_nothing_without_one(client, session, pending):
    login_as(client, make_user(session, role="moderator"), session)
    response = post_form(
        client,
        f"/moderation/needs/{pending.id}/decision",
        {"decision": "reject", "seen_status": "pending"},
    )
    assert response.status_code == 422
    assert "Choisissez un motif" in response.text
    session.expire_all()
    assert session.get(Need, pending.id).status == "pending"  # type: ignore[union-attr]
    assert _count(session, AuditEntry) == 0
    assert _count(session, Notification) == 0


def test_a_rejection_reaches_the_author_with_its_reason(client, session, pending):
    login_as(client, make_user(session, role="moderator"), session)
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
    assert session.get(Need, pending.id).status == "rejected"  # type: ignore[union-attr]
    note = session.exec(select(Notification)).one()
    assert "Hors sujet" in note.message and "Voir la charte" in note.message
    assert session.exec(select(AuditEntry)).one().reason.startswith("Hors sujet")


def test_the_second_moderator_is_told_who_handled_it_and_nothing_is_overwritten(session, pending):
    alice = make_user(session, role="moderator", display_name="Alice")
    bob = make_user(session, role="moderator", display_name="Bob")
    decide_need(session, alice, pending.id, "approve", seen_status="pending")
    with pytest.raises(Conflict, match="Alice"):
        decide_need(session, bob, pending.id, "reject", seen_status="pending", reason="spam")
    session.expire_all()
    assert session.get(Need, pending.id).status == "published"  # type: ignore[union-attr]
    assert _count(session, AuditEntry) == 1


def test_the_conflict_is_a_clear_page_in_the_queue(client, session, pending):
    decide_need(
        session,
        make_user(session, role="moderator", display_name="Alice"),
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


def test_hide_then_restore_a_published_need(session):
    moderator = make_user(session, role="moderator")
    need = make_need(session)
    decide_need(session, moderator, need.id, "hide", seen_status="published", reason="spam")
    assert session.get(Need, need.id).status == "hidden"  # type: ignore[union-attr]
    decide_need(session, moderator, need.id, "restore", seen_status="hidden")
    assert session.get(Need, need.id).status == "published"  # type: ignore[union-attr]
    actions = session.exec(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["need.hide", "need.restore"]


@pytest.mark.parametrize(
    ("decision", "seen", "extra"),
    [
        ("bogus", "pending", {}),
        ("approve", "published", {}),
        ("reject", "pending", {"reason": "other"}),
    ],
)
def test_invalid_decisions_are_refused_with_a_message(session, pending, decision, seen, extra):
    with pytest.raises(Invalid):
        decide_need(
            session,
            make_user(session, role="moderator"),
            pending.id,
            decision,
            seen_status=seen,
            **extra,
        )
    assert _count(session, AuditEntry) == 0


@pytest.mark.parametrize("role", ["resident"])
def test_a_resident_cannot_decide_and_nothing_is_written(client, session, pending, role):
    login_as(client, make_user(session, role=role), session)
    response = post_form(
        client,
        f"/moderation/needs/{pending.id}/decision",
        {"decision": "approve", "seen_status": "pending"},
    )
    assert response.status_code == 403
    session.expire_all()
    assert session.get(Need, pending.id).status == "pending"  # type: ignore[union-attr]
    assert _count(session, AuditEntry) == 0
