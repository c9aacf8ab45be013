"""Settings read from the environment (prefix BOURSE_) and from a `.env` file.

Every field here must be documented in README.md's configuration table: a test checks it.
"""

from __future__ import annotations

import logging
import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app import INSTALLED_FROM_WHEEL, PROJECT_ROOT

log = logging.getLogger(__name__)


class Env(StrEnum):
    development = "development"
    production = "production"
    test = "test"


class ModerationMode(StrEnum):
    post = "post"  # publish at once, review reports afterwards
    pre = "pre"  # every post waits for a moderator
    first_post = "first-post"  # an account's first posts wait (default)


class MissingSecretKey(RuntimeError):
    """Raised when production runs without BOURSE_SECRET_KEY."""


def _default_data_dir() -> Path:
    """data/ of the checkout; installed from a wheel, data/ of the directory the command runs in
    (a package's own directory is no place for a database). BOURSE_DATA_DIR overrides both."""
    if INSTALLED_FROM_WHEEL:
        return Path.cwd() / "data"
    return PROJECT_ROOT / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BOURSE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Env = Field(Env.development, description="development, production or test")
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where the SQLite file, the development secret and the outbox live",
    )
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means a SQLite file under data/"
    )
    secret_key: str = Field("", description="Signs cookies and tokens; required in production")
    base_url: str = Field(
        "http://127.0.0.1:8000", description="Public address, used in e-mails and feeds"
    )
    smtp_url: str = Field(
        "",
        description="smtp://user:pass@host:587?starttls=1 or smtps://…; empty writes .eml files",
    )
    mail_from: str = Field(
        "Bourse à initiatives <ne-pas-repondre@localhost>", description="From: of e-mails"
    )
    moderation_mode: ModerationMode = Field(ModerationMode.first_post)
    default_locale: Literal["fr", "en"] = Field("fr")
    embed_allowed_origins: str = Field("*", description="Who may frame /embed/* pages")
    upload_dir: Path | None = Field(None, description="Uploaded files; default data/uploads")
    max_upload_mb: int = Field(10, ge=1, le=512)
    rate_limits: Literal["on", "off"] = Field("on")
    rate_events_days: int = Field(
        1,
        ge=1,
        le=30,
        description="Days the anti-abuse records (rate-limit counters keyed by account or by "
        "a keyed hash of the address, used form values, partner arrivals) are kept before the "
        "worker purges them; at least 1, their longest window",
    )
    access_log: Literal["on", "off"] = Field(
        "on", description="One line per request in the server's log (app/web/access_log.py)"
    )
    cache_mb: int = Field(
        64, ge=0, le=4096, description="Memory of the anonymous response cache per worker"
    )
    header_timeout: float = Field(
        10,
        gt=0,
        le=300,
        description="Seconds a client has to send a request's head (from the connection's "
        "opening, or a request's first byte); past them `bourse serve` answers 408 and closes",
    )
    body_timeout: float = Field(
        20,
        gt=0,
        le=600,
        description="Seconds a client has to send a request's body, one more per 500 bytes "
        "received (an ordinary form at most three times this); past them 408",
    )
    concurrency: int = Field(
        4,
        ge=1,
        le=256,
        description="Requests a worker runs at once (the others wait their turn); its threads "
        "and its database pool are sized from it",
    )

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def is_production(self) -> bool:
        return self.env == Env.production

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'bourse.sqlite3'}"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def uploads_path(self) -> Path:
        return self.upload_dir or self.data_dir / "uploads"

    @cached_property
    def signing_key(self) -> str:
        """The secret used for signatures.

        Production refuses to run without an explicit key; development generates one once and
        keeps it under data/ so sessions survive restarts.
        """
        if self.secret_key:
            return self.secret_key
        if self.is_production:
            raise MissingSecretKey(
                "BOURSE_SECRET_KEY est obligatoire quand BOURSE_ENV=production (générez-en "
                "une avec : python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.env == Env.test:
            return "test-secret-key-not-for-production"
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        log.info("Generated a development secret key in %s", key_file)
        return key


def get_settings() -> Settings:
    return Settings()
