"""Write rate limits, per account and per address, stored in the database so they hold across
workers and instances. BOURSE_RATE_LIMITS=off turns them off (load tests, acceptance runs).

Each limited action records one row per successful write, in the same transaction as the
write; a check counts the rows of the window. Two writes at once by one account, or from one
address, are serialised on their keys before counting (hold), or both could count the same rows
and pass together: across workers and instances, a flood of simultaneous writes got 7 needs
through a limit of 5 (tests/reliability/test_floods.py). An address is stored only as a keyed hash
(address_key). Old rows are purged by the worker after BOURSE_RATE_EVENTS_DAYS days
(app.ops.jobs.purge_expired).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Index, bindparam, func, insert, text
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlmodel import Field, Session, SQLModel

from app.core.db import UTCDateTime, as_utc, utcnow


class RateEvent(SQLModel, table=True):
    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_key_created_at", "key", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


# action → [(window, max per account)]. An address gets ADDRESS_FACTOR times more, since
# several people may share one (a library, a social centre, a family).
LIMITS: dict[str, list[tuple[timedelta, int]]] = {
    "need": [(timedelta(hours=1), 5), (timedelta(days=1), 15)],
    "comment": [(timedelta(minutes=10), 10), (timedelta(days=1), 100)],
    "support": [(timedelta(minutes=1), 30), (timedelta(days=1), 500)],
    "report": [(timedelta(hours=1), 20)],
    "follow": [(timedelta(minutes=1), 30)],
    "signup": [(timedelta(hours=1), 5)],
    # Every form that makes the site send an e-mail (sign-up, sign-in link, password reset,
    # confirmation sent again), on top of the per-recipient caps in app.accounts.service: one
    # client (an address, or an IPv6 /64) makes the site send at most 4 a minute, 20 an hour.
    "email": [(timedelta(minutes=1), 1), (timedelta(hours=1), 5)],
    # Applying to carry a project is rare and deliberate: a few an hour is plenty.
    "carrier_application": [(timedelta(hours=1), 5), (timedelta(days=1), 10)],
}
ADDRESS_FACTOR = 4
LONGEST_WINDOW = max(w for rules in LIMITS.values() for w, _n in rules)
# Built once: every limited write runs them.
_COUNT = sa_select(func.count(), func.min(RateEvent.created_at)).where(
    RateEvent.key == bindparam("p_key"),  # type: ignore[arg-type]
    RateEvent.created_at > bindparam("p_since", type_=UTCDateTime()),  # type: ignore[arg-type, operator]
)
_INSERT = insert(RateEvent)
# PostgreSQL: transaction-scoped advisory locks on one key or two, taken in the order given;
# the "try" form takes none past the first it cannot have at once.
_HOLD = {
    (n, wait): text(
        "SELECT "
        + (", " if wait else " AND ").join(
            f"pg_{'' if wait else 'try_'}advisory_xact_lock(hashtextextended(:k{i}, 0))"
            for i in range(n)
        )
    )
    for n in (1, 2)
    for wait in (True, False)
}


# The key of the addresses' hashes, derived from the app's signing key by configure(): the
# same in every worker and instance of a site (so that their limits add up), unknown outside.
_address_secret: bytes | None = None


def _derived(signing_key: str) -> bytes:
    return hmac.digest(signing_key.encode(), b"bourse.address", hashlib.sha256)


class RateLimited(Exception):
    """A write over a limit, which may pass again in `retry_after` seconds. What the site
    answers is the web layer's, given to configure(): a 429 in the reader's language."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"over a rate limit; retry after {retry_after} s")
        self.retry_after = max(1, retry_after)


# What a refused write raises: this layer cannot import the web layer's errors (the layers of
# pyproject.toml), so create_app() gives the web layer's 429 (app.web.errors.too_many_writes).
Refusal = Callable[[int], Exception]
_refusal: Refusal = RateLimited


def configure(signing_key: str, refusal: Refusal | None = None) -> None:
    """Called by create_app() before any request: the addresses' hashes are keyed with the
    site's signing key, and a write over a limit raises `refusal(retry_after)`."""
    global _address_secret, _refusal
    _address_secret = _derived(signing_key)
    if refusal is not None:
        _refusal = refusal


