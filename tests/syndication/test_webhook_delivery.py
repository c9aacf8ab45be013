"""The webhook outbox is posted to partners' endpoints by the background worker: signed, each
delivery sent once, failures retried with backoff then given up, and — in production — never
to an address of the server's own network, checked when the connection is opened.

The endpoint is a real HTTP server on 127.0.0.1 run by the test; deliver_due waits for its
answer, so what the server recorded is complete when deliver_due returns."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import httpx
import pytest
from sqlmodel import Session, select

from app.core.db import utcnow
from app.core.settings import Env, Settings
from app.ops.jobs import purge_expired
from app.syndication import webhook_delivery, webhooks
from app.syndication.models import DeliveryStatus, Webhook, WebhookDelivery
from app.syndication.webhook_delivery import BASE_BACKOFF, MAX_ATTEMPTS, backoff, deliver_due
from app.web.errors import Invalid

# --- A partner's endpoint ---------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: Message
    body: bytes


@dataclass
class Endpoint:
    """What the test server received, and the statuses it answers with, in order (then 200)."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    answer: bytes = b"ok"
    requests: list[Received] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        endpoint = self.server.endpoint
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with endpoint.lock:
            endpoint.requests.append(Received(self.command, self.path, self.headers, body))
            status = endpoint.statuses.pop(0) if endpoint.statuses else 200
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", endpoint.url("/elsewhere"))
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(endpoint.answer)))
        self.end_headers()
        self.wfile.write(endpoint.answer)

    do_GET = do_POST  # a followed redirect would show up as a second request

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.endpoint = Endpoint(port=self.server_address[1])

    def verify_request(self, request: Any, client_address: Any) -> bool:
        # Counted as soon as a connection is accepted, before any byte is read: the guard
        # tests prove that nothing reached the server at all.
        with self.endpoint.lock:
            self.endpoint.connections += 1
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the worker hanging up after a few KB of a long answer is expected


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def production(settings: Settings) -> Settings:
    return settings.model_copy(update={"env": Env.production})


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Helpers ----------------------------------------------------------------------------------


def make_hook(
    session: Session, url: str, *, events: str = "need.published", active: bool = True
) -> Webhook:
    hook = Webhook(url=url, events=events, secret=webhooks.new_secret(), active=active)
    session.add(hook)
    session.commit()
    return hook


def queue_event(session: Session, title: str = "Jardin partagé à Lézignan") -> WebhookDelivery:
    assert webhooks.emit(session, "need.published", {"need": {"id": 1, "title": title}}) >= 1
    session.commit()
    return session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id.desc())).first()  # type: ignore[union-attr,attr-defined]


def reload(session: Session, delivery: WebhookDelivery) -> WebhookDelivery:
    session.expire_all()
    row = session.get(WebhookDelivery, delivery.id)
    assert row is not None
    return row


def plain(text: str | None) -> str:
    """French messages get non-breaking spaces before « : » (app.web.i18n); compare words."""
    return (text or "").replace("\u00a0", " ").replace("\u202f", " ")


def later(**delta: float) -> datetime:
    return utcnow() + timedelta(**delta)


# --- Delivery ---------------------------------------------------------------------------------


def test_delivered_with_signed_body_identical_to_the_stored_payload(
    app, session, settings, endpoint
) -> None:  # type: ignore[no-untyped-def]
    hook = make_hook(session, endpoint.url())
    endpoint.statuses = [202]
    delivery = queue_event(session)

    assert deliver_due(app.state.engine, settings) == 1

    [request] = endpoint.requests
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.body == delivery.payload.encode("utf-8")
    assert "Lézignan".encode() in request.body
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["User-Agent"] == ("BourseAInitiatives-Webhooks/1 (+http://testserver)")
    assert request.headers[webhooks.EVENT_HEADER] == "need.published"
    assert request.headers[webhooks.DELIVERY_HEADER] == delivery.event_id
    signed = request.headers[webhooks.SIGNATURE_HEADER]
    assert webhooks.verify_signature(hook.secret, signed, request.body)
    assert not webhooks.verify_signature(webhooks.new_secret(), signed, request.body)
    assert not webhooks.verify_signature(hook.secret, signed, request.body.replace(b"1", b"2"))

    row = reload(session, delivery)
    assert row.status == DeliveryStatus.delivered.value
    assert row.attempts == 1
    assert row.last_status_code == 202
    assert row.last_error is None
    assert row.delivered_at is not None
    assert row.locked_until is None
    # Delivered once: the next round has nothing to send.
    assert deliver_due(app.state.engine, settings, now=later(hours=1)) == 0
    assert len(endpoint.requests) == 1


