"""The need page (issue 3, item 3): one canonical address (other slugs and the bare id 301 to
it, merged needs 301 to their target), canonical and OpenGraph tags, and non-public needs shown
only to their author and to moderators, with a banner saying why."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser

from app.core.db import utcnow
from tests.factories import login_as, make_need, make_territory, make_theme, make_user, page_text

NOT_FOUND = "Ce besoin n'existe pas ou n'est plus visible."


def words(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def main_text(html: str) -> str:
    return words(page_text(html))


def url_of(need) -> str:  # type: ignore[no-untyped-def]
    return f"/needs/{need.id}-{need.slug}"


def meta(page: LexborHTMLParser, prop: str) -> str | None:
    node = page.css_first(f'meta[property="{prop}"]') or page.css_first(f'meta[name="{prop}"]')
    return node.attributes.get("content") if node is not None else None


def as_anonymous(client: TestClient) -> TestClient:
    client.cookies.clear()
    return client


# --- the page ----------------------------------------------------------------------------------


def test_the_page_shows_the_need_with_its_author_theme_and_territory(client, session):
    author = make_user(session, display_name="Awa Diallo")
    need = make_need(
        session,
        author=author,
        title="Une crèche ouverte le soir",
        body="Les parents qui **finissent tard** n'ont pas de solution.",
        theme_id=make_theme(session, "petite-enfance", "Petite enfance").id,
        territory_id=make_territory(session).id,
    )

    response = client.get(url_of(need))

    assert response.status_code == 200
    page = LexborHTMLParser(response.text)
    assert page.css_first("h1").text(strip=True) == "Une crèche ouverte le soir"  # type: ignore[union-attr]
    body = page.css_first(".need-body")
    assert body is not None and "data-hx-disable" in body.attributes
    assert body.css_first("strong").text() == "finissent tard"  # type: ignore[union-attr]
    text = main_text(response.text)
    assert "Awa Diallo" in text
    assert "Petite enfance" in text and "Mérignac" in text
    assert page.css_first('a[href="/?theme=petite-enfance"]') is not None
    assert page.css_first('a[href="/?territory=merignac"]') is not None
    assert page.css_first("title").text().startswith("Une crèche ouverte le soir")  # type: ignore[union-attr]


def test_the_page_has_a_canonical_link_and_opengraph_tags(client, session):
    need = make_need(
        session, title="Un transport solidaire", body="Pour aller chez le médecin à Pessac."
    )

    page = LexborHTMLParser(client.get(url_of(need)).text)

    canonical = f"http://testserver/needs/{need.id}-un-transport-solidaire"
    assert page.css_first('link[rel="canonical"]').attributes["href"] == canonical  # type: ignore[union-attr]
    assert meta(page, "og:url") == canonical
    assert meta(page, "og:title") == "Un transport solidaire"
    assert meta(page, "og:description") == "Pour aller chez le médecin à Pessac."
    assert meta(page, "og:type") == "article"
    assert meta(page, "og:site_name") == "Bourse à initiatives"
    assert meta(page, "og:locale") == "fr_FR"
    assert meta(page, "robots") is None


def test_opengraph_falls_back_to_the_title_without_a_description(client, session):
    need = make_need(session, title="Un besoin sans description", body="")

    page = LexborHTMLParser(client.get(url_of(need)).text)

    assert meta(page, "og:description") == "Un besoin sans description"
    assert "(Pas de description.)" in main_text(client.get(url_of(need)).text)


def test_a_hostile_title_is_escaped_in_the_heading_and_the_meta_tags(client, session):
    title = '"><script>alert(1)</script> une crèche'
    need = make_need(session, title=title, body='<script>alert(2)</script> "quoted"')

    response = client.get(url_of(need))

    page = LexborHTMLParser(response.text)
    assert all("alert" not in s.text() for s in page.css("script"))
    assert page.css_first("h1").text(strip=True) == title  # type: ignore[union-attr]
    assert meta(page, "og:title") == title
    assert page.css_first("title").text().startswith(title)  # type: ignore[union-attr]
    assert "<script>alert" not in response.text


# --- one address -------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["{id}", "{id}-", "{id}-autre-titre", "{id}-UNE-CRECHE", "0{id}"])
def test_other_addresses_redirect_permanently_to_the_canonical_one(client, session, ref):
    need = make_need(session, title="Une crèche")

    response = client.get(f"/needs/{ref.format(id=need.id)}", follow_redirects=False)

    assert response.status_code == 301
    assert response.headers["location"] == f"/needs/{need.id}-une-creche"


def test_the_redirect_keeps_the_query_string(client, session):
    need = make_need(session, title="Une crèche")

    response = client.get(f"/needs/{need.id}?utm_source=affiche", follow_redirects=False)

    assert response.headers["location"] == f"/needs/{need.id}-une-creche?utm_source=affiche"


def test_the_canonical_address_does_not_redirect(client, session):
    need = make_need(session, title="Une crèche")

    assert client.get(url_of(need), follow_redirects=False).status_code == 200


def test_after_an_edit_the_old_slug_redirects_to_the_new_one(client, session):
    author = make_user(session)
    login_as(client, author, session)
    need = make_need(session, author=author, title="Un ancien titre de besoin")
    old = url_of(need)
    from tests.factories import post_form

    post_form(client, f"/needs/{need.id}/edit", {"title": "Un nouveau titre de besoin"})

    response = client.get(old, follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == f"/needs/{need.id}-un-nouveau-titre-de-besoin"


@pytest.mark.parametrize(
    "ref",
    [
        "abc",
        "abc-une-creche",
        "-1",
        "1.5",
        "1e3",
        "0x1",
        "%C2%B2",  # ² : a digit for str.isdigit(), not for int()
        "%D9%A3",  # Arabic-Indic three
        "%EF%BC%91",  # fullwidth one
        "9" * 13,
        "99999999",
        "%00",
        "%20",
        "'%20OR%201=1",
    ],
)
def test_a_malformed_or_unknown_id_is_a_french_404(client, session, ref):
    make_need(session)

    response = client.get(f"/needs/{ref}", follow_redirects=False)

    assert response.status_code == 404
    assert NOT_FOUND in main_text(response.text)
    assert "Erreur 404" in main_text(response.text)


def test_a_missing_id_is_a_404(client):
    assert client.get("/needs/").status_code == 404


def test_a_merged_need_redirects_to_its_target(client, session):
    target = make_need(session, title="Une crèche le soir")
    merged = make_need(session, title="Garde d'enfants tardive", status="merged")
    merged.merged_into_id = target.id
    session.add(merged)
    session.commit()

    for ref in (url_of(merged), f"/needs/{merged.id}", f"/needs/{merged.id}-autre"):
        response = client.get(ref, follow_redirects=False)
        assert response.status_code == 301
        assert response.headers["location"] == url_of(target)


def test_a_merged_need_without_target_is_not_found(client, session):
    merged = make_need(session, status="merged")

    assert client.get(url_of(merged)).status_code == 404


# --- non-public needs --------------------------------------------------------------------------

BANNERS = {
    "pending": "En attente de validation",
    "hidden": "Ce besoin est masqué",
    "rejected": "Ce besoin n'a pas été publié par l'équipe de modération.",
}


@pytest.mark.parametrize("status", ["pending", "hidden", "rejected"])
def test_a_non_public_need_is_not_found_for_anonymous_visitors(client, session, status):
    need = make_need(session, status=status)

    response = client.get(url_of(need))

    assert response.status_code == 404
    assert NOT_FOUND in main_text(response.text)
    assert need.title not in response.text


@pytest.mark.parametrize("status", ["pending", "hidden", "rejected"])
def test_a_non_public_need_is_not_found_for_another_resident(client, session, status):
    need = make_need(session, status=status)
    login_as(client, make_user(session), session)

    assert client.get(url_of(need)).status_code == 404
    assert client.get(f"/needs/{need.id}", follow_redirects=False).status_code == 404


@pytest.mark.parametrize("status", ["pending", "hidden", "rejected"])
def test_its_author_sees_a_non_public_need_with_a_banner(client, session, status):
    author = make_user(session)
    need = make_need(session, author=author, status=status)
    login_as(client, author, session)

    response = client.get(url_of(need))

    assert response.status_code == 200
    assert BANNERS[status] in main_text(response.text)
    assert meta(LexborHTMLParser(response.text), "robots") == "noindex"


@pytest.mark.parametrize("role", ["moderator", "staff", "admin"])
@pytest.mark.parametrize("status", ["pending", "hidden", "rejected"])
def test_moderators_see_a_non_public_need_with_a_banner(client, session, status, role):
    need = make_need(session, status=status)
    login_as(client, make_user(session, role=role), session)

    response = client.get(url_of(need))

    assert response.status_code == 200
    assert BANNERS[status] in main_text(response.text)


def test_a_pending_need_tells_its_author_it_awaits_validation(client, session):
    author = make_user(session)
    need = make_need(session, author=author, status="pending")
    login_as(client, author, session)

    text = main_text(client.get(f"{url_of(need)}?notice=pending").text).lower()

    assert "en attente de validation" in text


def test_a_non_public_need_offers_no_support_button(client, session):
    author = make_user(session)
    need = make_need(session, author=author, status="pending")
    login_as(client, author, session)

    page = LexborHTMLParser(client.get(url_of(need)).text)

    assert page.css(f'form[action^="/needs/{need.id}/support"]') == []


def test_a_soft_deleted_need_is_not_found_except_for_moderators(client, session):
    author = make_user(session)
    need = make_need(session, author=author)
    need.deleted_at = utcnow()
    session.add(need)
    session.commit()

    assert as_anonymous(client).get(url_of(need)).status_code == 404
    login_as(client, author, session)
    assert client.get(url_of(need)).status_code == 404
    login_as(client, make_user(session, role="moderator"), session)
    response = client.get(url_of(need))
    assert response.status_code == 200
    assert "Ce besoin a été supprimé par son auteur·e" in main_text(response.text)


def test_a_covered_need_is_public_with_its_badge(client, session):
    need = make_need(session, status="covered")

    response = client.get(url_of(need))

    assert response.status_code == 200
    assert "Déjà couvert" in main_text(response.text)


# --- notices and tools -------------------------------------------------------------------------


def test_an_unknown_notice_is_ignored(client, session):
    need = make_need(session)

    response = client.get(f"{url_of(need)}?notice=<script>")

    assert response.status_code == 200
    assert "<script>" not in page_text(response.text)


def test_the_author_sees_edit_and_delete_links_and_others_do_not(client, session):
    author = make_user(session)
    need = make_need(session, author=author)

    login_as(client, author, session)
    own = LexborHTMLParser(client.get(url_of(need)).text)
    assert own.css_first(f'a[href="/needs/{need.id}/edit"]') is not None
    assert own.css_first(f'a[href="/needs/{need.id}/delete"]') is not None

    login_as(client, make_user(session), session)
    theirs = LexborHTMLParser(client.get(url_of(need)).text)
    assert theirs.css_first(f'a[href="/needs/{need.id}/edit"]') is None
    assert theirs.css_first(f'a[href="/needs/{need.id}/delete"]') is None

    anonymous = LexborHTMLParser(as_anonymous(client).get(url_of(need)).text)
    assert anonymous.css_first(f'a[href="/needs/{need.id}/edit"]') is None


def test_a_need_whose_author_deleted_their_account_still_shows(client, session):
    need = make_need(session)
    need.author_id = None
    session.add(need)
    session.commit()

    response = client.get(url_of(need))

    assert response.status_code == 200
    assert "compte supprimé" in main_text(response.text)


@pytest.mark.parametrize(
    "path",
    [
        "/needs/99999999999",
        "/needs/2147483648-titre",
        "/needs/99999999999/edit",
        "/needs/99999999999/delete",
    ],
)
def test_ids_beyond_the_integer_range_are_a_french_404_on_every_engine(client, session, path):
    login_as(client, make_user(session), session)
    response = client.get(path)
    assert response.status_code == 404
    assert "Traceback" not in response.text
