"""The "trending" sort: a decayed score kept on the need, so the sort is one index scan.

Decision (documented in README): each support adds 2^((t - EPOCH) / HALF_LIFE) to the need's
score, where t is when it was given; withdrawing subtracts the same amount. Ordering by this
sum is the same as ordering by Σ 2^(-(now - t) / HALF_LIFE), a popularity where a support
counts half after 14 days, a quarter after 28… without ever recomputing old rows (the common
factor 2^(now/HALF_LIFE) does not change the order). The values stay far below a double's
limit until about 2060 (2^(35 years / 14 days) ≈ 10^275); rebase before then.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, cast, extract, func, literal, literal_column

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
HALF_LIFE = timedelta(days=14)
_MICROSECOND = timedelta(microseconds=1)
_EPOCH_US = (EPOCH - datetime(1970, 1, 1, tzinfo=UTC)) // _MICROSECOND
_HALF_LIFE_US = HALF_LIFE // _MICROSECOND


def support_weight(when: datetime) -> float:
    return float(2.0 ** ((when - EPOCH) / HALF_LIFE))


def support_weight_in_postgresql(when: Any) -> Any:
    """support_weight() of the timestamp column `when`, computed by PostgreSQL, to the bit:
    both counts of microseconds are whole numbers below 2^53, exact as doubles, so their
    quotient is the same correctly rounded double as Python's timedelta division, and
    PostgreSQL's power() of doubles and Python's ** call the same C pow() (20,000 random
    dates compared equal; tests/board/test_supports.py checks a withdrawal's score)."""
    # Constants written into the statement: exact numbers, not parameters typed as 32-bit.
    micros = extract("epoch", when) * literal_column("1000000") - literal_column(str(_EPOCH_US))
    half_life = literal_column(str(_HALF_LIFE_US))
    return func.power(literal(2.0, Float), cast(micros, Float) / cast(half_life, Float))
