"""The typed demand in the JSON API (issue 17): a need's `demand` counts the people per concern
(and, as `offline`, those staff met offline: tests/moderation/test_offline_collections.py), an
idea's `supporters` counts distinct people behind its public needs — counts, never who."""

from __future__ import annotations

from app.board.supports import add_support
from tests.factories import make_idea, make_need, make_territory, make_user

NO_DEMAND = {
    "has_need": 0,
    "would_use": 0,
    "could_help": 0,
    "org_could_support": 0,
    "offline": 0,
}


def test_a_need_in_json_counts_the_people_of_each_concern(client, session):
    need = make_need(session)
    pessac = make_territory(session, "pessac", "Pessac")
    for concern in ("has_need", "has_need", "would_use", "org_could_support", None):
        add_support(session, need, make_user(session), concern=concern, territory_id=pessac.id)

    [item] = client.get("/api/v1/needs").json()["items"]

    assert item["supports"] == 5
    # The one who gave no answer is in no field; no territory, no account is named.
    assert item["demand"] == {
        "has_need": 2,
        "would_use": 1,
        "could_help": 0,
        "org_could_support": 1,
        "offline": 0,
    }
    assert client.get(f"/api/v1/needs/{need.id}").json()["demand"] == item["demand"]
    assert "Pessac" not in client.get(f"/api/v1/needs/{need.id}").text


def test_a_need_nobody_answered_for_has_a_demand_of_zeros(client, session):
    make_need(session)
    [item] = client.get("/api/v1/needs").json()["items"]
    assert item["demand"] == NO_DEMAND


def test_an_idea_counts_a_person_behind_two_of_its_needs_once(client, session, staff_user):
    first, second, hidden = make_need(session), make_need(session), make_need(session)
    both, only_first = make_user(session), make_user(session)
    add_support(session, first, both, concern="has_need")
    add_support(session, second, both, concern="could_help")
    add_support(session, first, only_first)
    # A need hidden since: its supporters are no public evidence.
    add_support(session, hidden, make_user(session), concern="has_need")
    idea = make_idea(session, actor=staff_user, needs=[first, second, hidden], is_public=True)
    hidden.status = "hidden"
    session.add(hidden)
    session.commit()

    listed = client.get("/api/v1/ideas").json()["items"]
    single = client.get(f"/api/v1/ideas/{idea.id}").json()

    assert [i["id"] for i in listed] == [idea.id]
    for item in (listed[0], single):
        assert item["needs"] == 2
        assert item["supports"] == 3  # the sum over its public needs
        assert item["supporters"] == 2  # the person behind both counts once


def test_an_idea_without_needs_has_no_supporters(client, session):
    make_idea(session, is_public=True)
    [item] = client.get("/api/v1/ideas").json()["items"]
    assert item["supports"] == 0 and item["supporters"] == 0


def test_the_openapi_document_describes_demand_and_supporters(client):
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert set(schemas["Demand"]["properties"]) == set(NO_DEMAND)
    assert "demand" in schemas["Need"]["required"]
    assert "supporters" in schemas["Idea"]["properties"]
    assert "once" in schemas["Idea"]["properties"]["supporters"]["description"]
