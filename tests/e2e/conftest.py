"""Browser tests: a real `bourse serve` on a free local port, driven by Playwright in Debian's
Chromium (/usr/bin/chromium; the tests never download a browser).

The server runs in test mode on its own SQLite file; the tests deliver the e-mail outbox
themselves (app.mail.worker.deliver_due on the same database) and read the .eml files.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import PROJECT_ROOT
from app.core import ratelimit
from app.core.db import make_engine
from app.core.settings import Settings
from app.ops.cli import migrate_database

CHROMIUM = os.environ.get("BOURSE_E2E_CHROMIUM", "/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    settings: Settings

    def deliver_mail(self) -> None:
        from app.mail.worker import deliver_due

        engine = make_engine(self.settings.sqlalchemy_url)
        try:
            deliver_due(engine, self.settings)
        finally:
            engine.dispose()

    def last_link(self, address: str, path: str) -> str:
        self.deliver_mail()
        for eml in sorted(self.settings.outbox_dir.glob("*.eml"), reverse=True):
            message = message_from_bytes(eml.read_bytes(), policy=policy.default)
            if message["To"] != address:
                continue
            body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
            found = re.findall(re.escape(self.url + path) + r"\?token=[\w-]+", body)
            if found:
                return found[-1]
        raise AssertionError(f"no e-mail to {address} with a link to {path}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        raise pytest.UsageError(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)"
        )
    data_dir = tmp_path_factory.mktemp("e2e-data")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BOURSE_ENV": "test",
        "BOURSE_DATA_DIR": str(data_dir),
        "BOURSE_DATABASE_URL": f"sqlite:///{data_dir / 'e2e.sqlite3'}",
        "BOURSE_BASE_URL": url,
        "BOURSE_SECRET_KEY": "e2e-secret-key",
        "BOURSE_RATE_LIMITS": "off",  # a robot fills forms faster than the minimum fill time
    }
    settings = Settings(
        env="test",
        data_dir=data_dir,
        database_url=env["BOURSE_DATABASE_URL"],
        base_url=url,
        secret_key="e2e-secret-key",
        rate_limits="off",
        _env_file=None,
    )
    # The tests write through the services in this process too (their worlds): the addresses'
    # hashes are keyed as the server keys them, and the limits are off as they are there.
    ratelimit.configure(settings.signing_key)
    migrate_database(settings.sqlalchemy_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "app.ops.cli", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    log: list[str] = []
    try:
        # Block on the server's own log until it says it is listening (no fixed waits).
        assert process.stderr is not None
        for raw in process.stderr:
            line = raw.decode(errors="replace")
            log.append(line)
            if "Uvicorn running on" in line:
                break
        else:
            raise RuntimeError("the e2e server did not start:\n" + "".join(log))
        # Keep draining the log so the server never blocks on a full pipe.
        threading.Thread(
            target=lambda: log.extend(r.decode() for r in process.stderr), daemon=True
        ).start()  # type: ignore[union-attr]
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        yield LiveServer(url=url, settings=settings)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


def seed_categories(session: Any) -> None:
    """The demo's themes and territories, once per e2e database (the tests share one server)."""
    from sqlmodel import select

    from app.board.models import Territory, Theme
    from app.ops.demo.seed import TERRITORIES, THEMES

    if session.exec(select(Theme)).first() is None:
        for position, (slug, name, name_en) in enumerate(THEMES):
            session.add(Theme(slug=slug, name=name, name_en=name_en, position=position))
    if session.exec(select(Territory)).first() is None:
        for position, (slug, name) in enumerate(TERRITORIES):
            session.add(Territory(slug=slug, name=name, name_en=name, position=position))
    session.commit()


def sign_in_on_touch_screen(
    browser: Any, base_url: str, email: str, password: str, viewport: dict[str, int]
) -> tuple[Any, Any]:
    """A new browser with a touch screen of `viewport` (a phone's under 400 px wide), signed in
    through the login form: (its context, its page)."""
    context = browser.new_context(
        viewport=viewport, locale="fr-FR", has_touch=True, is_mobile=viewport["width"] < 400
    )
    page = context.new_page()
    page.goto(base_url + "/account/login")
    page.locator("#f-email").fill(email)
    page.locator("#f-password").fill(password)
    page.locator("main form[action='/account/login'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/account/login" not in url)
    return context, page
