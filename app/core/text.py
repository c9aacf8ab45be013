"""User text → HTML, excerpts and slugs. The only place that makes HTML from user input.

Markdown is rendered by markdown-it (CommonMark, raw HTML disabled) and the result is cleaned by
bleach with a short allow-list, so even a renderer bug cannot let markup through. The HTML is
computed once when the text is written and stored beside it; pages never render Markdown.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import partial

import bleach
from bleach.linkifier import LinkifyFilter
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "code", "pre", "a"}
)
ALLOWED_ATTRIBUTES = {"a": ["href", "rel"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"

# Headings, images and tables are not needed to describe a need: disabled at the source
# rather than stripped afterwards, so their text stays readable as plain paragraphs.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).disable(
    ["heading", "lheading", "image", "hr", "html_block", "html_inline"]
)


def _set_link_rel(attrs: dict, new: bool = False) -> dict:  # type: ignore[type-arg]
    attrs[(None, "rel")] = LINK_REL
    return attrs


# Linkify as a filter of the cleaner, not as a separate Linker pass: bleach's Linker escapes
# the text of its skip_tags a second time (`<code>a&b</code>` would read « a&amp;b »).
_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[
        partial(
            LinkifyFilter, callbacks=[_set_link_rel], skip_tags={"pre", "code"}, parse_email=False
        )
    ],
)


def render_markdown(source: str) -> str:
    """Sanitised HTML for a user's Markdown text. Bare URLs become links; every link gets
    rel="nofollow ugc noopener"; javascript:, data: and other schemes are dropped."""
    return _cleaner.clean(_markdown.render(source or "")).strip()


# The site's long pages (about, charter, legal notices…), written by an admin: the same
# Markdown without raw HTML, plus headings, tables and rules, which a legal text needs. Still
# cleaned by an allow-list: an admin's account can be stolen, and what it types must not be
# able to run a script on every visitor's page.
PAGE_TAGS = ALLOWED_TAGS | frozenset(
    {"h1", "h2", "h3", "h4", "hr", "table", "thead", "tbody", "tr", "th", "td"}
)
_page_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": False})
    .enable("table")
    .disable(["image", "html_block", "html_inline"])
)
# No style attribute (aligned table columns would bring one): the CSP forbids them.
_page_cleaner = bleach.Cleaner(
    tags=PAGE_TAGS,
    attributes={"a": ["href"]},
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
)


def render_page_markdown(source: str) -> str:
    """Sanitised HTML for one of the site's long pages (see PAGE_TAGS)."""
    return _page_cleaner.clean(_page_markdown.render(source or "")).strip()


def plain_text(source: str) -> str:
    """The text without Markdown or HTML, whitespace collapsed (for excerpts, feeds, search)."""
    rendered = _markdown.render(source or "")
    text = bleach.clean(rendered, tags=set(), strip=True)
    # One unescape, not a chain of replaces (which turned a typed « &lt; » into « < »).
    text = html.unescape(text)
    return " ".join(text.split())


def excerpt(source: str, length: int = 220) -> str:
    text = plain_text(source)
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return cut + "…"


def slugify(text: str, max_length: int = 80) -> str:
    """ "Crèche en horaires décalés !" → "creche-en-horaires-decales"."""
    # NFKD splits « é » into « e » + accent, but has no decomposition for the ligatures.
    text = text.replace("œ", "oe").replace("Œ", "Oe").replace("æ", "ae").replace("Æ", "Ae")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "besoin"


_URL = re.compile(r"(https?://|www\.)", re.IGNORECASE)


def count_links(source: str) -> int:
    return len(_URL.findall(source or ""))
