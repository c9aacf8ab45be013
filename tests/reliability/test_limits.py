"""Request limits (issue 18, item 5): what a request may weigh and how long it may take.

- An address over 8 KiB: 414 from the application (its French page, problem+json under /api/);
  a head over 32 KiB: 414 or 431 from the server, before the application.
- Forms: Starlette's multipart limits (1,000 fields, 1 MiB a part) answer a clear 400.
- Slow clients (`bourse serve`, with short timeouts for the test): a head or a body sent one
  byte at a time is cut off with a 408, a silent connection closed, while other clients are
  served meanwhile — a slow body no longer holds one of the worker's slots.
- Uploads of the wrong type or size are refused before anything is written under the upload
  directory.
The body limit itself (413) is tests/web/test_body_limit.py; the upload limits,
tests/pipeline/test_uploads.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import func
from sqlmodel import select

from app.main import create_app
from app.ops.http_limits import MAX_HEAD_BYTES
from app.pipeline import uploads
from app.pipeline.models import IdeaDocument
from app.pipeline.service import IdeaInput, create_idea
from app.web import bodyread
from app.web.bodylimit import MAX_URL_BYTES
from tests.factories import csrf_token, fresh, login_as, make_user
from tests.pipeline.test_uploads import files_in, minimal_pdf, minimal_png
from tests.serving import bourse_serve

SLOW = 2.0  # BOURSE_HEADER_TIMEOUT and BOURSE_BODY_TIMEOUT of the server under test


def h1(html: str) -> str:
    return LexborHTMLParser(html).css_first("h1").text(strip=True)


# --- the address ------------------------------------------------------------------------------


def test_an_address_over_8_kib_gets_the_french_414_page(client):
    response = client.get("/", params={"q": "a" * MAX_URL_BYTES})
    assert response.status_code == 414
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"  # the site's headers, as on any page
    assert LexborHTMLParser(response.text).css_first("html").attributes["lang"] == "fr"
    assert h1(response.text) == "Adresse trop longue"


def test_an_api_address_over_8_kib_gets_problem_json(client):
    response = client.get("/api/v1/needs", params={"q": "a" * MAX_URL_BYTES})
    assert response.status_code == 414
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json()["title"] == "Adresse trop longue"


def test_an_address_just_under_the_limit_is_served(client):
    # The query string and the path together: "/?q=" leaves 8 KiB minus 4 for the value.
    response = client.get("/", params={"q": "a" * (MAX_URL_BYTES - len("/q=") - 1)})
    assert response.status_code == 200


# --- forms ------------------------------------------------------------------------------------


def test_a_form_of_more_than_1000_fields_is_a_clear_400(client):
    token = csrf_token(client)
    fields = [("csrf_token", token), *((f"champ{n}", "x") for n in range(1001))]
    response = client.post(
        "/account/login",
        files=[("vide", ("vide.txt", b"", "text/plain"))],
        data=dict(fields),
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert h1(response.text) == "Requête invalide"


@pytest.fixture
def staff_with_idea(client, session):  # type: ignore[no-untyped-def]
    staff = make_user(session, role="staff")
    idea = create_idea(session, staff, IdeaInput(title="Conciergerie d'entreprises", origin="town"))
    login_as(client, staff, session)
    return idea


def test_a_text_part_over_1_mib_in_an_upload_form_is_a_clear_400(
    client, session, settings, staff_with_idea
):
    # Only upload forms may carry more than 1 MiB; their text fields still may not.
    response = client.post(
        "/moderation/partners/new",
        data={"csrf_token": csrf_token(client), "name": "x" * (1024 * 1024 + 1)},
        files={"logo": ("logo.png", minimal_png(), "image/png")},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert files_in(uploads.logos_dir(settings)) == []


# --- uploads: refused before a byte is written ------------------------------------------------


@pytest.fixture
def no_writes_under_uploads(monkeypatch) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Records every temporary file the upload code opens (where it writes what it stores)."""
    opened: list[str] = []
    real = uploads.tempfile.mkstemp

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        fd, name = real(*args, **kwargs)
        opened.append(name)
        return fd, name

    monkeypatch.setattr(uploads.tempfile, "mkstemp", spy)
    yield opened


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "etude.pdf", "ni un PDF"),
        (b"\x00\xff" * 300, "binaire.pdf", "ni un PDF"),
        (minimal_pdf() + b"0" * (1024 * 1024), "gros.pdf", "dépasse 1 Mo"),
        (b"", "vide.pdf", "est vide"),
    ],
    ids=["html", "binary", "too-large", "empty"],
)
def test_a_refused_document_is_never_written_under_the_upload_directory(
    client, session, settings, staff_with_idea, no_writes_under_uploads, data, name, message
):
    settings.max_upload_mb = 1
    response = client.post(
        f"/moderation/ideas/{staff_with_idea.id}/documents",
        data={"csrf_token": csrf_token(client)},
        files={"file": (name, data, "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert message in response.text
    assert no_writes_under_uploads == []
    assert files_in(uploads.documents_dir(settings)) == []
    assert fresh(session).exec(select(func.count()).select_from(IdeaDocument)).one() == 0


def test_an_accepted_document_is_written_once(
    client, session, settings, staff_with_idea, no_writes_under_uploads
):
    response = client.post(
        f"/moderation/ideas/{staff_with_idea.id}/documents",
        data={"csrf_token": csrf_token(client)},
        files={"file": ("etude.pdf", minimal_pdf(), "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert len(no_writes_under_uploads) == 1  # the spy sees the upload code's writes
    stored = fresh(session).exec(select(IdeaDocument)).one()
    assert files_in(uploads.documents_dir(settings)) == [stored.stored_name]


# --- slow bodies, in the application ------------------------------------------------------------


def test_a_body_over_the_budget_of_the_worker_gets_a_503(app, monkeypatch):
    monkeypatch.setattr(bodyread, "PREREAD_BUDGET", 100)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.post(
                "/api/v1/needs", content=b"{" + b" " * 200 + b"}", headers=JSON_TYPE
            )

    response = asyncio.run(go())
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.headers["content-type"] == "application/problem+json"


JSON_TYPE = {"Content-Type": "application/json"}


def test_a_body_sent_too_slowly_gets_a_408_and_the_connection_closed(settings):
    app = create_app(settings.model_copy(update={"body_timeout": 0.3}))

    async def trickle() -> AsyncIterator[bytes]:
        for byte in b'{"title": "' + b"a" * 200 + b'"}':  # 20 s at this pace
            await asyncio.sleep(0.1)
            yield bytes([byte])

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.post("/api/v1/needs", content=trickle(), headers=JSON_TYPE)

    started = time.monotonic()
    response = asyncio.run(go())
    app.state.engine.dispose()
    assert response.status_code == 408
    assert time.monotonic() - started < 5  # 0.3 s and a page to render, not the 20 s body
    assert response.headers["connection"] == "close"
    assert response.json()["title"] == "Délai dépassé"


# --- the server: heads and slow clients ---------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`bourse serve` with one-second timeouts (its database: a SQLite file of its own; every
    limit here is met before a request reaches the database)."""
    tmp_path = tmp_path_factory.mktemp("limits")
    env = {"BOURSE_HEADER_TIMEOUT": str(SLOW), "BOURSE_BODY_TIMEOUT": str(SLOW)}
    with bourse_serve(tmp_path, env=env) as (url, _database):
        yield url


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection. A server that closes with
    bytes of ours still unread makes the system reset the connection, which may cut what we
    had yet to read: a refused client gets its status line, not always the whole page."""
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def body_of(raw: bytes) -> bytes:
    return raw.partition(b"\r\n\r\n")[2]


def send_all_or_reset(sock: socket.socket, data: bytes) -> None:
    """Sends what the server accepts: it may answer and close before reading the rest."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def test_a_head_over_32_kib_gets_a_431_from_the_server(server):
    sock = connect(server)
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Grand: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n"
    send_all_or_reset(sock, head)
    raw = answer(sock)
    assert status_of(raw) == 431
    assert body_of(raw).decode() == (
        "En-têtes trop volumineux : Les en-têtes de la requête dépassent la taille autorisée.\n"
    )


def test_a_request_line_over_32_kib_gets_a_414_problem_under_the_api(server):
    sock = connect(server)
    send_all_or_reset(sock, b"GET /api/v1/needs?q=" + b"a" * MAX_HEAD_BYTES + b" HTTP/1.1\r\n")
    raw = answer(sock)
    assert status_of(raw) == 414
    assert b"content-type: application/problem+json" in raw
    assert json.loads(body_of(raw))["title"] == "Adresse trop longue"


def test_many_small_headers_count_as_one_head(server):
    sock = connect(server)
    headers = b"".join(b"X-%d: a\r\n" % n for n in range(10_000))
    send_all_or_reset(sock, b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert status_of(answer(sock)) == 431


def test_requests_sent_together_on_one_connection_are_all_answered(server):
    # The head count starts again with each request, even inside one packet.
    sock = connect(server)
    one = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    sock.sendall(one * 3 + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer(sock).count(b"HTTP/1.1 200 OK") == 4


class Others:
    """Another client fetching `path` in a loop while a test runs: how long each answer
    took."""

    def __init__(self, url: str, path: str) -> None:
        self.url, self.path = url, path
        self.durations: list[float] = []
        self.starts: list[float] = []  # time.monotonic() of each request's start
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            while not self._stop.is_set():
                started = time.monotonic()
                self.statuses.append(http.get(self.path).status_code)
                self.starts.append(started)
                self.durations.append(time.monotonic() - started)

    def before(self, moment: float) -> list[float]:
        """How long the requests started before `moment` took."""
        return [d for s, d in zip(self.starts, self.durations, strict=True) if s < moment]

    def __enter__(self) -> Others:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


def trickle(sock: socket.socket, data: bytes, gap: float) -> tuple[float, bytes]:
    """Sends `data` one byte every `gap` seconds until the server answers or closes; returns
    when that was and what it said."""
    started = time.monotonic()
    sock.settimeout(gap)
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
            said = sock.recv(65536)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started, b""
        sock.settimeout(10)
        return time.monotonic() - started, said + answer(sock)
    raise AssertionError("the server waited for the whole slow request")


def test_a_head_sent_byte_by_byte_is_cut_off_while_others_are_served(server):
    head = b"GET /readyz HTTP/1.1\r\nHost: x\r\nUser-Agent: " + b"lent" * 100 + b"\r\n\r\n"
    with Others(server, "/readyz") as others:
        took, said = trickle(connect(server), head, gap=0.2)
    assert SLOW - 0.3 <= took < 2 * SLOW  # from the connection's opening, just before
    assert status_of(said) == 408
    assert body_of(said).decode().startswith("Délai dépassé : ")
    assert others.statuses and set(others.statuses) == {200}
    assert max(others.durations) < SLOW / 2


def test_a_silent_connection_is_closed(server):
    sock = connect(server)
    started = time.monotonic()
    raw = answer(sock)
    assert SLOW - 0.1 <= time.monotonic() - started < 2 * SLOW
    assert status_of(raw) == 408


def test_slow_bodies_take_no_slot_and_are_cut_off(server):
    # More slow clients than the worker has slots (BOURSE_CONCURRENCY, 4): before, they held
    # all four and every other request of the worker waited for them.
    head = (
        b"POST /account/login HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
    )
    slow = [connect(server) for _ in range(6)]
    for sock in slow:
        sock.sendall(head + b"email=")
    cut_off = time.monotonic() + SLOW  # when the first of them may be cut off
    with Others(server, "/readyz") as others:
        results = []
        threads = [
            threading.Thread(target=lambda s=sock: results.append(trickle(s, b"a" * 200, gap=0.2)))
            for sock in slow
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=15)
    assert len(results) == 6
    for took, said in results:
        assert took < 3 * SLOW  # the whole body would take 40 s
        assert status_of(said) == 408
    # While the slow ones were sending, others never waited for them: they would have, as long
    # as the slow ones held the slots. (Once they are cut off, six 408 pages take the slots for
    # a moment: on a loaded machine a request may wait for them.)
    assert set(others.statuses) == {200}
    meanwhile = others.before(cut_off - SLOW / 4)
    assert len(meanwhile) >= 3
    assert max(meanwhile) < SLOW / 2


def test_a_body_sent_at_a_modest_pace_is_received_whole(server):
    # Past 500 bytes a second a body keeps going, however long it takes (up to three times
    # BOURSE_BODY_TIMEOUT for an ordinary form; without end for an upload).
    sock = connect(server)
    body = b"email=personne%40exemple.fr&password=x&csrf_token=" + b"a" * 950
    sock.sendall(
        b"POST /account/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    for start in range(0, len(body), 250):  # 250 bytes every 0.4 s: 625 bytes a second
        sock.sendall(body[start : start + 250])
        time.sleep(0.4)
    raw = answer(sock)
    assert status_of(raw) == 403  # the CSRF check's answer: the body arrived whole
