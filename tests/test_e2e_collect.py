"""`make test` installs the dev extra only, not Playwright (the e2e extra, for `make e2e`), and
still collects tests/e2e (its marker deselects the tests). A browser-test module that imports
Playwright at its top stops the whole collection: CI failed once for exactly that."""

from __future__ import annotations

import ast
from pathlib import Path

E2E = Path(__file__).resolve().parent / "e2e"


def _top_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
    return found


def test_no_browser_test_module_imports_playwright_when_collected() -> None:
    modules = sorted(E2E.glob("*.py"))
    assert len(modules) > 3
    offenders = [
        f"{path.name}:{line} imports {name}"
        for path in modules
        for line, name in _top_level_imports(ast.parse(path.read_text(encoding="utf-8")))
        if name.split(".")[0] == "playwright"
    ]
    assert offenders == [], "import Playwright inside the test or a fixture: " + ", ".join(
        offenders
    )
