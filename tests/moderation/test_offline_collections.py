"""Offline collections (issue 17): staff record, on a need, how many people raised it offline
and how; the figure counts in the demand as « recueilli hors ligne » — on the need page, the
idea pages, the qualification list, the ideas CSV, /impact and the API — never as accounts or
supports. Forms are filled as a person does, from the page."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import func, select

from app.board.models import OfflineCollection, Support
from app.board.offline_collections import collections_for_needs
from app.board.supports import add_support
from app.core.audit import AuditEntry
from app.core.clock import local_today
from app.web.urls import need_url
from tests.board.test_query_counts import counting, describe, statements_for
from tests.factories import (
    form_errors,
    fresh,
    login_as,
    make_idea,
    make_need,
    make_territory,
    make_user,
    page_text,
    submit_form,
)

MET = local_today() - timedelta(days=10)


def _page(need) -> str:  # type: ignore[no-untyped-def]
    return f"/moderation/needs/{need.id}/offline"


def _add(client, need, **fill: str):  # type: ignore[no-untyped-def]
    values = {"people": "12", "method": "public_meeting", "collected_on": MET.isoformat()}
    values.update(fill)
    return submit_form(client, _page(need), _page(need), values)


def _collections(session) -> list[OfflineCollection]:  # type: ignore[no-untyped-def]
    return list(fresh(session).exec(select(OfflineCollection).order_by(OfflineCollection.id)))


def _record(session, need, people: int, **fields) -> OfflineCollection:  # type: ignore[no-untyped-def]
    collection = OfflineCollection(
        need_id=need.id,
        people=people,
        method=fields.pop("method", "survey"),
        collected_on=fields.pop("collected_on", MET),
        **fields,
    )
    session.add(collection)
    session.commit()
    return collection


def test_staff_reach_the_form_from_the_need_file_and_record_a_collection(
    client, session, signed_in_staff
):
    need = make_need(session)
    make_territory(session)
    file = client.get(f"/moderation/needs/{need.id}").text
    links = [a.attributes["href"] for a in LexborHTMLParser(file).css(".file-links a")]
    assert _page(need) in links

    response = _add(
        client,
        need,
        place="Salle des fêtes de Capeyron",
        territory="merignac",
        note="Surtout des parents de jeunes enfants.",
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"{_page(need)}?done=added"
    [stored] = _collections(session)
    assert (stored.people, stored.method, stored.collected_on) == (12, "public_meeting", MET)
    assert stored.place == "Salle des fêtes de Capeyron"
    assert stored.recorded_by_id == signed_in_staff.id and stored.territory_id is not None
    entry = fresh(session).exec(select(AuditEntry)).one()
    assert (entry.action, entry.target_kind, entry.target_id, entry.actor_id) == (
        "need.offline_collection_add",
        "need",
        need.id,
        signed_in_staff.id,
    )
    assert entry.after["people"] == 12 and entry.after["territory"] == "merignac"
    file = LexborHTMLParser(client.get(f"/moderation/needs/{need.id}").text)
    assert file.css_first(".file-count-offline").text(strip=True) == "12"
    listed = page_text(client.get(response.headers["location"]).text)
    assert "Recueil hors ligne enregistré" in listed
    assert "12 personnes rencontrées hors ligne en tout." in listed
    assert "Réunion publique" in listed and "Salle des fêtes de Capeyron — Mérignac" in listed
    # Not accounts, not supports.
    assert fresh(session).exec(select(func.count()).select_from(Support)).one() == 0


@pytest.mark.parametrize(
    ("fill", "field", "message"),
    [
        ({"people": ""}, "people", "Indiquez combien de personnes"),
        ({"people": "0"}, "people", "entre 1 et 10"),
        ({"people": "10001"}, "people", "entre 1 et 10"),
        ({"people": "douze"}, "people", "nombre entier"),
        ({"people": "-3"}, "people", "nombre entier"),
        ({"method": ""}, "method", "comment ces personnes ont été rencontrées"),
        ({"method": "telepathy"}, "method", "comment ces personnes ont été rencontrées"),
        ({"collected_on": ""}, "collected_on", "Indiquez la date"),
        ({"collected_on": "14/11/2026"}, "collected_on", "AAAA-MM-JJ"),
        ({"collected_on": "2026-02-30"}, "collected_on", "AAAA-MM-JJ"),
        (
            {"collected_on": (local_today() + timedelta(days=1)).isoformat()},
            "collected_on",
            "dans le futur",
        ),
        ({"collected_on": "1026-11-14"}, "collected_on", "semble erronée"),
        ({"place": "x" * 121}, "place", "120 caractères"),
        ({"territory": "atlantide"}, "territory", "Ce territoire n'existe pas"),
        ({"note": "x" * 501}, "note", "500 caractères"),
    ],
)
def test_a_bad_collection_is_refused_in_french_and_nothing_is_written(
    client, session, signed_in_staff, fill, field, message
):
    need = make_need(session)
    page = client.get(_page(need)).text
    values = {"people": "12", "method": "public_meeting", "collected_on": MET.isoformat()}
    values.update(fill)
    if field == "territory":  # a select: what a tampered or stale form would send
        html = page.replace('<option value="">Non précisé</option>', "")
        html = html.replace(
            'name="territory">', 'name="territory"><option value="atlantide">?</option>'
        )
        response = submit_form(client, _page(need), _page(need), values, html=html)
    elif field == "method" and fill["method"]:
        html = page.replace(
            '<option value="">Choisissez…</option>',
            '<option value="">Choisissez…</option><option value="telepathy">?</option>',
        )
        response = submit_form(client, _page(need), _page(need), values, html=html)
    else:
        response = submit_form(client, _page(need), _page(need), values, html=page)

    assert response.status_code == 422
    errors = form_errors(response.text)
    assert len(errors) == 1 and message in errors[0], errors
    assert (
        LexborHTMLParser(response.text).css_first(f"#f-{field}").attributes.get("aria-invalid")
        == "true"
    )
    assert _collections(session) == []
    assert fresh(session).exec(select(func.count()).select_from(AuditEntry)).one() == 0


def test_a_number_written_with_spaces_is_understood(client, session, signed_in_staff):
    need = make_need(session)
    assert _add(client, need, people="1 200").status_code == 303
    assert _collections(session)[0].people == 1200


def test_staff_correct_then_remove_a_collection_and_both_are_audited(
    client, session, signed_in_staff
):
    need = make_need(session)
    collection_id = _record(session, need, 7, method="drop_in").id
    listing = client.get(_page(need)).text
    edit = f"{_page(need)}/{collection_id}/edit"
    assert edit in [a.attributes["href"] for a in LexborHTMLParser(listing).css("td a")]

    form = client.get(edit).text
    assert LexborHTMLParser(form).css_first("#f-people").attributes["value"] == "7"
    unchanged = submit_form(client, edit, edit, html=form)
    assert unchanged.headers["location"] == f"{_page(need)}?done=unchanged"
    corrected = submit_form(client, edit, edit, {"people": "9", "method": "workshop"}, html=form)
    assert corrected.headers["location"] == f"{_page(need)}?done=edited"
    [stored] = _collections(session)
    assert (stored.people, stored.method) == (9, "workshop")
    refused = submit_form(client, edit, edit, {"people": "0"}, html=form)
    assert refused.status_code == 422 and _collections(session)[0].people == 9

    removed = submit_form(client, _page(need), f"{_page(need)}/{collection_id}/remove")
    assert removed.headers["location"] == f"{_page(need)}?done=removed"
    assert _collections(session) == []
    entries = fresh(session).exec(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == [
        "need.offline_collection_edit",
        "need.offline_collection_remove",
    ]
    assert (entries[0].before["people"], entries[0].after["people"]) == (7, 9)
    assert entries[1].before["people"] == 9 and entries[1].target_id == need.id


def test_a_collection_of_another_need_or_of_a_merged_need_is_not_found(
    client, session, signed_in_staff
):
    need, other = make_need(session), make_need(session)
    collection_id = _record(session, other, 4).id
    assert client.get(f"{_page(need)}/{collection_id}/edit").status_code == 404
    merged = make_need(session, status="merged")
    assert client.get(_page(merged)).status_code == 404
    assert client.get("/moderation/needs/999999/offline").status_code == 404


def test_the_need_page_adds_the_people_met_offline_to_its_demand(client, session):
    need = make_need(session)
    html = client.get(need_url(need)).text
    assert "rencontrée" not in page_text(html)  # nothing recorded: nothing said

    _record(session, need, 12)
    _record(session, need, 3, method="public_meeting")
    add_support(session, need, make_user(session), concern="has_need")

    html = client.get(need_url(need)).text
    items = [li.text(strip=True) for li in LexborHTMLParser(html).css(".support-demand-list li")]
    assert items == ["1 personne a ce besoin", "+ 15 personnes rencontrées hors ligne"]
    # The support count stays the accounts' own.
    assert fresh(session).get(type(need), need.id).supports_count == 1


@pytest.fixture
def uncached(settings):  # type: ignore[no-untyped-def]
    """Counting what a route runs: the anonymous response cache would answer from memory."""
    settings.cache_mb = 0


def test_the_need_page_reads_its_demand_in_one_statement(uncached, client, session):
    need = make_need(session)
    _record(session, need, 5)
    statements = statements_for(client, need_url(need))
    reading = [s for s in statements if "offline_collections" in s]
    assert len(reading) == 1 and "supports" in reading[0], describe(statements)


def test_the_demand_of_an_idea_and_the_csv_count_the_people_met_offline(
    client, session, staff_user, signed_in_staff
):
    first, second, hidden = make_need(session), make_need(session), make_need(session)
    add_support(session, first, make_user(session), concern="would_use")
    _record(session, first, 12)
    _record(session, second, 8)
    _record(session, hidden, 100)
    idea = make_idea(session, actor=staff_user, needs=[first, second, hidden], is_public=True)
    hidden.status = "hidden"
    session.add(hidden)
    session.commit()

    for url in (f"/ideas/{idea.id}-{idea.slug}", f"/moderation/ideas/{idea.id}"):
        rows = {
            tr.css_first("th").text(strip=True): tr.css_first("td").text(strip=True)
            for tr in LexborHTMLParser(client.get(url).text).css("table.demand-table tfoot tr")
        }
        assert rows == {
            "Personnes distinctes en tout": "1",
            "Recueilli hors ligne (personnes rencontrées)": "20",
        }, url

    exported = {
        row["id"]: row
        for row in csv.DictReader(io.StringIO(client.get("/moderation/ideas.csv").text))
    }
    assert (exported[str(idea.id)]["supporters"], exported[str(idea.id)]["people_offline"]) == (
        "1",
        "20",
    )


def test_the_qualification_list_shows_the_people_met_offline(client, session, signed_in_staff):
    need = make_need(session)
    _record(session, need, 40)
    html = client.get("/moderation/qualification").text
    cell = LexborHTMLParser(html).css_first(".demand-offline")
    assert cell is not None and " ".join(cell.text(separator=" ").split()) == (
        "Recueilli hors ligne 40"
    )


def test_the_api_tells_the_people_met_offline_in_the_demand(client, session):
    need, other = make_need(session), make_need(session)
    _record(session, need, 12)
    _record(session, need, 30)

    single = client.get(f"/api/v1/needs/{need.id}").json()
    assert single["demand"]["offline"] == 42
    assert single["supports"] == 0
    listed = {n["id"]: n["demand"] for n in client.get("/api/v1/needs").json()["items"]}
    assert (listed[need.id]["offline"], listed[other.id]["offline"]) == (42, 0)


def test_impact_counts_the_people_met_offline_about_public_needs(client, session):
    pessac = make_territory(session, "pessac", "Pessac")
    need = make_need(session)
    _record(session, need, 12, collected_on=date(2026, 3, 1))
    _record(session, need, 5, collected_on=date(2025, 6, 1), territory_id=pessac.id)
    _record(session, make_need(session, status="hidden"), 1000)

    def offline(query: str = "") -> str:
        html = client.get(f"/impact{query}").text
        return LexborHTMLParser(html).css_first("#table-board tr.row-offline td").text(strip=True)

    assert offline() == "17"
    assert offline("?year=2026") == "12"
    assert offline("?territory=pessac") == "5"


def test_collections_for_needs_reads_many_needs_in_one_statement(session):
    first, second, none = make_need(session), make_need(session), make_need(session)
    _record(session, first, 3, collected_on=MET - timedelta(days=5))
    _record(session, first, 4, method="workshop", place="Centre social")
    _record(session, second, 5)

    with counting(session.get_bind()) as statements:
        found = collections_for_needs(session, [first.id, second.id, none.id])

    assert len(statements) == 1, describe(statements)
    assert [c.people for c in found[first.id]] == [4, 3]  # the most recent first
    assert found[first.id][0].method_label == "Atelier"
    assert [c.people for c in found[second.id]] == [5] and none.id not in found
    assert collections_for_needs(session, []) == {}


@pytest.mark.parametrize("role", ["resident", "staff"])
def test_the_support_block_after_moi_aussi_keeps_the_people_met_offline(
    client, session, monkeypatch, role
):
    """The block answered before routing (app.board.support_form_path) and the route's own say
    the same."""
    from app.board import support_form_path

    need = make_need(session)
    _record(session, need, 6)
    login_as(client, make_user(session, role=role), session)
    page = f"/needs/{need.id}-{need.slug}"
    htmx = {"HX-Request": "true"}

    fast = submit_form(client, page, f"/needs/{need.id}/support", headers=htmx)
    submit_form(client, page, f"/needs/{need.id}/support", headers=htmx)  # withdrawn again
    monkeypatch.setattr(support_form_path, "support_by_form", lambda *a, **k: None)
    routed = submit_form(client, page, f"/needs/{need.id}/support", headers=htmx)

    assert "+ 6 personnes rencontrées hors ligne" in fast.text
    assert fast.text == routed.text


def test_a_need_recorded_offline_can_start_with_the_people_who_raised_it(
    client, session, signed_in_staff
):
    from app.board.models import Need

    fill = {
        "title": "Un lieu pour faire ses devoirs après l'école",
        "body": "Plusieurs parents rencontrés au marché cherchent une aide aux devoirs.",
        "source": "street_survey",
        "source_event": "Marché de Mérignac-Capeyron",
        "source_date": MET.isoformat(),
        "people": "25",
    }
    refused = submit_form(
        client, "/moderation/needs/new", "/moderation/needs/new", {**fill, "people": "0"}
    )
    assert refused.status_code == 422 and "entre 1 et 10" in " ".join(form_errors(refused.text))
    assert fresh(session).exec(select(func.count()).select_from(Need)).one() == 0

    response = submit_form(client, "/moderation/needs/new", "/moderation/needs/new", fill)

    assert response.status_code == 303
    need = fresh(session).exec(select(Need)).one()
    [collection] = _collections(session)
    assert (collection.need_id, collection.people, collection.method) == (need.id, 25, "survey")
    assert (collection.collected_on, collection.place) == (MET, "Marché de Mérignac-Capeyron")
    assert collection.recorded_by_id == signed_in_staff.id
    assert need.supports_count == 0
    page = client.get(response.headers["location"]).text
    assert "+ 25 personnes rencontrées hors ligne" in page


def test_a_need_recorded_offline_without_a_number_starts_without_a_collection(
    client, session, signed_in_staff
):
    fill = {
        "title": "Un lieu pour faire ses devoirs après l'école",
        "source": "phone",
        "source_date": MET.isoformat(),
    }
    response = submit_form(client, "/moderation/needs/new", "/moderation/needs/new", fill)
    assert response.status_code == 303 and _collections(session) == []


def test_the_demo_shows_people_met_offline(client, session, settings):
    from app.board.models import Need
    from app.ops.demo.seed import seed_demo

    seed_demo(session, settings)
    seed_demo(session, settings)  # idempotent: the collections come with their need, once
    need = fresh(session).exec(select(Need).where(Need.title.startswith("Démarches"))).one()
    assert client.get(f"/api/v1/needs/{need.id}").json()["demand"]["offline"] == 61
    assert "+ 61 personnes rencontrées hors ligne" in client.get(need_url(need)).text
