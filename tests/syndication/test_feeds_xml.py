"""The Atom and RSS documents are written as text (app.syndication.feeds): whatever the text of
a need, an idea or a category, they stay well-formed XML with the same elements, attributes,
namespaces and order, and every value reads back as it was written — minus the characters
XML 1.0 cannot carry at all."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from xml.etree import ElementTree

import feedparser
import pytest

from app.board.models import NeedStatus
from app.core.text import render_markdown
from app.syndication import feeds
from app.web.i18n import use_locale
from tests.factories import make_need, make_territory, make_theme, make_user
from tests.syndication.test_feeds import make_idea

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Markup, entities, quotes of both kinds, a CDATA end, characters XML forbids (\x0b, \x07,
# \ufffe, a lone surrogate), white space an attribute must keep, emoji, right-to-left text.
TRICKY = (
    "Bus < 7 h & « navettes » \"l'été\" </title><script>alert('x')</script> ]]> &amp; "
    "\x0bcloche\x07 \ufffe\ud800 🚌👩🏽‍🦽 مرحبا بكم שלום\t→\nfin"
)
# What a database can store (no lone surrogate).
STORABLE = TRICKY.replace("\ud800", "")
TRICKY_HTML = '<p>Un <a href="https://exemple.fr/?a=1&amp;b=2">lien</a> &amp; 🚌 שלום</p>'


def readable(value: str, *, attribute: bool = False) -> str:
    """What an XML parser gives back for `value`: the forbidden characters dropped, and in
    text, line ends normalised (attribute values keep them, written as character references)."""
    kept = feeds._xml_text(value)
    return kept if attribute else kept.replace("\r\n", "\n").replace("\r", "\n")


def tricky_feed() -> feeds.Feed:
    when = datetime(2026, 3, 1, 8, 30, 15, tzinfo=UTC)
    categories = [
        feeds.Category(
            "sante-&-soins", 'Santé & « soins » <b>"ici"</b>\r\n\t🩺', "http://t/?theme="
        ),
        feeds.Category("covered", "Déjà couvert", "http://t/?status="),
    ]
    item = feeds.FeedItem(
        permalink="http://t/needs/7",
        url="http://t/needs/7-bus?ref=ville&x=<1>",
        tag="tag:t,2026-03-01:needs/7",
        title=TRICKY,
        content_html=TRICKY_HTML,
        summary=TRICKY,
        published=when,
        updated=when,
        author='Zoé "<Z>" \x0b& 🦊',
        categories=categories,
    )
    plain = feeds.FeedItem(
        permalink="http://t/needs/8",
        url="http://t/needs/8-simple",
        tag="tag:t,2026-03-01:needs/8",
        title="Simple",
        content_html="<p>Simple</p>",
        summary="",  # falls back to the title
        published=when,
        updated=when,
        author="Awa",
    )
    return feeds.Feed(
        title="Besoins (Santé & « soins ») — Bourse à initiatives",
        description='Les <besoins> & "idées" \x0b',
        home_url="http://t/?theme=sante&status=open",
        self_urls={
            "atom": "http://t/feeds/needs.atom?theme=sante&status=open",
            "rss": "http://t/feeds/needs.rss?theme=sante&status=open",
            "json": "http://t/feeds/needs.json?theme=sante&status=open",
        },
        updated=when,
        items=[item, plain],
    )


def children(element: ElementTree.Element) -> list[str]:
    return [child.tag for child in element]


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_atom_with_tricky_text_is_well_formed_with_the_expected_elements(locale):
    feed = tricky_feed()
    with use_locale(locale):
        body = feeds.render_feed(feed, "atom")
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<feed ")
    assert b"<script>" not in body and b"\x0b" not in body

    root = ElementTree.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    assert root.attrib == {XML_LANG: locale}
    assert (
        children(root)
        == [
            f"{ATOM}{tag}"
            for tag in ("id", "title", "subtitle", "updated", "link", "link", "author", "generator")
        ]
        + [f"{ATOM}entry"] * 2
    )
    assert root.findtext(f"{ATOM}id") == feed.self_urls["atom"]
    assert root.findtext(f"{ATOM}subtitle") == readable(feed.description)
    assert root.findtext(f"{ATOM}updated") == "2026-03-01T08:30:15Z"
    assert [link.attrib for link in root.findall(f"{ATOM}link")] == [
        {"rel": "self", "type": "application/atom+xml", "href": feed.self_urls["atom"]},
        {"rel": "alternate", "type": "text/html", "href": feed.home_url},
    ]

    entry, plain = root.findall(f"{ATOM}entry")
    assert children(entry) == [
        f"{ATOM}{tag}"
        for tag in (
            "id",
            "title",
            "link",
            "published",
            "updated",
            "author",
            "category",
            "category",
            "summary",
            "content",
        )
    ]
    item = feed.items[0]
    assert entry.findtext(f"{ATOM}id") == item.tag
    title = entry.find(f"{ATOM}title")
    assert title is not None
    assert (title.text, title.attrib) == (readable(TRICKY), {"type": "text"})
    link = entry.find(f"{ATOM}link")
    assert link is not None
    assert link.attrib == {"rel": "alternate", "type": "text/html", "href": item.url}
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == readable(item.author)
    assert [c.attrib for c in entry.findall(f"{ATOM}category")] == [
        {
            "term": c.term,
            "label": readable(c.label, attribute=True),
            "scheme": c.scheme,
        }
        for c in item.categories
    ]
    content = entry.find(f"{ATOM}content")
    assert content is not None
    assert (content.text, content.attrib) == (TRICKY_HTML, {"type": "html"})
    assert entry.findtext(f"{ATOM}summary") == readable(TRICKY)
    assert plain.findtext(f"{ATOM}summary") == "Simple"
    assert not plain.findall(f"{ATOM}category")

    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    first = parsed.entries[0]
    assert first.id == item.tag
    assert first.title == readable(TRICKY)
    assert first.link == item.url
    assert first.author == readable(item.author)
    assert [t.term for t in first.tags] == ["sante-&-soins", "covered"]
    assert first.content[0].type == "text/html"
    assert "שלום" in first.content[0].value and "🚌" in first.content[0].value


def test_rss_with_tricky_text_is_well_formed_with_the_expected_elements():
    feed = tricky_feed()
    with use_locale("fr"):
        body = feeds.render_feed(feed, "rss")
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<rss ")
    assert b"<script>" not in body and b"\x0b" not in body

    root = ElementTree.fromstring(body)
    assert (root.tag, root.attrib) == ("rss", {"version": "2.0"})
    [channel] = root
    assert channel.tag == "channel"
    assert children(channel) == [
        "title",
        "link",
        "description",
        "language",
        "lastBuildDate",
        "generator",
        f"{ATOM}link",
        "item",
        "item",
    ]
    assert channel.findtext("title") == feed.title
    assert channel.findtext("link") == feed.home_url
    assert channel.findtext("description") == readable(feed.description)
    assert channel.findtext("language") == "fr"
    assert parsedate_to_datetime(channel.findtext("lastBuildDate") or "") == feed.updated
    self_link = channel.find(f"{ATOM}link")
    assert self_link is not None
    assert self_link.attrib == {
        "rel": "self",
        "type": "application/rss+xml",
        "href": feed.self_urls["rss"],
    }

    element, plain = channel.findall("item")
    assert children(element) == [
        "title",
        "link",
        "guid",
        "pubDate",
        f"{DC}creator",
        "category",
        "category",
        "description",
    ]
    item = feed.items[0]
    assert element.findtext("title") == readable(TRICKY)
    assert element.findtext("link") == item.url
    guid = element.find("guid")
    assert guid is not None
    assert (guid.text, guid.attrib) == (item.permalink, {"isPermaLink": "true"})
    assert element.findtext(f"{DC}creator") == readable(item.author)
    assert [(c.text, c.attrib) for c in element.findall("category")] == [
        (readable(c.label), {"domain": c.scheme}) for c in item.categories
    ]
    assert element.findtext("description") == TRICKY_HTML
    assert children(plain) == ["title", "link", "guid", "pubDate", f"{DC}creator", "description"]

    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    first = parsed.entries[0]
    assert first.id == item.permalink
    assert first.title == readable(TRICKY)
    assert first.link == item.url
    assert "שלום" in first.description and "🚌" in first.description


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_a_feed_of_tricky_needs_ideas_and_categories_reads_back_through_the_site(
    client, session, fmt
):
    theme = make_theme(session, "sante", 'Santé & « soins » <b>"ici"</b> 🩺 שלום')
    territory = make_territory(session, "quartier", "Quartier \x0bNord & <Sud>")
    body = "Un **besoin** & <script>alert(1)</script> 🚌\x0b مرحبا"
    need = make_need(
        session,
        author=make_user(session, display_name='Zoé "<Z>" & 🦊'),
        title=STORABLE,
        body=body,
        theme_id=theme.id,
        territory_id=territory.id,
    )
    need.status = NeedStatus.covered.value
    session.add(need)
    session.commit()
    make_idea(session, STORABLE, summary=body, theme_id=theme.id, territory_id=territory.id)

    for kind in ("needs", "ideas"):
        response = client.get(f"/feeds/{kind}.{fmt}")
        assert response.status_code == 200
        assert b"<script>" not in response.content
        ElementTree.fromstring(response.content)  # well-formed
        parsed = feedparser.parse(response.content)
        assert not parsed.bozo, parsed.get("bozo_exception")
        [entry] = parsed.entries
        assert entry.title == readable(STORABLE)
        labels = [t.label if fmt == "atom" else t.term for t in entry.tags]
        assert 'Santé & « soins » <b>"ici"</b> 🩺 שלום' in labels
        assert "Quartier Nord & <Sud>" in labels
        html = entry.content[0].value if fmt == "atom" else entry.description
        assert render_markdown(body).replace("\x0b", "") in html
        assert "<script>" not in html
    need_entry = feedparser.parse(client.get(f"/feeds/needs.{fmt}").content).entries[0]
    assert need_entry.author == 'Zoé "<Z>" & 🦊'
