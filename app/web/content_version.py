"""The content version: one number that changes with every write anyone could see.

Database triggers (migration 0007) bump the single row of `content_version` in the same
transaction as every insert, update or delete on a public table, whatever wrote it (the app's
ORM, a Core statement, raw SQL, the CLI, another worker or another instance). A page rendered
at version v is still exact as long as the row says v: that is how the anonymous response cache
(app/web/cache.py) knows, with one primary-key read, that a stored page may be served.

The table is created by the migration, not by a model: the test harness empties every model
table between tests, and this row must always be there.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.engine import Engine

# Table → the columns whose UPDATE shows somewhere public (None: every column). Each table of
# the schema is in this list or in PRIVATE_TABLES (tests/web/test_content_version.py fails
# otherwise); changing either needs a migration that recreates the triggers.
PUBLIC_TABLES: dict[str, tuple[str, ...] | None] = {
    "needs": None,
    "supports": None,
    "comments": None,
    "ideas": None,
    "idea_needs": None,
    "idea_partners": None,
    "idea_milestones": None,
    "idea_stage_changes": None,
    "partners": None,
    "themes": None,
    "territories": None,
    "tags": None,
    "need_tags": None,
    "site_settings": None,
    "revisions": None,
    # Names and roles show on public pages; a login only writes last_login_at, which doesn't.
    "users": ("display_name", "role", "blocked_at", "blocked_until", "trusted_at"),
    # Not shown to the public, but the moderation dashboard counts them and is rendered once
    # per version (migration 0010).
    "reports": None,
    # People met offline: their number shows on the need page and in the demand (0014).
    "offline_collections": None,
}

# Tables no anonymous page, feed, embed or API read shows, with the reason.
PRIVATE_TABLES: dict[str, str] = {
    "api_tokens": "shown to their owner only",
    "audit_entries": "moderation log, staff only",
    "carrier_applications": "seen by the applicant and staff only",
    "carrier_invitations": "seen by the invited person and staff only",
    "carrier_profiles": "the register of would-be carriers, staff only",
    "carrier_proposals": "seen by the person who proposed and staff only",
    "email_tokens": "secrets of e-mailed links",
    "follows": "who follows what is shown to the follower only",
    "idea_comments": "the team's working notes on an idea",
    "idea_documents": "staff-only attachments",
    "login_failures": "throttling",
    "notification_preferences": "personal settings",
    "notifications": "personal",
    "outbox_messages": "e-mail queue",
    "partner_referrals": "arrival counts, staff pages only",
    "rate_events": "rate limits and anti-abuse marks",
    "topic_follows": "who follows which theme, territory or idea: the follower only",
    "user_sessions": "signed-in browsers",
    "webhook_deliveries": "delivery queue",
    "webhooks": "staff configuration",
}

TABLE = "content_version"
_SELECT = f"SELECT version, changed_at FROM {TABLE} WHERE id = 1"


def is_content_version_object(name: str | None) -> bool:
    """For Alembic's comparison: the table exists in migrations only (see the docstring)."""
    return name == TABLE or bool(name and name.startswith("cv_"))


class VersionReader:
    """Reads the current version with one primary-key SELECT on a connection of its own,
    kept open for the life of the worker (one per thread that asks), outside the pool and in
    autocommit, so a read costs one round trip and never holds a snapshot."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            pooled = self.engine.raw_connection()
            conn = pooled.driver_connection
            pooled.detach()  # ours for good: the pool neither counts nor recycles it
            if self.engine.dialect.name == "postgresql":
                conn.autocommit = True
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def read(self) -> tuple[int, int] | None:
        """(version, changed_at as Unix seconds), or None when the database cannot say (the
        cache then steps aside and the request goes to the app, which answers 503)."""
        try:
            cursor = self._connection().cursor()
            try:
                cursor.execute(_SELECT)
                row = cursor.fetchone()
            finally:
                cursor.close()
        except Exception:
            self.close()
            return None
        return (int(row[0]), int(row[1])) if row else None

    def close(self) -> None:
        """Closes this thread's connection (after an error: the next read opens another)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to release
                conn.close()

    def close_all(self) -> None:
        """At shutdown: every connection this reader opened, in any thread."""
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            with contextlib.suppress(Exception):
                conn.close()


class AsyncVersionReader:
    """The same read over an asynchronous psycopg connection (PostgreSQL): a round trip to
    the database server must not stop the event loop, which serves every other hit meanwhile.
    One connection per event loop (a worker has one), opened on first use, again after an
    error."""

    def __init__(self, engine: Engine) -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        kwargs.pop("context", None)  # SQLAlchemy's adapters, for its own connections only
        kwargs.setdefault("connect_timeout", 5)
        self._args = args
        self._kwargs = kwargs
        self._conn: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def read(self) -> tuple[int, int] | None:
        import psycopg  # only installations on PostgreSQL reach this

        loop = asyncio.get_running_loop()
        try:
            if self._conn is None or self._loop is not loop or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(
                    *self._args, autocommit=True, **self._kwargs
                )
                self._loop = loop
            cursor = await self._conn.execute(_SELECT)
            row = await cursor.fetchone()
        except Exception:
            await self.close()
            return None
        return (int(row[0]), int(row[1])) if row else None

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to release
                await conn.close()


class SharedRead:
    """Shares version reads between the requests of one worker without ever serving one a
    version read before it arrived.

    A caller waits for the next read that *starts* after it asked: a read already running may
    have been answered before a write the caller knows of (its own support, given a moment
    ago through another worker) and is not joined. Every caller that asks while a read runs
    shares the one that starts when it ends. So under load the database sees about one read
    per round trip per worker instead of one per request, and each answer stays as exact as a
    read of its own."""

    def __init__(self, read: Callable[[], Awaitable[tuple[int, int] | None]]) -> None:
        self._read = read
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next: asyncio.Future[tuple[int, int] | None] | None = None
        self._running: asyncio.Task[None] | None = None

    async def __call__(self) -> tuple[int, int] | None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests start one per client)
            self._loop, self._next, self._running = loop, None, None
        future = self._next
        if future is None:
            future = self._next = loop.create_future()
            if self._running is None:
                self._start()
        # Shielded: a visitor who hangs up must not cancel the read the others wait for.
        return await asyncio.shield(future)

    def _start(self) -> None:
        future, self._next = self._next, None
        assert future is not None and self._loop is not None
        self._running = self._loop.create_task(self._run(future))

    async def _run(self, future: asyncio.Future[tuple[int, int] | None]) -> None:
        result: tuple[int, int] | None = None
        try:
            result = await self._read()
        finally:
            self._running = None
            if not future.done():
                future.set_result(result)
            if self._next is not None:
                self._start()
