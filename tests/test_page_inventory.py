"""Every GET route a person can reach is either visited by the quality checks (Nu Html Checker
and axe-core, tests/e2e) or named in tests/e2e/page_inventory.NOT_PAGES with what it answers
instead. A new page fails here until it is checked (issue 14)."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Match

from tests.e2e import page_inventory


def _get_routes(app: Any) -> list[Any]:
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before routers were included lazily
        routes = app.routes
    else:
        routes = iter_route_contexts(app.routes)
    return [r for r in routes if "GET" in (getattr(r, "methods", None) or ())]


def _route_of(routes: list[Any], address: str) -> Any | None:
    path = address.split("?")[0]
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
    for route in routes:
        match, _child = route.matches(dict(scope))
        if match == Match.FULL:
            return route
    return None


def _concrete(template: str) -> str:
    # Placeholders become plausible values: numbers for ids, a word for slugs and tokens.
    return re.sub(
        r"\{(\w+)\}", lambda m: "x" if "slug" in m[1] or "token" in m[1] else "7", template
    )


def test_every_page_is_checked_or_said_not_to_be_a_page(app) -> None:  # type: ignore[no-untyped-def]
    routes = _get_routes(app)
    visited = (
        page_inventory.PUBLIC_PAGES + page_inventory.RESIDENT_PAGES + page_inventory.STAFF_PAGES
    )
    checked = {r.path for r in (_route_of(routes, _concrete(a)) for a in visited) if r is not None}
    not_pages = set(page_inventory.NOT_PAGES)
    forgotten = sorted(r.path for r in routes if r.path not in checked | not_pages)
    assert forgotten == [], "check these pages in tests/e2e or say why they are not pages"
    # And nothing stale: every address reaches a route, every waiver names one.
    paths = {r.path for r in routes}
    assert sorted(not_pages - paths) == []
    unreached = [
        a
        for a in visited
        if a != "/page-qui-n-existe-pas" and _route_of(routes, _concrete(a)) is None
    ]
    assert unreached == []
    # A page is either checked or waived, never both.
    assert sorted(checked & not_pages) == []
