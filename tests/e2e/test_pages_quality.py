"""Every public page is valid HTML (Nu Html Checker) and passes axe-core's WCAG 2.1 A/AA rules
in Chromium, in French and in English. The list is page_inventory.PUBLIC_PAGES, which
tests/test_page_inventory.py keeps complete with the resident's and the staff's lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.page_inventory import PUBLIC_PAGES
from tests.e2e.quality import axe_violations, vnu_problems

pytestmark = pytest.mark.e2e


def test_pages_are_valid_html(live_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert vnu_problems(live_server.url, PUBLIC_PAGES, tmp_path) == []


@pytest.mark.parametrize("path", PUBLIC_PAGES)
@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_page_has_no_axe_violations(browser, live_server, path: str, locale: str) -> None:  # type: ignore[no-untyped-def]
    assert axe_violations(browser, live_server.url, [path], locale=locale) == []
