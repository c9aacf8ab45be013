"""Following an idea (issue 17, item 5): the button of the public idea page, its moves told to
its followers once, and « Mes contributions » listing what one follows with « Ne plus suivre »."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from app.board import topic_follows
from app.board.models import Notification, TopicFollow
from app.board.supports import add_support
from app.pipeline import service
from tests.factories import (
    fresh,
    login_as,
    make_idea,
    make_need,
    make_theme,
    make_user,
    page_text,
    post_form,
    submit_form,
)

HTMX = {"HX-Request": "true"}


@pytest.fixture
def bob(client, session):  # type: ignore[no-untyped-def]
    user = make_user(session, display_name="Bob")
    login_as(client, user, session)
    return user


def follows(session, user) -> int:  # type: ignore[no-untyped-def]
    return len(
        fresh(session)
        .exec(
            TopicFollow.__table__.select().where(  # type: ignore[attr-defined]
                TopicFollow.user_id == user.id
            )
        )
        .all()
    )


def notifications(session, user, kind) -> list[Notification]:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    return list(
        fresh(session).exec(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
        )
    )


def test_follow_and_unfollow_an_idea_from_its_page(client, session, bob):
    idea = make_idea(session, is_public=True)
    page = f"/ideas/{idea.id}-{idea.slug}"
    response = submit_form(client, page, f"/ideas/{idea.id}/follow")
    assert response.status_code == 303 and response.headers["location"] == page
    assert follows(session, bob) == 1
    button = LexborHTMLParser(client.get(page).text).css_first(f"#follow-idea-{idea.id} button")
    assert button.text() == "Ne plus suivre"  # type: ignore[union-attr]
    response = submit_form(client, page, f"/ideas/{idea.id}/unfollow")
    assert response.status_code == 303
    assert follows(session, bob) == 0


def test_htmx_swaps_the_idea_box(client, session, bob):
    idea = make_idea(session, is_public=True)
    response = post_form(client, f"/ideas/{idea.id}/follow", headers=HTMX)
    assert response.status_code == 200
    tree = LexborHTMLParser(response.text)
    assert tree.css_first("header.site-header") is None
    form = tree.css_first(f"#follow-idea-{idea.id} form")
    assert form.attributes["action"] == f"/ideas/{idea.id}/unfollow"  # type: ignore[union-attr]


def test_a_visitor_gets_a_login_link(client, session):
    idea = make_idea(session, is_public=True)
    html = client.get(f"/ideas/{idea.id}-{idea.slug}").text
    link = LexborHTMLParser(html).css_first(f"#follow-idea-{idea.id} a")
    assert link.attributes["href"].startswith("/account/login?next=")  # type: ignore[union-attr]


@pytest.mark.parametrize("which", ["private", "missing", "bad"])
def test_a_private_or_unknown_idea_cannot_be_followed(client, session, bob, which):
    idea = make_idea(session, is_public=False)
    ref = {"private": str(idea.id), "missing": "999999", "bad": "x"}[which]
    response = post_form(client, f"/ideas/{ref}/follow")
    assert response.status_code == 404
    assert "Cette idée n'existe pas ou n'est pas publique." in page_text(response.text)
    assert follows(session, bob) == 0


def test_a_move_tells_the_followers_once_and_the_people_behind_its_needs_once(session, staff_user):
    need = make_need(session)
    idea = make_idea(session, actor=staff_user, is_public=True, needs=[need])
    follower, supporter = make_user(session), make_user(session)
    add_support(session, need, supporter, commit=True)
    for user in (follower, supporter):
        topic_follows.follow_topic(session, user, "idea", idea.id)
    service.move_idea(session, staff_user, idea.id, "studying", seen_stage=idea.stage)
    told = notifications(session, follower, "topics")
    assert len(told) == 1
    assert idea.title in told[0].message
    # The supporter hears of it as one behind its need, not a second time as a follower.
    assert notifications(session, supporter, "topics") == []
    assert len(notifications(session, supporter, "pipeline")) == 1


def test_my_contributions_lists_what_i_follow_with_unfollow_forms(client, session, bob):
    theme = make_theme(session)
    idea = make_idea(session, "Un garage solidaire", is_public=True)
    hidden = make_idea(session, "Une idée privée", is_public=False)
    for kind, target in (("theme", theme.id), ("idea", idea.id), ("idea", hidden.id)):
        topic_follows.follow_topic(session, bob, kind, target)
    for address in ("/account/contributions", "/account/contributions?section=follows"):
        text = page_text(client.get(address).text)
        assert "Les thèmes, territoires et idées que je suis" in text
        assert "Mobilité" in text and "Un garage solidaire" in text
        assert "Une idée privée" not in text
    response = submit_form(client, "/account/contributions", f"/ideas/{idea.id}/unfollow")
    assert response.status_code == 303
    response = submit_form(client, "/account/contributions", f"/unfollow/theme/{theme.id}")
    assert response.status_code == 303
    assert follows(session, bob) == 1  # the private idea's row stays, unseen
