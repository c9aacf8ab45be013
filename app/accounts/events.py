"""What happens to accounts, announced for the packages above (app/core/events.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.accounts.models import User
from app.core.events import Event


@dataclass(frozen=True)
class AccountErasing(Event):
    """The account is being deleted, in the transaction that deletes it (app/accounts/data.py):
    each package erases the contributions of the person it keeps (the board: needs, comments,
    « Moi aussi ») and adds what it erased to `erased`, which the audit entry and the person's
    confirmation show. What hangs off the account goes by the foreign keys' ON DELETE CASCADE."""

    name = "account.erasing"
    user: User
    at: datetime
    erased: dict[str, int] = field(default_factory=dict)
