"""The README stays true: every setting and every CLI command is documented there."""

from __future__ import annotations

import re

from app import PROJECT_ROOT
from app.core.settings import Settings
from app.ops.cli import build_parser

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def _config_table_variables() -> set[str]:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(BOURSE_[A-Z_]+)` \|", section, flags=re.MULTILINE))


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    expected = {f"BOURSE_{name.upper()}" for name in Settings.model_fields}
    missing = expected - _config_table_variables()
    assert not missing, f"settings missing from README's configuration table: {sorted(missing)}"


def test_readme_documents_no_setting_that_does_not_exist() -> None:
    known = {f"BOURSE_{name.upper()}" for name in Settings.model_fields}
    assert _config_table_variables() <= known


def test_every_cli_command_is_in_the_readme() -> None:
    parser = build_parser()
    subcommands = next(
        a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"
    ).choices
    for name in subcommands:
        assert f"bourse {name}" in README, f"`bourse {name}` is not documented in README"


def test_readme_gives_the_two_setup_commands() -> None:
    assert "make run" in README and "make test" in README
