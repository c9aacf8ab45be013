"""The qualification lists show who is behind each need (issue 17): people per concern and per
territory, read in one statement for the whole page whatever the number of needs."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from app.board.supports import add_support
from tests.board.test_query_counts import describe, statements_for
from tests.factories import make_need, make_territory, make_user


def _cells(html: str, need_title: str) -> dict[str, dict[str, str]]:
    """column header → {dt: dd} of the row of `need_title` in the « À qualifier » list."""
    table = LexborHTMLParser(html).css_first("#todo-caption").parent
    headers = [th.text(strip=True) for th in table.css("thead th")]
    for row in table.css("tbody tr"):
        cells = row.css("td")
        if cells[0].text(strip=True) != need_title:
            continue
        return {
            header: {
                dt.text(strip=True): dd.text(strip=True)
                for dt, dd in zip(cell.css("dt"), cell.css("dd"), strict=True)
            }
            for header, cell in zip(headers, cells, strict=True)
        }
    raise AssertionError(f"{need_title} is not listed")


def test_each_need_shows_its_people_per_concern_and_territory(client, session, signed_in_staff):
    pessac = make_territory(session, "pessac", "Pessac")
    need = make_need(session, title="Une laverie solidaire")
    alone = make_need(session, title="Un besoin sans réponse")
    for concern, territory in (
        ("has_need", pessac.id),
        ("has_need", pessac.id),
        ("could_help", None),
        (None, pessac.id),
    ):
        add_support(session, need, make_user(session), concern=concern, territory_id=territory)

    html = client.get("/moderation/qualification").text
    cells = _cells(html, "Une laverie solidaire")

    assert cells["Concerné·e comme"] == {"J'ai ce besoin": "2", "Je pourrais aider": "1"}
    assert cells["Territoires des soutiens"] == {"Pessac": "3", "Non précisé": "1"}
    assert _cells(html, alone.title)["Concerné·e comme"] == {}


def test_the_qualification_list_reads_the_same_statements_for_few_or_many_needs(
    client, session, signed_in_staff
):
    territory = make_territory(session)

    def grow_to(total: int) -> None:
        while grow_to.count < total:  # type: ignore[attr-defined]
            need = make_need(session)
            for concern in ("has_need", "would_use"):
                add_support(
                    session, need, make_user(session), concern=concern, territory_id=territory.id
                )
            grow_to.count += 1  # type: ignore[attr-defined]

    grow_to.count = 0  # type: ignore[attr-defined]
    grow_to(3)
    few = statements_for(client, "/moderation/qualification")
    grow_to(25)  # more than a page of the list
    many = statements_for(client, "/moderation/qualification")

    assert len(few) == len(many), f"few:\n{describe(few)}\n\nmany:\n{describe(many)}"
    assert sum("FROM supports" in s or "JOIN supports" in s for s in many) == 1, describe(many)
