"""The site's links are htmx-boosted (`<body data-hx-boost="true">`): htmx fetches the target and
swaps it into the page. A link to something that is not an HTML page — a download, JSON, a feed,
a staff document — must opt out, or with JavaScript the person gets the raw text pasted into the
page instead of a file (found with « Télécharger mes données »)."""

from __future__ import annotations

import re
from pathlib import Path

from app import PROJECT_ROOT

NOT_HTML = re.compile(
    r"""href="(/api/v1/(?!docs)[^"]*|/feeds/[^"]*|/account/export[^"]*|[^"]*\.(csv|json|atom|rss|pdf)[^"]*|/moderation/documents/[^"]*)\""""
)
ANCHOR = re.compile(r"<a\s[^>]*>", re.DOTALL)


def test_every_link_to_a_file_or_data_is_not_boosted() -> None:
    offenders = []
    templates = sorted((Path(PROJECT_ROOT) / "templates").rglob("*.html"))
    assert templates
    for template in templates:
        for tag in ANCHOR.findall(template.read_text(encoding="utf-8")):
            if NOT_HTML.search(tag) and 'data-hx-boost="false"' not in tag:
                offenders.append(f"{template.relative_to(PROJECT_ROOT)}: {tag}")
    assert offenders == []


def test_the_check_sees_a_boosted_download() -> None:
    tag = '<a href="/account/export" download>'
    assert NOT_HTML.search(tag) and 'data-hx-boost="false"' not in tag
