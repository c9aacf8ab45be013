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

from sqlalchemy import Float, cast, func

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
HALF_LIFE = timedelta(days=14)


def support_weight(when: datetime) -> float:
    return float(2.0 ** ((when - EPOCH) / HALF_LIFE))


def support_weight_sql(when: Any) -> Any:
    """support_weight() as a PostgreSQL expression of the timestamp column `when`: a
    withdrawal answered in one statement subtracts the weight of the row it deletes
    (app.board.support_writes). The same formula: tests/board/test_support_at_once.py checks
    that the score left after a withdrawal is the remaining support's weight."""
    seconds = cast(func.extract("epoch", when), Float) - EPOCH.timestamp()
    return func.power(2.0, seconds / HALF_LIFE.total_seconds())
