"""What the two outboxes share — e-mails (app/mail/worker.py) and webhook deliveries
(app/syndication/webhook_delivery.py): rows with `status` ("queued", "sending", then a final
status), `next_attempt_at` and `locked_until`, picked when due, claimed with a conditional
UPDATE so two workers never send the same row, and retried with exponential backoff.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, select

QUEUED = "queued"  # waiting for its next attempt
SENDING = "sending"  # claimed by a worker until locked_until


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """`base` after the first failure, doubling, at most `cap`."""
    # The exponent is bounded so a large attempt count cannot overflow timedelta.
    return min(base * (2 ** min(max(0, attempts - 1), 20)), cap)


def due_ids(session: Session, model: Any, now: datetime, limit: int) -> list[int]:
    """Ids of the rows to attempt now: queued and due, or claimed by a worker whose lock
    expired (it died mid-send), oldest first."""
    return list(
        session.exec(
            select(model.id)
            .where(
                or_(
                    (model.status == QUEUED) & (model.next_attempt_at <= now),
                    (model.status == SENDING) & (model.locked_until < now),
                )
            )
            .order_by(model.id)
            .limit(limit)
        ).all()
    )


def claim(session: Session, model: Any, row_id: int, now: datetime, lock: timedelta) -> bool:
    """Takes the row for this worker until now + lock; False if another worker has it or it
    is finished. Commits, so the claim is seen by the other workers at once."""
    result = session.exec(
        update(model)  # type: ignore[call-overload]
        .where(
            model.id == row_id,
            or_(model.status == QUEUED, (model.status == SENDING) & (model.locked_until < now)),
        )
        .values(status=SENDING, locked_until=now + lock)
    )
    session.commit()
    return bool(result.rowcount == 1)
