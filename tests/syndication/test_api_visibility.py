"""Nothing the public may not see leaks through the JSON API: a pending, hidden, rejected,
merged or deleted need is absent from every list (any sort, filter or search) and its detail is
a 404; a private idea is absent from the idea list, its detail is a 404, and a need linked to
it does not name it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from app.core.db import utcnow
from app.pipeline.models import IdeaNeed
from tests.factories import make_idea, make_need, make_territory, make_theme, make_user


@pytest.fixture(autouse=True)
def no_server_error(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.ERROR, logger="app.web.errors")
    yield
    errors = [r.getMessage() for r in caplog.get_records("call") if r.name == "app.web.errors"]
    assert errors == [], f"the application answered with a server error: {errors}"


NON_PUBLIC = ["pending", "hidden", "rejected", "merged", "deleted"]
LISTS = [
    "/api/v1/needs",
    "/api/v1/needs?sort=top",
    "/api/v1/needs?sort=trending",
    "/api/v1/needs?sort=discussed",
    "/api/v1/needs?status=open",
    "/api/v1/needs?theme=mobilite&territory=merignac",
    "/api/v1/needs?q=trottinette",
    "/api/v1/needs?limit=100",
]


@pytest.fixture
def needs(session):  # type: ignore[no-untyped-def]
    """One public need and one need in each non-public state, all matching every filter."""
    theme = make_theme(session)
    territory = make_territory(session)
    author = make_user(session)
    public = make_need(
        session,
        author=author,
        title="Des trottinettes partagées publiques",
        theme_id=theme.id,
        territory_id=territory.id,
    )
    hidden = {}
    for state in NON_PUBLIC:
        need = make_need(
            session,
            author=author,
            title=f"Des trottinettes partagées {state}",
            status="published" if state == "deleted" else state,
            theme_id=theme.id,
            territory_id=territory.id,
        )
        if state == "deleted":
            need.deleted_at = utcnow()
        if state == "merged":
            need.merged_into_id = public.id
        # Popular, so a leak would show on the first page of every sort.
        need.supports_count = 50
        need.comments_count = 50
        need.trending_score = 50.0
        session.add(need)
        hidden[state] = need
    session.commit()
    return public, hidden


@pytest.mark.parametrize("path", LISTS)
def test_non_public_needs_are_absent_from_every_list(client, needs, path):
    public, hidden = needs
    response = client.get(path)
    assert response.status_code == 200, response.text
    ids = [item["id"] for item in response.json()["items"]]
    assert ids == [public.id]
    for need in hidden.values():
        assert need.title not in response.text


@pytest.mark.parametrize("state", NON_PUBLIC)
def test_a_non_public_need_detail_is_a_404_even_for_its_author_and_moderators(
    client, session, needs, state
):
    from tests.factories import login_as

    _public, hidden = needs
    need = hidden[state]
    response = client.get(f"/api/v1/needs/{need.id}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert need.title not in response.text
    # The public API answers the same to everyone: no cookie opens a non-public need.
    login_as(client, make_user(session, role="moderator"), session)
    assert client.get(f"/api/v1/needs/{need.id}").status_code == 404


def test_walking_all_pages_never_meets_a_non_public_need(client, needs):
    public, _hidden = needs
    seen = []
    url = "/api/v1/needs?limit=1"
    while url:
        body = client.get(url).json()
        seen += [item["id"] for item in body["items"]]
        url = f"/api/v1/needs?limit=1&cursor={body['next_cursor']}" if body["next_cursor"] else ""
    assert seen == [public.id]


def test_a_private_idea_is_absent_from_lists_details_and_needs(client, session):
    public = make_idea(session, "Une idée publique", stage="studying", is_public=True)
    private = make_idea(session, "Une idée encore privée", stage="studying", is_public=False)
    need = make_need(session)
    session.add(IdeaNeed(idea_id=private.id, need_id=need.id))
    session.commit()

    listing = client.get("/api/v1/ideas")
    assert [i["id"] for i in listing.json()["items"]] == [public.id]
    assert "encore privée" not in listing.text
    assert client.get("/api/v1/ideas?stage=studying").json()["items"][0]["id"] == public.id
    assert client.get(f"/api/v1/ideas/{private.id}").status_code == 404
    assert client.get(f"/api/v1/needs/{need.id}").json()["idea"] is None
    assert client.get("/api/v1/needs").json()["items"][0]["idea"] is None


def test_a_public_idea_counts_only_public_needs(client, session, needs):
    public_need, hidden = needs
    idea = make_idea(session, "Trottinettes solidaires", stage="studying", is_public=True)
    session.add(IdeaNeed(idea_id=idea.id, need_id=public_need.id))
    for need in hidden.values():
        session.add(IdeaNeed(idea_id=idea.id, need_id=need.id))
    session.commit()
    detail = client.get(f"/api/v1/ideas/{idea.id}").json()
    assert detail["needs"] == 1
    assert detail["supports"] == public_need.supports_count


def test_internal_fields_of_a_need_never_appear(client, session):
    need = make_need(session)
    need.internal_note = "Note interne confidentielle"
    need.moderation_reason = "Raison de modération"
    session.add(need)
    session.commit()
    for path in ("/api/v1/needs", f"/api/v1/needs/{need.id}"):
        text = client.get(path).text
        assert "confidentielle" not in text
        assert "Raison de modération" not in text
        assert "@exemple.fr" not in text  # no e-mail address
