"""The board (issue 3, item 2): each sort orders as it says, filters narrow, bad URL values get a
French 400 page (never a 500), pages neither repeat nor skip a need, and htmx gets only the
results block."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import Session

from app.board.models import Need
from app.board.queries import PER_PAGE
from app.core.db import utcnow
from tests.factories import login_as, make_need, make_territory, make_theme, make_user


def words(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def titles(html: str) -> list[str]:
    return [a.text(strip=True) for a in LexborHTMLParser(html).css(".need-card-title a")]


def board_titles(client: TestClient, **params: str) -> list[str]:
    response = client.get("/", params=params)
    assert response.status_code == 200, response.text
    return titles(response.text)


def results_text(html: str) -> str:
    node = LexborHTMLParser(html).css_first("#results")
    assert node is not None
    return words(node.text(separator=" "))


def set_counts(session: Session, need: Need, **values: object) -> None:
    for name, value in values.items():
        setattr(need, name, value)
    session.add(need)
    session.commit()


# --- cards -------------------------------------------------------------------------------------


def test_an_empty_board_invites_a_first_need(client):
    response = client.get("/")

    assert response.status_code == 200
    assert "soyez la première personne à en proposer un" in results_text(response.text)


def test_a_card_shows_title_excerpt_theme_territory_counts_and_age(client, session):
    theme = make_theme(session, "alimentation", "Alimentation")
    territory = make_territory(session, "pessac", "Pessac")
    need = make_need(
        session,
        title="Une épicerie solidaire",
        body="Des **produits** à petit prix près de la gare.",
        theme_id=theme.id,
        territory_id=territory.id,
        created_at=utcnow() - timedelta(days=3),
    )
    set_counts(session, need, supports_count=12, comments_count=1)

    response = client.get("/")

    card = LexborHTMLParser(response.text).css_first("article.need-card")
    assert card is not None
    link = card.css_first(".need-card-title a")
    assert (
        link is not None and link.attributes["href"] == f"/needs/{need.id}-une-epicerie-solidaire"
    )
    text = words(card.text(separator=" "))
    assert "Des produits à petit prix près de la gare." in text
    assert "Alimentation" in text and "Pessac" in text
    assert "12 soutiens" in text and "1 commentaire" in text
    assert "il y a 3 jours" in text


def test_a_covered_need_has_its_badge(client, session):
    make_need(session, status="covered")

    assert "Déjà couvert" in results_text(client.get("/").text)


# --- sorts -------------------------------------------------------------------------------------


@pytest.fixture
def four_needs(session):  # type: ignore[no-untyped-def]
    """Needs whose order differs for each sort."""
    now = utcnow()
    spec = {
        # title: (age in days, supports, trending score, comments)
        "Le plus récent des besoins": (0, 1, 1.0, 0),
        "Le plus soutenu des besoins": (9, 40, 2.0, 1),
        "Le besoin en tendance": (5, 10, 90.0, 2),
        "Le plus discuté des besoins": (20, 5, 0.5, 30),
    }
    for title, (days, supports, trending, comments) in spec.items():
        need = make_need(session, title=title, created_at=now - timedelta(days=days))
        set_counts(
            session,
            need,
            supports_count=supports,
            trending_score=trending,
            comments_count=comments,
        )


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (
            "recent",
            [
                "Le plus récent des besoins",
                "Le besoin en tendance",
                "Le plus soutenu des besoins",
                "Le plus discuté des besoins",
            ],
        ),
        (
            "top",
            [
                "Le plus soutenu des besoins",
                "Le besoin en tendance",
                "Le plus discuté des besoins",
                "Le plus récent des besoins",
            ],
        ),
        (
            "trending",
            [
                "Le besoin en tendance",
                "Le plus soutenu des besoins",
                "Le plus récent des besoins",
                "Le plus discuté des besoins",
            ],
        ),
        (
            "discussed",
            [
                "Le plus discuté des besoins",
                "Le besoin en tendance",
                "Le plus soutenu des besoins",
                "Le plus récent des besoins",
            ],
        ),
    ],
)
def test_each_sort_orders_the_board(client, four_needs, sort, expected):
    assert board_titles(client, sort=sort) == expected


def test_recent_is_the_default_sort(client, four_needs):
    assert board_titles(client) == board_titles(client, sort="recent")
    assert board_titles(client, sort="") == board_titles(client, sort="recent")


def test_the_chosen_sort_is_selected_in_the_form(client, four_needs):
    page = LexborHTMLParser(client.get("/", params={"sort": "trending"}).text)

    selected = page.css_first("#f-sort option[selected]")
    assert selected is not None and selected.attributes["value"] == "trending"


def test_trending_follows_the_stored_score_not_the_raw_count(client, session):
    # Many old supports weigh less than a few recent ones: the decayed score decides.
    old = make_need(session, title="Beaucoup de soutiens anciens")
    set_counts(session, old, supports_count=50, trending_score=3.0)
    fresh = make_need(session, title="Quelques soutiens récents")
    set_counts(session, fresh, supports_count=4, trending_score=7.5)

    assert board_titles(client, sort="trending") == [
        "Quelques soutiens récents",
        "Beaucoup de soutiens anciens",
    ]
    assert board_titles(client, sort="top") == [
        "Beaucoup de soutiens anciens",
        "Quelques soutiens récents",
    ]


def test_real_supports_feed_the_trending_sort(client, session):
    from app.board.supports import add_support

    quiet = make_need(session, title="Un besoin sans soutien")
    busy = make_need(session, title="Un besoin soutenu")
    for _ in range(2):
        add_support(session, busy, make_user(session))

    assert board_titles(client, sort="trending")[0] == "Un besoin soutenu"
    assert quiet.trending_score == 0


# --- filters -----------------------------------------------------------------------------------


@pytest.fixture
def filed_needs(session):  # type: ignore[no-untyped-def]
    food = make_theme(session, "alimentation", "Alimentation")
    care = make_theme(session, "petite-enfance", "Petite enfance")
    merignac = make_territory(session, "merignac", "Mérignac")
    pessac = make_territory(session, "pessac", "Pessac")
    make_need(session, title="Épicerie à Mérignac", theme_id=food.id, territory_id=merignac.id)
    make_need(session, title="Épicerie à Pessac", theme_id=food.id, territory_id=pessac.id)
    make_need(session, title="Crèche à Mérignac", theme_id=care.id, territory_id=merignac.id)
    make_need(session, title="Crèche déjà couverte à Pessac", theme_id=care.id,
              territory_id=pessac.id, status="covered")  # fmt: skip
    make_need(session, title="Un besoin sans classement")


def test_the_theme_filter(client, filed_needs):
    assert sorted(board_titles(client, theme="alimentation")) == [
        "Épicerie à Mérignac",
        "Épicerie à Pessac",
    ]


def test_the_territory_filter(client, filed_needs):
    assert sorted(board_titles(client, territory="pessac")) == [
        "Crèche déjà couverte à Pessac",
        "Épicerie à Pessac",
    ]


def test_the_status_filter(client, filed_needs):
    assert board_titles(client, status="covered") == ["Crèche déjà couverte à Pessac"]
    assert "Crèche déjà couverte à Pessac" not in board_titles(client, status="open")
    assert len(board_titles(client, status="open")) == 4
    assert len(board_titles(client, status="")) == 5


def test_filters_combine(client, filed_needs):
    assert board_titles(client, theme="petite-enfance", territory="merignac") == [
        "Crèche à Mérignac"
    ]
    assert board_titles(client, theme="petite-enfance", territory="pessac", status="open") == []


def test_a_filter_without_results_says_so_and_offers_to_post(client, filed_needs):
    response = client.get("/", params={"theme": "alimentation", "status": "covered"})

    assert response.status_code == 200
    assert "Aucun besoin ne correspond à votre recherche." in results_text(response.text)


def test_an_archived_theme_still_filters_old_links_but_is_not_offered(client, session, filed_needs):
    from sqlmodel import select

    from app.board.models import Theme

    theme = session.exec(select(Theme).where(Theme.slug == "alimentation")).one()
    theme.archived_at = utcnow()
    session.add(theme)
    session.commit()

    response = client.get("/", params={"theme": "alimentation"})
    assert response.status_code == 200  # partners' links and feeds keep working
    assert client.get("/", params={"theme": "inconnue"}).status_code == 400
    options = LexborHTMLParser(client.get("/").text).css("#f-theme option")
    assert "alimentation" not in [o.attributes.get("value") for o in options]


# --- bad URL values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sort": "bogus"}, "Ce tri n'existe pas"),
        ({"sort": "RECENT"}, "Ce tri n'existe pas"),
        ({"sort": "<script>"}, "Ce tri n'existe pas"),
        ({"theme": "nope"}, "Cette thématique n'existe pas."),
        ({"theme": "a\x00b"}, "Cette thématique n'existe pas."),
        ({"theme": "x" * 5000}, "Cette thématique n'existe pas."),
        ({"territory": "nope"}, "Ce territoire n'existe pas."),
        ({"territory": "'; DROP TABLE needs; --"}, "Ce territoire n'existe pas."),
        ({"status": "hidden"}, "Ce statut n'existe pas."),
        ({"status": "pending"}, "Ce statut n'existe pas."),
        ({"page": "-1"}, "Le numéro de page doit être un nombre entier à partir de 1."),
        ({"page": "0"}, "Le numéro de page doit être un nombre entier à partir de 1."),
        ({"page": "abc"}, "Le numéro de page doit être un nombre entier à partir de 1."),
        ({"page": "1.5"}, "Le numéro de page doit être un nombre entier à partir de 1."),
        ({"page": "1e3"}, "Le numéro de page doit être un nombre entier à partir de 1."),
        ({"page": " 2"}, "Le numéro de page doit être un nombre entier à partir de 1."),
        ({"page": "²"}, "Le numéro de page doit être un nombre entier à partir de 1."),
        ({"page": "٣"}, "Le numéro de page doit être un nombre entier à partir de 1."),
        ({"page": "\x00"}, "Le numéro de page doit être un nombre entier à partir de 1."),
    ],
)
def test_a_bad_url_value_is_a_french_400_never_a_500(client, session, params, message):
    make_need(session, title="Un besoin toujours listé")

    response = client.get("/", params=params)

    assert response.status_code == 400
    alert = LexborHTMLParser(response.text).css_first("#results [role=alert]")
    assert alert is not None
    assert message in words(alert.text())
    assert alert.css_first('a[href="/"]') is not None  # a way back to the whole list
    assert "<script>" not in response.text.split("<main", 1)[-1].replace("&lt;script&gt;", "")


def test_several_bad_values_are_all_reported(client):
    response = client.get("/", params={"sort": "x", "theme": "y", "page": "z"})

    assert response.status_code == 400
    assert len(LexborHTMLParser(response.text).css("#results [role=alert] li")) == 3


def test_a_page_far_beyond_the_last_is_empty_not_an_error(client, session):
    make_need(session)

    for page in ("999999", "3", "99999999999999999999999"):
        response = client.get("/", params={"page": page})
        assert response.status_code == 200
        assert "Aucun besoin sur cette page." in results_text(response.text)
        first = LexborHTMLParser(response.text).css_first("#results a[href='/']")
        assert first is not None  # back to the first page


def test_a_huge_page_number_runs_no_board_query(client, session):
    from sqlalchemy import event

    statements: list[str] = []

    def remember(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = client.app.state.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        client.get("/", params={"page": "999999"})
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert not [s for s in statements if "OFFSET" in s.upper()]


# --- pagination --------------------------------------------------------------------------------


def walk_pages(client: TestClient, **params: str) -> list[list[str]]:
    """Follows the "next page" links from the first page, as a person would."""
    pages = []
    url: str | None = "/"
    query = dict(params)
    while url is not None:
        response = client.get(url, params=query if url == "/" else None)
        assert response.status_code == 200
        pages.append(titles(response.text))
        nxt = LexborHTMLParser(response.text).css_first("#results a[rel=next]")
        url = nxt.attributes["href"] if nxt is not None else None  # type: ignore[assignment]
        query = {}
        assert len(pages) < 10
    return pages


@pytest.mark.parametrize("sort", ["recent", "top", "trending", "discussed"])
def test_pages_neither_repeat_nor_skip_a_need_even_with_ties(client, session, sort):
    now = utcnow()
    for n in range(2 * PER_PAGE + 5):
        need = make_need(
            session,
            title=f"Besoin {n:02d} pour la pagination",
            # Many equal keys: only the tie-break on id keeps the order total.
            created_at=now - timedelta(minutes=n // 7),
        )
        set_counts(session, need, supports_count=n % 3, trending_score=float(n % 4),
                   comments_count=n % 2)  # fmt: skip

    pages = walk_pages(client, sort=sort)

    assert [len(p) for p in pages] == [PER_PAGE, PER_PAGE, 5]
    seen = [t for page in pages for t in page]
    assert len(seen) == len(set(seen)) == 2 * PER_PAGE + 5


def test_pagination_links_keep_the_filters_and_sort(client, session):
    theme = make_theme(session)
    for n in range(PER_PAGE + 1):
        make_need(session, title=f"Besoin {n:02d} de mobilité", theme_id=theme.id)

    response = client.get("/", params={"theme": "mobilite", "sort": "top", "q": "mobilité"})

    nxt = LexborHTMLParser(response.text).css_first("#results a[rel=next]")
    assert nxt is not None
    query = parse_qs(urlsplit(nxt.attributes["href"]).query)  # type: ignore[arg-type]
    # The next link also carries the position of the last need shown (keyset pagination).
    assert query.pop("after")
    assert query == {"theme": ["mobilite"], "sort": ["top"], "q": ["mobilité"], "page": ["2"]}
    second = client.get(nxt.attributes["href"])  # type: ignore[arg-type]
    assert len(titles(second.text)) == 1
    prev = LexborHTMLParser(second.text).css_first("#results a[rel=prev]")
    assert prev is not None and "page=" not in prev.attributes["href"]  # type: ignore[operator]


def test_a_single_page_has_no_pagination(client, session):
    make_need(session)

    assert LexborHTMLParser(client.get("/").text).css_first("nav.pagination") is None


# --- htmx --------------------------------------------------------------------------------------


def test_htmx_gets_only_the_results_block(client, session):
    make_need(session, title="Un besoin dans la liste")

    response = client.get("/", params={"sort": "top"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="results"')
    assert "<html" not in response.text and "<form" not in response.text
    assert titles(response.text) == ["Un besoin dans la liste"]
    assert "HX-Request" in response.headers["vary"]


def test_htmx_bad_values_also_get_the_block_with_the_message(client):
    response = client.get("/", params={"page": "abc"}, headers={"HX-Request": "true"})

    assert response.status_code == 400
    assert response.text.lstrip().startswith('<section id="results"')
    assert "Le numéro de page" in words(response.text)


def test_a_boosted_or_plain_request_gets_the_whole_page(client, session):
    make_need(session)

    boosted = client.get("/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    plain = client.get("/")

    for response in (boosted, plain):
        assert "<html" in response.text
        assert LexborHTMLParser(response.text).css_first("form.board-filters") is not None
        assert "HX-Request" in response.headers["vary"]


def test_the_filter_form_works_without_javascript_and_drives_htmx(client):
    form = LexborHTMLParser(client.get("/").text).css_first("form.board-filters")

    assert form is not None
    assert form.attributes["method"] == "get" and form.attributes["action"] == "/"
    assert form.attributes["data-hx-get"] == "/"
    assert form.attributes["data-hx-target"] == "#results"
    assert form.attributes["data-hx-push-url"] == "true"
    assert {i.attributes["name"] for i in form.css("input, select")} >= {
        "q",
        "theme",
        "territory",
        "status",
        "sort",
    }


# --- signed in ---------------------------------------------------------------------------------


def test_the_board_marks_what_i_support(client, session):
    from app.board.supports import add_support

    me = make_user(session)
    mine = make_need(session, title="Un besoin que je soutiens")
    make_need(session, title="Un besoin que je ne soutiens pas")
    add_support(session, mine, me)
    login_as(client, me, session)

    page = LexborHTMLParser(client.get("/").text)

    marked = [
        card.css_first(".need-card-title a").text(strip=True)  # type: ignore[union-attr]
        for card in page.css("article.need-card")
        if card.css_first(".count-mine") is not None
    ]
    assert marked == ["Un besoin que je soutiens"]


def test_remembered_cards_follow_every_change_they_show(client, session):
    """Cards are remembered by their content (app.board.cards): what a visitor sees next is
    always the need as it is now — counts, title, theme, the visitor's own mark, language."""
    from app.board.cards import _cards
    from app.board.supports import add_support, remove_support

    _cards.clear()
    theme = make_theme(session, slug="mobilite", name="Mobilité")
    theme.name_en = "Mobility"
    session.add(theme)
    need = make_need(session, title="Un garage solidaire", theme_id=theme.id)
    me = make_user(session)
    login_as(client, me, session)

    def card() -> str:
        page = LexborHTMLParser(client.get("/").text)
        node = page.css_first("article.need-card")
        assert node is not None
        return node.html or ""

    first = card()
    remembered = len(_cards)  # the card, and the same marked « soutenu » (app.web.personal)
    assert card() == first and len(_cards) == remembered <= 2  # from memory, not rendered again
    assert "0 soutien" in words(first) and "count-mine" not in first

    add_support(session, need, me)
    assert "1 soutien" in words(card()) and "count-mine" in card()
    remove_support(session, need, me)
    assert "0 soutien" in words(card()) and "count-mine" not in card()
    add_support(session, need, make_user(session))  # someone else: only the count moves
    assert "1 soutien" in words(card()) and "count-mine" not in card()

    set_counts(session, need, title="Un garage solidaire et mobile", comments_count=3)
    changed = card()
    assert "Un garage solidaire et mobile" in changed and "3 commentaires" in words(changed)

    theme.name = "Déplacements"
    session.add(theme)
    session.commit()
    assert "Déplacements" in card()
    client.cookies.set("bourse_lang", "en")
    english = card()
    assert "Mobility" in english and "comments" in english
