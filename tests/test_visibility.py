"""No public surface shows a need that is not public (CONVENTIONS: "a test checks that a hidden,
pending, rejected or merged need appears on no public surface"). Each non-public state is
checked on the board (every sort and status filter, full page and htmx block), the search, the
similar needs and the need page, for an anonymous visitor and for another resident.

Surfaces added later (feeds, API, embed, oEmbed, sitemap, e-mails) extend SURFACES below."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser

from app.core.db import utcnow
from tests.factories import login_as, make_need, make_user

WORD = "zéphyrin"  # a word only these needs contain, to search and match on
CONTROL = f"Un besoin public {WORD} témoin"
STATES = ["hidden", "pending", "rejected", "merged", "merged-without-target", "deleted"]
SORTS = ["recent", "top", "trending", "discussed"]


def titles(html: str) -> list[str]:
    return [a.text(strip=True) for a in LexborHTMLParser(html).css("a")]


@pytest.fixture
def secret(session):  # type: ignore[no-untyped-def]
    """A public control need and one need in each non-public state, all about WORD. The
    non-public ones have the highest counts and are the newest: any leak tops every sort."""
    control = make_need(session, title=CONTROL)
    needs = {}
    for state in STATES:
        status = "published" if state == "deleted" else state.split("-")[0]
        need = make_need(session, title=f"Besoin {WORD} {state} à ne pas montrer", status=status)
        need.supports_count = need.comments_count = 1000
        need.trending_score = 1e6
        if state == "merged":
            need.merged_into_id = control.id
        if state == "deleted":
            need.deleted_at = utcnow()
        session.add(need)
        session.commit()
        needs[state] = need
    return needs


@pytest.fixture(params=["anonymous", "another resident"])
def viewer(request, client, session) -> TestClient:  # type: ignore[no-untyped-def]
    if request.param == "another resident":
        login_as(client, make_user(session), session)
    return client


Surface = Callable[[TestClient], str]


def board(sort: str, **params: str) -> Surface:
    def read(client: TestClient) -> str:
        response = client.get("/", params={"sort": sort, **params})
        assert response.status_code == 200
        return response.text

    return read


def board_block(client: TestClient) -> str:
    response = client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.text


def search(sort: str) -> Surface:
    return board(sort, q=WORD)


def similar(client: TestClient) -> str:
    response = client.get("/needs/similar", params={"title": f"{WORD} besoin à ne pas montrer"})
    assert response.status_code == 200
    return response.text


SURFACES: dict[str, Surface] = {
    **{f"board sort={s}": board(s) for s in SORTS},
    "board status=open": board("recent", status="open"),
    "board status=covered": board("recent", status="covered"),
    "board htmx block": board_block,
    **{f"search sort={s}": search(s) for s in SORTS},
    "search, accents dropped": board("recent", q="ZEPHYRIN"),
    "similar needs": similar,
}


@pytest.mark.parametrize("state", STATES)
def test_a_non_public_need_is_absent_from_every_list(secret, viewer, state):
    need = secret[state]
    leaks = []
    for name, surface in SURFACES.items():
        html = surface(viewer)
        if need.title in html or f"/needs/{need.id}-" in html:
            leaks.append(name)

    assert leaks == []


def test_the_public_control_need_is_present_on_the_same_surfaces(secret, viewer):
    # Proves each surface above really lists needs about WORD: an absence means something.
    missing = [
        name
        for name, surface in SURFACES.items()
        if "covered" not in name and CONTROL not in titles(surface(viewer))
    ]

    assert missing == []


@pytest.mark.parametrize("state", [s for s in STATES if s != "merged"])
def test_a_non_public_need_page_is_not_found(secret, viewer, state):
    need = secret[state]

    for url in (f"/needs/{need.id}-{need.slug}", f"/needs/{need.id}"):
        response = viewer.get(url, follow_redirects=False)
        assert response.status_code == 404, url
        assert need.title not in response.text


def test_a_merged_need_page_sends_to_its_target_without_showing_itself(secret, viewer):
    need = secret["merged"]

    response = viewer.get(f"/needs/{need.id}-{need.slug}", follow_redirects=False)

    assert response.status_code == 301
    assert response.headers["location"].startswith(f"/needs/{need.merged_into_id}-")
    assert need.title not in viewer.get(response.headers["location"]).text


@pytest.mark.parametrize("state", STATES)
def test_non_public_needs_cannot_be_edited_or_deleted_by_others(secret, client, session, state):
    from tests.factories import post_form

    login_as(client, make_user(session), session)
    need = secret[state]

    edit = post_form(client, f"/needs/{need.id}/edit", {"title": "Un titre pris par un autre"})
    delete = post_form(client, f"/needs/{need.id}/delete")

    assert edit.status_code in (403, 404) and delete.status_code in (403, 404)
