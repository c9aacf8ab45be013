"""Test harness: one isolated, migrated database per test, on SQLite or PostgreSQL.

`pytest` runs on SQLite (a migrated template file, copied for each test). `pytest --db=postgres`
runs the same suite on PostgreSQL: a fresh database is created and migrated for the run, and
every table is truncated after each test. The server is BOURSE_TEST_POSTGRES_URL (default: the
local server, user postgres). If it does not answer, the run fails: it is never skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from app.accounts.models import User
from app.core.db import make_engine
from app.core.settings import Settings
from app.main import create_app
from app.ops.cli import migrate_database
from tests.factories import login_as, make_user

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgres"],
        default=os.environ.get("BOURSE_TEST_DB", "sqlite"),
        help="database engine for the suite (default sqlite; CI runs both)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"database engine: {config.getoption('--db')}"


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> None:
    """Still argon2id, with the smallest cost: 0.2 s per hash would make the suite crawl."""
    from argon2 import PasswordHasher

    from app.accounts import passwords

    passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))


@pytest.fixture(scope="session")
def db_engine_name(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--db")


def pg_admin_url() -> str:
    return os.environ.get("BOURSE_TEST_POSTGRES_URL", DEFAULT_PG_URL)


def create_pg_database(prefix: str = "bourse_test") -> str:
    """Creates an empty database on the test server and returns its URL."""
    admin = make_engine(pg_admin_url(), isolation_level="AUTOCOMMIT", poolclass=None)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        raise pytest.UsageError(
            f"PostgreSQL does not answer at {pg_admin_url()}: {exc}. "
            "Start it or set BOURSE_TEST_POSTGRES_URL."
        ) from exc
    finally:
        admin.dispose()
    return make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = make_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated_template(
    db_engine_name: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Migrated once per run: a SQLite file to copy, or a PostgreSQL database to share."""
    if db_engine_name == "postgres":
        url = create_pg_database()
        migrate_database(url)
        yield url
        drop_pg_database(url)
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        url = f"sqlite:///{path}"
        migrate_database(url)
        # Fold the WAL into the main file so a plain copy carries the whole schema.
        engine = make_engine(url)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        yield str(path)


@pytest.fixture
def database_url(db_engine_name: str, migrated_template: str, tmp_path: Path) -> Iterator[str]:
    if db_engine_name == "postgres":
        yield migrated_template
        engine = make_engine(migrated_template)
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
    else:
        target = tmp_path / "test.sqlite3"
        shutil.copyfile(migrated_template, target)
        yield f"sqlite:///{target}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        data_dir=tmp_path / "data",
        base_url="http://testserver",
        secret_key="test-secret-key",
        _env_file=None,
    )


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def client_at(app) -> Iterator[Callable[[str], TestClient]]:  # type: ignore[no-untyped-def]
    """Browsers at other network addresses (`client_at("198.51.100.7")`), for tests of what is
    limited per recipient rather than per client."""
    opened: list[TestClient] = []

    def make(address: str) -> TestClient:
        other = TestClient(app, base_url="http://testserver", client=(address, 50000))
        opened.append(other.__enter__())
        return other

    yield make
    for other in opened:
        other.__exit__(None, None, None)


@pytest.fixture
def session(app) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    with Session(app.state.engine, expire_on_commit=False) as db:
        db.info["settings"] = app.state.settings
        yield db


class Mailbox:
    """Delivers the outbox the way the worker does (to .eml files) and reads the messages."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.directory: Path = app.state.settings.outbox_dir

    def deliver(self) -> list[EmailMessage]:
        from app.mail.worker import deliver_due

        deliver_due(self.app.state.engine, self.app.state.settings)
        return self.messages()

    def messages(self) -> list[EmailMessage]:
        if not self.directory.exists():
            return []
        return [
            message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(self.directory.glob("*.eml"))
        ]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.deliver() if m["To"] == address]

    def last_link(self, address: str, path: str) -> str:
        """The path and query of the last link to `path` sent to `address`."""
        for message in reversed(self.to(address)):
            body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
            found = re.findall(r"http://testserver(" + re.escape(path) + r"\?token=[\w-]+)", body)
            if found:
                return found[-1]
        raise AssertionError(f"no e-mail to {address} with a link to {path}")


@pytest.fixture
def mailbox(app) -> Mailbox:  # type: ignore[no-untyped-def]
    return Mailbox(app)


# --- who the test is ------------------------------------------------------------------------------
# Two meanings kept apart by their names: `<role>_user` only makes the account (for tests that call
# services, or sign someone in themselves); `signed_in_<role>` also signs the test browser
# (`client`) in as that same account. A test asking for both gets one user.


@pytest.fixture
def staff_user(session: Session) -> User:
    return make_user(session, role="staff", display_name="Awa Diallo")


@pytest.fixture
def moderator_user(session: Session) -> User:
    return make_user(session, role="moderator", display_name="Modé Rateur")


@pytest.fixture
def admin_user(session: Session) -> User:
    return make_user(session, role="admin", display_name="Adèle Admin")


@pytest.fixture
def signed_in_staff(client: TestClient, session: Session, staff_user: User) -> User:
    login_as(client, staff_user, session)
    return staff_user


@pytest.fixture
def signed_in_moderator(client: TestClient, session: Session, moderator_user: User) -> User:
    login_as(client, moderator_user, session)
    return moderator_user


@pytest.fixture
def signed_in_admin(client: TestClient, session: Session, admin_user: User) -> User:
    login_as(client, admin_user, session)
    return admin_user


@pytest.fixture
def staff_client(client: TestClient, signed_in_staff: User) -> TestClient:
    """The test browser signed in as `staff_user`, for tests that only act through it."""
    return client
