"""How long the answer being rendered stays exact by itself, for the anonymous response cache.

Most of a page changes only when data does (the content version tells that). Some text changes
with the clock alone: « il y a 5 minutes » becomes « il y a 6 minutes ». Code that renders such
text calls `expires_at(moment)`; app.web.cache keeps the answer no later than the earliest
moment noted while it was rendered.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# A mutable box, so that a route run in a worker thread (which works on a copy of the context)
# writes where the cache middleware reads.
_expiry: ContextVar[list[float] | None] = ContextVar("bourse_freshness", default=None)

# babel.dates.format_timedelta's units, largest first, and its default threshold as we call it.
UNITS = (
    3600 * 24 * 365,
    3600 * 24 * 30,
    3600 * 24 * 7,
    3600 * 24,
    3600,
    60,
    1,
)


def expires_at(moment: float) -> None:
    """The answer being rendered is exact only until `moment` (Unix seconds)."""
    box = _expiry.get()
    if box is not None and moment < box[0]:
        box[0] = moment


@contextmanager
def collect() -> Iterator[list[float]]:
    """Collects the earliest `expires_at` of what runs inside (box[0]; inf when none)."""
    box = [math.inf]
    token = _expiry.set(box)
    try:
        yield box
    finally:
        _expiry.reset(token)


def relative_text_lasts(age_seconds: float, threshold: float = 1.1) -> float:
    """For how many seconds format_timedelta(age, threshold) keeps printing the same words:
    until the rounded count of its unit moves (a half unit further) or the next larger unit
    reaches its threshold, whichever comes first. Never more than the truth, at least 1 s."""
    age = abs(age_seconds)
    for index, unit in enumerate(UNITS):
        value = age / unit
        if value >= threshold:
            next_half = (math.floor(value - 0.5) + 1.5) * unit - age
            if index > 0:
                next_half = min(next_half, UNITS[index - 1] * threshold - age)
            # Babel counts whole seconds and rounds a past date's age up to the next one.
            return max(next_half - 1.0, 1.0)
    return 1.0
