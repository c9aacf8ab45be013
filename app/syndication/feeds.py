"""Feeds of needs and ideas: one list of items, three renderings (Atom RFC 4287, RSS 2.0 and
JSON Feed 1.1).

Items come from the public read paths only (`visible_needs()` through `board_needs()`, and
`public_ideas()`); this module turns them into `FeedItem`s and writes the documents.

A feed is built when the anonymous response cache (app.web.cache) misses, i.e. on the first
request after any public write, so building one stays cheap at any size of the data: a fixed
number of indexed queries, the needs' stored excerpt and HTML (written with the text), no
ORM load per item, and XML written as text (ElementTree took most of the time of an Atom feed of
50 entries). Every text and attribute value goes through `_text()` / `_attr()`, which drop the
characters XML 1.0 cannot carry and escape the rest; only the constant tag and attribute names
are pasted as they are.

Ids stay the same when a title (hence a slug) changes: Atom entries carry a tag: URI made of
the site's host, the item's creation date and its id (RFC 4151); RSS guids and JSON Feed ids
are the short permalink /needs/{id} (or /ideas/{id}), which redirects to the canonical page.
A partner's `ref=` goes on the links to the pages (so visits through them are counted for
the partner), never on these ids: the same item keeps its id in every partner's feed.

A need's entry carries the fabrique's public answer after its body (« Réponse de la
fabrique », with its date), and its updated date is the latest of its own edit and of the
answer's writing (issue 17).

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from html import escape
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

from sqlalchemy import func
from sqlmodel import Session, select

from app.board.models import Need, NeedSource, NeedStatus, Territory, Theme
from app.core.audit import AuditEntry
from app.core.text import excerpt
from app.pipeline.models import Idea
from app.pipeline.service import stage_label
from app.syndication.attribution import with_ref
from app.syndication.serialize import author_names
from app.web.i18n import format_date, get_locale, localized_name
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
_NOT_XML_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff"
_NOT_XML = re.compile(f"[{_NOT_XML_CHARS}]")


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
    content_html: str  # sanitised HTML (app.core.text), never raw user text
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
            # The condition of the partial index of deleted needs (migration 0009).
            select(func.max(Need.deleted_at))
            .where(Need.deleted_at.is_not(None))  # type: ignore[union-attr]
            .scalar_subquery(),
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


def _tag(host: str, created: datetime, path: str) -> str:
    return f"tag:{host},{_utc(created).date().isoformat()}:{path}"


def _host(base_url: str) -> str:
    return urlsplit(base_url).hostname or "localhost"


def category_name(category: Theme | Territory) -> str:
    return localized_name(category)


def _categories_by_id(
    categories: Mapping[int, Theme] | Mapping[int, Territory], scheme: str
) -> dict[int, Category]:
    """id → its feed Category, made once per feed (a few dozen themes and territories)."""
    return {
        category_id: Category(category.slug, category_name(category), scheme)
        for category_id, category in categories.items()
    }


def answer_html(need: Need, heading: str) -> str:
    """The fabrique's public answer (app.board.answers) as it follows the need's body in its
    entry: `heading` (« Réponse de la fabrique », translated once per feed), its date, then its
    HTML, sanitised when staff wrote it. Empty when the need has no answer."""
    if need.answer_at is None:
        return ""
    dated = _("Réponse du %(date)s", date=format_date(need.answer_at))
    return (
        f"<h2>{escape(heading)}</h2>"
        f'<p><time datetime="{rfc3339(need.answer_at)}">{escape(dated)}</time></p>'
        f"{need.answer_html}"
    )


def need_items(
    session: Session,
    needs: list[Need],
    base_url: str,
    themes: Mapping[int, Theme],
    territories: Mapping[int, Territory],
    ref: str = "",
) -> list[FeedItem]:
    """Feed items for needs already read through visible_needs() (one query for the authors'
    names). `ref` (a partner's slug) goes on the links to the pages, never on the ids."""
    authors = author_names(session, (n.author_id for n in needs if n.author_id is not None))
    host = _host(base_url)
    theme_categories = _categories_by_id(themes, f"{base_url}/?theme=")
    territory_categories = _categories_by_id(territories, f"{base_url}/?territory=")
    covered = Category("covered", _("Déjà couvert"), f"{base_url}/?status=")
    fabrique, deleted_account = _("La fabrique à initiatives"), _("Un compte supprimé")
    answer_heading = _("Réponse de la fabrique")
    items = []
    for need in needs:
        need_id, author_id, created = need.id, need.author_id, need.created_at
        path = f"/needs/{need_id}"
        if need.source != NeedSource.online.value:
            # Collected offline and published under the fabrique's name (SPEC §4).
            author_name = fabrique
        elif author_id is not None and author_id in authors:
            author_name = authors[author_id]
        else:
            author_name = deleted_account
        theme = theme_categories.get(need.theme_id) if need.theme_id else None
        territory = territory_categories.get(need.territory_id) if need.territory_id else None
        categories = [c for c in (theme, territory) if c is not None]
        if need.status == NeedStatus.covered.value:
            categories.append(covered)
        items.append(
            FeedItem(
                permalink=base_url + path,
                url=with_ref(f"{base_url}{path}-{need.slug}", ref),
                tag=_tag(host, created, f"needs/{need_id}"),
                title=need.title,
                # Sanitised by app.core.text when the need was written, as is its excerpt;
                # then the fabrique's answer, if any, which dates the entry when it is newer.
                content_html=(need.body_html or f"<p>{escape(need.title)}</p>")
                + answer_html(need, answer_heading),
                summary=need.excerpt,
                published=created,
                updated=max(need.updated_at, created, need.answer_at or created),
                author=author_name,
                categories=categories,
                extension={
                    "status": need.status,
                    "answered_at": rfc3339(need.answer_at) if need.answer_at else None,
                    "theme": theme.term if theme else None,
                    "territory": territory.term if territory else None,
                },
            )
        )
    return items


@lru_cache(maxsize=1024)
def _summary_excerpt(summary: str) -> str:
    """An idea's plain-text excerpt. It renders the Markdown (a fifth of a millisecond an
    idea) and depends on the text alone, which staff rarely change: kept per text."""
    return excerpt(summary)


def idea_items(
    ideas: list[Idea],
    base_url: str,
    themes: Mapping[int, Theme],
    territories: Mapping[int, Territory],
    ref: str = "",
) -> list[FeedItem]:
    """Feed items for ideas already read through public_ideas() (`ref` as for needs)."""
    host = _host(base_url)
    theme_categories = _categories_by_id(themes, f"{base_url}/ideas?theme=")
    territory_categories = _categories_by_id(territories, f"{base_url}/ideas?territory=")
    fabrique = _("La fabrique à initiatives")
    items = []
    for idea in ideas:
        path = f"/ideas/{idea.id}"
        theme = theme_categories.get(idea.theme_id) if idea.theme_id else None
        territory = territory_categories.get(idea.territory_id) if idea.territory_id else None
        label = stage_label(idea.stage)
        categories = [
            Category(idea.stage, label, f"{base_url}/ideas?stage="),
            *(c for c in (theme, territory) if c is not None),
        ]
        stage_text = _("Étape : %(stage)s", stage=label)
        items.append(
            FeedItem(
                permalink=base_url + path,
                url=with_ref(f"{base_url}{path}-{idea.slug}", ref),
                tag=_tag(host, idea.created_at, f"ideas/{idea.id}"),
                title=idea.title,
                # summary_html is staff Markdown sanitised by app.core.text when it was written.
                content_html=f"<p>{escape(stage_text)}</p>" + (idea.summary_html or ""),
                summary=_summary_excerpt(idea.summary) or stage_text,
                published=idea.created_at,
                updated=max(idea.updated_at, idea.stage_changed_at, idea.created_at),
                author=fabrique,
                categories=categories,
                extension={
                    "stage": idea.stage,
                    "theme": theme.term if theme else None,
                    "territory": territory.term if territory else None,
                },
            )
        )
    return items


# --- documents ---------------------------------------------------------------------------------


# The documents are the bytes ElementTree used to write, without building ~650 elements first.
_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"
# Inside an attribute value, quotes and white space other than the plain space must be
# character references too, or a parser would end the value or normalise them to spaces.
_ATTR_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}
# What _text() and _attr() would change: most values (dates, URLs, names) hold none of it and
# are written as they are, after one regex search.
_TEXT_SPECIAL = re.compile(f"[{_NOT_XML_CHARS}&<>]")
_ATTR_SPECIAL = re.compile(f'[{_NOT_XML_CHARS}&<>"\\t\\n\\r]')


