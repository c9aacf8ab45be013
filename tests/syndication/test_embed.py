"""The iframe widget (/embed/needs, /embed/ideas and one item): validated parameters, only
public content, links to the site in a new tab, accent colours that stay readable, a cache
invalidated by visible changes, /embed.js and the /partners/embed code builder."""

from __future__ import annotations

from datetime import timedelta

import pytest
from selectolax.lexbor import LexborHTMLParser

from app.board.models import Need
from app.core.db import utcnow
from app.syndication import embed
from app.web.colours import contrast
from tests import factories
from tests.factories import make_need, make_territory, make_theme


def make_idea(
    session,
    title="Une conciergerie d'insertion",
    *,
    is_public=True,
    summary="Résumé public.",
    **values,
):  # type: ignore[no-untyped-def]
    """The shared factory with this module's defaults, a public idea with a summary:
    test_attribution and test_oembed import this name, and count on those defaults."""
    return factories.make_idea(session, title, is_public=is_public, summary=summary, **values)


def item_titles(html: str) -> list[str]:
    return [n.text(strip=True) for n in LexborHTMLParser(html).css(".embed-item-title a")]


def clean_titles(html: str) -> list[str]:
    # The link text ends with a visually hidden « (nouvel onglet) ».
    return [t.replace("(nouvel onglet)", "").strip() for t in item_titles(html)]


# --- content and filters ------------------------------------------------------------------------


def test_the_widget_lists_public_needs_newest_first_without_site_chrome(client, session):
    now = utcnow()
    old = make_need(session, title="Un atelier vélo à Pessac", created_at=now - timedelta(days=2))
    new = make_need(session, title="Une navette pour le marché", created_at=now)
    response = client.get("/embed/needs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert clean_titles(response.text) == [new.title, old.title]
    tree = LexborHTMLParser(response.text)
    assert tree.css_first("header") is None and tree.css_first("nav") is None
    assert tree.css_first("footer") is None
    assert tree.css_first("main") is not None
    assert tree.css_first("html").attributes["lang"] == "fr"
    assert not tree.css("script:not([src])"), "no inline script (CSP)"
    links = tree.css("a")
    assert links and all(a.attributes.get("target") == "_blank" for a in links)
    assert all("noopener" in (a.attributes.get("rel") or "") for a in links)
    assert all(a.attributes["href"].startswith("http://testserver/") for a in links)
    more = [a for a in links if "Voir tous les besoins" in a.text()]
    assert more and more[0].attributes["href"] == "http://testserver/"


def test_filters_limit_and_the_link_to_the_board_with_the_same_filters(client, session):
    theme = make_theme(session)
    place = make_territory(session)
    for n in range(4):
        make_need(
            session,
            title=f"Mobilité à Mérignac numéro {n}",
            theme_id=theme.id,
            territory_id=place.id,
        )
    make_need(session, title="Autre thème ailleurs")
    response = client.get(
        "/embed/needs", params={"theme": "mobilite", "territory": "merignac", "limit": "3"}
    )
    assert response.status_code == 200
    titles = clean_titles(response.text)
    assert len(titles) == 3 and all(t.startswith("Mobilité à Mérignac") for t in titles)
    more = next(
        a for a in LexborHTMLParser(response.text).css("a") if "Voir tous les besoins" in a.text()
    )
    assert more.attributes["href"] == "http://testserver/?theme=mobilite&territory=merignac"


def test_status_and_sort_filters(client, session):
    top = make_need(session, title="Le plus soutenu de tous")
    top.supports_count = 50
    session.add(top)
    covered = make_need(session, title="Un besoin déjà couvert", status="covered")
    session.commit()
    assert clean_titles(client.get("/embed/needs", params={"sort": "top"}).text)[0] == top.title
    assert clean_titles(client.get("/embed/needs", params={"status": "covered"}).text) == [
        covered.title
    ]


def test_english_widget(client, session):
    make_need(session, title="A need")
    response = client.get("/embed/needs", params={"lang": "en"})
    assert response.status_code == 200
    assert LexborHTMLParser(response.text).css_first("html").attributes["lang"] == "en"


def test_ideas_widget_shows_public_ideas_with_their_stage(client, session):
    theme = make_theme(session)
    make_idea(
        session, "Une épicerie solidaire", stage="studying", theme_id=theme.id, is_public=True
    )
    make_idea(session, "Une idée encore secrète", is_public=False, theme_id=theme.id)
    make_idea(session, "Une idée lancée", stage="launched", is_public=True)
    response = client.get("/embed/ideas", params={"theme": "mobilite"})
    assert response.status_code == 200
    assert clean_titles(response.text) == ["Une épicerie solidaire"]
    assert "À l'étude" in LexborHTMLParser(response.text).body.text()
    staged = client.get("/embed/ideas", params={"stage": "launched"})
    assert clean_titles(staged.text) == ["Une idée lancée"]
    more = [
        a for a in LexborHTMLParser(staged.text).css("a") if "Voir toutes les idées" in a.text()
    ]
    assert more[0].attributes["href"] == "http://testserver/ideas?stage=launched"


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("accent", ["#abc", "#aabbcc", "#AABBCC", "#1f4E8c"])
def test_hex_accents_are_accepted(client, session, accent):
    response = client.get("/embed/needs", params={"accent": accent})
    assert response.status_code == 200
    link = LexborHTMLParser(response.text).css_first('link[href^="/embed/accent.css"]')
    assert link is not None
    css = client.get(link.attributes["href"])
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "--embed-link" in css.text


@pytest.mark.parametrize(
    "accent", ["red", "#ggg", "url(https://evil.example/x.png)", "#abcd", "abc", "#aabbcc;x", " "]
)
def test_bad_accents_are_a_400_with_a_french_message(client, accent):
    response = client.get("/embed/needs", params={"accent": accent})
    assert response.status_code == 400
    assert "La couleur doit être un code hexadécimal" in response.text
    assert "evil.example" not in response.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "0"}, "de 1 à 20"),
        ({"limit": "21"}, "de 1 à 20"),
        ({"limit": "1000"}, "de 1 à 20"),
        ({"limit": "deux"}, "de 1 à 20"),
        ({"limit": "²"}, "de 1 à 20"),
        ({"theme": "inconnue"}, "Cette thématique n'existe pas"),
        ({"territory": "atlantide"}, "Ce territoire n'existe pas"),
        ({"status": "hidden"}, "Ce statut n'existe pas"),
        ({"sort": "random"}, "Ce tri n'existe pas"),
        ({"lang": "de"}, "La langue doit être"),
    ],
)
def test_bad_parameters_are_a_400_with_a_french_message(client, params, message):
    response = client.get("/embed/needs", params=params)
    assert response.status_code == 400
    text = LexborHTMLParser(response.text).body.text()
    assert message in text.replace("\u00a0", " ").replace("\u202f", " ")


