"""The impact figures on a hand-computed fixture (every number asserted exactly, with and
without filters), the /impact page (tables and accessible SVG) and GET /api/v1/stats."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from selectolax.lexbor import LexborHTMLParser

from app.pipeline.impact import _percent, impact_figures
from app.pipeline.models import StageChange
from tests.factories import make_idea, make_need, make_territory, make_user, page_text


def _when(year: int, month: int = 6) -> datetime:
    return datetime(year, month, 1, 12, tzinfo=UTC)


def _idea(session, title, *, year, territory, origin, history, carrier=None, jobs=None):  # type: ignore[no-untyped-def]
    """A public idea created in `year` that went through `history`, each stage change dated a
    month after the one before it: the impact figures count from this history, which the
    shared factory does not write (kept here for that)."""
    idea = make_idea(
        session,
        title,
        stage=history[-1],
        is_public=True,
        origin=origin,
        territory_id=territory.id if territory else None,
        carrier_name=carrier,
        jobs_created=jobs,
        changed_at=_when(year),
        commit=False,
    )
    previous = None
    for step, stage in enumerate(history):
        session.add(
            StageChange(
                idea_id=idea.id,
                from_stage=previous,
                to_stage=stage,
                actor_name="Équipe",
                created_at=_when(year, 1 + step),
            )
        )
        previous = stage
    session.commit()
    return idea


D, S, C, L, X = "detected", "studying", "seeking_carrier", "launching", "launched"
A = "abandoned"


@pytest.fixture
def world(session):  # type: ignore[no-untyped-def]
    """7 ideas and 7 needs. Expected figures are worked out by hand in each test."""
    merignac = make_territory(session, "merignac", "Mérignac")
    pessac = make_territory(session, "pessac", "Pessac")
    # I1 2024 Mérignac, board, launched with 4 jobs
    _idea(
        session,
        "Idée un",
        year=2024,
        territory=merignac,
        origin="resident",
        history=[D, S, C, L, X],
        carrier="Club services 33",
        jobs=4,
    )
    # I2 2024 Pessac, town, studied then abandoned
    _idea(session, "Idée deux", year=2024, territory=pessac, origin="town", history=[D, S, A])
    # I3 2025 Mérignac, board, only detected
    _idea(session, "Idée trois", year=2025, territory=merignac, origin="resident", history=[D])
    # I4 2025 Mérignac, association, seeking a carrier and already has one recorded
    _idea(
        session,
        "Idée quatre",
        year=2025,
        territory=merignac,
        origin="association",
        history=[D, S, C],
        carrier="Asso du quartier",
    )
    # I5 2025 Pessac, company, launched with 7 jobs
    _idea(
        session,
        "Idée cinq",
        year=2025,
        territory=pessac,
        origin="company",
        history=[D, S, C, L, X],
        carrier="SCIC Mobile",
        jobs=7,
    )
    # I6 2025 no territory, fabrique, abandoned before any study
    _idea(session, "Idée six", year=2025, territory=None, origin="fabrique", history=[D, A])
    # I7 2024 Mérignac, board, reached launching then moved back to studying, carrier cleared
    _idea(
        session,
        "Idée sept",
        year=2024,
        territory=merignac,
        origin="resident",
        history=[D, S, C, L, S],
    )

    author = make_user(session)

    def need(year, territory, status, supports, comments, deleted=False):  # type: ignore[no-untyped-def]
        row = make_need(
            session,
            author=author,
            status=status,
            created_at=_when(year),
            territory_id=territory.id if territory else None,
        )
        row.supports_count = supports
        row.comments_count = comments
        if deleted:
            row.deleted_at = _when(year, 9)
        session.add(row)
        session.commit()

    need(2024, merignac, "published", 5, 2)
    need(2025, merignac, "covered", 3, 1)
    need(2025, pessac, "published", 10, 4)
    need(2025, merignac, "hidden", 100, 50)  # not public
    need(2025, pessac, "published", 20, 9, deleted=True)  # deleted by its author
    need(2024, None, "pending", 0, 0)  # not public
    need(2024, pessac, "merged", 8, 0)  # not public
    return {"merignac": merignac, "pessac": pessac}


def _numbers(figures):  # type: ignore[no-untyped-def]
    return (
        figures.detected,
        figures.studied,
        figures.carrier_found,
        figures.launched,
        figures.abandoned,
        figures.enterprises,
        figures.jobs,
        figures.from_board,
        figures.board_share_percent,
        figures.needs,
        figures.supports,
        figures.comments,
    )


def test_figures_without_filters(session, world):
    # studied: I1 I2 I4 I5 I7 (I2 abandoned after its study still counts); carrier: I1 I5
    # (launched), I4 (carrier recorded), I7 (reached launching once); board: 3 of 7 = 42.9 %.
    assert _numbers(impact_figures(session)) == (7, 5, 4, 2, 2, 2, 11, 3, 43, 3, 18, 7)


def test_figures_for_one_year(session, world):
    # 2024: I1 I2 I7; needs of 2024: only the published one in Mérignac (5 supports, 2 comments).
    assert _numbers(impact_figures(session, year=2024)) == (3, 3, 2, 1, 1, 1, 4, 2, 67, 1, 5, 2)


def test_figures_for_one_territory(session, world):
    # Mérignac: I1 I3 I4 I7; needs: the published one and the covered one.
    figures = impact_figures(session, territory_id=world["merignac"].id)
    assert _numbers(figures) == (4, 3, 3, 1, 0, 1, 4, 3, 75, 2, 8, 3)
    assert figures.territory.slug == "merignac"


def test_figures_for_one_year_and_territory(session, world):
    figures = impact_figures(session, year=2025, territory_id=world["pessac"].id)
    assert _numbers(figures) == (1, 1, 1, 1, 0, 1, 7, 0, 0, 1, 10, 4)


def test_figures_of_an_empty_year_are_zero(session, world):
    assert _numbers(impact_figures(session, year=2019)) == (0,) * 12


def test_board_share_is_rounded_half_up():
    assert _percent(1, 8) == 13  # 12.5 %
    assert _percent(3, 7) == 43
    assert _percent(0, 0) == 0
    assert _percent(5, 5) == 100


def _table(html: str, table_id: str) -> dict[str, str]:
    tree = LexborHTMLParser(html)
    rows = tree.css(f"#{table_id} tbody tr")
    return {row.css_first("th").text(strip=True): row.css("td")[0].text(strip=True) for row in rows}


def test_impact_page_shows_the_numbers_in_tables(client, world):
    response = client.get("/impact?year=2024")
    assert response.status_code == 200
    assert _table(response.text, "table-funnel") == {
        "Idées repérées": "3",
        "Idées étudiées": "3",
        "Porteur trouvé": "2",
        "Entreprises créées": "1",
        "Idées abandonnées": "1",
    }
    assert _table(response.text, "table-board") == {
        "Besoins publiés": "1",
        "Soutiens": "5",
        "Commentaires": "2",
        "Personnes rencontrées hors ligne": "0",
    }
    assert _table(response.text, "table-origin") == {
        "Venues de la Bourse": "2",
        "Autres sources": "1",
    }
    tree = LexborHTMLParser(response.text)
    assert tree.css_first("#key-jobs").text(strip=True) == "4"
    assert tree.css_first("#key-enterprises").text(strip=True) == "1"
    assert tree.css_first("#key-board-share").text(strip=True).startswith("67")
    for table in tree.css("table.impact-table"):
        assert table.css_first("caption").text(strip=True)
        assert all(th.attributes.get("scope") in ("col", "row") for th in table.css("th"))


def test_impact_charts_are_accessible_svg(client, world):
    tree = LexborHTMLParser(client.get("/impact").text)
    charts = tree.css("svg.chart")
    assert len(charts) == 3
    for svg in charts:
        assert svg.attributes["role"] == "img"
        ids = svg.attributes["aria-labelledby"].split()
        names = [tree.css_first(f"#{i}") for i in ids]
        assert [n.tag for n in names] == ["title", "desc"]
        assert all(n.text(strip=True) for n in names)
        # Labels and values are text in the drawing, not colour alone.
        assert svg.css("text.chart-label") and svg.css("text.chart-value")
    funnel = tree.css_first("#chart-funnel")
    assert "Idées repérées" in funnel.text() and "7" in [
        t.text() for t in funnel.css(".chart-value")
    ]
    assert "Idées repérées : 7" in tree.css_first("#chart-funnel-desc").text()


def test_impact_page_territory_filter_and_bad_filters(client, world):
    response = client.get("/impact?territory=merignac")
    assert _table(response.text, "table-funnel")["Idées repérées"] == "4"
    bad = client.get("/impact?territory=atlantide")
    assert bad.status_code == 400
    assert "Ce territoire n'existe pas." in page_text(bad.text)
    bad_year = client.get("/impact?year=deux-mille")
    assert bad_year.status_code == 400
    assert "L'année doit être un nombre" in page_text(bad_year.text)
    # The figures shown then ignore the bad filter.
    assert _table(bad_year.text, "table-funnel")["Idées repérées"] == "7"


def test_impact_page_works_on_an_empty_site(client):
    response = client.get("/impact")
    assert response.status_code == 200
    assert _table(response.text, "table-funnel")["Idées repérées"] == "0"


# --- GET /api/v1/stats ----------------------------------------------------------------------


def test_stats_api_equals_the_figures(client, session, world):
    response = client.get("/api/v1/stats")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"] == "public, max-age=0, must-revalidate, s-maxage=5"
    body = response.json()
    assert body == impact_figures(session).as_json()
    assert body["ideas"] == {
        "detected": 7,
        "studied": 5,
        "carrier_found": 4,
        "launched": 2,
        "abandoned": 2,
    }
    assert (body["enterprises"], body["jobs"], body["board_share"]) == (2, 11, 0.43)
    assert (body["needs"], body["supports"], body["comments"]) == (3, 18, 7)
    assert body["filters"] == {"year": None, "territory": None}


def test_stats_api_filters(client, session, world):
    body = client.get("/api/v1/stats?year=2025&territory=pessac").json()
    expected = impact_figures(session, year=2025, territory_id=world["pessac"].id).as_json()
    assert body == expected
    assert body["filters"] == {"year": 2025, "territory": {"slug": "pessac", "name": "Pessac"}}
    assert body["jobs"] == 7


def test_stats_api_answers_304_to_its_etag(client, world):
    first = client.get("/api/v1/stats?year=2024")
    etag = first.headers["etag"]
    again = client.get("/api/v1/stats?year=2024", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    # Another filter is another representation.
    other = client.get("/api/v1/stats?year=2025", headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_stats_api_etag_changes_with_the_data(client, session, world):
    etag = client.get("/api/v1/stats").headers["etag"]
    _idea(session, "Idée huit", year=2025, territory=None, origin="resident", history=[D])
    response = client.get("/api/v1/stats", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.json()["ideas"]["detected"] == 8


@pytest.mark.parametrize(
    ("query", "field"),
    [("territory=atlantide", "territory"), ("year=1900", "year"), ("year=²", "year")],
)
def test_stats_api_bad_filters_are_problem_json(client, world, query, field):
    response = client.get(f"/api/v1/stats?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    assert body["status"] == 400 and body["title"] and body["detail"]
    assert field in body["errors"]


def test_stats_api_preflight(client):
    response = client.options(
        "/api/v1/stats",
        headers={"Origin": "https://partenaire.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]