def _text(value: str) -> str:
    """Character data: &, < and > escaped, the characters XML forbids dropped."""
    return xml_escape(_xml_text(value)) if _TEXT_SPECIAL.search(value) else value


def _attr(value: str) -> str:
    """An attribute value, to write between double quotes."""
    return xml_escape(_xml_text(value), _ATTR_ENTITIES) if _ATTR_SPECIAL.search(value) else value


def _attrs(values: Mapping[str, str]) -> str:
    return "".join(f' {name}="{_attr(value)}"' for name, value in values.items())


def _leaf(tag: str, text: str = "", /, **attrs: str) -> str:
    """An element without children: `<tag a="…">text</tag>`, or `<tag a="…" />` if no text."""
    start = tag + _attrs(attrs) if attrs else tag
    content = _text(text)
    return f"<{start}>{content}</{tag}>" if content else f"<{start} />"


def _document(root: str, root_attrs: Mapping[str, str], children: Iterable[str]) -> bytes:
    return f"{_DECLARATION}<{root}{_attrs(root_attrs)}>{''.join(children)}</{root}>\n".encode()


def _atom_entry(item: FeedItem) -> str:
    return "".join(
        [
            "<entry>",
            _leaf("id", item.tag),
            _leaf("title", item.title, type="text"),
            _leaf("link", rel="alternate", type="text/html", href=item.url),
            _leaf("published", rfc3339(item.published)),
            _leaf("updated", rfc3339(item.updated)),
            f"<author>{_leaf('name', item.author)}</author>",
            *(
                _leaf("category", term=c.term, label=c.label, scheme=c.scheme)
                for c in item.categories
            ),
            _leaf("summary", item.summary or item.title, type="text"),
            _leaf("content", item.content_html, type="html"),
            "</entry>",
        ]
    )


