"""Following a theme or a territory (issue 17, item 5): the forms as a person uses them (with
and without htmx), who may follow, bad addresses, and the notifications of new public needs —
once per person, never to the need's author."""

from __future__ import annotations

import pytest

from app.accounts.data import delete_account, export_data
from app.board import topic_follows
from app.board.models import Notification, TopicFollow
from app.board.service import NeedInput, create_need
from app.core.db import utcnow
from app.core.settings import ModerationMode
from app.moderation.service import decide
from tests.board.comment_helpers import HTMX, block, count, parse, text_of
from tests.factories import (
    fresh,
    login_as,
    make_territory,
    make_theme,
    make_user,
    post_form,
    submit_form,
)


@pytest.fixture
def theme(session):  # type: ignore[no-untyped-def]
    return make_theme(session)


@pytest.fixture
def territory(session):  # type: ignore[no-untyped-def]
    return make_territory(session)


@pytest.fixture
def bob(client, session):  # type: ignore[no-untyped-def]
    user = make_user(session, display_name="Bob")
    login_as(client, user, session)
    return user


def rows(session, user=None) -> int:  # type: ignore[no-untyped-def]
    where = [TopicFollow.user_id == user.id] if user is not None else []
    return count(fresh(session), TopicFollow, *where)


def topics_notifications(session, user) -> int:  # type: ignore[no-untyped-def]
    return count(
        fresh(session), Notification, Notification.user_id == user.id, Notification.kind == "topics"
    )


def test_the_filtered_board_links_to_the_box_that_htmx_loads(client, theme, territory, bob):
    html = client.get(f"/?theme={theme.slug}&territory={territory.slug}").text
    for kind, target in (("theme", theme), ("territory", territory)):
        box = parse(html).css_first(f"#follow-{kind}-{target.id}")
        assert box is not None
        assert box.attributes["data-hx-get"] == f"/follow/{kind}/{target.id}"
        assert box.css_first("a").attributes["href"] == f"/follow/{kind}/{target.id}"  # type: ignore[union-attr]
    fragment = client.get(f"/follow/theme/{theme.id}", headers=HTMX)
    assert fragment.status_code == 200
    tree = parse(fragment.text)
    assert tree.css_first("header.site-header") is None
    assert tree.css_first(f"#follow-theme-{theme.id} button").text() == "Suivre ce thème"  # type: ignore[union-attr]


def test_follow_and_unfollow_a_theme_with_the_plain_form(client, session, theme, bob):
    page = f"/follow/theme/{theme.id}"
    response = submit_form(client, page, page)
    assert response.status_code == 303 and response.headers["location"] == page
    assert rows(session, bob) == 1
    html = client.get(page).text
    button = parse(html).css_first(f"#follow-theme-{theme.id} button")
    assert button.text() == "Ne plus suivre"  # type: ignore[union-attr]
    assert button.attributes["aria-pressed"] == "true"  # type: ignore[union-attr]
    # Twice is harmless.
    assert post_form(client, page).status_code == 303
    assert rows(session, bob) == 1
    response = submit_form(client, page, f"/unfollow/theme/{theme.id}")
    assert response.status_code == 303
    assert rows(session, bob) == 0


def test_htmx_swaps_the_territory_box(client, session, territory, bob):
    response = post_form(client, f"/follow/territory/{territory.id}", headers=HTMX)
    assert response.status_code == 200
    form = parse(response.text).css_first(f"#follow-territory-{territory.id} form")
    assert form.attributes["action"] == f"/unfollow/territory/{territory.id}"  # type: ignore[union-attr]
    assert rows(session, bob) == 1


def test_a_visitor_is_sent_to_log_in_and_nothing_is_written(client, session, theme):
    html = client.get(f"/follow/theme/{theme.id}").text
    link = parse(html).css_first(f"#follow-theme-{theme.id} a")
    assert link.attributes["href"].startswith("/account/login?next=")  # type: ignore[union-attr]
    response = post_form(client, f"/follow/theme/{theme.id}")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login")
    assert rows(session) == 0


