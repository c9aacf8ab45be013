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
from typing import Any

from sqlalchemy import ColumnElement, literal_column, text
from sqlalchemy.sql import Select
from sqlmodel import Session

from app.board.models import Need

# Engine-specific objects that the models do not describe (ignored by the drift check).
SEARCH_OBJECTS = frozenset({"needs_fts", "search_vector", "ix_needs_search_vector"})
MAX_TERMS = 8
_WORD = re.compile(r"\w+", re.UNICODE)


def search_terms(query: str) -> list[str]:
    words = [w.lower() for w in _WORD.findall(query or "") if w.strip("_")]
    terms = [w.replace("_", "") for w in words if w.replace("_", "")]
    # French elisions (l'épicerie, d'enfants) leave one-letter words that a need phrased
    # otherwise (« une épicerie ») does not contain: with a longer word beside them, they
    # would make an AND search miss on SQLite (PostgreSQL drops them as stop words).
    if any(len(t) > 1 for t in terms):
        terms = [t for t in terms if len(t) > 1]
    return terms[:MAX_TERMS]


def is_search_object(name: str | None) -> bool:
    return bool(name) and (name in SEARCH_OBJECTS or name.startswith("needs_fts"))  # type: ignore[union-attr]


# Words too common to say whether two needs are alike (for "similar needs" only; a search
# for them still works, since search requires every word).
FRENCH_STOPWORDS = frozenset(
    {
        *("au", "aux", "avec", "ce", "ces", "cet", "cette", "dans", "de", "des", "du", "elle"),
        *("en", "est", "et", "être", "il", "ils", "je", "la", "le", "les", "leur", "lui", "ma"),
        *("mais", "me", "mes", "mon", "ne", "nos", "notre", "nous", "on", "ou", "où", "par"),
        *("pas", "plus", "pour", "qu", "que", "qui", "sa", "se", "ses", "son", "sont", "sur"),
        *("ta", "te", "tes", "ton", "tu", "un", "une", "vos", "votre", "vous", "très", "tout"),
        *("tous", "faire", "fait", "avoir"),
    }
)


def similarity_terms(text: str) -> list[str]:
    return [t for t in search_terms(text) if len(t) >= 3 and t not in FRENCH_STOPWORDS]


def _fts5_query(terms: list[str], any_term: bool = False) -> str:
    return (" OR " if any_term else " ").join(f'"{term}"*' for term in terms)


def _tsquery(terms: list[str], any_term: bool = False) -> str:
    return (" | " if any_term else " & ").join(f"{term}:*" for term in terms)


# On SQLite, from this many matches on, a page of results comes sooner by walking the board's
# sort index and keeping the needs that match (about 21 × needs ÷ matches rows read) than by
# reading every match by its id and sorting them all. Measured at 100,000 needs: « creche »
# (4,957 matches) 9 ms → 0.9 ms, « velo » (12,666) 22 → 2.1 ms; but a word that matches
# nothing walks the whole index (15 ms), hence a probe that counts up to this number first
# (0.02 to 0.9 ms). PostgreSQL's planner weighs this itself from its statistics.
MANY_MATCHES = 1000


def matching_needs(session: Session, statement: Select, query: str) -> Select | None:
    """`statement` restricted to needs matching `query`, or None when the query has no word
    (the caller then shows the unfiltered list)."""
    terms = search_terms(query)
    if not terms:
        return None
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        fts = _fts5_query(terms)
        probe = text(
            "SELECT count(*) FROM (SELECT rowid FROM needs_fts WHERE needs_fts MATCH :fts LIMIT :n)"
        )
        found = session.execute(probe, {"fts": fts, "n": MANY_MATCHES}).scalar_one()
        if found >= MANY_MATCHES:
            # The unary + keeps SQLite from looking the matches up by primary key, so it
            # reads the sort's index instead and tests each row against the matches.
            return statement.where(literal_column("+needs.id").in_(_fts5_rowids(fts)))
    return statement.where(match_clause(dialect, terms))


def _fts5_rowids(fts: str) -> Any:
    return text("SELECT rowid FROM needs_fts WHERE needs_fts MATCH :fts").bindparams(fts=fts)


def match_clause(dialect: str, terms: list[str]) -> ColumnElement[bool]:
    """Every term must match (as a prefix, accents and case ignored)."""
    if dialect == "sqlite":
        return Need.id.in_(_fts5_rowids(_fts5_query(terms)))  # type: ignore[union-attr]
    return literal_column("needs.search_vector").op("@@")(
        text("to_tsquery('public.fr_unaccent'::regconfig, :tsq)").bindparams(tsq=_tsquery(terms))
    )


def best_matching_ids(
    session: Session, dialect: str, terms: list[str], limit: int, *, any_term: bool = False
) -> list[int]:
    """Ids of the needs matching all terms (or any, with any_term), best first (bm25 /
    ts_rank). Visibility is the caller's business: it filters these ids through
    visible_needs()."""
    if not terms:
        return []
    if dialect == "sqlite":
        rows = session.execute(
            text("SELECT rowid FROM needs_fts WHERE needs_fts MATCH :fts ORDER BY rank LIMIT :n"),
            {"fts": _fts5_query(terms, any_term=any_term), "n": limit},
        )
    else:
        rows = session.execute(
            text(
                "SELECT id FROM needs, to_tsquery('public.fr_unaccent'::regconfig, :tsq) q "
                "WHERE search_vector @@ q ORDER BY ts_rank(search_vector, q) DESC LIMIT :n"
            ),
            {"tsq": _tsquery(terms, any_term=any_term), "n": limit},
        )
    return [row[0] for row in rows]
