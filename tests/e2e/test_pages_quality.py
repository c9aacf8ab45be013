"""Every page is valid HTML (Nu Html Checker) and passes axe-core's WCAG 2.1 A/AA rules in
Chromium. Both tools come from the npm registry (`make e2e` installs them into .tools/)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app import PROJECT_ROOT

pytestmark = pytest.mark.e2e

TOOLS = PROJECT_ROOT / ".tools" / "node_modules"
VNU_JAR = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = TOOLS / "axe-core" / "axe.min.js"

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


def _require(path: Path) -> None:
    if not path.exists():
        raise pytest.UsageError(f"{path} is missing: run `make e2e`, which installs it")


def test_pages_are_valid_html(live_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import httpx

    _require(VNU_JAR)
    java = shutil.which("java")
    if java is None:
        raise pytest.UsageError("java is needed for the Nu Html Checker")
    files = []
    for index, path in enumerate(PUBLIC_PAGES):
        for lang in ("fr", "en"):
            html = httpx.get(live_server.url + path, headers={"Accept-Language": lang}).text
            target = tmp_path / f"page{index}-{lang}.html"
            target.write_text(html, encoding="utf-8")
            files.append(str(target))
    result = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    problems = [
        f"{m.get('url', '').rsplit('/', 1)[-1]}:{m.get('lastLine')}: {m['message']}"
        for m in messages
    ]
    assert problems == []


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_page_has_no_axe_violations(browser, live_server, path: str) -> None:  # type: ignore[no-untyped-def]
    _require(AXE_JS)
    # bypass_csp lets the test inject axe; the site itself still serves its strict CSP.
    context = browser.new_context(bypass_csp=True, locale="fr-FR")
    page = context.new_page()
    page.goto(live_server.url + path)
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}
        })"""
    )
    context.close()
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]
    assert violations == []