@pytest.mark.parametrize("state", ["unconfirmed", "blocked"])
def test_accounts_that_may_not_participate_are_refused(client, session, theme, state):
    user = make_user(session, verified=state != "unconfirmed")
    if state == "blocked":
        block(session, user)
    login_as(client, user, session)
    response = post_form(client, f"/follow/theme/{theme.id}")
    assert response.status_code == 403
    response = post_form(client, f"/follow/theme/{theme.id}", headers=HTMX)
    assert response.status_code == 403
    assert parse(response.text).css_first("[role=alert]") is not None
    assert rows(session) == 0


@pytest.mark.parametrize(
    "address",
    ["/follow/theme/999999", "/follow/territory/0", "/follow/planet/1", "/follow/theme/abc"],
)
def test_bad_addresses_are_a_clear_404_and_write_nothing(client, session, bob, address):
    response = post_form(client, address)
    assert response.status_code == 404
    assert "n'existe pas" in text_of(response.text) or "On ne peut suivre" in text_of(response.text)
    assert client.get(address).status_code == 404
    assert rows(session) == 0


def test_an_archived_theme_cannot_be_followed(client, session, theme, bob):
    theme.archived_at = utcnow()
    session.add(theme)
    session.commit()
    assert post_form(client, f"/follow/theme/{theme.id}").status_code == 404
    assert rows(session) == 0


def test_following_is_rate_limited(client, session, theme, bob):
    for target in range(1000, 1030):
        topic_follows.follow_topic(session, bob, "territory", target)
    response = post_form(client, f"/follow/theme/{theme.id}")
    assert response.status_code == 429
    assert rows(session, bob) == 30


# --- notifications ---------------------------------------------------------------------------


def _post(session, author, theme, territory, mode="post"):  # type: ignore[no-untyped-def]
    return create_need(
        session,
        author,
        NeedInput(
            title="Une navette le dimanche matin",
            body="Pour aller au marché sans voiture, le dimanche matin.",
            theme=theme.slug,
            territory=territory.slug,
        ),
        mode=ModerationMode(mode),
        rate_limits=False,
    )


def test_a_need_published_at_once_tells_each_follower_once_never_its_author(
    session, theme, territory
):
    both, one, nobody = (make_user(session) for _ in range(3))
    author = make_user(session)
    for user, kind, target in (
        (both, "theme", theme),
        (both, "territory", territory),
        (one, "territory", territory),
        (author, "theme", theme),
    ):
        topic_follows.follow_topic(session, user, kind, target.id)
    _post(session, author, theme, territory)
    assert topics_notifications(session, both) == 1
    assert topics_notifications(session, one) == 1
    assert topics_notifications(session, nobody) == 0
    assert topics_notifications(session, author) == 0


def test_a_pending_need_tells_followers_only_once_a_moderator_publishes_it(
    session, theme, territory
):
    follower, author = make_user(session), make_user(session)
    topic_follows.follow_topic(session, follower, "theme", theme.id)
    need = _post(session, author, theme, territory, mode="pre")
    assert need.status == "pending"
    assert topics_notifications(session, follower) == 0
    decide(
        session,
        make_user(session, role="moderator"),
        "need",
        need.id,
        "approve",
        seen_status="pending",
    )
    assert topics_notifications(session, follower) == 1


def test_the_notification_is_worded_and_listed(client, session, theme, territory, bob):
    topic_follows.follow_topic(session, bob, "theme", theme.id)
    _post(session, make_user(session), theme, territory)
    html = client.get("/account/notifications").text
    assert "Nouveau besoin dans ce que vous suivez" in text_of(html)
    assert "Une navette le dimanche matin" in text_of(html)


def test_the_export_lists_the_follows_and_deleting_the_account_removes_them(session, theme, bob):
    topic_follows.follow_topic(session, bob, "theme", theme.id)
    exported = export_data(session, bob)
    assert [row["target_id"] for row in exported["topic_follows"]] == [theme.id]
    delete_account(session, bob)
    assert rows(session) == 0
