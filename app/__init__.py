"""Bourse à initiatives: the public board of social needs and a fabrique's idea pipeline."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
