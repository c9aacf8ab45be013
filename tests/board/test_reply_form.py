"""« Répondre »: the reply form of a thread is asked for when wanted (GET /comments/{id}/reply),
put in place by htmx under its comment, or shown on a page of its own without JavaScript. The
need page carries no reply form of its own (issue 13: they were half of its weight)."""

from __future__ import annotations

from sqlmodel import select

from app.board.models import Comment, CommentStatus
from app.core.db import utcnow
from tests.board.comment_helpers import (
    HTMX,
    add_comment,
    age_account,
    block,
    comments_of,
    parse,
)
from tests.factories import login_as, make_need, make_user, submit_form


def _signed_in(client, session, name="Bruno"):  # type: ignore[no-untyped-def]
    user = make_user(session, display_name=name)
    age_account(session, user)
    login_as(client, user, session)
    return user


def _reply_link(client, need, thread):  # type: ignore[no-untyped-def]
    page = client.get(f"/needs/{need.id}-{need.slug}")
    assert page.status_code == 200
    link = parse(page.text).css_first(f"#reply-box-{thread.id} a.reply-link")
    assert link is not None, "the thread offers no « Répondre »"
    return link


def test_without_javascript_repondre_leads_to_a_page_whose_form_posts_the_reply(client, session):
    need = make_need(session)
    thread = add_comment(session, need, make_user(session, display_name="Awa"), "Qui d'autre ?")
    _signed_in(client, session)
    link = _reply_link(client, need, thread)
    assert "Répondre" in link.text() and "Awa" in link.text()  # the hidden words say to whom

    page = client.get(link.attributes["href"])
    assert page.status_code == 200
    tree = parse(page.text)
    assert tree.css_first("h1").text() == "Votre réponse"  # type: ignore[union-attr]
    quoted = tree.css_first("figure.comment-quoted")
    assert quoted is not None and "Qui d'autre ?" in quoted.text() and "Awa" in quoted.text()
    form = tree.css_first(f"form#reply-form-{thread.id}")
    assert form is not None and "data-hx-post" not in form.attributes  # a plain form here
    label = form.css_first(f"label[for=reply-form-{thread.id}-body]")
    assert label is not None and label.text() == "Votre réponse à Awa"

    answer = submit_form(
        client, "", f"/needs/{need.id}/comments", {"body": "Moi, le mardi."}, html=page.text
    )
    assert answer.status_code == 303
    reply = comments_of(session, need)[-1]
    assert reply.parent_id == thread.id and reply.body == "Moi, le mardi."
    assert answer.headers["location"] == f"/needs/{need.id}-{need.slug}#comment-{reply.id}"


def test_with_htmx_the_form_alone_comes_in_place_and_its_reply_joins_the_thread(client, session):
    need = make_need(session)
    thread = add_comment(session, need, make_user(session, display_name="Awa"), "Qui d'autre ?")
    _signed_in(client, session)
    link = _reply_link(client, need, thread)
    assert link.attributes["data-hx-target"] == f"#reply-box-{thread.id}"

    asked = client.get(link.attributes["data-hx-get"], headers=HTMX)
    assert asked.status_code == 200
    assert "HX-Request" in asked.headers.get("vary", "")
    assert "<header" not in asked.text and "<h1" not in asked.text  # no page around it
    tree = parse(asked.text)
    form = tree.css_first(f"form#reply-form-{thread.id}")
    assert form is not None
    assert form.attributes["data-hx-target"] == f"#replies-{thread.id}"
    # The focus goes to the text box once it is in place (static/js/app.js reads the marker).
    marker = tree.css_first("template[data-swap-focus]")
    assert marker is not None
    assert marker.attributes["data-swap-focus"] == f"#reply-form-{thread.id}-body"
    assert tree.css_first(f"#reply-form-{thread.id}-body") is not None

    answer = submit_form(
        client,
        "",
        f"/needs/{need.id}/comments",
        {"body": "Moi aussi, le soir."},
        html=asked.text,
        headers=HTMX,
    )
    assert answer.status_code == 200
    reply = comments_of(session, need)[-1]
    assert reply.parent_id == thread.id
    assert parse(answer.text).css_first(f"li.comment-reply-item #comment-{reply.id}") is not None


def test_each_reply_form_asked_for_carries_its_own_guard(client, session):
    need = make_need(session)
    thread = add_comment(session, need, make_user(session), "Qui d'autre ?")
    _signed_in(client, session)
    first = parse(client.get(f"/comments/{thread.id}/reply", headers=HTMX).text)
    second = parse(client.get(f"/comments/{thread.id}/reply", headers=HTMX).text)
    started = "input[name=form_started]"
    assert (
        first.css_first(started).attributes["value"]
        != (  # type: ignore[union-attr]
            second.css_first(started).attributes["value"]  # type: ignore[union-attr]
        )
    )


def test_a_visitor_is_sent_to_sign_in_and_back_to_the_reply(client, session):
    need = make_need(session)
    thread = add_comment(session, need, make_user(session), "Qui d'autre ?")
    page = client.get(f"/needs/{need.id}-{need.slug}")
    assert parse(page.text).css_first("a.reply-link") is None  # nothing to reply with
    answer = client.get(f"/comments/{thread.id}/reply", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/account/login?next=/comments/{thread.id}/reply"


def test_no_reply_form_for_a_reply_a_hidden_or_a_deleted_comment(client, session):
    need = make_need(session)
    thread = add_comment(session, need, make_user(session), "Qui d'autre ?")
    answer_to_it = add_comment(session, need, make_user(session), "Moi.", parent=thread)
    hidden = add_comment(session, need, make_user(session), "Hors sujet.")
    hidden.status = CommentStatus.hidden.value
    deleted = add_comment(session, need, make_user(session), "Effacé.")
    deleted.deleted_at = utcnow()
    session.add_all([hidden, deleted])
    session.commit()
    _signed_in(client, session)
    for comment in (answer_to_it, hidden, deleted):
        page = client.get(f"/comments/{comment.id}/reply")
        assert page.status_code == 404
        assert "n'existe pas ou plus" in parse(page.text).css_first("main").text()  # type: ignore[union-attr]
    for raw in ("0", "abc", "99999999999"):
        assert client.get(f"/comments/{raw}/reply").status_code in (404, 422)


def test_a_blocked_account_gets_a_clear_refusal_and_no_form(client, session):
    need = make_need(session)
    thread = add_comment(session, need, make_user(session), "Qui d'autre ?")
    user = _signed_in(client, session)
    block(session, user)
    page = client.get(f"/comments/{thread.id}/reply")
    assert page.status_code == 403
    assert "<form" not in parse(page.text).css_first("main").html  # type: ignore[union-attr]
    assert session.exec(select(Comment).where(Comment.need_id == need.id)).all() == [thread]
