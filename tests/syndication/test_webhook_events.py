"""Webhook events are queued where things happen (issue 6, item 7): every path that publishes,
hides, merges or deletes a need, publishes a comment or moves a public idea writes one delivery
per subscribed endpoint in its own transaction — and nothing that was never public leaves: a
need taken down is reported by id and status only, a held comment or a private idea not at all.

Each path is driven the way people use it (forms and the API), then the queued deliveries are
read back and their payloads compared with what the public API answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import Session, delete, select

from app.accounts import service as accounts
from app.board import reports
from app.board.models import Comment, Need, Notification, ReportTarget, Support
from app.core.db import utcnow
from app.core.site_config import set_value
from app.pipeline import service as pipeline
from app.pipeline.models import Idea
from app.syndication import webhooks
from app.syndication.models import Webhook, WebhookDelivery
from tests.factories import fresh, login_as, make_idea, make_need, make_user, post_form
from tests.moderation.queue_helpers import make_comment

ALL_EVENTS = (
    "need.published need.status_changed idea.stage_changed idea.published idea.unpublished "
    "comment.published"
)
SECRET_TITLE = "Un titre que les partenaires ne doivent plus lire"


def make_hook(session: Session, events: str = ALL_EVENTS, *, active: bool = True) -> Webhook:
    hook = Webhook(
        url="https://partner.example/hook",
        events=events,
        secret=webhooks.new_secret(),
        active=active,
    )
    session.add(hook)
    session.commit()
    session.refresh(hook)
    return hook


@pytest.fixture
def hook(session):  # type: ignore[no-untyped-def]
    return make_hook(session)


def moderation_mode(session: Session, mode: str) -> None:
    set_value(session, "moderation_mode", mode, user_id=None)
    session.commit()


def deliveries(session: Session, hook: Webhook | None = None) -> list[WebhookDelivery]:
    statement = select(WebhookDelivery).order_by(WebhookDelivery.id)  # type: ignore[arg-type]
    if hook is not None:
        statement = statement.where(WebhookDelivery.webhook_id == hook.id)
    return list(fresh(session).exec(statement))


def events(session: Session, hook: Webhook | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) of each queued delivery, oldest first, checking the envelope on the way."""
    found = []
    for delivery in deliveries(session, hook):
        body = json.loads(delivery.payload)
        assert body["event"] == delivery.event
        assert body["id"] == delivery.event_id
        assert body["site"] == "http://testserver"
        assert delivery.status == "queued" and delivery.attempts == 0
        found.append((body["event"], body["data"]))
    return found


def only_event(session: Session) -> tuple[str, dict[str, Any]]:
    (event,) = events(session)
    return event


