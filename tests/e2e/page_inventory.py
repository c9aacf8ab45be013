"""Which pages the quality checks (Nu Html Checker, axe-core) visit, and why the others are not
pages. Plain data, imported by the browser tests and by tests/test_page_inventory.py, which
lists the app's GET routes and fails when one is neither checked here nor named below with a
reason: a new page cannot be forgotten (issue 14, « every page checked »).

Addresses hold placeholders ({need}, {idea}, …) that each test's fixture fills in.
"""

from __future__ import annotations

# Seen by an anonymous visitor, in French and in English.
PUBLIC_PAGES = [
    "/",
    "/about",
    "/charter",
    "/privacy",
    "/accessibility",
    "/legal",
    "/account/signup",
    "/account/login",
    "/account/password/forgot",
    "/account/check-email?reason=signup",
    "/page-qui-n-existe-pas",
    "/ideas",
    "/impact",
    "/partners",
    "/partners/embed",
    "/api/v1/docs",
    "/embed/needs",
    "/embed/ideas",
]

# Seen by a resident, with data in them (tests/e2e/test_resident_pages_quality.py).
RESIDENT_PAGES = [
    "/follow/theme/{theme_id}",
    "/?q=navette",
    "/needs/{other_need}",
    "/needs/{own_need}",
    "/needs/new",
    "/needs/{own_need_id}/edit",
    "/needs/{own_need_id}/delete",
    "/comments/{own_comment}/edit",
    "/comments/{other_comment}/reply",
    "/report?kind=need&id={other_need_id}",
    "/report?kind=comment&id={other_comment}",
    "/report/thanks?back=/",
    "/ideas/{open_idea}-{open_slug}",
    "/ideas/{open_idea}/apply",
    "/embed/needs/{other_need_id}",
    "/embed/ideas/{open_idea}",
    "/account",
    "/account/contributions",
    "/account/contributions?section=needs",
    "/account/carrier",
    "/account/project",
    "/account/notifications",
    "/account/notifications/settings",
    "/account/verify?token={verify_token}",
    "/account/login-link?token={login_token}",
    "/account/password/reset?token={reset_token}",
    "/account/unsubscribe?token={unsubscribe_token}",
    "/moderation/",  # the 403 page: a resident is not on the team
]

# Seen by an admin, with data in them (tests/e2e/test_staff_pages_quality.py).
STAFF_PAGES = [
    "/ideas",
    "/ideas/{idea}-{slug}",
    "/impact",
    "/partners",
    "/moderation/",
    "/moderation/queue",
    "/moderation/accounts",
    "/moderation/accounts/{user}",
    "/moderation/needs/{need}",
    "/moderation/needs/{need}/edit",
    "/moderation/needs/{need}/merge",
    "/moderation/needs/{need}/qualification",
    "/moderation/needs/{need}/answer",
    # The people met offline about a need, and the correction of one collection (issue 17).
    "/moderation/needs/{need}/offline",
    "/moderation/needs/{need}/offline/{collection}/edit",
    "/moderation/comments/{comment}/edit",
    "/moderation/needs/new",
    "/moderation/qualification",
    "/moderation/audit",
    "/moderation/settings",
    "/moderation/settings/themes",
    "/moderation/settings/territories",
    # The site's identity, and one long page's editor with its rendered text and history.
    "/moderation/site",
    "/moderation/site/pages/fr/legal",
    "/moderation/ideas",
    # Filtered: the count, what the filters keep; then a value no list offers (said, 400).
    "/moderation/ideas?q=e&origin=fabrique",
    "/moderation/ideas?origin=inconnue",
    "/moderation/ideas/list",
    "/moderation/ideas/new",
    "/moderation/ideas/{idea}",
    "/moderation/ideas/{idea}/edit",
    # The demand dossier of an idea, printable (issue 17 item 2).
    "/moderation/ideas/{idea}/dossier",
    "/moderation/ideas/{idea}/applications",
    # The register of would-be carriers and the projects brought (issue 17 item 7).
    "/moderation/carriers",
    "/moderation/carriers?availability=jamais",
    "/moderation/carriers/projects",
    "/moderation/applications",
    "/moderation/partners",
    "/moderation/partners/new",
    "/moderation/partners/{partner}",
    "/moderation/webhooks",
    "/moderation/webhooks/new",
    "/moderation/webhooks/{webhook}",
    # The signed-in person's own pages (the account page holds the deletion form).
    "/account",
    "/account/contributions",
    "/account/notifications",
    "/account/notifications/settings",
]

# Error pages no address shows on demand, by status: what makes the app answer them. The test
# gets each one rendered by the app itself and checks it at the live server's origin, with its
# real style sheet, in French and in English (tests/e2e/test_error_pages_quality.py). The 404
# (an unknown address, above) and the 403 (/moderation/ for a resident) are visited as pages.
ERROR_PAGES = {
    429: "a report over the account's limit, through the real form (app/core/ratelimit.py)",
    500: "an unexpected exception (a route the test adds raises)",
    503: "the database unreachable (an app whose database file cannot be opened)",
}

# GET routes that answer no HTML page, and what they answer instead.
NOT_PAGES = {
    "/lang": "a redirect that sets the language",
    "/healthz": "a health check (text)",
    "/readyz": "a readiness check (text)",
    "/robots.txt": "text for crawlers",
    "/sitemap.xml": "XML for crawlers (app/syndication/sitemap.py)",
    "/sitemaps/{name}.xml": "XML for crawlers (app/syndication/sitemap.py)",
    "/needs/similar": "an htmx fragment of the need form, checked inside /needs/new",
    "/account/export": "the person's data as a JSON download",
    "/moderation/audit.csv": "a CSV export",
    "/moderation/ideas.csv": "a CSV export",
    "/moderation/ideas/{idea_id}/dossier.csv": "a CSV export (the dossier's rows)",
    "/moderation/tags": "the tag suggestions of the qualification form (a datalist fragment)",
    "/moderation/documents/{document_id}": "a stored document, downloaded",
    "/partners/{slug}/logo": "an image",
    "/embed/accent.css": "a style sheet",
    "/site/logo": "an image (the site's logo)",
    "/site/theme.css": "a style sheet (the site's accent colour)",
    "/embed.js": "a script",
    "/oembed": "oEmbed JSON",
    "/feeds/needs.{fmt}": "an Atom or RSS feed (XML, checked by tests/syndication)",
    "/feeds/ideas.{fmt}": "an Atom or RSS feed (XML, checked by tests/syndication)",
    "/api/v1/stats": "JSON",
    "/api/v1/needs": "JSON",
    "/api/v1/needs/{need_id}": "JSON",
    "/api/v1/ideas": "JSON",
    "/api/v1/ideas/{idea_id}": "JSON",
    "/api/v1/themes": "JSON",
    "/api/v1/territories": "JSON",
    "/api/v1/openapi.json": "the OpenAPI document (JSON)",
    "/api/v1/{rest:path}": "the API's problem+json 404",
}
