"""Who is behind an idea (issue 17): its public and staff pages show the distinct people behind
its public needs, per concern and per territory — a person behind two needs counts once; the
public page names no territory fewer than three people named, the team sees them all."""

from __future__ import annotations

import csv
import io

from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.board.models import Follow, Notification
from app.board.supports import add_support
from app.pipeline import service
from tests.board.test_query_counts import counting, describe
from tests.factories import fresh, make_idea, make_need, make_territory, make_user


def _tables(html: str) -> dict[str, dict[str, str]]:
    """caption → {row header: its count}, for the demand tables of a page."""
    tables = {}
    for table in LexborHTMLParser(html).css("table.demand-table"):
        rows = {}
        for row in table.css("tbody tr, tfoot tr"):
            rows[row.css_first("th").text(strip=True)] = row.css_first("td").text(strip=True)
        tables[table.css_first("caption").text(strip=True)] = rows
    return tables


def _idea_with_people(session, staff_user):  # type: ignore[no-untyped-def]
    """Two public needs and a hidden one: five people behind the public ones (one of them
    behind both, with two answers), four in Pessac, one in Bègles; one behind the hidden."""
    pessac = make_territory(session, "pessac", "Pessac")
    begles = make_territory(session, "begles", "Bègles")
    first, second, hidden = make_need(session), make_need(session), make_need(session)
    both = make_user(session)
    add_support(session, first, both, concern="has_need", territory_id=pessac.id)
    add_support(session, second, both, concern="could_help", territory_id=pessac.id)
    for concern in ("has_need", "would_use", None):
        add_support(session, first, make_user(session), concern=concern, territory_id=pessac.id)
    organisation = make_user(session)
    add_support(session, second, organisation, concern="org_could_support", territory_id=begles.id)
    add_support(session, hidden, make_user(session), concern="has_need", territory_id=begles.id)
    idea = make_idea(session, actor=staff_user, needs=[first, second, hidden], is_public=True)
    hidden.status = "hidden"
    session.add(hidden)
    session.commit()
    return idea


def test_the_public_idea_page_counts_each_person_once_per_answer(client, session, staff_user):
    idea = _idea_with_people(session, staff_user)

    html = client.get(f"/ideas/{idea.id}-{idea.slug}").text
    tables = _tables(html)

    assert tables["Personnes distinctes par façon d'être concerné·e"] == {
        "J'ai ce besoin": "2",
        "J'utiliserais ce service": "1",
        "Je pourrais aider": "1",
        "Mon organisation pourrait soutenir": "1",
        "Sans préciser comment": "1",
        "Personnes distinctes en tout": "5",
    }
    # Bègles was named by one person only: not named to the public.
    assert tables["Personnes distinctes par territoire"] == {
        "Pessac": "4",
        "Autres territoires ou non précisé": "1",
    }
    assert "Bègles" not in LexborHTMLParser(html).css_first("#demand-title").parent.text()
    assert "5 personnes soutiennent les besoins de cette idée." in html


def test_the_staff_idea_page_names_every_territory(client, session, staff_user, signed_in_staff):
    idea = _idea_with_people(session, staff_user)

    html = client.get(f"/moderation/ideas/{idea.id}").text
    tables = _tables(html)

    assert tables["Personnes distinctes par territoire"] == {"Pessac": "4", "Bègles": "1"}
    assert tables["Personnes distinctes par façon d'être concerné·e"]["J'ai ce besoin"] == "2"
    facts = LexborHTMLParser(html).css_first("dl.idea-facts").text(separator=" ")
    assert "Personnes distinctes derrière ses besoins publics 5" in " ".join(facts.split())


def test_the_demand_reads_in_english(client, session, staff_user):
    idea = _idea_with_people(session, staff_user)
    html = client.get(f"/ideas/{idea.id}-{idea.slug}", headers={"Accept-Language": "en"}).text
    tables = _tables(html)
    assert tables["Distinct people by how they are concerned"]["Distinct people in all"] == "5"
    assert "Other or unspecified areas" in tables["Distinct people by area"]


def test_an_idea_nobody_supports_shows_no_demand(client, session):
    idea = make_idea(session, is_public=True)
    assert _tables(client.get(f"/ideas/{idea.id}-{idea.slug}").text) == {}


def test_the_ideas_csv_has_the_distinct_people_per_concern_and_territory(
    client, session, staff_user, signed_in_staff
):
    idea = _idea_with_people(session, staff_user)
    make_idea(session, "Une idée d'une autre source")

    rows = {
        row["id"]: row
        for row in csv.DictReader(io.StringIO(client.get("/moderation/ideas.csv").text))
    }

    row = rows[str(idea.id)]
    assert row["supports"] == "7"  # every linked need's supports, the hidden one's too
    assert (row["supporters"], row["people_has_need"], row["people_would_use"]) == ("5", "2", "1")
    assert (row["people_could_help"], row["people_org_could_support"]) == ("1", "1")
    assert row["people_by_territory"] == "Pessac: 4; Bègles: 1"
    other = next(r for key, r in rows.items() if key != str(idea.id))
    assert (other["supporters"], other["people_by_territory"]) == ("0", "")


def test_a_move_tells_each_person_once_reading_the_needs_people_in_one_statement(
    session, staff_user
):
    """Three needs, a person behind all three (supporter of one, follower of another, author of
    the third): one notification for them per move, and the supports read once, not per need."""
    everywhere = make_user(session)
    needs = [make_need(session), make_need(session), make_need(session, author=everywhere)]
    add_support(session, needs[0], everywhere, concern="has_need")
    session.add(Follow(need_id=needs[1].id, user_id=everywhere.id))
    session.commit()
    idea = make_idea(session, actor=staff_user, needs=needs, is_public=True)
    told = [n for n in fresh(session).exec(select(Notification)) if n.user_id == everywhere.id]
    assert len(told) == 1 and told[0].need_id == needs[0].id

    with counting(session.get_bind()) as statements:
        service.move_idea(session, staff_user, idea.id, "studying", seen_stage="detected")
    told = [n for n in fresh(session).exec(select(Notification)) if n.user_id == everywhere.id]
    assert len(told) == 1  # brought up to date, not doubled (app.board.notifications)
    assert "À l'étude" in told[0].message
    # (The idea's own followers are read apart, leaving out those its needs' people tell.)
    needs_people = [s for s in statements if "FROM supports" in s and "topic_follows" not in s]
    assert len(needs_people) == 1, describe(statements)