def test_ping_reaches_the_endpoint_whatever_its_events(app, session, settings, endpoint) -> None:  # type: ignore[no-untyped-def]
    hook = make_hook(session, endpoint.url("/ping"), events="comment.published")
    delivery = webhooks.ping(session, hook)
    session.commit()

    assert deliver_due(app.state.engine, settings) == 1

    [request] = endpoint.requests
    assert request.headers[webhooks.EVENT_HEADER] == webhooks.PING_EVENT
    assert request.headers[webhooks.DELIVERY_HEADER] == delivery.event_id
    assert reload(session, delivery).status == DeliveryStatus.delivered.value


def test_failure_is_retried_after_the_backoff_then_delivered(
    app, session, settings, endpoint
) -> None:  # type: ignore[no-untyped-def]
    make_hook(session, endpoint.url())
    endpoint.statuses = [500, 200]
    endpoint.answer = b"Erreur interne du serveur"
    delivery = queue_event(session)
    first = later(minutes=1)

    assert deliver_due(app.state.engine, settings, now=first) == 0

    row = reload(session, delivery)
    assert row.status == DeliveryStatus.queued.value
    assert row.attempts == 1
    assert row.last_status_code == 500
    assert row.last_error == "Réponse HTTP 500 — Erreur interne du serveur"
    assert row.next_attempt_at == first + BASE_BACKOFF
    assert row.locked_until is None

    # Not before its time.
    assert (
        deliver_due(app.state.engine, settings, now=first + BASE_BACKOFF - timedelta(seconds=1))
        == 0
    )
    assert len(endpoint.requests) == 1

    assert deliver_due(app.state.engine, settings, now=row.next_attempt_at) == 1
    row = reload(session, delivery)
    assert row.status == DeliveryStatus.delivered.value
    assert row.attempts == 2
    assert row.last_status_code == 200
    assert row.last_error is None
    # The same event id both times, so the receiver can tell a retry from a new event.
    assert {r.headers[webhooks.DELIVERY_HEADER] for r in endpoint.requests} == {delivery.event_id}


def test_backoff_doubles_from_one_minute_up_to_six_hours() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(MAX_ATTEMPTS + 100) == timedelta(hours=6)


def test_gives_up_after_max_attempts(app, session, settings, endpoint) -> None:  # type: ignore[no-untyped-def]
    make_hook(session, endpoint.url())
    endpoint.statuses = [503] * (MAX_ATTEMPTS + 1)
    delivery = queue_event(session)
    now = later(minutes=1)

    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert deliver_due(app.state.engine, settings, now=now) == 0
        row = reload(session, delivery)
        assert row.attempts == attempt
        now = row.next_attempt_at

    assert row.status == DeliveryStatus.failed.value
    assert row.last_status_code == 503
    assert len(endpoint.requests) == MAX_ATTEMPTS
    assert deliver_due(app.state.engine, settings, now=now + timedelta(days=1)) == 0
    assert len(endpoint.requests) == MAX_ATTEMPTS


def test_connection_refused_is_recorded_and_retried(app, session, settings) -> None:  # type: ignore[no-untyped-def]
    make_hook(session, f"http://127.0.0.1:{closed_port()}/hook")
    delivery = queue_event(session)

    assert deliver_due(app.state.engine, settings) == 0

    row = reload(session, delivery)
    assert row.status == DeliveryStatus.queued.value
    assert row.attempts == 1
    assert row.last_status_code is None
    assert row.last_error == "Connexion refusée"


