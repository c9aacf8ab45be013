"""Domain events (app/core/events.py, issue 16): handlers run inside the transaction of the
change that announced them, so a rollback drops what they wrote and a commit keeps it; the
start-up subscriptions (app/ops/wiring.py) can run any number of times without an event being
delivered twice."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from app.accounts import data
from app.accounts.events import AccountErasing
from app.board import account_data as board_data
from app.board.events import (
    CommentPublished,
    NeedPosted,
    NeedPublished,
    NeedStatusChanged,
    SupportGiven,
)
from app.core import events
from app.core.site_config import set_value
from app.main import create_app
from app.ops.wiring import subscribe_handlers
from app.pipeline import account_data as pipeline_data
from app.pipeline import partner_figures
from app.pipeline.events import IdeaPublished, IdeaStageChanged, IdeaUnpublished
from app.pipeline.models import Idea
from app.syndication import attribution, webhooks
from app.syndication.models import Webhook, WebhookDelivery
from tests.factories import fresh, login_as, make_idea, make_need, make_user, post_form

EVENT_TYPES = (
    NeedPublished,
    NeedStatusChanged,
    CommentPublished,
    IdeaPublished,
    IdeaUnpublished,
    IdeaStageChanged,
)


@pytest.fixture
def hook(session: Session) -> Webhook:
    hook = Webhook(
        url="https://partner.example/hook",
        events=" ".join(event_type.name for event_type in EVENT_TYPES),
        secret=webhooks.new_secret(),
    )
    session.add(hook)
    session.commit()
    return hook


def delivered(session: Session) -> list[str]:
    return [
        d.event for d in fresh(session).exec(select(WebhookDelivery).order_by(WebhookDelivery.id))
    ]  # type: ignore[arg-type]


class Heard:
    """A handler that writes down what it heard (subscribed for one test only)."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, session: Session, event: Any) -> None:
        self.events.append(event)


@pytest.fixture
def heard() -> Any:
    listener = Heard()
    events.subscribe(NeedStatusChanged, listener)
    yield listener
    events.unsubscribe(NeedStatusChanged, listener)


def test_a_handler_subscribed_twice_hears_each_event_once(session, heard):
    events.subscribe(NeedStatusChanged, heard)
    need = make_need(session)
    events.announce(session, NeedStatusChanged(need, "pending"))
    assert heard.events == [NeedStatusChanged(need, "pending")]
    assert events.handlers_of(NeedStatusChanged).count(heard) == 1


def test_handlers_hear_only_the_events_they_subscribed_to(session, heard):
    need = make_need(session)
    events.announce(session, NeedPublished(need))
    assert heard.events == []


def test_an_unsubscribed_handler_hears_nothing_more(session):
    listener = Heard()
    events.subscribe(NeedStatusChanged, listener)
    events.unsubscribe(NeedStatusChanged, listener)
    events.unsubscribe(NeedStatusChanged, listener)  # a second time changes nothing
    events.announce(session, NeedStatusChanged(make_need(session), "pending"))
    assert listener.events == []


def test_each_webhook_handler_is_subscribed_once_however_many_apps_start(app):
    before = {event_type: events.handlers_of(event_type) for event_type in EVENT_TYPES}
    create_app(app.state.settings)
    create_app(app.state.settings)
    subscribe_handlers()
    for event_type in EVENT_TYPES:
        assert events.handlers_of(event_type) == before[event_type]
        # Each subscriber once (webhooks, and the followers of a theme or territory, issue 17).
        names = [f"{h.__module__}.{h.__qualname__}" for h in before[event_type]]
        assert len(names) == len(set(names)) >= 1, names


def test_a_need_posted_after_several_apps_started_is_delivered_once(client, session, hook):
    set_value(session, "moderation_mode", "post", user_id=None)
    session.commit()
    create_app(client.app.state.settings)
    subscribe_handlers()
    login_as(client, make_user(session), session)
    response = post_form(
        client,
        "/needs/new",
        {"title": "Une laverie solidaire", "body": "Un lieu pour laver son linge à petit prix."},
    )
    assert response.status_code == 303
    assert delivered(session) == ["need.published"]


def test_a_rolled_back_change_drops_what_its_handlers_wrote(session, hook):
    idea = make_idea(session, actor=make_user(session, role="staff"), is_public=True, commit=False)
    assert idea.id is not None
    session.rollback()
    assert delivered(session) == []
    assert fresh(session).exec(select(Idea)).all() == []


def test_a_committed_change_keeps_what_its_handlers_wrote(session, hook):
    idea = make_idea(session, actor=make_user(session, role="staff"), is_public=True, commit=False)
    session.commit()
    assert delivered(session) == ["idea.published"]
    assert fresh(session).get(Idea, idea.id) is not None


def test_a_change_rolled_back_after_its_event_leaves_no_delivery(session, hook):
    need = make_need(session, status="pending")
    need.status = "published"
    session.add(need)
    events.announce(session, NeedStatusChanged(need, "pending"))
    session.rollback()
    assert delivered(session) == []
    need = make_need(session, status="pending")
    need.status = "published"
    session.add(need)
    events.announce(session, NeedStatusChanged(need, "pending"))
    session.commit()
    assert delivered(session) == ["need.published"]


def test_start_up_registers_the_account_data_and_partner_figures_once(app):
    create_app(app.state.settings)
    subscribe_handlers()
    assert [
        board_data.contributions,
        pipeline_data.carrier_applications,
        board_data.notifications,
    ] == data.EXPORT_SECTIONS
    assert events.handlers_of(AccountErasing) == (board_data.erase_contributions,)
    assert events.handlers_of(NeedPosted) == (attribution._on_need_posted,)
    assert events.handlers_of(SupportGiven) == (attribution._on_support_given,)
    assert [attribution.staff_figures] == partner_figures.PROVIDERS
