"""oEmbed (https://oembed.com/): a public need or idea of this site is a `rich` item whose
html is the one-item widget in an iframe; anything else is a 404, XML a 501."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from app.core.db import utcnow
from tests.factories import make_need
from tests.syndication.test_embed import make_idea


def oembed(client, url: str, **params: str):  # type: ignore[no-untyped-def]
    return client.get("/oembed", params={"url": url, "format": "json", **params})


def test_a_public_need_is_a_rich_item_with_its_iframe(client, session):
    need = make_need(session, title="Une laverie solidaire à Bègles")
    response = oembed(client, f"http://testserver/needs/{need.id}-{need.slug}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["access-control-allow-origin"] == "*"
    data = response.json()
    assert data["version"] == "1.0"
    assert data["type"] == "rich"
    assert data["provider_name"] == "Bourse à initiatives"
    assert data["provider_url"] == "http://testserver/"
    assert data["title"] == need.title
    assert isinstance(data["width"], int) and isinstance(data["height"], int)
    frame = LexborHTMLParser(data["html"]).css_first("iframe")
    assert frame.attributes["src"] == f"http://testserver/embed/needs/{need.id}"
    assert frame.attributes["title"] == need.title
    assert frame.attributes["width"] == str(data["width"])
    assert frame.attributes["height"] == str(data["height"])
    # The iframe's page exists and may be framed.
    page = client.get(f"/embed/needs/{need.id}")
    assert page.status_code == 200 and need.title in page.text


def test_short_need_urls_and_json_as_the_default_format(client, session):
    need = make_need(session)
    response = client.get("/oembed", params={"url": f"http://testserver/needs/{need.id}"})
    assert response.status_code == 200 and response.json()["type"] == "rich"


def test_a_public_idea_is_a_rich_item(client, session):
    idea = make_idea(session, "Une épicerie solidaire")
    response = oembed(client, f"http://testserver/ideas/{idea.id}-{idea.slug}")
    assert response.status_code == 200
    data = response.json()
    assert data["title"] == "Une épicerie solidaire"
    assert f"/embed/ideas/{idea.id}" in data["html"]


def test_maxwidth_and_maxheight_are_honoured(client, session):
    need = make_need(session)
    url = f"http://testserver/needs/{need.id}-{need.slug}"
    data = oembed(client, url, maxwidth="300", maxheight="150").json()
    assert data["width"] <= 300 and data["height"] <= 150
    frame = LexborHTMLParser(data["html"]).css_first("iframe")
    assert int(frame.attributes["width"]) <= 300 and int(frame.attributes["height"]) <= 150
    roomy = oembed(client, url, maxwidth="5000").json()
    assert roomy["width"] == 480


@pytest.mark.parametrize("state", ["hidden", "pending", "rejected", "merged", "deleted"])
def test_non_public_needs_are_a_404(client, session, state):
    control = make_need(session)
    need = make_need(
        session, title="Besoin secret", status="published" if state == "deleted" else state
    )
    if state == "merged":
        need.merged_into_id = control.id
    if state == "deleted":
        need.deleted_at = utcnow()
    session.add(need)
    session.commit()
    response = oembed(client, f"http://testserver/needs/{need.id}-{need.slug}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "secret" not in response.text


def test_a_private_idea_is_a_404(client, session):
    idea = make_idea(session, "Une idée secrète", is_public=False)
    response = oembed(client, f"http://testserver/ideas/{idea.id}-{idea.slug}")
    assert response.status_code == 404
    assert "secrète" not in response.text


@pytest.mark.parametrize(
    "url",
    [
        "https://ailleurs.example/needs/1-x",
        "http://testserver/",
        "http://testserver/ideas",
        "http://testserver/needs/999999",
        "http://testserver/needs/abc",
        "http://testserver/needs/99999999999999999999",
        "http://testserver/account/login",
        "ftp://testserver/needs/1",
        "javascript:alert(1)",
        # Malformed hosts (urlsplit raises on them): still "not one of our pages".
        "http://[::1/needs/1",
        "http://[zz]/needs/1",
    ],
)
def test_other_urls_are_a_404(client, url):
    response = oembed(client, url)
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_xml_is_a_501_and_bad_input_a_400(client, session):
    need = make_need(session)
    url = f"http://testserver/needs/{need.id}"
    assert oembed(client, url, format="xml").status_code == 501
    assert oembed(client, url, format="yaml").status_code == 400
    assert client.get("/oembed").status_code == 400
    bad = oembed(client, url, maxwidth="large")
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert oembed(client, url, maxheight="-3").status_code == 400


def test_the_discovery_link_form_of_the_url_is_understood(client, session):
    # Jinja's urlencode keeps "/" as is: the need page's discovery link reads url=http%3A//…
    need = make_need(session)
    response = client.get(
        f"/oembed?url=http%3A//testserver/needs/{need.id}-{need.slug}&format=json"
    )
    assert response.status_code == 200
    assert response.json()["title"] == need.title


def test_need_and_idea_pages_announce_their_oembed_and_hidden_ones_do_not(client, session):
    need = make_need(session)
    page = LexborHTMLParser(client.get(f"/needs/{need.id}").text)
    link = page.css_first('head link[type="application/json+oembed"]')
    answer = client.get(link.attributes["href"].removeprefix("http://testserver"))
    assert answer.status_code == 200 and answer.json()["type"] == "rich"
    assert page.css_first('meta[name="twitter:card"]') is not None
    idea = make_idea(session)
    idea_page = LexborHTMLParser(client.get(f"/ideas/{idea.id}-{idea.slug}").text)
    assert idea_page.css_first('head link[type="application/json+oembed"]') is not None
    client.cookies.clear()
    for path in ("/embed/needs", "/embed.js", f"/oembed?url=/needs/{need.id}"):
        assert "set-cookie" not in client.get(path).headers, path