def network_of(ip: str) -> str:
    """What the per-address limits count by: an IPv4 address, or the /64 network of an IPv6
    one (a single home or server is usually given a whole /64, so keying by the full address
    would let one client take a new identity per request)."""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return ip[:45]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def address_key(ip: str, *, signing_key: str | None = None) -> str:
    """The network of `ip` (network_of) as it is stored, in `rate_events` and
    `login_failures`: a keyed hash (HMAC-SHA-256 with a key derived from the signing key, 32
    hex characters), never the address itself. It still tells two clients apart for the
    limits; without the key it cannot be turned back into an address, even by trying all four
    billion IPv4 ones. `signing_key`: another site's (a test reading a server's rows)."""
    secret = _derived(signing_key) if signing_key is not None else _address_secret
    if secret is None:
        raise RuntimeError("app.core.ratelimit.configure() was not called")
    return hmac.new(secret, network_of(ip).encode(), hashlib.sha256).hexdigest()[:32]


def _keys(action: str, user_id: int | None, ip: str) -> list[tuple[str, int]]:
    keys = [(f"{action}:ip:{address_key(ip)}", ADDRESS_FACTOR)]
    if user_id is not None:
        keys.insert(0, (f"{action}:user:{user_id}", 1))
    return keys


def hold(
    connection: Connection, action: str, *, user_id: int | None, ip: str, wait: bool = True
) -> bool:
    """Serialises this write of `action` with the others of the same account or address until
    the caller's transaction ends, so that over_limit() counts every write that passed before.
    PostgreSQL: an advisory lock per key (in the keys' order, so that no two writers each hold
    a key the other waits for); SQLite writes one transaction at a time: the caller must hold
    the write turn before counting (check_rate writes its rows first; toggle_on takes the
    need's row).

    `wait=False`, for a caller already holding a row lock that a writer waiting here may want
    next: False at once, nothing waited for, when another transaction holds one of the keys."""
    if connection.dialect.name != "postgresql":
        return True
    keys = sorted(key for key, _factor in _keys(action, user_id, ip))
    params = {f"k{i}": key for i, key in enumerate(keys)}
    held = connection.execute(_HOLD[len(keys), wait], params).one()
    return wait or bool(held[0])


def over_limit(
    connection: Connection,
    action: str,
    *,
    user_id: int | None,
    ip: str,
    now: datetime,
    own: int = 0,
) -> Exception | None:
    """The error to raise (configure's refusal) when the account or the address went over a
    limit, else None; reads only, on a Core connection in the caller's transaction, after
    hold(). `own`: rows of this write already written (per key), not counted against it."""
    keys = _keys(action, user_id, ip)
    for window, limit in LIMITS[action]:
        since = now - window
        for key, factor in keys:
            count, oldest = connection.execute(_COUNT, {"p_key": key, "p_since": since}).one()
            if count - own >= limit * factor:
                wait = int(((as_utc(oldest) or now) + window - now).total_seconds()) + 1
                return _refusal(wait)
    return None


def events(action: str, *, user_id: int | None, ip: str, now: datetime) -> list[dict[str, Any]]:
    """The rows that record one write of `action` (per account and per address)."""
    return [{"key": key, "created_at": now} for key, _factor in _keys(action, user_id, ip)]


def record(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Writes events() on a Core connection, in the caller's transaction."""
    connection.execute(_INSERT, rows)


def check_rate(
    session: Session, action: str, *, user_id: int | None, ip: str, enabled: bool = True
) -> None:
    """Raises configure's refusal (a 429 on the site) when the account or the address went over
    a limit; otherwise records this write (committed with the caller's transaction)."""
    if not enabled:
        return
    connection = session.connection()
    hold(connection, action, user_id=user_id, ip=ip)
    now = utcnow()
    rows = [RateEvent(**row) for row in events(action, user_id=user_id, ip=ip, now=now)]
    # Written before counting: on SQLite this write takes the write turn (app.core.db.
    # WriterTurns), held until the transaction ends, so no other write comes in between.
    session.add_all(rows)
    session.flush()
    error = over_limit(connection, action, user_id=user_id, ip=ip, now=now, own=1)
    if error is not None:
        for row in rows:
            session.delete(row)
        session.flush()
        raise error
