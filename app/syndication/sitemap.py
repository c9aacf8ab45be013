"""Being found (issue 15): `/sitemap.xml`, named in `robots.txt`, lists what a search engine
may index — the public pages, every public idea, every public need (published or « déjà
couvert »; never pending, hidden, rejected, merged or deleted).

`/sitemap.xml` is an index (sitemaps.org protocol): it names `/sitemaps/pages.xml`,
`/sitemaps/ideas.xml` and one `/sitemaps/needs-N.xml` per 50,000 needs (the protocol's limit
for one file), so an installation with more needs is still listed whole. Addresses are
absolute, built on BOURSE_BASE_URL, and the ones of needs and ideas are their canonical
addresses (`/needs/{id}-{slug}`, `/ideas/{id}-{slug}`). The answers are public and stored by
the anonymous cache like any public page (they change with the content version).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func
from sqlmodel import col, select

from app.board.models import PUBLIC_NEED_STATUSES, Need
from app.core.db import as_utc
from app.pipeline.models import Idea
from app.web.deps import SessionDep
from app.web.errors import NotFound

router = APIRouter()

PER_FILE = 50_000  # sitemaps.org: at most 50,000 addresses a file
PAGES = ("/", "/ideas", "/impact", "/partners", "/about", "/charter", "/privacy",
         "/accessibility", "/legal")  # fmt: skip
XML = "application/xml; charset=utf-8"
HEADERS = {"Cache-Control": "public, max-age=3600"}


def _public_needs():  # type: ignore[no-untyped-def]
    return (
        col(Need.status).in_(PUBLIC_NEED_STATUSES),
        col(Need.deleted_at).is_(None),
    )


def _urlset(entries: Iterable[tuple[str, datetime | None]]) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']  # fmt: skip
    for loc, modified in entries:
        lastmod = f"<lastmod>{as_utc(modified).date().isoformat()}</lastmod>" if modified else ""
        lines.append(f"<url><loc>{escape(loc)}</loc>{lastmod}</url>")
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


def _xml(body: str) -> Response:
    return Response(body, media_type=XML, headers=HEADERS)


def need_files(session: SessionDep) -> int:
    """How many needs-N.xml files the index names (one at least, even empty)."""
    count = session.exec(select(func.count()).select_from(Need).where(*_public_needs())).one()
    return max(1, -(-int(count) // PER_FILE))


@router.get("/sitemap.xml", include_in_schema=False)
def sitemap_index(request: Request, session: SessionDep) -> Response:
    base = request.app.state.settings.base_url
    names = ["pages", "ideas", *(f"needs-{n}" for n in range(1, need_files(session) + 1))]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']  # fmt: skip
    lines += [f"<sitemap><loc>{escape(base)}/sitemaps/{name}.xml</loc></sitemap>" for name in names]
    lines.append("</sitemapindex>")
    return _xml("\n".join(lines) + "\n")


@router.get("/sitemaps/{name}.xml", include_in_schema=False)
def sitemap_file(request: Request, session: SessionDep, name: str) -> Response:
    base = request.app.state.settings.base_url
    if name == "pages":
        return _xml(_urlset((base + path, None) for path in PAGES))
    if name == "ideas":
        ideas = session.exec(
            select(Idea.id, Idea.slug, Idea.stage_changed_at)
            .where(col(Idea.is_public).is_(True))
            .order_by(col(Idea.id))
        ).all()
        return _xml(_urlset((f"{base}/ideas/{i}-{slug}", at) for i, slug, at in ideas))
    number = name.removeprefix("needs-")
    if name.startswith("needs-") and number.isdigit() and number == str(int(number)):
        index = int(number)
        if 1 <= index <= need_files(session):
            needs = session.exec(
                select(Need.id, Need.slug, Need.updated_at)
                .where(*_public_needs())
                .order_by(col(Need.id))
                .offset((index - 1) * PER_FILE)
                .limit(PER_FILE)
            ).all()
            return _xml(_urlset((f"{base}/needs/{i}-{slug}", at) for i, slug, at in needs))
    raise NotFound()
