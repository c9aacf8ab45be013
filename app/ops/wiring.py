"""What the domains plug into the layers below them, at start-up: who listens to which domain
event (app/core/events.py) and the helpers the templates borrow. Run by `create_app` and by the
`bourse` commands, so a change announces the same things and a page renders the same whether a
request, the worker or the command line made it."""

from __future__ import annotations

from app.accounts import data
from app.accounts.events import AccountErasing
from app.accounts.service import blocked_message
from app.board import account_data as board_data
from app.board import topic_follows
from app.core import events
from app.pipeline import account_data as pipeline_data
from app.pipeline import idea_follows, need_filters
from app.syndication import attribution, webhooks
from app.web.templating import environment


def subscribe_handlers() -> None:
    """Subscribes every handler; running it again changes nothing."""
    webhooks.subscribe()
    attribution.subscribe()
    # Followers of a theme, a territory or an idea are told of new public needs and moves.
    topic_follows.subscribe()
    idea_follows.subscribe()
    events.subscribe(AccountErasing, board_data.erase_contributions)
    # « Mes données »: the sections of the export, in the order of the file.
    data.register_export(board_data.contributions)
    data.register_export(pipeline_data.carrier_applications)
    data.register_export(board_data.notifications)
    # Why an account is blocked, for the banner of base.html (web/ knows no account).
    environment.globals["blocked_message"] = blocked_message
    # The board's filter by idea stage (the board knows no idea).
    need_filters.register()
