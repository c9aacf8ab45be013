"""The two quality checks run on lists of pages: the Nu Html Checker (valid HTML) and axe-core
(WCAG 2.1 A/AA rules in Chromium), for a signed-in person (a session cookie) or a visitor.
Both tools come from the npm registry (`make e2e` installs them into .tools/)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import PROJECT_ROOT
from app.accounts.deps import SESSION_COOKIE

TOOLS = PROJECT_ROOT / ".tools" / "node_modules"
VNU_JAR = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = TOOLS / "axe-core" / "axe.min.js"
AXE_RUN = """async () => await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}
})"""


def require(path: Path) -> None:
    if not path.exists():
        raise pytest.UsageError(f"{path} is missing: run `make e2e`, which installs it")


def vnu_problems(
    base_url: str, pages: list[str], tmp_path: Path, *, cookie: str = "", langs=("fr", "en")
) -> list[str]:  # type: ignore[no-untyped-def]
    """Every page fetched in each language, then checked in one run of the Nu Html Checker."""
    documents: dict[str, str] = {}
    cookies = {SESSION_COOKIE: cookie} if cookie else {}
    with httpx.Client(base_url=base_url, cookies=cookies) as http:
        for path in pages:
            for lang in langs:
                response = http.get(path, headers={"Accept-Language": lang})
                assert response.status_code < 500, f"{path}: {response.status_code}"
                documents[f"{path} ({lang})"] = response.text
    return vnu_documents(documents, tmp_path)


def vnu_documents(documents: Mapping[str, str], tmp_path: Path) -> list[str]:
    """The Nu Html Checker's errors on HTML documents given as text (name → HTML), in one run:
    for pages no address shows on demand, such as the error pages the app renders."""
    require(VNU_JAR)
    java = shutil.which("java")
    if java is None:
        raise pytest.UsageError("java is needed for the Nu Html Checker")
    files: dict[str, str] = {}
    for index, (label, html) in enumerate(documents.items()):
        name = f"page{index}.html"
        (tmp_path / name).write_text(html, encoding="utf-8")
        files[name] = label
    result = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json"]
        + [str(tmp_path / name) for name in files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    return [
        f"{files.get(m.get('url', '').rsplit('/', 1)[-1])}:{m.get('lastLine')}: {m['message']}"
        for m in messages
    ]


def _fulfil_with(answer: httpx.Response) -> Any:
    """A Playwright route handler that answers with `answer` (its body already decoded)."""
    headers = {
        k: v for k, v in answer.headers.items() if k not in ("content-length", "content-encoding")
    }

    def handler(route: Any, _request: Any = None) -> None:
        route.fulfill(status=answer.status_code, headers=headers, body=answer.content)

    return handler


def axe_violations(
    browser: Any,
    base_url: str,
    pages: list[str],
    *,
    cookie: str = "",
    locale: str = "fr-FR",
    rendered: Mapping[str, httpx.Response] | None = None,
) -> list[str]:
    """axe-core's serious and lesser violations of WCAG 2.1 A/AA on each page.

    `rendered`: addresses the browser gets from the test instead of the server (address → the
    app's answer, status, headers and HTML), for pages no address shows on demand (an error
    page); served at the server's origin, so its style sheets and scripts are the real ones."""
    require(AXE_JS)
    # bypass_csp lets the test inject axe; the site itself still serves its strict CSP.
    context = browser.new_context(bypass_csp=True, locale=locale)
    if cookie:
        context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": base_url}])
    for path, response in (rendered or {}).items():
        context.route(base_url + path, _fulfil_with(response))
    page = context.new_page()
    script = AXE_JS.read_text(encoding="utf-8")
    violations = []
    for path in pages:
        page.goto(base_url + path)
        page.evaluate(script)
        for v in page.evaluate(AXE_RUN)["violations"]:
            targets = [n["target"] for n in v["nodes"]][:3]
            violations.append(f"{path}: {v['id']} ({v['impact']}): {v['help']} — {targets}")
    context.close()
    return violations
