"""Feeds of needs and ideas: one list of items, three renderings (Atom RFC 4287, RSS 2.0 and
JSON Feed 1.1).

Items come from the public read paths only (`visible_needs()` through `board_needs()`, and
`public_ideas()`); this module turns them into `FeedItem`s and writes the documents. XML is
built with ElementTree, which escapes every text and attribute, never by pasting strings.

Ids stay the same when a title (hence a slug) changes: Atom entries carry a tag: URI made of
the site's host, the item's creation date and its id (RFC 4151); RSS guids and JSON Feed ids
are the short permalink /needs/{id} (or /ideas/{id}), which redirects to the canonical page.
A partner's `ref=` goes on the links to the pages (so visits through them are counted for
the partner), never on these ids: the same item keeps its id in every partner's feed.

`last_change()` gives the Last-Modified date of a feed. It must move whenever what a feed
shows may have changed, including when an item leaves it (hidden, rejected, merged, deleted,
made private, moved to another theme), which the items left in the feed cannot tell: it is the
latest of every need's (or idea's) own dates and of the audit log, where every moderation and
pipeline action, automatic ones included, is written. The document's own <updated> date is
the latest of its items' dates, so that unrelated changes do not change its ETag.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, SubElement, tostring

from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.models import Need, NeedSource, NeedStatus, Territory, Theme
from app.moderation.models import AuditEntry
from app.pipeline.models import Idea
from app.pipeline.service import stage_label
from app.syndication.attribution import with_ref
from app.text import excerpt
from app.web.i18n import get_locale
from app.web.i18n import gettext as _

MAX_ITEMS = 50
ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# HTTP dates count whole seconds, and a change is dated when it is written, a moment before
# its transaction commits: a date this recent could still be followed by a change with the
# same date (RFC 9110 §8.8.2.2). Last-Modified is sent no later than this many seconds ago,
# which costs such a client one full answer instead of hiding a change from it.
SETTLE_SECONDS = 2

CONTENT_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}

# Characters XML 1.0 cannot carry at all (not even escaped): a title pasted with a stray
# control character would otherwise make the whole feed unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


@dataclass(frozen=True)
class Category:
    term: str  # the slug or code, stable
    label: str  # what people read
    scheme: str  # an absolute URL saying what kind of category it is


@dataclass
class FeedItem:
    permalink: str  # short and stable: the JSON Feed id and the RSS guid
    url: str  # the canonical page
    tag: str  # the Atom id
    title: str
    content_html: str  # sanitised HTML (app.text), never raw user text
    summary: str  # plain text
    published: datetime
    updated: datetime
    author: str
    categories: list[Category] = field(default_factory=list)
    extension: dict[str, object] = field(default_factory=dict)  # JSON Feed `_bourse`


@dataclass
class Feed:
    title: str
    description: str
    home_url: str  # the HTML page showing the same list
    self_urls: dict[str, str]  # format → this feed's absolute URL in that format
    updated: datetime
    items: list[FeedItem]


# --- dates -------------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=0)


def rfc3339(value: datetime) -> str:
    return _utc(value).isoformat().replace("+00:00", "Z")


def http_date(value: datetime) -> str:
    """RFC 822/1123 date, as RSS and HTTP (Last-Modified) want it."""
    return format_datetime(_utc(value), usegmt=True)


def _latest_edit_or_deletion(session: Session) -> datetime | None:
    # Two MAX() over indexed columns (ix_needs_updated_at, ix_needs_deleted_at), each in its
    # own subquery: SQLite answers a lone MAX() from the index, but scans the whole table for
    # two aggregates in one SELECT.
    dates = session.exec(
        select(
            select(func.max(Need.updated_at)).scalar_subquery(),
            select(func.max(Need.deleted_at)).scalar_subquery(),
        )
    ).one()
    return max([d for d in dates if d is not None], default=None)


def last_change(session: Session, kind: str) -> datetime:
    """The latest moment anything a `kind` ("needs" or "ideas") feed shows may have changed:
    the audit log (every moderation and pipeline action, automatic ones included), the newest
    item, and the items' own edit and deletion dates; indexed reads only."""
    audited = session.exec(select(func.max(AuditEntry.created_at))).one()
    if kind == "needs":
        own = [
            session.exec(select(func.max(Need.created_at))).one(),
            _latest_edit_or_deletion(session),
        ]
    else:  # a few hundred ideas: read exactly
        own = list(
            session.exec(select(func.max(Idea.updated_at), func.max(Idea.stage_changed_at))).one()  # type: ignore[call-overload]
        )
    return _utc(max([d for d in (*own, audited) if d is not None], default=EPOCH))