def api_need(client, need_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/needs/{need_id}")
    assert response.status_code == 200
    return response.json()


def decide(client, need, **data):  # type: ignore[no-untyped-def]
    return post_form(client, f"/moderation/needs/{need.id}/decision", data)


def login_moderator(client, session, role: str = "moderator"):  # type: ignore[no-untyped-def]
    user = make_user(session, role=role)
    login_as(client, user, session)
    return user


def assert_taken_down(
    session: Session, need: Need, status: str, previous: str, **extra: Any
) -> None:
    """One need.status_changed holding only the need's id and new status (no text at all)."""
    (delivery,) = deliveries(session)
    assert SECRET_TITLE not in delivery.payload
    assert need.body not in delivery.payload
    assert only_event(session) == (
        "need.status_changed",
        {"need": {"id": need.id, "status": status, **extra}, "previous_status": previous},
    )


# --- needs ------------------------------------------------------------------------------------


def test_a_need_posted_without_moderation_is_published_with_the_apis_json(client, session, hook):
    moderation_mode(session, "post")
    login_as(client, make_user(session), session)
    response = post_form(
        client,
        "/needs/new",
        {"title": "Un atelier de réparation de vélos", "body": "Aucun dans le quartier."},
    )
    assert response.status_code == 303
    need = fresh(session).exec(select(Need)).one()
    (delivery,) = deliveries(session)
    body = json.loads(delivery.payload)
    assert body["event"] == "need.published" and body["created_at"]
    assert body["data"] == {"need": api_need(client, need.id)}
    assert body["data"]["need"]["supports"] == 1  # the author's own « j'ai ce besoin »


def test_a_need_held_in_pre_moderation_is_sent_once_when_approved(client, session, hook):
    moderation_mode(session, "pre")
    login_as(client, make_user(session), session)
    post_form(client, "/needs/new", {"title": "Une épicerie solidaire", "body": "Au centre."})
    need = fresh(session).exec(select(Need)).one()
    assert need.status == "pending"
    assert deliveries(session) == []

    login_moderator(client, session)
    assert decide(client, need, decision="approve", seen_status="pending").status_code == 303
    # The same click from a second tab is refused: nothing more is queued.
    assert decide(client, need, decision="approve", seen_status="pending").status_code == 409
    assert only_event(session) == ("need.published", {"need": api_need(client, need.id)})


def test_rejecting_a_pending_need_sends_nothing(client, session, hook):
    need = make_need(session, status="pending")
    login_moderator(client, session)
    response = decide(client, need, decision="reject", seen_status="pending", reason="spam")
    assert response.status_code == 303
    assert fresh(session).get(Need, need.id).status == "rejected"  # type: ignore[union-attr]
    assert deliveries(session) == []


def test_restoring_a_refused_need_is_its_first_publication(client, session, hook):
    need = make_need(session, status="pending")
    login_moderator(client, session)
    decide(client, need, decision="reject", seen_status="pending", reason="spam")
    assert deliveries(session) == []
    response = decide(client, need, decision="restore", seen_status="rejected")
    assert response.status_code == 303
    assert only_event(session) == ("need.published", {"need": api_need(client, need.id)})


def test_hiding_a_public_need_reports_only_its_id_and_status(client, session, hook):
    need = make_need(session, title=SECRET_TITLE)
    login_moderator(client, session)
    response = decide(client, need, decision="hide", seen_status="published", reason="spam")
    assert response.status_code == 303
    assert_taken_down(session, need, "hidden", "published")


def test_restoring_and_covering_a_need_send_its_public_json(client, session, hook):
    need = make_need(session, status="hidden")
    login_moderator(client, session)
    assert decide(client, need, decision="restore", seen_status="hidden").status_code == 303
    assert only_event(session) == (
        "need.status_changed",
        {"need": api_need(client, need.id), "previous_status": "hidden"},
    )
    response = decide(
        client,
        need,
        decision="covered",
        seen_status="published",
        covered_name="Le centre social",
        covered_url="https://centre-social.example",
    )
    assert response.status_code == 303
    event, data = events(session)[1]
    assert (event, data["previous_status"]) == ("need.status_changed", "published")
    assert data["need"] == api_need(client, need.id)
    assert data["need"]["covered_by"] == {
        "name": "Le centre social",
        "url": "https://centre-social.example",
    }


def test_refuse_and_block_reports_each_public_need_of_the_author_it_hides(client, session, hook):
    spammer = make_user(session)
    target = make_need(session, author=spammer, status="pending")
    published = make_need(session, author=spammer, title=SECRET_TITLE)
    covered = make_need(session, author=spammer, status="covered", title=SECRET_TITLE + " bis")
    make_need(session, author=spammer, status="pending")
    make_comment(session, make_need(session), spammer)  # hidden too: comments send nothing
    login_moderator(client, session)
    response = decide(
        client,
        target,
        decision="reject_block",
        seen_status="pending",
        reason="spam",
        confirm_block="1",
    )
    assert response.status_code == 303
    found = events(session)
    assert SECRET_TITLE not in "".join(d.payload for d in deliveries(session))
    assert sorted(found, key=lambda e: e[1]["need"]["id"]) == [
        (
            "need.status_changed",
            {"need": {"id": published.id, "status": "hidden"}, "previous_status": "published"},
        ),
        (
            "need.status_changed",
            {"need": {"id": covered.id, "status": "hidden"}, "previous_status": "covered"},
        ),
    ]


def test_a_need_hidden_by_reports_is_taken_down_and_back_when_they_are_dismissed(
    client, session, hook
):
    need = make_need(session, title=SECRET_TITLE)
    for _ in range(3):
        reporter = make_user(session)
        subject = reports.load_subject(session, reporter, ReportTarget.need, need.id)
        reports.create_report(
            session, reporter, subject, reason="spam", detail="", ip="", rate_limits=False
        )
    assert fresh(session).get(Need, need.id).status == "hidden"  # type: ignore[union-attr]
    assert_taken_down(session, need, "hidden", "published")

    login_moderator(client, session)
    response = post_form(client, f"/moderation/reports/need/{need.id}/dismiss", {})
    assert response.status_code == 303
    assert events(session)[1] == (
        "need.status_changed",
        {"need": api_need(client, need.id), "previous_status": "hidden"},
    )


def test_merging_a_public_need_reports_where_it_went(client, session, hook):
    source = make_need(session, title=SECRET_TITLE)
    target = make_need(session)
    login_moderator(client, session)
    response = post_form(
        client,
        f"/moderation/needs/{source.id}/merge",
        {"into": str(target.id), "seen_status": "published"},
    )
    assert response.status_code == 303
    assert_taken_down(session, source, "merged", "published", merged_into_id=target.id)


def test_an_author_deleting_their_public_need_reports_it_deleted(client, session, hook):
    author = make_user(session)
    need = make_need(session, author=author, title=SECRET_TITLE)
    login_as(client, author, session)
    response = post_form(client, f"/needs/{need.id}/delete", {})
    assert response.status_code == 303
    assert_taken_down(session, need, "deleted", "published")


def test_deleting_a_pending_need_sends_nothing(client, session, hook):
    author = make_user(session)
    need = make_need(session, author=author, status="pending")
    login_as(client, author, session)
    assert post_form(client, f"/needs/{need.id}/delete", {}).status_code == 303
    assert deliveries(session) == []


def test_an_edit_sent_back_to_the_queue_takes_the_need_down(client, session, hook):
    set_value(session, "blocked_words", ["arnaque"], user_id=None)
    moderation_mode(session, "post")
    author = make_user(session)
    need = make_need(session, author=author, title=SECRET_TITLE)
    login_as(client, author, session)
    response = post_form(
        client,
        f"/needs/{need.id}/edit",
        {"title": SECRET_TITLE, "body": "Attention, c'est une arnaque."},
    )
    assert response.status_code == 303
    assert fresh(session).get(Need, need.id).status == "pending"  # type: ignore[union-attr]
    assert_taken_down(session, need, "pending", "published")


def test_an_edit_of_a_public_need_that_stays_public_sends_nothing(client, session, hook):
    moderation_mode(session, "post")
    author = make_user(session)
    need = make_need(session, author=author)
    login_as(client, author, session)
    response = post_form(
        client, f"/needs/{need.id}/edit", {"title": need.title, "body": "Plus de détails."}
    )
    assert response.status_code == 303
    assert deliveries(session) == []


def test_an_offline_need_is_published_at_once(client, session, hook):
    login_moderator(client, session, role="staff")
    response = post_form(
        client,
        "/moderation/needs/new",
        {
            "title": "Un lieu pour faire ses devoirs après l'école",
            "body": "Des parents rencontrés au marché.",
            "source": "street_survey",
            "source_event": "Marché de Capeyron",
            "source_date": utcnow().date().isoformat(),
        },
    )
    assert response.status_code == 303, response.text
    need = fresh(session).exec(select(Need)).one()
    assert only_event(session) == ("need.published", {"need": api_need(client, need.id)})


# --- comments ---------------------------------------------------------------------------------


def test_a_comment_posted_through_the_api_is_sent_as_the_api_answers_it(client, session, hook):
    moderation_mode(session, "post")
    need = make_need(session)
    resident = make_user(session, display_name="Camille")
    token = accounts.create_api_token(session, resident, "test")
    response = client.post(
        f"/api/v1/needs/{need.id}/comments",
        json={"body": "Je suis intéressée aussi."},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    event, data = only_event(session)
    assert event == "comment.published"
    assert data["comment"] == response.json()
    assert data["need"] == {
        "id": need.id,
        "title": need.title,
        "url": f"http://testserver/needs/{need.id}-{need.slug}",
    }


def test_a_comment_posted_by_form_is_published(client, session, hook):
    moderation_mode(session, "post")
    need = make_need(session)
    login_as(client, make_user(session), session)
    response = post_form(client, f"/needs/{need.id}/comments", {"body": "Bonne idée !"})
    assert response.status_code == 303
    comment = fresh(session).exec(select(Comment)).one()
    event, data = only_event(session)
    assert (event, data["comment"]["id"], data["comment"]["status"]) == (
        "comment.published",
        comment.id,
        "published",
    )


def test_a_held_comment_is_sent_only_once_approved(client, session, hook):
    moderation_mode(session, "pre")
    need = make_need(session)
    login_as(client, make_user(session), session)
    response = post_form(client, f"/needs/{need.id}/comments", {"body": "En attente"})
    assert response.status_code == 303
    comment = fresh(session).exec(select(Comment)).one()
    assert comment.status == "pending"
    assert deliveries(session) == []

    login_moderator(client, session)
    response = post_form(
        client,
        f"/moderation/comments/{comment.id}/decision",
        {"decision": "approve", "seen_status": "pending"},
    )
    assert response.status_code == 303
    event, data = only_event(session)
    assert (event, data["comment"]["id"], data["comment"]["status"]) == (
        "comment.published",
        comment.id,
        "published",
    )


def test_a_comment_approved_on_a_hidden_need_sends_nothing(client, session, hook):
    need = make_need(session, status="hidden")
    comment = make_comment(session, need, make_user(session), status="pending")
    login_moderator(client, session)
    response = post_form(
        client,
        f"/moderation/comments/{comment.id}/decision",
        {"decision": "approve", "seen_status": "pending"},
    )
    assert response.status_code == 303
    assert fresh(session).get(Comment, comment.id).status == "published"  # type: ignore[union-attr]
    assert deliveries(session) == []


def test_hiding_a_comment_sends_nothing_and_restoring_it_publishes_it(client, session, hook):
    comment = make_comment(session, make_need(session), make_user(session))
    login_moderator(client, session)
    path = f"/moderation/comments/{comment.id}/decision"
    data = {"decision": "hide", "seen_status": "published", "reason": "spam"}
    assert post_form(client, path, data).status_code == 303
    assert deliveries(session) == []
    data = {"decision": "restore", "seen_status": "hidden"}
    assert post_form(client, path, data).status_code == 303
    event, payload = only_event(session)
    assert (event, payload["comment"]["id"]) == ("comment.published", comment.id)


def test_a_comment_hidden_by_reports_comes_back_when_they_are_dismissed(client, session, hook):
    comment = make_comment(session, make_need(session), make_user(session))
    for _ in range(3):
        reporter = make_user(session)
        subject = reports.load_subject(session, reporter, ReportTarget.comment, comment.id)
        reports.create_report(
            session, reporter, subject, reason="spam", detail="", ip="", rate_limits=False
        )
    assert fresh(session).get(Comment, comment.id).status == "hidden"  # type: ignore[union-attr]
    assert deliveries(session) == []
    login_moderator(client, session)
    response = post_form(client, f"/moderation/reports/comment/{comment.id}/dismiss", {})
    assert response.status_code == 303
    event, payload = only_event(session)
    assert (event, payload["comment"]["id"]) == ("comment.published", comment.id)


# --- ideas ------------------------------------------------------------------------------------


def move(client, idea: Idea, to_stage: str):  # type: ignore[no-untyped-def]
    return post_form(
        client,
        f"/moderation/ideas/{idea.id}/move",
        {"seen_stage": idea.stage, "to_stage": to_stage},
    )


def test_a_public_idea_moving_sends_its_api_json_and_previous_stage(client, session, hook):
    staff = login_moderator(client, session, role="staff")
    idea = make_idea(session, actor=staff, is_public=True)
    assert [e for e, _data in events(session)] == ["idea.published"]
    session.exec(delete(WebhookDelivery))  # type: ignore[call-overload]
    session.commit()
    assert move(client, idea, "studying").status_code == 303
    response = client.get(f"/api/v1/ideas/{idea.id}")
    assert response.status_code == 200
    assert only_event(session) == (
        "idea.stage_changed",
        {"idea": response.json(), "previous_stage": "detected"},
    )
    assert response.json()["stage"] == "studying"


def test_a_private_idea_moving_sends_nothing(client, session, hook):
    staff = login_moderator(client, session, role="staff")
    idea = make_idea(session, actor=staff, is_public=False)
    assert move(client, idea, "studying").status_code == 303
    assert fresh(session).get(Idea, idea.id).stage == "studying"  # type: ignore[union-attr]
    assert deliveries(session) == []


def edit(client, idea: Idea, *, is_public: bool, title: str = ""):  # type: ignore[no-untyped-def]
    """The staff edit form, as sent by a browser: an unticked box is not sent at all."""
    form = {"title": title or idea.title, "summary": idea.summary}
    if is_public:
        form["is_public"] = "1"
    return post_form(client, f"/moderation/ideas/{idea.id}/edit", form)


def test_an_idea_created_public_from_the_staff_form_is_published(client, session, hook):
    login_moderator(client, session, role="staff")
    response = post_form(
        client,
        "/moderation/ideas/new",
        {"title": "Une ressourcerie de quartier", "origin": "fabrique", "is_public": "1"},
    )
    assert response.status_code == 303
    idea = fresh(session).exec(select(Idea)).one()
    assert only_event(session) == (
        "idea.published",
        {"idea": client.get(f"/api/v1/ideas/{idea.id}").json()},
    )


def test_an_idea_created_private_sends_nothing(client, session, hook):
    login_moderator(client, session, role="staff")
    response = post_form(
        client,
        "/moderation/ideas/new",
        {"title": "Une ressourcerie de quartier", "origin": "fabrique"},
    )
    assert response.status_code == 303
    assert fresh(session).exec(select(Idea)).one().is_public is False
    assert deliveries(session) == []


def test_a_private_idea_made_public_is_published_and_its_needs_people_told(client, session, hook):
    staff = login_moderator(client, session, role="staff")
    need = make_need(session)
    supporter = make_user(session)
    idea = pipeline.create_idea(
        session,
        staff,
        pipeline.IdeaInput(title="Une conciergerie d'insertion", is_public=False),
        need_ids=[need.id],  # type: ignore[list-item]
    )
    session.add(Support(need_id=need.id, user_id=supporter.id))  # type: ignore[arg-type]
    session.commit()
    told = select(Notification).where(Notification.kind == "pipeline")
    assert deliveries(session) == [] and fresh(session).exec(told).all() == []

    assert edit(client, idea, is_public=True).status_code == 303
    assert fresh(session).get(Idea, idea.id).is_public is True  # type: ignore[union-attr]
    assert only_event(session) == (
        "idea.published",
        {"idea": client.get(f"/api/v1/ideas/{idea.id}").json()},
    )
    assert {n.user_id for n in fresh(session).exec(told)} == {need.author_id, supporter.id}


def test_a_public_idea_made_private_is_taken_down_by_id_only(client, session, hook):
    staff = login_moderator(client, session, role="staff")
    idea = make_idea(session, actor=staff, is_public=True)
    session.exec(delete(WebhookDelivery))  # type: ignore[call-overload]
    session.commit()

    assert (
        edit(
            client, idea, title="Un nom de travail encore confidentiel", is_public=False
        ).status_code
        == 303
    )
    assert client.get(f"/api/v1/ideas/{idea.id}").status_code == 404
    (delivery,) = deliveries(session)
    assert "confidentiel" not in delivery.payload and "conciergerie" not in delivery.payload
    assert only_event(session) == ("idea.unpublished", {"idea": {"id": idea.id}})


def test_editing_a_public_idea_that_stays_public_sends_nothing(client, session, hook):
    staff = login_moderator(client, session, role="staff")
    idea = make_idea(session, actor=staff, is_public=True)
    session.exec(delete(WebhookDelivery))  # type: ignore[call-overload]
    session.commit()
    assert edit(client, idea, title="Une conciergerie solidaire", is_public=True).status_code == 303
    assert fresh(session).get(Idea, idea.id).title == "Une conciergerie solidaire"  # type: ignore[union-attr]
    assert deliveries(session) == []


# --- endpoints and transactions ---------------------------------------------------------------


def test_each_endpoint_gets_only_the_events_it_subscribed_to(client, session):
    everything = make_hook(session)
    comments_only = make_hook(session, "comment.published")
    moderation_mode(session, "post")
    login_as(client, make_user(session), session)
    post_form(client, "/needs/new", {"title": "Un jardin partagé au pied des tours"})
    need = fresh(session).exec(select(Need)).one()
    post_form(client, f"/needs/{need.id}/comments", {"body": "Oui, avec des bacs."})

    assert [e for e, _data in events(session, everything)] == [
        "need.published",
        "comment.published",
    ]
    assert [e for e, _data in events(session, comments_only)] == ["comment.published"]
    # One event, one id, whichever endpoint receives it.
    same = {d.event_id for d in deliveries(session) if d.event == "comment.published"}
    assert len(same) == 1


def test_an_inactive_endpoint_gets_nothing(client, session):
    make_hook(session, active=False)
    need = make_need(session, status="pending")
    login_moderator(client, session)
    assert decide(client, need, decision="approve", seen_status="pending").status_code == 303
    assert fresh(session).get(Need, need.id).status == "published"  # type: ignore[union-attr]
    assert deliveries(session) == []


def test_a_refused_change_queues_nothing(client, session, hook):
    moderation_mode(session, "post")
    need = make_need(session)
    login_as(client, make_user(session), session)
    response = post_form(client, "/needs/new", {"title": "Court"})
    assert response.status_code == 422
    login_moderator(client, session)
    # No reason given: the decision is refused and the need stays public.
    response = decide(client, need, decision="hide", seen_status="published")
    assert response.status_code == 422
    assert fresh(session).get(Need, need.id).status == "published"  # type: ignore[union-attr]
    assert deliveries(session) == []


def test_an_event_rolled_back_with_its_change_is_never_sent(session, hook):
    need = make_need(session, status="pending")
    need.status = "published"
    session.add(need)
    assert webhooks.need_changed(session, need, "pending") == 1
    session.rollback()
    assert deliveries(session) == []
    assert fresh(session).get(Need, need.id).status == "pending"  # type: ignore[union-attr]
