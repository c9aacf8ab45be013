"""`/sitemap.xml` (issue 15): an index of the public pages, public ideas and public needs, split
in files of at most 50,000 addresses, named in robots.txt; nothing private in it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app.core.db import utcnow
from app.syndication import sitemap
from tests.factories import make_need
from tests.pipeline.test_public_ideas import make_idea

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def _locs(client, path: str) -> list[str]:  # type: ignore[no-untyped-def]
    answer = client.get(path)
    assert answer.status_code == 200, path
    assert answer.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(answer.content)
    return [node.text or "" for node in root.iterfind(".//s:loc", NS)]


def test_robots_txt_names_the_sitemap(client) -> None:  # type: ignore[no-untyped-def]
    base = client.app.state.settings.base_url
    lines = client.get("/robots.txt").text.splitlines()
    assert f"Sitemap: {base}/sitemap.xml" in lines
    assert "Disallow: /moderation/" in lines


def test_the_index_names_pages_ideas_and_needs_with_absolute_addresses(client) -> None:  # type: ignore[no-untyped-def]
    base = client.app.state.settings.base_url
    assert _locs(client, "/sitemap.xml") == [
        f"{base}/sitemaps/pages.xml",
        f"{base}/sitemaps/ideas.xml",
        f"{base}/sitemaps/needs-1.xml",
    ]
    pages = _locs(client, "/sitemaps/pages.xml")
    assert f"{base}/" in pages and f"{base}/ideas" in pages and f"{base}/legal" in pages
    assert not any("/account" in p or "/moderation" in p for p in pages)


def test_only_public_needs_at_their_canonical_address(client, session) -> None:  # type: ignore[no-untyped-def]
    base = client.app.state.settings.base_url
    shown = [make_need(session, title="Une laverie solidaire"),
             make_need(session, title="Un atelier vélo", status="covered")]  # fmt: skip
    hidden = [make_need(session, status=s) for s in ("pending", "hidden", "rejected")]
    gone = make_need(session, title="Un besoin supprimé")
    gone.deleted_at = utcnow()
    session.add(gone)
    session.commit()
    locs = _locs(client, "/sitemaps/needs-1.xml")
    assert locs == [f"{base}/needs/{n.id}-{n.slug}" for n in shown]
    assert not any(f"/needs/{n.id}-" in loc for n in [*hidden, gone] for loc in locs)
    root = ET.fromstring(client.get("/sitemaps/needs-1.xml").content)
    lastmod = root.find(".//s:lastmod", NS)
    assert lastmod is not None and lastmod.text == shown[0].updated_at.date().isoformat()


def test_only_public_ideas(client, session) -> None:  # type: ignore[no-untyped-def]
    base = client.app.state.settings.base_url
    public = make_idea(session, "Une recyclerie de quartier")
    make_idea(session, "Une idée interne", is_public=False)
    assert _locs(client, "/sitemaps/ideas.xml") == [f"{base}/ideas/{public.id}-{public.slug}"]


def test_past_the_limit_the_needs_are_split_in_files(client, session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sitemap, "PER_FILE", 2)
    needs = [make_need(session, title=f"Un besoin numéro {n}") for n in range(5)]
    base = client.app.state.settings.base_url
    index = _locs(client, "/sitemap.xml")
    files = [loc.removeprefix(base) for loc in index if "/needs-" in loc]
    assert files == ["/sitemaps/needs-1.xml", "/sitemaps/needs-2.xml", "/sitemaps/needs-3.xml"]
    listed = [loc for path in files for loc in _locs(client, path)]
    assert listed == [f"{base}/needs/{n.id}-{n.slug}" for n in needs]  # each once, in order
    assert all(len(_locs(client, path)) <= 2 for path in files)


@pytest.mark.parametrize("name", ["needs-4", "needs-0", "needs-01", "needs-x", "autre", "needs-"])
def test_an_unknown_file_is_a_404(client, session, monkeypatch, name) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sitemap, "PER_FILE", 2)
    for n in range(5):
        make_need(session, title=f"Un besoin numéro {n}")
    assert client.get(f"/sitemaps/{name}.xml").status_code == 404


def test_the_statements_do_not_grow_with_the_needs(client, session) -> None:  # type: ignore[no-untyped-def]
    """One count and one read a file, whatever the number of needs."""
    from tests.board.comment_helpers import count_statements

    make_need(session)
    with count_statements(client.app.state.engine) as few:
        client.get("/sitemaps/needs-1.xml")
    for n in range(20):
        make_need(session, title=f"Encore un besoin {n}")
    with count_statements(client.app.state.engine) as many:
        client.get("/sitemaps/needs-1.xml")
    assert len(few) >= 2 and len(many) == len(few)
