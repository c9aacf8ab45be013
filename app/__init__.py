"""Bourse à initiatives: the public board of social needs and a fabrique's idea pipeline."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Where templates/, static/, migrations/ and alembic.ini are: inside the package when it was
# installed from a wheel (pyproject.toml maps them there), at the top of the repository in a
# checkout (editable installs, tests, `make run`). Code finds them here, never from the current
# directory.
_PACKAGED = Path(__file__).resolve().parent / "_resources"
INSTALLED_FROM_WHEEL = _PACKAGED.is_dir()
RESOURCES = _PACKAGED if INSTALLED_FROM_WHEEL else PROJECT_ROOT
