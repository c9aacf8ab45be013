"""Decisions on comments: approve a waiting one (counted once, followers told as of a new
comment), reject it, hide a published one, restore it; each audited and told to its author.
A moderator can also hide or restore a comment from the need page itself."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.board.follows import follow
from app.board.models import Comment, Need, Notification
from app.core.audit import AuditEntry
from app.moderation.service import decide
from app.web.errors import Conflict
from tests.factories import fresh, login_as, make_need, make_user, post_form
from tests.moderation.queue_helpers import count, make_comment, notes_for


def _decide(client, comment, **data):  # type: ignore[no-untyped-def]
    return post_form(client, f"/moderation/comments/{comment.id}/decision", data)


def _count_of(session, need) -> int:  # type: ignore[no-untyped-def]
    fresh(session)
    return session.get(Need, need.id).comments_count  # type: ignore[union-attr]


@pytest.fixture
def need(session):  # type: ignore[no-untyped-def]
    return make_need(session)


def test_approving_a_waiting_comment_counts_it_once_and_tells_followers(
    client, session, need, signed_in_moderator
):
    author = make_user(session)
    follower = make_user(session)
    follow(session, need, follower)
    comment = make_comment(session, need, author, status="pending")
    assert _count_of(session, need) == 0
    response = _decide(client, comment, decision="approve", seen_status="pending")
    assert response.status_code == 303
    assert _count_of(session, need) == 1
    # The same click again (a second tab): refused, the count does not move.
    again = _decide(client, comment, decision="approve", seen_status="pending")
    handled_by = f"déjà été traité par {signed_in_moderator.display_name}"
    assert again.status_code == 409 and handled_by in again.text
    assert _count_of(session, need) == 1
    assert session.get(Comment, comment.id).status == "published"  # type: ignore[union-attr]
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.action, entry.target_kind, entry.target_id) == (
        "comment.approve",
        "comment",
        comment.id,
    )
    (told,) = notes_for(session, follower)
    assert told.kind == "comment" and told.comment_id == comment.id
    (note,) = notes_for(session, author)
    assert note.kind == "moderation" and "validé" in note.message


def test_approving_a_reply_tells_the_author_of_the_comment_answered(
    client, session, need, signed_in_moderator
):
    parent_author = make_user(session)
    parent = make_comment(session, need, parent_author)
    reply = make_comment(session, need, make_user(session), status="pending", parent=parent)
    _decide(client, reply, decision="approve", seen_status="pending")
    fresh(session)
    kinds = {n.kind for n in notes_for(session, parent_author)}
    assert kinds == {"reply"}


def test_rejecting_a_waiting_comment_needs_a_reason_and_keeps_the_count(
    client, session, need, signed_in_moderator
):
    author = make_user(session)
    comment = make_comment(session, need, author, status="pending")
    refused = _decide(client, comment, decision="reject", seen_status="pending")
    assert refused.status_code == 422 and "Choisissez un motif" in refused.text
    assert count(session, AuditEntry) == 0
    response = _decide(
        client, comment, decision="reject", seen_status="pending", reason="personal_data"
    )
    assert response.status_code == 303
    stored = fresh(session).get(Comment, comment.id)
    assert stored.status == "hidden"  # type: ignore[union-attr]
    assert stored.moderation_reason.startswith("Données personnelles")  # type: ignore[union-attr]
    assert _count_of(session, need) == 0
    (note,) = notes_for(session, author)
    assert "Données personnelles" in note.message


def test_hide_then_restore_moves_the_count_by_exactly_one(session, need):
    moderator = make_user(session, role="moderator")
    author = make_user(session)
    comment = make_comment(session, need, author)
    assert _count_of(session, need) == 1
    decide(
        session, moderator, "comment", comment.id, "hide", seen_status="published", reason="spam"
    )
    assert _count_of(session, need) == 0
    with pytest.raises(Conflict):
        decide(
            session,
            moderator,
            "comment",
            comment.id,
            "hide",
            seen_status="published",
            reason="spam",
        )
    assert _count_of(session, need) == 0
    decide(session, moderator, "comment", comment.id, "restore", seen_status="hidden")
    assert _count_of(session, need) == 1
    actions = session.exec(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["comment.hide", "comment.restore"]
    messages = [n.message for n in notes_for(session, author)]
    assert "masqué" in messages[0] and "Publicité ou spam" in messages[0]
    assert "de nouveau visible" in messages[1]


def test_waiting_comments_are_in_the_queue_with_their_decisions(
    client, session, need, signed_in_moderator
):
    comment = make_comment(session, need, make_user(session), status="pending", body="À relire")
    page = client.get("/moderation/queue?kind=comment").text
    item = LexborHTMLParser(page).css_first(f"#item-comment-{comment.id}")
    assert "À relire" in item.text()
    values = {b.attributes["value"] for b in item.css("button[name=decision]")}
    assert values == {"approve", "reject", "reject_block"}


def test_with_htmx_an_approved_comment_leaves_the_queue(client, session, need, signed_in_moderator):
    comment = make_comment(session, need, make_user(session), status="pending")
    response = post_form(
        client,
        f"/moderation/comments/{comment.id}/decision",
        {"decision": "approve", "seen_status": "pending"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "data-queue-done" in response.text and "Commentaire validé" in response.text


# --- from the need page ----------------------------------------------------------------------


def test_moderators_see_hide_on_each_comment_and_residents_do_not(client, session, need):
    comment = make_comment(session, need, make_user(session))
    url = f"/needs/{need.id}-{need.slug}"
    login_as(client, make_user(session), session)
    page = LexborHTMLParser(client.get(url).text)
    assert page.css_first(f'form[action="/moderation/comments/{comment.id}/decision"]') is None
    login_as(client, make_user(session, role="moderator"), session)
    page = LexborHTMLParser(client.get(url).text)
    form = page.css_first(f'form[action="/moderation/comments/{comment.id}/decision"]')
    assert form is not None and "Masquer" in form.text()
    assert form.css_first(f'label[for="comment-{comment.id}-reason"]') is not None


def test_hiding_a_comment_from_the_need_page_returns_to_it(client, session, need):
    author = make_user(session)
    comment = make_comment(session, need, author)
    login_as(client, make_user(session, role="moderator"), session)
    response = _decide(
        client,
        comment,
        decision="hide",
        seen_status="published",
        reason="abusive",
        next=f"/needs/{need.id}-{need.slug}",
    )
    assert response.status_code == 303
    assert response.headers["location"] == (
        f"/needs/{need.id}-{need.slug}?notice=moderated#comment-{comment.id}"
    )
    assert _count_of(session, need) == 0
    page = LexborHTMLParser(client.get(response.headers["location"]).text)
    article = page.css_first(f"#comment-{comment.id}")
    assert "Masqué par la modération" in article.text()
    assert article.css_first('button[value="restore"]') is not None
    # Restoring from the page brings it back, counted again.
    restored = _decide(
        client,
        comment,
        decision="restore",
        seen_status="hidden",
        next=f"/needs/{need.id}-{need.slug}",
    )
    assert restored.status_code == 303
    assert _count_of(session, need) == 1
    assert count(session, Notification, Notification.user_id == author.id) == 2


def test_the_author_of_a_hidden_comment_sees_the_reason_under_it(client, session, need):
    author = make_user(session)
    comment = make_comment(session, need, author)
    login_as(client, make_user(session, role="moderator"), session)
    _decide(client, comment, decision="hide", seen_status="published", reason="abusive")

    login_as(client, author, session)
    article = LexborHTMLParser(client.get(f"/needs/{need.id}").text).css_first(
        f"#comment-{comment.id}"
    )
    assert "Propos injurieux" in article.css_first(".moderation-reason").text()
    client.cookies.clear()  # the public sees neither the comment nor the reason
    assert "Propos injurieux" not in client.get(f"/needs/{need.id}").text


def test_hiding_from_the_page_without_a_reason_writes_nothing(client, session, need):
    comment = make_comment(session, need, make_user(session))
    login_as(client, make_user(session, role="moderator"), session)
    response = _decide(
        client, comment, decision="hide", seen_status="published", next=f"/needs/{need.id}"
    )
    assert response.status_code == 422
    assert "Choisissez un motif" in response.text
    assert _count_of(session, need) == 1
    assert count(session, AuditEntry) == 0


def test_an_unknown_comment_is_a_404(client, session, signed_in_moderator):
    response = post_form(
        client,
        "/moderation/comments/999999/decision",
        {"decision": "approve", "seen_status": "pending"},
    )
    assert response.status_code == 404