def test_bad_idea_parameters_are_a_400(client):
    assert client.get("/embed/ideas", params={"stage": "secret"}).status_code == 400
    assert client.get("/embed/ideas", params={"limit": "21"}).status_code == 400
    assert client.get("/embed/ideas", params={"theme": "inconnue"}).status_code == 400


@pytest.mark.parametrize("limit", ["1", "20"])
def test_limit_bounds_are_accepted(client, session, limit):
    for _n in range(21):
        make_need(session)
    response = client.get("/embed/needs", params={"limit": limit})
    assert response.status_code == 200
    assert len(item_titles(response.text)) == int(limit)


def test_accent_colours_keep_text_readable():
    for raw in ["#ffff00", "#abc", "#f6c343", "#00ff00", "#1f4e8c", "#000000", "#ffffff"]:
        accent = embed.parse_accent(raw)
        css = embed.accent_css(accent)
        link = css.split("--embed-link: ")[1].split(";")[0]
        button_text = css.split("--embed-accent-text: ")[1].split(";")[0]
        assert contrast(link, "#ffffff") >= 4.5, raw
        assert contrast(button_text, accent) >= 4.5, raw
    # A dark enough colour is kept as it is.
    assert embed.darken_for("#1f4e8c") == "#1f4e8c"


# --- visibility ---------------------------------------------------------------------------------

STATES = ["hidden", "pending", "rejected", "merged", "deleted"]


def test_non_public_needs_never_appear_in_the_widget(client, session):
    control = make_need(session, title="Besoin public témoin")
    secret_ids = []
    for state in STATES:
        need = make_need(
            session,
            title=f"Besoin secret {state}",
            status="published" if state == "deleted" else state,
        )
        need.supports_count = need.comments_count = 1000
        need.trending_score = 1e6
        if state == "merged":
            need.merged_into_id = control.id
        if state == "deleted":
            need.deleted_at = utcnow()
        session.add(need)
        session.commit()
        secret_ids.append(need.id)
    for sort in ["recent", "top", "trending", "discussed"]:
        for status in ["", "open", "covered"]:
            response = client.get(
                "/embed/needs", params={"sort": sort, "status": status, "limit": "20"}
            )
            assert response.status_code == 200
            assert "secret" not in response.text
    for need_id in secret_ids:
        response = client.get(f"/embed/needs/{need_id}")
        assert response.status_code == 404
        assert "secret" not in response.text
    assert client.get(f"/embed/needs/{control.id}").status_code == 200