def test_unknown_host_is_recorded_and_retried(app, session, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real_getaddrinfo = socket.getaddrinfo

    def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
        # Answered here, so the test asks no DNS server.
        if host == "partenaire.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    make_hook(session, "http://partenaire.invalid/hook")
    delivery = queue_event(session)

    assert deliver_due(app.state.engine, settings) == 0

    row = reload(session, delivery)
    assert row.status == DeliveryStatus.queued.value
    assert row.last_error == "Nom de domaine introuvable"


def test_redirect_is_a_failure_and_not_followed(app, session, settings, endpoint) -> None:  # type: ignore[no-untyped-def]
    make_hook(session, endpoint.url())
    endpoint.statuses = [302]
    endpoint.answer = b""
    delivery = queue_event(session)

    assert deliver_due(app.state.engine, settings) == 0

    assert [r.path for r in endpoint.requests] == ["/hook"]
    row = reload(session, delivery)
    assert row.status == DeliveryStatus.queued.value
    assert row.last_status_code == 302
    assert plain(row.last_error) == "Réponse HTTP 302 : redirection non suivie"


def test_long_answer_is_cut_to_a_short_error(app, session, settings, endpoint) -> None:  # type: ignore[no-untyped-def]
    make_hook(session, endpoint.url())
    endpoint.statuses = [500]
    endpoint.answer = b"<html>" + b"x" * 200_000
    delivery = queue_event(session)

    assert deliver_due(app.state.engine, settings) == 0

    row = reload(session, delivery)
    assert row.last_error.startswith("Réponse HTTP 500 — <html>xxx")  # type: ignore[union-attr]
    assert len(row.last_error) <= 250  # type: ignore[arg-type]


def test_inactive_webhook_delivery_fails_without_a_request(
    app, session, settings, endpoint
) -> None:  # type: ignore[no-untyped-def]
    hook = make_hook(session, endpoint.url())
    delivery = queue_event(session)
    hook.active = False
    session.add(hook)
    session.commit()

    assert deliver_due(app.state.engine, settings) == 0

    assert endpoint.connections == 0
    row = reload(session, delivery)
    assert row.status == DeliveryStatus.failed.value
    assert row.last_error == "Point d'accès désactivé"
    assert row.attempts == 0


def test_delivery_claimed_by_another_worker_is_not_sent(app, session, settings, endpoint) -> None:  # type: ignore[no-untyped-def]
    make_hook(session, endpoint.url())
    delivery = queue_event(session)
    delivery.status = DeliveryStatus.sending.value
    delivery.locked_until = later(minutes=5)
    session.add(delivery)
    session.commit()

    assert deliver_due(app.state.engine, settings) == 0
    assert endpoint.connections == 0
    assert reload(session, delivery).status == DeliveryStatus.sending.value

    # The other worker died: once its claim has expired the delivery is sent.
    assert deliver_due(app.state.engine, settings, now=later(minutes=6)) == 1
    assert len(endpoint.requests) == 1


def test_a_delivery_is_claimed_once(app, session) -> None:  # type: ignore[no-untyped-def]
    make_hook(session, "http://127.0.0.1:9/hook")
    delivery = queue_event(session)
    now = later(seconds=1)
    with Session(app.state.engine) as one, Session(app.state.engine) as two:
        assert webhook_delivery._claim(one, delivery.id, now) is True
        assert webhook_delivery._claim(two, delivery.id, now) is False


def test_one_bad_endpoint_does_not_stop_the_others(app, session, settings, endpoint) -> None:  # type: ignore[no-untyped-def]
    make_hook(session, "ftp://exemple.fr/hook")
    make_hook(session, endpoint.url())
    webhooks.emit(session, "need.published", {"need": {"id": 1}})
    session.commit()

    assert deliver_due(app.state.engine, settings) == 1

    rows = session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()  # type: ignore[arg-type]
    # A URL httpx cannot use will not improve with time: given up at once.
    assert [row.status for row in rows] == [
        DeliveryStatus.failed.value,
        DeliveryStatus.delivered.value,
    ]
    assert plain(rows[0].last_error).startswith("Erreur réseau :")


# --- The production guard (SSRF) --------------------------------------------------------------


@pytest.mark.parametrize(
    "url, error",
    [
        ("http://127.0.0.1:{port}/hook", "L'adresse doit commencer par https://."),
        ("https://127.0.0.1:{port}/hook", "Adresse refusée : 127.0.0.1 désigne une adresse"),
        ("https://localhost:{port}/hook", "Adresse refusée : localhost désigne une adresse"),
        ("https://10.0.0.1/hook", "Adresse refusée : 10.0.0.1 désigne une adresse"),
        ("https://169.254.169.254/latest/meta-data/", "Adresse refusée : 169.254.169.254"),
        ("https://[::1]:{port}/hook", "Adresse refusée : ::1 désigne une adresse"),
    ],
)
def test_production_refuses_private_addresses_at_delivery(
    app, session, production, endpoint, url, error
) -> None:  # type: ignore[no-untyped-def]
    make_hook(session, url.format(port=endpoint.port))
    delivery = queue_event(session)

    assert deliver_due(app.state.engine, production) == 0

    assert endpoint.connections == 0
    row = reload(session, delivery)
    # Permanent: retrying will not make the address public.
    assert row.status == DeliveryStatus.failed.value
    assert row.attempts == 1
    assert plain(row.last_error).startswith(error)


def test_guard_is_off_outside_production_and_can_be_switched_on(
    app, session, settings, endpoint
) -> None:  # type: ignore[no-untyped-def]
    make_hook(session, endpoint.url(host="localhost"))
    delivery = queue_event(session)

    assert deliver_due(app.state.engine, settings, guard=True) == 0
    assert endpoint.connections == 0
    assert reload(session, delivery).status == DeliveryStatus.failed.value

    queue_event(session)
    assert deliver_due(app.state.engine, settings) == 1
    assert len(endpoint.requests) == 1


def test_guarded_client_checks_every_connection_and_keeps_the_host_name(
    settings, endpoint, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    with webhook_delivery.make_client(settings, guard=True) as client:
        with pytest.raises(webhooks.RefusedAddress):
            client.post(endpoint.url(host="localhost"), content=b"{}")
        assert endpoint.connections == 0

        # Were 127.0.0.1 public, the request would go through: to the checked address, with
        # the URL's own host name in the Host header (and for TLS, see PublicOnlyBackend).
        monkeypatch.setattr(webhooks, "is_public_address", lambda address: True)
        response = client.post(endpoint.url(host="localhost"), content=b"{}")
    assert response.status_code == 200
    assert endpoint.requests[0].headers["Host"] == f"localhost:{endpoint.port}"


def test_guard_connects_to_the_address_it_checked_despite_dns_rebinding(
    app, session, production, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The name resolves to a public address, then to 127.0.0.1 (rebinding): the worker
    connects to the very address it checked, and checks again at the next connection."""
    answers = {"partenaire.example": "93.184.216.34"}
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    connected_to: list[str] = []
    tls_names: list[str | None] = []

    class Unreachable:
        def start_tls(self, ssl_context: Any, server_hostname: str | None = None, **kw: Any):  # type: ignore[no-untyped-def]
            tls_names.append(server_hostname)
            raise httpcore.ConnectError("connexion simulée impossible")

        def close(self) -> None:
            pass

    def no_outside_connection(self: Any, host: str, port: int, **kwargs: Any) -> Any:
        connected_to.append(host)  # no test ever leaves the machine
        return Unreachable()

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", no_outside_connection)
    make_hook(session, "https://partenaire.example/hook")
    delivery = queue_event(session)

    assert deliver_due(app.state.engine, production) == 0
    assert connected_to == ["93.184.216.34"]
    # The certificate is still checked against the name, not the address.
    assert tls_names == ["partenaire.example"]
    row = reload(session, delivery)
    assert row.status == DeliveryStatus.queued.value
    assert plain(row.last_error).startswith("Connexion impossible :")

    answers["partenaire.example"] = "127.0.0.1"
    assert deliver_due(app.state.engine, production, now=row.next_attempt_at) == 0
    assert connected_to == ["93.184.216.34"]
    row = reload(session, delivery)
    assert row.status == DeliveryStatus.failed.value
    assert plain(row.last_error) == (
        "Adresse refusée : partenaire.example désigne une adresse privée ou locale (127.0.0.1)."
    )


@pytest.mark.parametrize(
    "address, public",
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("::ffff:93.184.216.34", True),
        ("2002:5db8:d822::1", True),  # 6to4 of a public address
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # link-local: cloud metadata
        ("100.64.0.1", False),  # CGNAT
        ("0.0.0.0", False),
        ("192.0.2.1", False),  # documentation
        ("198.18.0.1", False),  # benchmarking
        ("224.0.1.1", False),  # multicast
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fe80::1%eth0", False),
        ("fd12:3456::1", False),  # unique local
        ("ff0e::1", False),  # global-scope multicast
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("2001:db8::1", False),  # documentation
        # IPv6 forms that carry an IPv4 address are judged as that address (issue 9, point 8).
        ("::7f00:1", False),  # IPv4-compatible ::127.0.0.1 (deprecated form)
        ("::a9fe:a9fe", False),  # IPv4-compatible ::169.254.169.254: cloud metadata
        ("::10.0.0.1", False),
        ("::8.8.8.8", True),
        ("::ffff:0:7f00:1", False),  # IPv4-translated ::ffff:0:127.0.0.1 (RFC 2765)
        ("::ffff:0:a9fe:a9fe", False),
        ("::ffff:0:8.8.8.8", True),
        ("::ffff:8.8.8.8", True),  # IPv4-mapped, public
        ("::ffff:a9fe:a9fe", False),
        ("64:ff9b::7f00:1", False),  # NAT64 well-known prefix (RFC 6052)
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b::808:808", True),
        ("64:ff9b:1::7f00:1", False),  # NAT64 local-use prefix (RFC 8215): never public
        ("64:ff9b:1::808:808", False),
        ("64:ff9b:1:7f00:1::", False),
        ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
        # Teredo: server 65.54.227.120, client 192.0.2.45 (the RFC 4380 example) — and one whose
        # client part (last 32 bits, inverted) is 127.0.0.1: never called.
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),
        ("::ffff:0:0:7f00:1", False),  # reserved (::/8), outside global unicast
        ("100::1", False),  # discard-only
        ("2606:4700::1111", True),
        ("2001:4860:4860::8888", True),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert webhooks.is_public_address(address) is public


@pytest.mark.parametrize(
    "address, carried",
    [
        ("::7f00:1", "127.0.0.1"),
        ("::ffff:0:7f00:1", "127.0.0.1"),
        ("::ffff:7f00:1", "127.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("2002:a00:1::", "10.0.0.1"),
        ("2606:4700::1111", None),
        ("64:ff9b:1::7f00:1", None),  # refused as a whole, not read
    ],
)
def test_the_ipv4_address_carried_by_an_ipv6_address(address: str, carried: str | None) -> None:
    found = webhooks.embedded_ipv4(ipaddress.IPv6Address(address))
    assert (str(found) if found else None) == carried


@pytest.mark.parametrize(
    "address", ["::7f00:1", "::a9fe:a9fe", "::ffff:0:7f00:1", "64:ff9b:1::7f00:1"]
)
def test_production_refuses_an_endpoint_written_as_an_ipv6_form_of_a_private_ipv4(
    production, address
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as caught:
        webhooks.validate_endpoint(f"https://[{address}]/hook", production)
    assert plain(caught.value.errors["url"]).startswith(f"Adresse refusée : {address} désigne")


@pytest.mark.parametrize(
    "address", ["::7f00:1", "::a9fe:a9fe", "::ffff:0:7f00:1", "64:ff9b:1::7f00:1"]
)
def test_a_name_resolving_to_an_ipv6_form_of_a_private_ipv4_is_refused_when_saved_and_sent(
    app, session, production, monkeypatch, address
) -> None:  # type: ignore[no-untyped-def]
    """Staff save the name while it resolves elsewhere; at delivery it resolves (AAAA) to an
    IPv6 address carrying a private IPv4 one: no connection is made, the delivery fails."""
    answers = {"partenaire.example": address}
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (answers[host], port, 0, 0))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    connected_to: list[str] = []

    def no_outside_connection(self: Any, host: str, port: int, **kwargs: Any) -> Any:
        connected_to.append(host)
        raise httpcore.ConnectError("connexion simulée impossible")

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", no_outside_connection)

    with pytest.raises(Invalid) as caught:
        webhooks.validate_endpoint("https://partenaire.example/hook", production)
    assert f"({address})" in plain(caught.value.errors["url"])

    make_hook(session, "https://partenaire.example/hook")
    delivery = queue_event(session)
    assert deliver_due(app.state.engine, production) == 0
    assert connected_to == []
    row = reload(session, delivery)
    assert row.status == DeliveryStatus.failed.value
    assert plain(row.last_error) == (
        f"Adresse refusée : partenaire.example désigne une adresse privée ou locale ({address})."
    )


def test_a_name_resolving_to_an_ipv6_form_of_a_public_ipv4_is_called(
    production, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    def fake_getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:8.8.8.8", port, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    assert webhooks.resolve_public("partenaire.example", 443) == ["::ffff:8.8.8.8"]
    url = "https://partenaire.example/hook"
    assert webhooks.validate_endpoint(url, production) == url


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://partenaire.example/hook", "L'adresse doit commencer par https://."),
        ("https://moi:secret@partenaire.example/hook", "identifiants"),
        ("https://127.0.0.1/hook", "Adresse refusée : 127.0.0.1"),
        ("https://localhost/hook", "Adresse refusée : localhost"),
        ("https://[::1]/hook", "Adresse refusée : ::1"),
    ],
)
def test_validate_endpoint_in_production_refuses(production, url, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as caught:
        webhooks.validate_endpoint(url, production)
    assert message in plain(caught.value.errors["url"])


def test_validate_endpoint_in_development_accepts_a_local_server(settings, endpoint) -> None:  # type: ignore[no-untyped-def]
    url = endpoint.url()
    assert webhooks.validate_endpoint(f"  {url} ", settings) == url


# --- Retention --------------------------------------------------------------------------------


def test_purge_removes_old_finished_deliveries_only(app, session) -> None:  # type: ignore[no-untyped-def]
    hook = make_hook(session, "https://partenaire.example/hook")
    old = utcnow() - timedelta(days=31)
    kept = []
    for status, created_at, purged in [
        (DeliveryStatus.delivered, old, True),
        (DeliveryStatus.failed, old, True),
        (DeliveryStatus.queued, old, False),  # not sent yet, however old
        (DeliveryStatus.sending, old, False),
        (DeliveryStatus.delivered, utcnow() - timedelta(days=29), False),
    ]:
        row = WebhookDelivery(
            webhook_id=hook.id,  # type: ignore[arg-type]
            event="need.published",
            event_id=f"evt-{status.value}-{purged}",
            payload="{}",
            status=status.value,
            created_at=created_at,
        )
        session.add(row)
        if not purged:
            kept.append(row)
    session.commit()

    assert purge_expired(app.state.engine)["webhook_deliveries"] == 2

    session.expire_all()
    remaining = session.exec(select(WebhookDelivery.id).order_by(WebhookDelivery.id)).all()  # type: ignore[arg-type]
    assert remaining == [row.id for row in kept]


def test_client_factory_replaces_the_network(app, session, settings) -> None:  # type: ignore[no-untyped-def]
    make_hook(session, "https://partenaire.example/hook")
    delivery = queue_event(session)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    def factory() -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(handler))

    assert deliver_due(app.state.engine, settings, client_factory=factory) == 1
    assert seen[0].content == delivery.payload.encode()
    assert seen[0].headers["User-Agent"].startswith("BourseAInitiatives-Webhooks/1 (+")
    assert reload(session, delivery).last_status_code == 204