def atom(feed: Feed) -> bytes:
    head = [
        _leaf("id", feed.self_urls["atom"]),
        _leaf("title", feed.title),
        _leaf("subtitle", feed.description),
        _leaf("updated", rfc3339(feed.updated)),
        _leaf("link", rel="self", type="application/atom+xml", href=feed.self_urls["atom"]),
        _leaf("link", rel="alternate", type="text/html", href=feed.home_url),
        f"<author>{_leaf('name', _('La fabrique à initiatives'))}</author>",
        _leaf("generator", _("Bourse à initiatives")),
    ]
    return _document(
        "feed",
        {"xmlns": ATOM_NS, "xml:lang": get_locale()},
        [*head, *(_atom_entry(item) for item in feed.items)],
    )


def _rss_item(item: FeedItem) -> str:
    return "".join(
        [
            "<item>",
            _leaf("title", item.title),
            _leaf("link", item.url),
            _leaf("guid", item.permalink, isPermaLink="true"),
            _leaf("pubDate", http_date(item.published)),
            _leaf("dc:creator", item.author),
            *(_leaf("category", c.label, domain=c.scheme) for c in item.categories),
            _leaf("description", item.content_html),
            "</item>",
        ]
    )


def rss(feed: Feed) -> bytes:
    channel = [
        "<channel>",
        _leaf("title", feed.title),
        _leaf("link", feed.home_url),
        _leaf("description", feed.description),
        _leaf("language", get_locale()),
        _leaf("lastBuildDate", http_date(feed.updated)),
        _leaf("generator", _("Bourse à initiatives")),
        _leaf("atom:link", rel="self", type="application/rss+xml", href=feed.self_urls["rss"]),
        *(_rss_item(item) for item in feed.items),
        "</channel>",
    ]
    return _document("rss", {"version": "2.0", "xmlns:atom": ATOM_NS, "xmlns:dc": DC_NS}, channel)


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
