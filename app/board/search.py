"""Full-text search over needs, behind one function for both engines.

SQLite: the FTS5 table `needs_fts` (diacritics removed). PostgreSQL: the generated
`search_vector` column in a French configuration that also removes accents. Both are created
by migration 0002, outside the models.

User input never reaches either query language as syntax: it is cut into words (letters and
digits only), each word becomes a quoted prefix term, and all words must match. So quotes, `*`,
`NEAR(`, `OR`, a lone `-` are just ignored characters, never an error; "creche" finds
"Crèche" on both engines.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, literal_column, text
from sqlalchemy.sql import Select

from app.board.models import Need

# Engine-specific objects that the models do not describe (ignored by the drift check).
SEARCH_OBJECTS = frozenset({"needs_fts", "search_vector", "ix_needs_search_vector"})
MAX_TERMS = 8
_WORD = re.compile(r"\w+", re.UNICODE)


def search_terms(query: str) -> list[str]:
    words = [w.lower() for w in _WORD.findall(query or "") if w.strip("_")]
    return [w.replace("_", "") for w in words if w.replace("_", "")][:MAX_TERMS]


def is_search_object(name: str | None) -> bool:
    return bool(name) and (name in SEARCH_OBJECTS or name.startswith("needs_fts"))  # type: ignore[union-attr]


def _fts5_query(terms: list[str]) -> str:
    return " ".join(f'"{term}"*' for term in terms)


def _tsquery(terms: list[str]) -> str:
    return " & ".join(f"{term}:*" for term in terms)


def matching_needs(statement: Select, dialect: str, query: str) -> Select | None:
    """`statement` restricted to needs matching `query`, or None when the query has no word
    (the caller then shows the unfiltered list)."""
    terms = search_terms(query)
    if not terms:
        return None
    return statement.where(match_clause(dialect, terms))


def match_clause(dialect: str, terms: list[str]) -> ColumnElement[bool]:
    if dialect == "sqlite":
        return Need.id.in_(  # type: ignore[union-attr]
            text("SELECT rowid FROM needs_fts WHERE needs_fts MATCH :fts").bindparams(
                fts=_fts5_query(terms)
            )
        )
    return literal_column("needs.search_vector").op("@@")(
        text("to_tsquery('public.fr_unaccent'::regconfig, :tsq)").bindparams(tsq=_tsquery(terms))
    )
