"""No N+1 in the feeds and the API lists: the number of SQL statements behind /feeds/needs.*,
/feeds/ideas.*, /api/v1/needs and /api/v1/ideas does not grow with the number of rows.

A feed or an API page is built on every miss of the anonymous response cache, that is on the
first request after any public write. The cache is turned off here (`cache_mb = 0`) so that
every counted request really runs its route; statements are counted as for the board
(tests/board/test_query_counts.py), after one warm-up request."""

from __future__ import annotations

from datetime import timedelta
from itertools import cycle

import pytest
from sqlmodel import Session

from app.board.models import NeedSource, NeedStatus
from app.core.db import utcnow
from app.core.settings import Settings
from app.pipeline.models import IdeaNeed, Stage
from app.syndication.feeds import MAX_ITEMS
from tests.board.test_query_counts import describe, statements_for
from tests.factories import make_need, make_territory, make_theme, make_user
from tests.syndication.test_attribution import make_partner
from tests.syndication.test_feeds import make_idea

FEW, MANY = 5, MAX_ITEMS + 10  # a short feed, then more rows than a full one holds


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.cache_mb = 0  # every request runs its route (app.web.cache)
    return settings


class Rows:
    """Needs and ideas spread over themes, territories, stages, authors and sources: online,
    offline (signed by the fabrique), by deleted accounts, covered, some linked to an idea."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.themes = cycle(
            [make_theme(session, f"theme-{i}", f"Thème {i}").id for i in range(3)] + [None]
        )
        self.territories = cycle(
            [make_territory(session, f"terr-{i}", f"Territoire {i}").id for i in range(3)] + [None]
        )
        self.stages = cycle([s.value for s in Stage if s != Stage.abandoned])
        self.needs = 0
        self.ideas = 0
        make_partner(session, slug="ville")

    def grow_to(self, total: int) -> None:
        now = utcnow()
        while self.needs < total:
            n = self.needs
            idea = None
            if n % 3 == 0:
                idea = make_idea(
                    self.session,
                    f"Une idée numéro {self.ideas}",
                    summary=f"Un **résumé** numéro {self.ideas}.",
                    stage=next(self.stages),
                    theme_id=next(self.themes),
                    territory_id=next(self.territories),
                    changed_at=now - timedelta(minutes=n),
                )
                self.ideas += 1
            need = make_need(
                self.session,
                author=make_user(self.session),
                title=f"Une crèche solidaire numéro {n}",
                theme_id=next(self.themes),
                territory_id=next(self.territories),
                status=NeedStatus.covered.value if n % 5 == 1 else NeedStatus.published.value,
                created_at=now - timedelta(minutes=n),
            )
            if n % 7 == 2:
                need.author_id = None  # a deleted account
            elif n % 7 == 4:
                need.source = NeedSource.street_survey.value
                need.author_id = None
            self.session.add(need)
            if idea is not None:
                self.session.add(IdeaNeed(idea_id=idea.id, need_id=need.id))  # type: ignore[call-arg]
            self.session.commit()
            self.needs += 1


NEED_FEEDS = [
    ("/feeds/needs.atom", {}),
    ("/feeds/needs.rss", {}),
    ("/feeds/needs.json", {}),
    ("/feeds/needs.atom", {"theme": "theme-1", "territory": "terr-2"}),
    ("/feeds/needs.atom", {"status": "covered", "sort": "top"}),
    ("/feeds/needs.atom", {"q": "crèche solidaire"}),
    ("/feeds/needs.atom", {"ref": "ville"}),
    ("/feeds/ideas.atom", {}),
    ("/feeds/ideas.rss", {}),
    ("/feeds/ideas.json", {}),
    ("/feeds/ideas.atom", {"stage": "detected", "theme": "theme-0"}),
    ("/feeds/ideas.atom", {"ref": "ville"}),
    ("/api/v1/needs", {}),
    ("/api/v1/needs", {"limit": "100", "theme": "theme-1", "sort": "top"}),
    ("/api/v1/ideas", {}),
    ("/api/v1/ideas", {"limit": "100", "stage": "detected"}),
]


@pytest.mark.parametrize(
    ("url", "params"),
    NEED_FEEDS,
    ids=[url.rsplit("/", 1)[1] + ("?" + "&".join(p) if p else "") for url, p in NEED_FEEDS],
)
def test_feeds_and_api_lists_run_the_same_statements_for_few_or_many_rows(
    client, session, url, params
):
    rows = Rows(session)
    rows.grow_to(FEW)
    few = statements_for(client, url, **params)

    rows.grow_to(MANY)
    many = statements_for(client, url, **params)

    assert len(few) == len(many), f"{FEW} rows:\n{describe(few)}\n\n{MANY}:\n{describe(many)}"
    # The route really ran (no cache in between): it read the rows it lists.
    table = "ideas" if "ideas" in url else "needs"
    assert any(f"FROM {table}" in s for s in many), describe(many)


def test_the_feed_and_api_counts_are_small(client, session):
    """Not only constant but modest: a regression to a query per item would show here too."""
    Rows(session).grow_to(MANY)

    assert len(statements_for(client, "/feeds/needs.atom")) <= 7
    assert len(statements_for(client, "/feeds/ideas.atom")) <= 5
    # The API's lists read one more statement than the feeds' for the whole page (issue 17):
    # the needs' `demand`, the ideas' distinct `supporters` (app.board.demand).
    assert len(statements_for(client, "/api/v1/needs")) <= 6
    assert len(statements_for(client, "/api/v1/ideas")) <= 5
    response = client.get("/feeds/needs.atom")
    assert response.content.count(b"<entry>") == MAX_ITEMS
