"""app/core/text.py: the one place that turns user text into HTML, excerpts and slugs. Its output is
parsed (not grepped) to check that only the allow-list survives and every link is safe."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from app.core.text import (
    ALLOWED_TAGS,
    LINK_REL,
    count_links,
    excerpt,
    plain_text,
    render_markdown,
    slugify,
)


def tags_in(html: str) -> set[str]:
    body = LexborHTMLParser(f"<body>{html}</body>").body
    assert body is not None
    return {node.tag for node in body.traverse(include_text=False)} - {"body"}


def links_in(html: str) -> list[dict[str, str | None]]:
    return [dict(a.attributes) for a in LexborHTMLParser(html).css("a")]


def visible_text(html: str) -> str:
    body = LexborHTMLParser(f"<body>{html}</body>").body
    assert body is not None
    return body.text()


# --- the allow-list ----------------------------------------------------------------------------


def test_simple_formatting_is_kept():
    html = render_markdown(
        "**gras** *italique* `code`\n\n> une citation\n\n- un\n- deux\n\n1. premier\n\n"
        "```\nbloc\n```\n\nligne\nsuivante"
    )

    assert tags_in(html) == {"p", "strong", "em", "code", "blockquote", "ul", "ol", "li", "pre"} | {
        "br"
    }


@pytest.mark.parametrize(
    "source",
    [
        "# Un titre",
        "Un titre\n=======",
        "![une image](https://exemple.fr/image.png)",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "avant\n\n---\n\naprès",
        "<h1>titre</h1>",
        "<div style='color:red'>rouge</div>",
        "<span onclick='alert(1)'>clic</span>",
        "<img src=x onerror=alert(1)>",
        "<iframe src='https://exemple.fr'></iframe>",
        "<style>body{display:none}</style>",
        "<!-- un commentaire -->",
        "<form action='/x'><input name=a></form>",
        "<svg onload=alert(1)>",
    ],
)
def test_only_allowed_tags_ever_come_out(source):
    html = render_markdown(source)

    assert tags_in(html) <= ALLOWED_TAGS
    assert "<!--" not in html
    for node in LexborHTMLParser(f"<body>{html}</body>").body.traverse(include_text=False):  # type: ignore[union-attr]
        allowed = {"href", "rel"} if node.tag == "a" else set()
        assert set(node.attributes) <= allowed, (node.tag, node.attributes)


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=https://exemple.fr/x.js></SCRIPT>",
        "avant <script>document.cookie</script> après",
        "```\n<script>alert(1)</script>\n```",
        "`<script>alert(1)</script>`",
        "<scr<script>ipt>alert(1)</script>",
    ],
)
def test_script_tags_are_inert_text(source):
    html = render_markdown(source)

    assert "script" not in tags_in(html)
    assert "<script" not in html.lower()


@pytest.mark.parametrize(
    "source",
    [
        "[clic](javascript:alert(1))",
        "[clic](JaVaScRiPt:alert(1))",
        "[clic](javascript&#58;alert(1))",
        "[clic](  javascript:alert(1)  )",
        "[clic](java\tscript:alert(1))",
        "[clic](data:text/html;base64,PHNjcmlwdD4=)",
        "[clic](vbscript:msgbox(1))",
        "[clic](file:///etc/passwd)",
        "[clic](ftp://exemple.fr/)",
        '<a href="javascript:alert(1)">clic</a>',
        "<javascript:alert(1)>",
        "[clic][ref]\n\n[ref]: javascript:alert(1)",
        "javascript:alert(1)",
    ],
)
def test_links_other_than_http_https_mailto_are_dropped(source):
    html = render_markdown(source)

    for link in links_in(html):
        href = (link.get("href") or "").strip().lower()
        assert href == "" or href.startswith(("http://", "https://", "mailto:")), href


def test_a_javascript_link_never_becomes_an_href():
    html = render_markdown("[clic](javascript:alert(1)) et [autre](JAVASCRIPT:alert(2))")

    assert all("href" not in link for link in links_in(html))


@pytest.mark.parametrize(
    ("source", "href"),
    [
        ("[le site](https://exemple.fr/page)", "https://exemple.fr/page"),
        ("[le site](http://exemple.fr)", "http://exemple.fr"),
        ("[écrire](mailto:contact@exemple.fr)", "mailto:contact@exemple.fr"),
        ("voir https://exemple.fr/a?b=1&c=2 ici", "https://exemple.fr/a?b=1&c=2"),
        ("<https://exemple.fr>", "https://exemple.fr"),
        ("www.exemple.fr", "http://www.exemple.fr"),
    ],
)
def test_every_link_gets_rel_nofollow_ugc_noopener(source, href):
    links = links_in(render_markdown(source))

    assert len(links) == 1
    assert links[0]["href"] == href
    assert links[0]["rel"] == LINK_REL == "nofollow ugc noopener"


def test_an_author_supplied_rel_is_replaced():
    # Markdown has no way to set rel; the value is always ours.
    html = render_markdown('[x](https://exemple.fr "titre")')

    assert links_in(html) == [{"href": "https://exemple.fr", "rel": LINK_REL}]


def test_urls_inside_code_are_not_linked():
    html = render_markdown("`https://exemple.fr` et\n\n```\nhttps://exemple.fr\n```")

    assert links_in(html) == []


def test_code_is_escaped_once_not_twice():
    html = render_markdown("`a & b <c>`\n\n```\nx && y < z\n```")

    assert visible_text(html).count("a & b <c>") == 1
    assert "x && y < z" in visible_text(html)
    assert "&amp;amp;" not in html and "&amp;lt;" not in html


def test_ampersands_and_quotes_are_escaped_once():
    html = render_markdown('Tom & Jerry « l\'été » "ici" < 3')

    assert visible_text(html) == 'Tom & Jerry « l\'été » "ici" < 3'


def test_empty_or_missing_text_renders_nothing():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""  # type: ignore[arg-type]


def test_line_breaks_are_kept():
    assert tags_in(render_markdown("ligne une\nligne deux")) == {"p", "br"}


# --- plain text and excerpts -------------------------------------------------------------------


def test_plain_text_drops_markdown_and_keeps_the_words():
    assert plain_text("**Gras**, *italique* et [un lien](https://exemple.fr)\n\n- a\n- b") == (
        "Gras, italique et un lien a b"
    )


def test_plain_text_keeps_what_was_typed_as_text():
    # Raw HTML is text (Jinja escapes it when shown); entities are decoded exactly once.
    assert plain_text("<b>gras</b> & `&lt;`") == "<b>gras</b> & &lt;"


def test_a_short_excerpt_is_the_whole_text():
    assert excerpt("Une crèche ouverte le soir.") == "Une crèche ouverte le soir."


def test_a_long_excerpt_is_cut_on_a_word_with_an_ellipsis():
    source = "Nous cherchons une solution de garde, " * 20

    result = excerpt(source)

    assert len(result) <= 221
    assert result.endswith("…")
    assert not result.endswith(" …") and not result.endswith(",…")
    assert source.startswith(result[:-1])


def test_excerpt_length_is_configurable():
    assert len(excerpt("mot " * 100, length=30)) <= 31


def test_excerpt_of_nothing_is_empty():
    assert excerpt("") == ""


# --- slugs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Crèche en horaires décalés !", "creche-en-horaires-decales"),
        ("Épicerie solidaire à Mérignac", "epicerie-solidaire-a-merignac"),
        ("  Transport   solidaire  ", "transport-solidaire"),
        ("Un lieu pour les sœurs et l'Œuvre", "un-lieu-pour-les-soeurs-et-l-oeuvre"),
        ("« Garde d'enfants » — le soir", "garde-d-enfants-le-soir"),
        ("<script>alert(1)</script>", "script-alert-1-script"),
        ("!!!", "besoin"),
        ("", "besoin"),
        ("🙂🙂", "besoin"),
    ],
)
def test_slugify(title, slug):
    assert slugify(title) == slug


def test_a_long_slug_is_cut_without_a_trailing_dash():
    slug = slugify("mot " * 50)

    assert len(slug) <= 80
    assert not slug.endswith("-")
    assert slugify("a" * 200) == "a" * 80


def test_count_links():
    assert count_links("voir https://a.fr, http://b.fr et www.c.fr mais pas d.fr") == 3
    assert count_links("") == 0