def content_date(items: list[FeedItem], empty: datetime) -> datetime:
    """A document's <updated>: its latest item's date (`empty` for an empty feed)."""
    return max((_utc(i.updated) for i in items), default=_utc(empty))


def validator_date(changed: datetime, now: datetime | None = None) -> datetime:
    """The Last-Modified date to send for content last changed at `changed`."""
    settled = _utc(now or datetime.now(UTC)) - timedelta(seconds=SETTLE_SECONDS)
    return min(_utc(changed), settled)


# --- items -------------------------------------------------------------------------------------


def _tag(base_url: str, created: datetime, path: str) -> str:
    host = urlsplit(base_url).hostname or "localhost"
    return f"tag:{host},{_utc(created).date().isoformat()}:{path}"


def category_name(category: Theme | Territory) -> str:
    return category.name_en if get_locale() == "en" and category.name_en else category.name


def _categories(
    base_url: str,
    list_path: str,
    theme: Theme | None,
    territory: Territory | None,
) -> list[Category]:
    found = []
    if theme is not None:
        found.append(Category(theme.slug, category_name(theme), f"{base_url}{list_path}?theme="))
    if territory is not None:
        found.append(
            Category(territory.slug, category_name(territory), f"{base_url}{list_path}?territory=")
        )
    return found


def need_items(
    session: Session,
    needs: list[Need],
    base_url: str,
    themes: dict[int, Theme],
    territories: dict[int, Territory],
    ref: str = "",
) -> list[FeedItem]:
    """Feed items for needs already read through visible_needs() (one query for the authors).
    `ref` (a partner's slug) goes on the links to the pages, never on the ids."""
    author_ids = {n.author_id for n in needs if n.author_id is not None}
    authors = (
        {u.id: u for u in session.exec(select(User).where(User.id.in_(author_ids)))}  # type: ignore[union-attr]
        if author_ids
        else {}
    )
    items = []
    for need in needs:
        path = f"/needs/{need.id}"
        author = authors.get(need.author_id) if need.author_id is not None else None
        if need.source != NeedSource.online.value:
            # Collected offline and published under the fabrique's name (SPEC §4).
            author_name = _("La fabrique à initiatives")
        elif author is not None:
            author_name = author.display_name
        else:
            author_name = _("Un compte supprimé")
        theme = themes.get(need.theme_id) if need.theme_id else None
        territory = territories.get(need.territory_id) if need.territory_id else None
        categories = _categories(base_url, "/", theme, territory)
        if need.status == NeedStatus.covered.value:
            categories.append(Category("covered", _("Déjà couvert"), f"{base_url}/?status="))
        items.append(
            FeedItem(
                permalink=base_url + path,
                url=with_ref(f"{base_url}{path}-{need.slug}", ref),
                tag=_tag(base_url, need.created_at, f"needs/{need.id}"),
                title=need.title,
                content_html=need.body_html or f"<p>{escape(need.title)}</p>",
                summary=need.excerpt,
                published=need.created_at,
                updated=max(need.updated_at, need.created_at),
                author=author_name,
                categories=categories,
                extension={
                    "status": need.status,
                    "theme": theme.slug if theme else None,
                    "territory": territory.slug if territory else None,
                },
            )
        )
    return items


def idea_items(
    ideas: list[Idea],
    base_url: str,
    themes: dict[int, Theme],
    territories: dict[int, Territory],
    ref: str = "",
) -> list[FeedItem]:
    """Feed items for ideas already read through public_ideas() (`ref` as for needs)."""
    items = []
    for idea in ideas:
        path = f"/ideas/{idea.id}"
        theme = themes.get(idea.theme_id) if idea.theme_id else None
        territory = territories.get(idea.territory_id) if idea.territory_id else None
        label = stage_label(idea.stage)
        categories = [
            Category(idea.stage, label, f"{base_url}/ideas?stage="),
            *_categories(base_url, "/ideas", theme, territory),
        ]
        stage_line = f"<p>{escape(_('Étape : %(stage)s', stage=label))}</p>"
        items.append(
            FeedItem(
                permalink=base_url + path,
                url=with_ref(f"{base_url}{path}-{idea.slug}", ref),
                tag=_tag(base_url, idea.created_at, f"ideas/{idea.id}"),
                title=idea.title,
                # summary_html is staff Markdown sanitised by app.text when it was written.
                content_html=stage_line + (idea.summary_html or ""),
                summary=excerpt(idea.summary) or _("Étape : %(stage)s", stage=label),
                published=idea.created_at,
                updated=max(idea.updated_at, idea.stage_changed_at, idea.created_at),
                author=_("La fabrique à initiatives"),
                categories=categories,
                extension={
                    "stage": idea.stage,
                    "theme": theme.slug if theme else None,
                    "territory": territory.slug if territory else None,
                },
            )
        )
    return items


