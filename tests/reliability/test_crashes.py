"""Processes killed outright (issue 18, item 1), on the run's engine.

The server: `bourse serve --workers 2` takes a burst of writes from several accounts, through
the API (personal tokens) and through the forms (signed in with the login form): needs
posted, « Moi aussi », comments. Once enough writes have been answered, the supervisor and
both workers get SIGKILL at once. Every write that was answered 2xx or 303 is in the database
afterwards, the stored counts equal a recount of the rows, and the server starts again on
the same database, where signed-in people are still signed in and writes pass.

The worker: two `bourse worker` processes deliver e-mails (to an SMTP server run by the test)
and webhooks (to an HTTP receiver run by the test); each receiver holds one message open, and
the worker sending it is killed mid-delivery and replaced. Every e-mail and every webhook
arrives at least once, each row is marked sent once, and the only duplicates are the messages
that were in flight when their worker died (README « Reliability »).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.board.models import Comment, CommentStatus, Need, Support
from app.core.db import make_engine
from app.mail.models import MailStatus, OutboxMessage
from app.syndication import webhooks
from app.syndication.models import DeliveryStatus, Webhook, WebhookDelivery
from tests.factories import make_need, make_user, read_form
from tests.mail.test_smtp import queue, smtp_server
from tests.reliability.faults import (
    connection_owner,
    csrf_of,
    fresh_database,
    gone,
    kill_serve,
    sign_in,
    start_worker,
    stop,
    wait_for,
)
from tests.serving import bourse_process

pytestmark = pytest.mark.long


@pytest.fixture
def database_url(db_engine_name: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(db_engine_name, tmp_path) as url:
        yield url


# --- The server killed in a burst of writes -------------------------------------------------

API_WRITERS = 3
FORM_WRITERS = 3
TARGETS = 60  # published needs the writers support and comment on
KILL_AFTER = 150  # acknowledged writes before the kill


@dataclass
class Acknowledged:
    """What the server answered 2xx or 303 to, as its clients saw it."""

    needs: set[str] = field(default_factory=set)  # titles
    supports: set[tuple[int, int]] = field(default_factory=set)  # (account, need)
    comments: set[str] = field(default_factory=set)  # markers in the body
    refused: list[str] = field(default_factory=list)  # any other answer
    enough: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, response: httpx.Response, kind: str, key: Any) -> None:
        with self._lock:
            if response.is_success or response.status_code == 303:
                getattr(self, kind).add(key)
            else:
                request = response.request
                self.refused.append(
                    f"{request.method} {request.url.path}: "
                    f"{response.status_code} {response.text[:200]}"
                )
            if len(self.needs) + len(self.supports) + len(self.comments) >= KILL_AFTER:
                self.enough.set()


@dataclass
class Seeded:
    targets: list[int]
    tokens: list[tuple[int, str]]  # (account, personal token)
    people: list[tuple[int, str]]  # (account, e-mail) for the forms


def seed(database_url: str) -> Seeded:
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        author = make_user(session)
        targets = [
            make_need(session, author=author, title=f"Un besoin à soutenir, numéro {n}").id
            for n in range(TARGETS)
        ]
        tokens = []
        for _ in range(API_WRITERS):
            person = make_user(session)
            tokens.append((person.id, accounts.create_api_token(session, person, "burst")))
        people = [(p.id, p.email) for p in (make_user(session) for _ in range(FORM_WRITERS))]
    engine.dispose()
    return Seeded(targets, tokens, people)


def api_writer(
    url: str, n: int, account: int, token: str, targets: list[int], acked: Acknowledged
) -> None:
    """Writes through the API until the server is gone: what was in flight then is unknown."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for i in itertools.count():
            need = targets[(i // 3 + n * 7) % len(targets)]
            try:
                if i % 3 == 0:
                    title = f"Besoin {n}-{i} posté par l'API pendant la rafale"
                    answer = client.post("/api/v1/needs", json={"title": title, "body": "Rafale."})
                    acked.note(answer, "needs", title)
                elif i % 3 == 1:
                    answer = client.put(f"/api/v1/needs/{need}/support")
                    acked.note(answer, "supports", (account, need))
                else:
                    marker = f"[api {n}-{i}]"
                    answer = client.post(
                        f"/api/v1/needs/{need}/comments", json={"body": f"Commentaire {marker}"}
                    )
                    acked.note(answer, "comments", marker)
            except httpx.TransportError:
                return


def form_writer(
    browser: httpx.Client, n: int, account: int, targets: list[int], acked: Acknowledged
) -> None:
    """Writes through the forms, as a person without JavaScript, until the server is gone."""
    token = csrf_of(browser, f"/needs/{targets[0]}")
    for i in itertools.count():
        need = targets[(i // 3 + n * 11) % len(targets)]
        try:
            if i % 3 == 0:
                title = f"Besoin {n}-{i} posté par le formulaire pendant la rafale"
                page = browser.get("/needs/new")
                _method, values, _names = read_form(page.text, "/needs/new")
                values.update(title=title, body="Rafale, par le formulaire.")
                acked.note(browser.post("/needs/new", data=values), "needs", title)
            elif i % 3 == 1:
                answer = browser.post(
                    f"/needs/{need}/support", data={"csrf_token": token, "action": "add"}
                )
                acked.note(answer, "supports", (account, need))
            else:
                marker = f"[form {n}-{i}]"
                answer = browser.post(
                    f"/needs/{need}/comments",
                    data={"csrf_token": token, "website": "", "body": f"Commentaire {marker}"},
                )
                acked.note(answer, "comments", marker)
        except httpx.TransportError:
            return


def assert_all_acknowledged_writes_are_stored(database_url: str, acked: Acknowledged) -> None:
    engine = make_engine(database_url)
    with Session(engine) as session:
        titles = set(session.exec(select(Need.title)).all())
        supports = {(s.user_id, s.need_id) for s in session.exec(select(Support)).all()}
        bodies = " ".join(session.exec(select(Comment.body)).all())
        assert acked.needs <= titles, sorted(acked.needs - titles)
        assert acked.supports <= supports, sorted(acked.supports - supports)
        assert not [m for m in acked.comments if m not in bodies]
        # The stored counts equal a recount of the rows: no write was half made.
        supported = dict(
            session.exec(select(Support.need_id, func.count()).group_by(Support.need_id)).all()
        )
        published = CommentStatus.published.value
        commented = dict(
            session.exec(
                select(Comment.need_id, func.count())
                .where(Comment.status == published, Comment.deleted_at.is_(None))  # type: ignore[union-attr]
                .group_by(Comment.need_id)
            ).all()
        )
        for need in session.exec(select(Need)).all():
            assert need.supports_count == supported.get(need.id, 0), need.title
            assert need.comments_count == commented.get(need.id, 0), need.title
    engine.dispose()


def test_the_server_killed_in_a_burst_of_writes_keeps_every_acknowledged_write(
    tmp_path: Path, database_url: str
) -> None:
    seeded = seed(database_url)
    acked = Acknowledged()
    serve = ("--workers", "2")
    env = {"BOURSE_RATE_LIMITS": "off"}  # one address, many accounts: no 429 in the burst
    with bourse_process(tmp_path, *serve, database_url=database_url, env=env) as (process, url, _):
        browsers = [sign_in(url, email) for _account, email in seeded.people]
        targets = seeded.targets
        writers = [
            threading.Thread(target=api_writer, args=(url, n, who, token, targets, acked))
            for n, (who, token) in enumerate(seeded.tokens)
        ]
        for n, (browser, (who, _email)) in enumerate(zip(browsers, seeded.people, strict=True)):
            writers.append(
                threading.Thread(target=form_writer, args=(browser, n, who, targets, acked))
            )
        for writer in writers:
            writer.start()
        try:
            assert acked.enough.wait(timeout=180), "the burst did not reach its count"
        finally:
            kill_serve(process)
            for writer in writers:
                writer.join(timeout=60)
    assert not any(writer.is_alive() for writer in writers)
    assert acked.refused == []
    print(
        f"\nSIGKILL after {len(acked.needs)} needs, {len(acked.supports)} supports and "
        f"{len(acked.comments)} comments acknowledged: all found in the database"
    )
    assert_all_acknowledged_writes_are_stored(database_url, acked)

    # Started again on the same database: people stay signed in, and writes pass.
    log: list[str] = []
    with bourse_process(tmp_path, *serve, database_url=database_url, env=env, output=log) as (
        _process,
        url,
        _,
    ):
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
        need = seeded.targets[-1]
        _account, token = seeded.tokens[0]
        created = httpx.post(
            f"{url}/api/v1/needs",
            json={"title": "Un besoin posté après le redémarrage"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert created.status_code == 201
        browser = browsers[0]
        browser.base_url = httpx.URL(url)
        commented = browser.post(
            f"/needs/{need}/comments",
            data={
                "csrf_token": csrf_of(browser, f"/needs/{need}"),
                "website": "",
                "body": "Commentaire [après le redémarrage]",
            },
        )
        assert commented.status_code == 303
    for browser in browsers:
        browser.close()
    assert_all_acknowledged_writes_are_stored(database_url, acked)
    assert not [line for line in log if "Traceback" in line or "ERROR" in line], "".join(log)


# --- The worker killed mid-delivery ---------------------------------------------------------

MESSAGES = 30  # e-mails, and as many webhook deliveries
HELD = 5  # each receiver holds its fifth message open until the worker sending it is killed
LOCK_SECONDS = 5.0  # a killed worker's claim expires after this (see faults.WORKER)


class Holding:
    """What a receiver got, in order, and the one message it holds open: `held` is set once
    it arrives, with the sender's port in `peer_port`; the answer waits for `release`."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.held = threading.Event()
        self.release = threading.Event()
        self.peer_port = 0
        self._lock = threading.Lock()

    def arrived(self, key: str, peer_port: int) -> bool:
        """Notes `key`; True when it is the message to hold."""
        with self._lock:
            self.received.append(key)
            if len(self.received) != HELD:
                return False
            self.peer_port = peer_port
        self.held.set()
        return True


class SmtpHolding(Holding):
    """An aiosmtpd handler."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.arrived(",".join(envelope.rcpt_tos), session.peer[1]):
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        return "250 Message accepted for delivery"


@contextmanager
def webhook_receiver(holding: Holding) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            delivery = self.headers[webhooks.DELIVERY_HEADER]
            if holding.arrived(delivery, self.client_address[1]):
                holding.release.wait(60)
            try:
                self.send_response(204)
                self.end_headers()
            except OSError:
                pass  # the worker was killed meanwhile

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        holding.release.set()
        server.shutdown()
        server.server_close()


def seed_outboxes(database_url: str, hook_url: str) -> None:
    engine = make_engine(database_url)
    with Session(engine) as session:
        hook = Webhook(url=hook_url, events="need.published", secret=webhooks.new_secret())
        session.add(hook)
        session.commit()
        for n in range(MESSAGES):
            queue(session, to=f"personne{n}@exemple.fr")
            webhooks.emit(session, "need.published", {"n": n})
            session.commit()
    engine.dispose()


def kill_the_sender(holding: Holding, workers: list[Any], start: Any) -> None:
    """Kills the worker that sent the held message, lets the receiver answer into the void,
    and starts another worker in its place."""
    assert holding.held.wait(timeout=60), "no message was held"
    sender = connection_owner(holding.peer_port, [w.pid for w in workers])
    assert sender is not None, "no worker holds the held connection"
    victim = next(w for w in workers if w.pid == sender)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    assert gone(victim.pid)
    holding.release.set()
    workers[workers.index(victim)] = start()


def test_a_worker_killed_mid_delivery_loses_nothing_and_duplicates_only_what_was_in_flight(
    tmp_path: Path, database_url: str
) -> None:
    mail, hooks = SmtpHolding(), Holding()
    with smtp_server(mail) as smtp_port, webhook_receiver(hooks) as hook_url:
        seed_outboxes(database_url, hook_url)
        env = {"BOURSE_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}"}

        def start() -> Any:
            return start_worker(tmp_path, database_url, env, lock_seconds=LOCK_SECONDS)

        workers = [start(), start()]
        try:
            kill_the_sender(mail, workers, start)
            kill_the_sender(hooks, workers, start)
            engine = make_engine(database_url)

            def finished() -> bool:
                with Session(engine) as session:
                    sent = session.exec(
                        select(func.count()).where(OutboxMessage.status == MailStatus.sent.value)
                    ).one()
                    delivered = session.exec(
                        select(func.count()).where(
                            WebhookDelivery.status == DeliveryStatus.delivered.value
                        )
                    ).one()
                return sent == delivered == MESSAGES

            wait_for(finished, "every e-mail sent and every webhook delivered", seconds=90)
            with Session(engine) as session:
                for row in session.exec(select(OutboxMessage)).all():
                    assert (row.status, row.attempts) == (MailStatus.sent.value, 1), row.to_address
                for delivery in session.exec(select(WebhookDelivery)).all():
                    assert (delivery.status, delivery.attempts) == ("delivered", 1), delivery.id
                event_ids = set(session.exec(select(WebhookDelivery.event_id)).all())
            engine.dispose()
        finally:
            for worker in workers:
                stop(worker)
    for holding, expected in (
        (mail, {f"personne{n}@exemple.fr" for n in range(MESSAGES)}),
        (hooks, event_ids),
    ):
        counts = Counter(holding.received)
        assert set(counts) == expected  # everything arrived
        in_flight = holding.received[HELD - 1]
        # Only the message in flight when its worker died came twice: once to the dead worker,
        # once to the worker that took it up after the claim expired.
        assert {key: n for key, n in counts.items() if n > 1} == {in_flight: 2}
    log = (tmp_path / "worker.log").read_text()
    assert "Traceback" not in log and "ERROR" not in log, log
    print(
        f"\n{MESSAGES} e-mails and {MESSAGES} webhooks, one worker killed mid-delivery of "
        "each: all arrived, each marked sent once, one duplicate each (the one in flight)"
    )
