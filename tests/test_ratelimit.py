"""Write rate limits under concurrency (app/core/ratelimit.py): two writes at once by one
account or from one address are counted one after the other, so they cannot both pass the last
place under a limit (tests/reliability/test_floods.py shows it across workers and instances)."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from app.core.db import utcnow
from app.core.ratelimit import ADDRESS_FACTOR, LIMITS, RateEvent, address_key, check_rate
from app.web.errors import TooManyRequests

ADDRESS = "203.0.113.5"


def waiting_in(thread: threading.Thread, names: set[str], seconds: float = 10.0) -> bool:
    """Whether `thread` reaches a function named in `names` (where it waits for a lock)
    within `seconds`: the lock gives no event to wait on from here."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and thread.is_alive():
        frame = sys._current_frames().get(thread.ident or 0)
        while frame is not None:
            if frame.f_code.co_name in names:
                return True
            frame = frame.f_back
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("by", ["account", "address"])
def test_two_writes_at_once_for_the_last_place_under_a_limit_pass_once(app, session, by):
    action = "report"
    _window, limit = LIMITS[action][0]
    user_id = 1 if by == "account" else None
    key = f"{action}:user:1" if by == "account" else f"{action}:ip:{address_key(ADDRESS)}"
    places = limit if by == "account" else limit * ADDRESS_FACTOR
    now = utcnow()
    session.add_all(RateEvent(key=key, created_at=now) for _ in range(places - 1))
    session.commit()
    engine = app.state.engine
    refused: list[TooManyRequests] = []

    with Session(engine) as first:
        check_rate(first, action, user_id=user_id, ip=ADDRESS)  # the last place, not committed

        def second() -> None:
            with Session(engine) as other:
                try:
                    check_rate(other, action, user_id=user_id, ip=ADDRESS)
                except TooManyRequests as exc:
                    refused.append(exc)
                other.commit()

        thread = threading.Thread(target=second)
        thread.start()
        # PostgreSQL: the second waits for the counters' advisory lock; SQLite: for the write
        # turn, which the first took by writing its rows before counting.
        assert waiting_in(thread, {"hold", "_before_execute"}), "the second did not wait"
        first.commit()
        thread.join(timeout=10)

    assert len(refused) == 1
    rows = session.exec(select(func.count()).where(RateEvent.key == key)).one()
    assert rows == places