# --- documents ---------------------------------------------------------------------------------


def _sub(parent: Element, tag: str, text: str | None = None, **attrs: str) -> Element:
    element = SubElement(parent, tag, {k: _xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _xml_text(text)
    return element


def _xml(root: Element) -> bytes:
    return tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def atom(feed: Feed) -> bytes:
    root = Element("feed", {"xmlns": ATOM_NS, "xml:lang": get_locale()})
    _sub(root, "id", feed.self_urls["atom"])
    _sub(root, "title", feed.title)
    _sub(root, "subtitle", feed.description)
    _sub(root, "updated", rfc3339(feed.updated))
    _sub(root, "link", rel="self", type="application/atom+xml", href=feed.self_urls["atom"])
    _sub(root, "link", rel="alternate", type="text/html", href=feed.home_url)
    author = _sub(root, "author")
    _sub(author, "name", _("La fabrique à initiatives"))
    _sub(root, "generator", _("Bourse à initiatives"))
    for item in feed.items:
        entry = _sub(root, "entry")
        _sub(entry, "id", item.tag)
        _sub(entry, "title", item.title, type="text")
        _sub(entry, "link", rel="alternate", type="text/html", href=item.url)
        _sub(entry, "published", rfc3339(item.published))
        _sub(entry, "updated", rfc3339(item.updated))
        entry_author = _sub(entry, "author")
        _sub(entry_author, "name", item.author)
        for category in item.categories:
            _sub(
                entry, "category", term=category.term, label=category.label, scheme=category.scheme
            )
        _sub(entry, "summary", item.summary or item.title, type="text")
        _sub(entry, "content", item.content_html, type="html")
    return _xml(root)


def rss(feed: Feed) -> bytes:
    root = Element("rss", {"version": "2.0", "xmlns:atom": ATOM_NS, "xmlns:dc": DC_NS})
    channel = _sub(root, "channel")
    _sub(channel, "title", feed.title)
    _sub(channel, "link", feed.home_url)
    _sub(channel, "description", feed.description)
    _sub(channel, "language", get_locale())
    _sub(channel, "lastBuildDate", http_date(feed.updated))
    _sub(channel, "generator", _("Bourse à initiatives"))
    _sub(channel, "atom:link", rel="self", type="application/rss+xml", href=feed.self_urls["rss"])
    for item in feed.items:
        element = _sub(channel, "item")
        _sub(element, "title", item.title)
        _sub(element, "link", item.url)
        _sub(element, "guid", item.permalink, isPermaLink="true")
        _sub(element, "pubDate", http_date(item.published))
        _sub(element, "dc:creator", item.author)
        for category in item.categories:
            _sub(element, "category", category.label, domain=category.scheme)
        _sub(element, "description", item.content_html)
    return _xml(root)


def json_feed(feed: Feed) -> bytes:
    document = {
        "version": JSON_FEED_VERSION,
        "title": feed.title,
        "home_page_url": feed.home_url,
        "feed_url": feed.self_urls["json"],
        "description": feed.description,
        "language": get_locale(),
        "authors": [{"name": _("La fabrique à initiatives")}],
        "items": [
            {
                "id": item.permalink,
                "url": item.url,
                "title": item.title,
                "content_html": item.content_html,
                "summary": item.summary or item.title,
                "date_published": rfc3339(item.published),
                "date_modified": rfc3339(item.updated),
                "authors": [{"name": item.author}],
                "tags": [c.label for c in item.categories],
                "_bourse": item.extension,
            }
            for item in feed.items
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode() + b"\n"


RENDERERS = {"atom": atom, "rss": rss, "json": json_feed}


def render_feed(feed: Feed, fmt: str) -> bytes:
    return RENDERERS[fmt](feed)


def describe(parts: Iterable[str]) -> str:
    """« Mobilité, Mérignac » — the filters of a feed, for its title."""
    return ", ".join(p for p in parts if p)
