"""The import direction of app/ is checked, not only written down (issue 16): the layers
contract of pyproject.toml ([tool.importlinter]) runs on the code, and it is shown to catch an
import written inside a function, the way most imports against the direction used to hide."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def contract() -> dict[str, Any]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = config["tool"]["importlinter"]["contracts"]
    return layers


def lint_imports(cwd: Path, *config: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), *config, "--no-cache"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(cwd)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_no_module_of_app_imports_a_layer_above_it():
    result = lint_imports(ROOT, "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_every_module_at_the_top_of_app_has_a_layer():
    layers = contract()
    assert layers["containers"] == ["app"]
    assert layers["exhaustive"] is True


def miniature(tmp_path: Path, core_module: str) -> Path:
    """A package laid out in the layers of the contract, with one module in its core."""
    package = tmp_path / "miniapp"
    for layer in contract()["layers"]:
        for name in layer.split(":"):
            (package / name.strip()).mkdir(parents=True)
            (package / name.strip() / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "web" / "templating.py").write_text("def render() -> None: ...\n")
    (package / "core" / "clock.py").write_text(core_module)
    layers = "\n".join(f"    {layer}" for layer in contract()["layers"])
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_package = miniapp\n\n"
        "[importlinter:contract:layers]\nname = layers\ntype = layers\n"
        f"containers = miniapp\nexhaustive = True\nlayers =\n{layers}\n"
    )
    return tmp_path


def test_a_deferred_import_of_a_higher_layer_breaks_the_contract(tmp_path):
    deferred = (
        "def today() -> object:\n"
        "    from miniapp.web.templating import render  # inside the function\n"
        "    return render\n"
    )
    result = lint_imports(miniature(tmp_path, deferred))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "miniapp.core is not allowed to import miniapp.web" in result.stdout
    assert "miniapp.core.clock -> miniapp.web.templating (l.2)" in result.stdout


def test_the_same_package_without_that_import_keeps_the_contract(tmp_path):
    result = lint_imports(miniature(tmp_path, "def today() -> None: ...\n"))
    assert result.returncode == 0, result.stdout + result.stderr


# Issue 16: a module past this many lines has grown two jobs; split it by what it does (routes
# from services, a document from its builder). Migrations and the demo's content are data.
MAX_MODULE_LINES = 600


def test_no_module_of_app_is_over_the_size_where_it_does_two_things():
    over = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "app").rglob("*.py"))
        if "demo" not in path.relative_to(ROOT / "app").parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not over, f"modules over {MAX_MODULE_LINES} lines: {over}"
