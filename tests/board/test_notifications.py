"""Notifications: who is told (never the actor), e-mails per preference (immediate, none, daily
digest), signed unsubscribe links, the unread count and the notification pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from itsdangerous import URLSafeSerializer
from sqlmodel import select

from app.accounts.models import User
from app.board import notifications
from app.board.digest import send_daily_digest
from app.board.follows import follow
from app.board.models import Need, Notification
from app.board.unsubscribe import unsubscribe_token
from app.core.db import utcnow
from app.mail.models import OutboxMessage
from tests.board.comment_helpers import (
    add_comment,
    count,
    count_statements,
    fresh,
    parse,
    reload_need,
    text_of,
)
from tests.factories import login_as, make_need, make_user, post_form


@pytest.fixture
def need(session):  # type: ignore[no-untyped-def]
    return make_need(session, title="Un transport solidaire pour les aînés de Blanquefort")


def notes(session, user: User, kind: str | None = None) -> list[Notification]:  # type: ignore[no-untyped-def]
    statement = select(Notification).where(Notification.user_id == user.id)
    if kind:
        statement = statement.where(Notification.kind == kind)
    return list(fresh(session).exec(statement.order_by(Notification.id)))


def set_mode(session, user: User, kind: str, mode: str) -> None:  # type: ignore[no-untyped-def]
    notifications.save_preferences(session, user, {kind: mode})


def body_of(message) -> str:  # type: ignore[no-untyped-def]
    return message.get_body(preferencelist=("plain",)).get_content()


def unsubscribe_link(message) -> str:  # type: ignore[no-untyped-def]
    found = re.findall(r"http://testserver(/account/unsubscribe\?token=[\w.-]+)", body_of(message))
    assert found, body_of(message)
    return found[-1]


# --- who is notified -----------------------------------------------------------------------------


def test_a_comment_notifies_every_follower_but_its_author(session, need):
    follower_one, follower_two, actor, bystander = (make_user(session) for _ in range(4))
    for person in (follower_one, follower_two, actor):
        follow(session, need, person)
    comment = add_comment(session, need, actor, "Bonne idée !")
    for person in (follower_one, follower_two):
        [note] = notes(session, person)
        assert note.kind == "comment"
        assert note.comment_id == comment.id and note.need_id == need.id
        assert note.actor_id == actor.id
    assert notes(session, actor) == []
    assert notes(session, bystander) == []


def test_a_reply_tells_the_author_answered_once_and_the_other_followers(session, need):
    asker, replier, follower = (make_user(session) for _ in range(3))
    follow(session, need, follower)
    top = add_comment(session, need, asker, "Qui connaît une solution ?")  # asker now follows
    add_comment(session, need, replier, "Moi !", parent=top)
    assert [n.kind for n in notes(session, asker)] == ["reply"]
    assert [n.kind for n in notes(session, follower)] == ["comment", "comment"]
    assert notes(session, replier) == []


def test_a_reply_to_a_reply_tells_the_person_answered(session, need):
    first, second, third = (make_user(session) for _ in range(3))
    top = add_comment(session, need, first, "Début.")
    middle = add_comment(session, need, second, "Réponse.", parent=top)
    add_comment(session, need, third, "Réponse à la réponse.", parent=middle)
    assert [n.kind for n in notes(session, second)][-1] == "reply"
    assert [n.kind for n in notes(session, first)] == ["reply", "comment"]


def test_replying_to_oneself_notifies_nobody_twice(session, need):
    person = make_user(session)
    top = add_comment(session, need, person, "Début.")
    add_comment(session, need, person, "Je complète.", parent=top)
    assert notes(session, person) == []


# --- e-mails per preference ----------------------------------------------------------------------


def test_immediate_mode_sends_an_email_with_a_signed_unsubscribe_link(session, need, mailbox):
    follower, actor = make_user(session), make_user(session, display_name="Chloé")
    follow(session, need, follower)
    add_comment(session, need, actor, "Je peux **conduire** le mardi.")
    [message] = mailbox.to(follower.email)
    body = body_of(message)
    assert "Chloé" in body and need.title in body
    assert "Je peux conduire le mardi." in body  # plain text, no Markdown
    assert f"http://testserver/needs/{need.id}-{need.slug}#comment-" in body
    assert "/account/unsubscribe?token=" in body
    assert mailbox.to(actor.email) == []
    [note] = notes(session, follower)
    assert note.emailed_at is not None


def test_none_mode_sends_no_email_but_keeps_the_notification(session, need, mailbox):
    follower = make_user(session)
    follow(session, need, follower)
    set_mode(session, follower, "comment", "none")
    add_comment(session, need, make_user(session), "Commentaire.")
    assert mailbox.to(follower.email) == []
    assert len(notes(session, follower)) == 1


def test_reply_and_comment_preferences_are_separate(session, need, mailbox):
    asker = make_user(session)
    set_mode(session, asker, "comment", "none")
    top = add_comment(session, need, asker, "Question.")
    add_comment(session, need, make_user(session), "Un autre commentaire.")
    add_comment(session, need, make_user(session), "Une réponse.", parent=top)
    messages = mailbox.to(asker.email)
    assert len(messages) == 1
    assert messages[0]["Subject"] == "Nouvelle réponse à votre commentaire"


def test_an_unconfirmed_address_gets_no_email(session, need, mailbox):
    # Unconfirmed accounts can no longer follow (app.board.permissions); a follow made before
    # that rule, or added with a post, still must not send mail to an unconfirmed address.
    follower = make_user(session, verified=False)
    follow(session, need, follower, commit=False)
    session.commit()
    add_comment(session, need, make_user(session), "Commentaire.")
    assert mailbox.to(follower.email) == []
    assert len(notes(session, follower)) == 1


def test_daily_mode_groups_notifications_in_one_digest_a_day_later(app, session, need, mailbox):
    follower = make_user(session)
    follow(session, need, follower)
    set_mode(session, follower, "comment", "daily")
    add_comment(session, need, make_user(session, display_name="Dan"), "Premier commentaire.")
    add_comment(session, need, make_user(session, display_name="Eve"), "Second commentaire.")
    assert mailbox.to(follower.email) == []

    engine, settings = app.state.engine, app.state.settings
    assert send_daily_digest(engine, settings) == 0  # too early
    later = utcnow() + timedelta(hours=25)
    assert send_daily_digest(engine, settings, now=later) == 1
    [digest] = mailbox.to(follower.email)
    body = body_of(digest)
    assert "Dan" in body and "Eve" in body
    assert body.index("Premier commentaire") < body.index("Second commentaire")
    assert "/account/unsubscribe?token=" in unsubscribe_link(digest)
    assert all(n.emailed_at is not None for n in notes(session, follower))
    # Nothing is sent twice.
    assert send_daily_digest(engine, settings, now=later) == 0
    assert len(mailbox.to(follower.email)) == 1


def test_a_digest_with_a_moderation_decision_links_to_the_charter(app, session, need, mailbox):
    author = session.get(type(make_user(session)), need.author_id)
    set_mode(session, author, "moderation", "daily")
    notifications.notify(session, "moderation", [author.id], need=need, message="Masqué.")
    session.commit()
    later = utcnow() + timedelta(hours=25)
    assert send_daily_digest(app.state.engine, app.state.settings, now=later) == 1
    [digest] = mailbox.to(author.email)
    assert "/charter" in body_of(digest)


def test_the_digest_leaves_out_what_was_already_read(app, session, need, mailbox):
    follower = make_user(session)
    follow(session, need, follower)
    set_mode(session, follower, "comment", "daily")
    add_comment(session, need, make_user(session), "Déjà lu.")
    notifications.mark_read(session, follower)
    later = utcnow() + timedelta(hours=25)
    assert send_daily_digest(app.state.engine, app.state.settings, now=later) == 0
    assert mailbox.to(follower.email) == []


def test_the_digest_does_not_name_a_need_that_is_no_longer_public(app, session, need, mailbox):
    follower = make_user(session)
    follow(session, need, follower)
    set_mode(session, follower, "comment", "daily")
    add_comment(session, need, make_user(session), "Commentaire confidentiel.")
    row = reload_need(session, need)
    row.status = "hidden"
    session.add(row)
    session.commit()
    later = utcnow() + timedelta(hours=25)
    assert send_daily_digest(app.state.engine, app.state.settings, now=later) == 0
    assert mailbox.to(follower.email) == []
    assert notes(session, follower)[0].emailed_at is not None  # handled, not retried


def test_pipeline_news_defaults_to_the_daily_digest(session):
    person = make_user(session)
    assert notifications.preferences(session, person) == {
        "reply": "immediate",
        "comment": "immediate",
        "moderation": "immediate",
        "pipeline": "daily",
        # New public needs in what one follows (issue 17): a daily summary too.
        "topics": "daily",
    }


def test_an_email_is_queued_in_the_commenters_transaction(session, need):
    follower = make_user(session)
    follow(session, need, follower)
    before = count(session, OutboxMessage)
    add_comment(session, need, make_user(session), "Commentaire.")
    assert count(session, OutboxMessage) == before + 1


# --- unsubscribe ---------------------------------------------------------------------------------


def test_the_unsubscribe_link_asks_for_confirmation_then_switches_the_kind_off(
    client, session, need, mailbox
):
    follower = make_user(session)
    follow(session, need, follower)
    add_comment(session, need, make_user(session), "Premier.")
    link = unsubscribe_link(mailbox.to(follower.email)[0])

    page = client.get(link)  # what a mail scanner does: nothing changes
    assert page.status_code == 200
    assert notifications.preferences(fresh(session), follower)["comment"] == "immediate"
    form = parse(page.text).css_first("form[action='/account/unsubscribe']")
    assert form is not None
    token = form.css_first("input[name=token]").attributes["value"]  # type: ignore[union-attr]

    response = post_form(client, "/account/unsubscribe", {"token": token})
    assert response.status_code == 200
    assert "C'est fait" in text_of(response.text).replace("\u202f", " ")
    assert notifications.preferences(fresh(session), follower)["comment"] == "none"
    assert notifications.preferences(fresh(session), follower)["reply"] == "immediate"

    add_comment(session, need, make_user(session), "Second.")
    assert len(mailbox.to(follower.email)) == 1


def test_the_digest_link_switches_every_daily_kind_off(client, session):
    person = make_user(session)
    set_mode(session, person, "comment", "daily")
    token = unsubscribe_token(client.app.state.settings, person.id, "digest")
    assert post_form(client, "/account/unsubscribe", {"token": token}).status_code == 200
    modes = notifications.preferences(fresh(session), person)
    assert modes["comment"] == modes["pipeline"] == "none"
    assert modes["reply"] == "immediate"


def test_forged_or_damaged_unsubscribe_links_are_404(client, session):
    person = make_user(session)
    settings = client.app.state.settings
    good = unsubscribe_token(settings, person.id, "comment")
    other_secret = URLSafeSerializer("autre-secret", salt="bourse.unsubscribe").dumps(
        [person.id, "comment"]
    )
    wrong_shape = URLSafeSerializer(settings.signing_key, salt="bourse.unsubscribe").dumps(
        {"user": person.id}
    )
    unknown_kind = unsubscribe_token(settings, person.id, "everything")
    unknown_user = unsubscribe_token(settings, 999999, "comment")
    for token in [
        good[:-2] + "xx",
        other_secret,
        wrong_shape,
        unknown_kind,
        unknown_user,
        "",
        "a" * 5000,
    ]:
        page = client.get("/account/unsubscribe", params={"token": token})
        assert page.status_code == 404, token
        assert "lien de désinscription" in text_of(page.text)
        assert post_form(client, "/account/unsubscribe", {"token": token}).status_code == 404
    assert notifications.preferences(fresh(session), person)["comment"] == "immediate"


# --- reading and marking -------------------------------------------------------------------------


def test_unread_count_is_one_query_and_marking_read_lowers_it(app, client, session, need):
    reader = make_user(session)
    follow(session, need, reader)
    for i in range(3):
        add_comment(session, need, make_user(session), f"Commentaire {i}.")
    with count_statements(app.state.engine) as statements:
        assert notifications.unread_count(session, reader) == 3
    assert len(statements) == 1
    assert notifications.unread_count(session, None) == 0

    login_as(client, reader, session)
    first = notes(session, reader)[0]
    response = post_form(client, "/account/notifications/read", {"notification_id": str(first.id)})
    assert response.status_code == 303
    assert notifications.unread_count(fresh(session), reader) == 2
    assert post_form(client, "/account/notifications/read").status_code == 303
    assert notifications.unread_count(fresh(session), reader) == 0


def test_nobody_can_mark_someone_elses_notifications(client, session, need):
    owner, intruder = make_user(session), make_user(session)
    follow(session, need, owner)
    add_comment(session, need, make_user(session), "Commentaire.")
    [note] = notes(session, owner)
    login_as(client, intruder, session)
    post_form(client, "/account/notifications/read", {"notification_id": str(note.id)})
    post_form(client, "/account/notifications/read")
    assert notifications.unread_count(fresh(session), owner) == 1


@pytest.mark.parametrize("bad", ["abc", "-1", "99999999999", str(10**25)])
def test_a_malformed_notification_id_is_a_clear_422(client, session, bad):
    login_as(client, make_user(session), session)
    response = post_form(client, "/account/notifications/read", {"notification_id": bad})
    assert response.status_code == 422
    assert client.get(f"/account/notifications?before={bad}").status_code == 200


def test_the_notifications_page_lists_newest_first_with_unread_highlighted(client, session, need):
    reader = make_user(session)
    follow(session, need, reader)
    add_comment(session, need, make_user(session, display_name="Fanny"), "Ancien.")
    add_comment(session, need, make_user(session, display_name="Gilles"), "Récent.")
    notifications.mark_read(session, reader, notes(session, reader)[0].id)
    login_as(client, reader, session)
    page = client.get("/account/notifications")
    assert page.status_code == 200
    items = parse(page.text).css("li.notification")
    assert len(items) == 2
    assert "Gilles" in items[0].text() and "Fanny" in items[1].text()
    assert "notification-unread" in (items[0].attributes.get("class") or "")
    assert "notification-unread" not in (items[1].attributes.get("class") or "")
    link = items[0].css_first("a")
    assert link is not None and link.attributes["href"].startswith(f"/needs/{need.id}-")  # type: ignore[union-attr]
    assert "Récent." in items[0].text()


def test_the_notifications_page_does_not_name_a_hidden_need(client, session, need):
    reader = make_user(session)
    follow(session, need, reader)
    add_comment(session, need, make_user(session), "Commentaire.")
    row = fresh(session).get(Need, need.id)
    row.status = "hidden"  # type: ignore[union-attr]
    session.add(row)
    session.commit()
    login_as(client, reader, session)
    page = client.get("/account/notifications")
    assert need.title not in page.text
    assert "n'est plus visible" in text_of(page.text)


def test_the_notifications_page_is_paged(client, session, need):
    reader = make_user(session)
    follow(session, need, reader)
    author = make_user(session)
    session.add_all(
        Notification(user_id=reader.id, kind="comment", need_id=need.id, actor_id=author.id)  # type: ignore[arg-type]
        for _ in range(notifications.PAGE_SIZE + 5)
    )
    session.commit()
    login_as(client, reader, session)
    page = client.get("/account/notifications")
    assert len(parse(page.text).css("li.notification")) == notifications.PAGE_SIZE
    more = parse(page.text).css_first("a[href^='/account/notifications?before=']")
    assert more is not None
    second = client.get(more.attributes["href"])  # type: ignore[arg-type]
    assert len(parse(second.text).css("li.notification")) == 5
    assert client.get("/account/notifications?before=abc").status_code == 200


def test_the_notification_pages_need_an_account(client):
    for url in ("/account/notifications", "/account/notifications/settings"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/account/login")
    response = post_form(client, "/account/notifications/read")
    assert response.status_code == 303 and response.headers["location"].startswith("/account/login")


def test_the_settings_page_saves_a_mode_per_kind(client, session):
    person = make_user(session)
    login_as(client, person, session)
    page = client.get("/account/notifications/settings")
    assert page.status_code == 200
    tree = parse(page.text)
    for kind in notifications.KINDS:
        select_node = tree.css_first(f"select[name={kind}]")
        if kind in notifications.TEAM_KINDS:  # the team's alerts: not offered to a resident
            assert select_node is None
            continue
        assert select_node is not None
        assert tree.css_first(f'label[for="{select_node.attributes["id"]}"]') is not None
    response = post_form(
        client,
        "/account/notifications/settings",
        {"reply": "daily", "comment": "none", "moderation": "immediate", "pipeline": "none"},
    )
    assert response.status_code == 303
    assert notifications.preferences(fresh(session), person) == {
        "reply": "daily",
        "comment": "none",
        "moderation": "immediate",
        "pipeline": "none",
        "topics": "daily",  # left out of the form post: keeps its default
    }


def test_an_unknown_mode_is_refused_and_nothing_saved(client, session):
    person = make_user(session)
    login_as(client, person, session)
    response = post_form(
        client, "/account/notifications/settings", {"reply": "hourly", "comment": "none"}
    )
    assert response.status_code == 422
    assert parse(response.text).css_first("#f-reply-error") is not None
    assert notifications.preferences(fresh(session), person)["comment"] == "immediate"