def test_private_ideas_never_appear_in_the_widget(client, session):
    secret = make_idea(session, "Une idée secrète", is_public=False, stage="studying")
    make_idea(session, "Une idée publique", is_public=True)
    for stage in ["", "studying"]:
        response = client.get("/embed/ideas", params={"stage": stage} if stage else {})
        assert response.status_code == 200
        assert "secrète" not in response.text
    assert client.get(f"/embed/ideas/{secret.id}").status_code == 404
    assert client.get("/embed/ideas/999999").status_code == 404
    assert client.get("/embed/ideas/abc").status_code == 404


def test_one_need_widget(client, session):
    need = make_need(session, title="Une laverie solidaire", body="Pour les familles du quartier.")
    response = client.get(f"/embed/needs/{need.id}-{need.slug}")
    assert response.status_code == 200
    tree = LexborHTMLParser(response.text)
    assert tree.css_first("h1").text(strip=True).startswith("Une laverie solidaire")
    assert "Pour les familles du quartier." in response.text
    assert client.get(f"/embed/needs/{need.id}", params={"accent": "bleu"}).status_code == 400


# --- cache --------------------------------------------------------------------------------------


def test_a_newly_published_need_appears_and_a_hidden_one_disappears(client, session):
    first = make_need(session, title="Premier besoin visible")
    assert clean_titles(client.get("/embed/needs").text) == [first.title]
    # Served from the cache when nothing changed.
    assert clean_titles(client.get("/embed/needs").text) == [first.title]

    pending = make_need(session, title="Besoin en attente de relecture", status="pending")
    assert pending.title not in client.get("/embed/needs").text
    pending.status = "published"
    session.add(pending)
    session.commit()
    assert pending.title in clean_titles(client.get("/embed/needs").text)

    first.status = "hidden"
    session.add(first)
    session.commit()
    assert first.title not in client.get("/embed/needs").text


def test_a_relative_update_invalidates_the_cache_too(client, session):
    from sqlalchemy import update

    need = make_need(session, title="Un besoin à soutenir")
    assert "0 soutien" in client.get("/embed/needs").text
    session.exec(
        update(Need).where(Need.id == need.id).values(supports_count=Need.supports_count + 7)
    )  # type: ignore[call-overload, arg-type]
    session.commit()
    assert "7 soutiens" in client.get("/embed/needs").text


def test_a_renamed_theme_and_a_published_idea_invalidate(client, session):
    theme = make_theme(session)
    make_need(session, title="Un besoin classé", theme_id=theme.id)
    assert "Mobilité" in client.get("/embed/needs").text
    theme.name = "Transports"
    session.add(theme)
    session.commit()
    assert "Transports" in client.get("/embed/needs").text

    idea = make_idea(session, "Une idée bientôt publique", is_public=False)
    assert idea.title not in client.get("/embed/ideas").text
    idea.is_public = True
    session.add(idea)
    session.commit()
    assert idea.title in client.get("/embed/ideas").text


def test_the_cache_serves_the_same_html_and_304(client, session, app):
    make_need(session)
    calls = []
    original = embed.widget_needs

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return original(*args, **kwargs)

    embed.widget_needs = counting  # type: ignore[assignment]
    try:
        first = client.get("/embed/needs", params={"limit": "4"})
        second = client.get("/embed/needs", params={"limit": "4"})
    finally:
        embed.widget_needs = original  # type: ignore[assignment]
    assert first.text == second.text
    assert len(calls) == 1
    assert "public" in first.headers["cache-control"]
    etag = first.headers["etag"]
    again = client.get("/embed/needs", params={"limit": "4"}, headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_the_cache_keeps_languages_apart(client, session):
    make_need(session)
    fr = client.get("/embed/needs").text
    en = client.get("/embed/needs", params={"lang": "en"}).text
    assert 'lang="fr"' in fr and 'lang="en"' in en


# --- embed.js -------------------------------------------------------------------------------------


def test_embed_js_is_javascript_and_checks_the_origin(client):
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    text = response.text
    assert "event.origin !== origin" in text
    assert "event.source !== frame.contentWindow" in text
    assert '"bourse:height"' in text
    assert "insertBefore(frame, script.nextSibling)" in text
    assert "frame.title" in text
    assert "/embed/" in text and "data-kind" in text


def test_the_frame_script_posts_its_height(client):
    text = client.get("/static/js/embed-frame.js").text
    assert "ResizeObserver" in text and '"bourse:height"' in text and "postMessage" in text


def test_the_widget_loads_the_frame_script(client, session):
    tree = LexborHTMLParser(client.get("/embed/needs").text)
    assert tree.css_first('script[src="/static/js/embed-frame.js"]') is not None
    assert tree.css_first('link[href="/static/css/embed.css"]') is not None


# --- /partners/embed ----------------------------------------------------------------------------


def test_the_builder_page_gives_codes_and_a_preview(client, session):
    make_theme(session)
    make_territory(session)
    response = client.get(
        "/partners/embed",
        params={
            "kind": "needs",
            "theme": "mobilite",
            "territory": "merignac",
            "limit": "3",
            "accent": "#c30",
        },
    )
    assert response.status_code == 200
    tree = LexborHTMLParser(response.text)
    assert tree.css_first("header") is not None  # site chrome
    frame = tree.css_first("iframe#embed-preview-frame")
    assert (
        frame.attributes["src"]
        == "/embed/needs?accent=%23cc3300&limit=3&territory=merignac&theme=mobilite"
    )
    assert frame.attributes["title"]
    codes = {t.attributes["data-embed-code"]: t.text() for t in tree.css("textarea[readonly]")}
    assert codes["script"] == (
        '<script src="http://testserver/embed.js" data-territory="merignac" data-theme="mobilite"'
        ' data-limit="3" data-accent="#cc3300" async></script>'
    )
    assert (
        'src="http://testserver/embed/needs?accent=%23cc3300&amp;limit=3'
        in tree.css_first("#code-iframe").html
    )
    assert codes["feed"] == "http://testserver/feeds/needs.atom?theme=mobilite&territory=merignac"
    assert codes["api"].startswith(
        "http://testserver/api/v1/needs?theme=mobilite&territory=merignac"
    )
    assert "HTML personnalisé" in response.text
    for textarea in tree.css("textarea"):
        assert tree.css_first(f'label[for="{textarea.attributes["id"]}"]') is not None
    # The preview itself answers.
    assert client.get(frame.attributes["src"]).status_code == 200


def test_a_text_search_goes_into_every_code_and_the_widget_applies_it(client, session):
    make_need(session, title="Un atelier vélo au pied des immeubles")
    make_need(session, title="Une aide aux devoirs le mercredi")
    response = client.get("/partners/embed", params={"kind": "needs", "q": '  vélo "atelier"  '})
    assert response.status_code == 200
    tree = LexborHTMLParser(response.text)
    assert tree.css_first("input#e-q").attributes["value"] == 'vélo "atelier"'
    assert tree.css_first('label[for="e-q"]') is not None
    codes = {t.attributes["data-embed-code"]: t.text() for t in tree.css("textarea[readonly]")}
    # The quotes typed by the partner are escaped in the pasted code, never closing the attribute.
    assert codes["script"] == (
        '<script src="http://testserver/embed.js" data-q="vélo &quot;atelier&quot;" async></script>'
    )
    preview = tree.css_first("iframe#embed-preview-frame").attributes["src"]
    widget = client.get(preview)
    assert widget.status_code == 200
    assert "Un atelier vélo" in widget.text and "aide aux devoirs" not in widget.text
    # embed.js forwards data-q to the frame, like the other filters.
    assert '"q"' in client.get("/embed.js").text


def test_the_builder_for_ideas_and_bad_input(client, session):
    response = client.get("/partners/embed", params={"kind": "ideas", "stage": "studying"})
    assert response.status_code == 200
    script = LexborHTMLParser(response.text).css_first("#code-script").text()
    assert 'data-kind="ideas" data-stage="studying"' in script
    bad = client.get("/partners/embed", params={"accent": "red", "theme": "inconnue"})
    assert bad.status_code == 400
    assert "La couleur doit être" in bad.text
    assert (
        LexborHTMLParser(bad.text).css_first("#e-accent").attributes.get("aria-invalid") == "true"
    )
    assert client.get("/partners/embed", params={"kind": "autre"}).status_code == 400
