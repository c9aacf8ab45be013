"""Posts the webhook outbox (app/syndication/webhooks.py) to partners' endpoints, run by the
background worker (app/ops/jobs.py) after the e-mails.

Like the e-mail worker (app/mail/worker.py), each delivery is claimed with a conditional UPDATE
(status and lock checked in the WHERE), so two workers never post the same delivery; a claim
expires after LOCK_DURATION in case a worker dies mid-request. Failures are retried with
exponential backoff, then marked failed; the error stays on the row for the staff page.

In production the server must not become a way to reach its own network (SSRF): only HTTPS
endpoints are called, and every address the host resolves to must be public. That check is
made by the network backend at the moment it opens the connection, which then connects to the
very address it checked — so a name that resolved to a public address when staff saved it,
and to 127.0.0.1 now (DNS rebinding), is refused. Proxies from the environment are ignored,
since a proxy would make the connection on our behalf, past the check.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
import typing
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpcore
import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core import outbox
from app.core.db import utcnow
from app.core.settings import Settings
from app.syndication import webhooks
from app.syndication.models import DeliveryStatus, Webhook, WebhookDelivery
from app.web.i18n import gettext as _

log = logging.getLogger(__name__)

LOCK_DURATION = timedelta(minutes=5)
# A partner's site may be down for a morning: ten attempts span about eight and a half hours.
MAX_ATTEMPTS = 10
BASE_BACKOFF = timedelta(seconds=60)
MAX_BACKOFF = timedelta(hours=6)
BATCH_SIZE = 50
TIMEOUT = httpx.Timeout(10.0)
# Enough to show staff what the endpoint said; a partner's error page is not worth more.
MAX_ANSWER_BYTES = 4096
ANSWER_EXCERPT_CHARS = 200

ClientFactory = Callable[[], httpx.Client]


def backoff(attempts: int) -> timedelta:
    """1 min after the first failure, doubling, at most 6 h (about 8 h 30 before giving up)."""
    return outbox.backoff(attempts, BASE_BACKOFF, MAX_BACKOFF)


# --- Network guard (production) ---------------------------------------------------------------


class PublicOnlyBackend(httpcore.SyncBackend):
    """Opens TCP connections only to public addresses, and to the address it checked.

    httpcore gives the TLS layer the URL's host name separately (server_hostname in
    start_tls), so connecting to the IP address keeps certificate checks on the real name."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = webhooks.resolve_public(host, port)  # RefusedAddress: not retried
        error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc  # try the host's next address, as a browser would
        assert error is not None  # resolve_public never returns an empty list
        raise error


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport, with a connection pool that goes through PublicOnlyBackend.

    httpx does not take a network backend as a parameter, so the pool it built is replaced by
    the same one built with ours (tests check that deliveries really go through it)."""

    def __init__(self) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=PublicOnlyBackend()
        )


def make_client(settings: Settings, *, guard: bool) -> httpx.Client:
    return httpx.Client(
        transport=GuardedTransport() if guard else httpx.HTTPTransport(),
        timeout=TIMEOUT,
        follow_redirects=False,  # a redirect could lead to a private address: it is a failure
        trust_env=False,
    )


def user_agent(settings: Settings) -> str:
    # The URL lets a partner's administrator find out who calls their endpoint.
    return f"BourseAInitiatives-Webhooks/1 (+{settings.base_url})"


# --- Delivery ---------------------------------------------------------------------------------


class Outcome(typing.NamedTuple):
    delivered: bool
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False


def _claim(session: Session, row_id: int, now: datetime) -> bool:
    return outbox.claim(session, WebhookDelivery, row_id, now, LOCK_DURATION)


def _causes(exc: BaseException) -> Iterable[BaseException]:
    """The exception and what caused it: httpx wraps httpcore, which wraps the socket error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def describe_error(exc: BaseException) -> str:
    """A short French explanation for the staff page."""
    causes = list(_causes(exc))
    if any(isinstance(c, httpx.TimeoutException | TimeoutError) for c in causes):
        return _("Délai dépassé")
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return _("Connexion refusée")
    if any(isinstance(c, socket.gaierror) for c in causes):
        return _("Nom de domaine introuvable")
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return _("Échec de la connexion sécurisée (TLS) : {detail}").format(detail=str(exc))
    if isinstance(exc, httpx.ConnectError):
        return _("Connexion impossible : {detail}").format(detail=str(exc))
    if isinstance(exc, httpx.HTTPError | httpx.InvalidURL):
        return _("Erreur réseau : {detail}").format(detail=str(exc) or type(exc).__name__)
    return _("Erreur inattendue : {detail}").format(detail=type(exc).__name__)


def _excerpt(response: httpx.Response) -> str:
    """The beginning of the answer, read up to MAX_ANSWER_BYTES whatever its size."""
    received = b""
    try:
        for chunk in response.iter_raw():
            received += chunk
            if len(received) >= MAX_ANSWER_BYTES:
                break
    except httpx.HTTPError:
        pass  # the status code is what matters; a broken body only loses the excerpt
    text = received[:MAX_ANSWER_BYTES].decode("utf-8", errors="replace")
    return " ".join(text.split())[:ANSWER_EXCERPT_CHARS]


def post(
    client: httpx.Client,
    hook: Webhook,
    delivery: WebhookDelivery,
    *,
    guard: bool,
    agent: str = "BourseAInitiatives-Webhooks/1",
) -> Outcome:
    """One attempt at posting `delivery` to `hook`; never raises."""
    if guard and urlsplit(hook.url).scheme != "https":
        return Outcome(False, error=_("L'adresse doit commencer par https://."), permanent=True)
    body = delivery.payload.encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": agent,
        # The excerpt of an error page is read raw: no compressed answer to inflate.
        "Accept-Encoding": "identity",
        webhooks.EVENT_HEADER: delivery.event,
        webhooks.DELIVERY_HEADER: delivery.event_id,
        # Signed at send time, so a retry carries a fresh timestamp receivers will accept.
        webhooks.SIGNATURE_HEADER: webhooks.signature(hook.secret, int(time.time()), body),
    }
    try:
        with client.stream("POST", hook.url, content=body, headers=headers) as response:
            code = response.status_code
            if 200 <= code < 300:
                return Outcome(True, status_code=code)
            excerpt = _excerpt(response)
    except webhooks.RefusedAddress as exc:
        return Outcome(
            False, error=_("Adresse refusée : {reason}").format(reason=str(exc)), permanent=True
        )
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        # The URL itself is wrong (staff's form refuses such URLs): retrying cannot help.
        return Outcome(False, error=describe_error(exc), permanent=True)
    except Exception as exc:  # any other network error is retried later
        if not isinstance(exc, httpx.HTTPError):
            log.exception("Unexpected error posting webhook delivery %s", delivery.id)
        return Outcome(False, error=describe_error(exc))
    if 300 <= code < 400:
        error = _("Réponse HTTP {code} : redirection non suivie").format(code=code)
    else:
        error = _("Réponse HTTP {code}").format(code=code)
    if excerpt:
        error = f"{error} — {excerpt}"
    return Outcome(False, status_code=code, error=error)


def _record(delivery: WebhookDelivery, outcome: Outcome, now: datetime) -> None:
    delivery.attempts += 1
    delivery.locked_until = None
    delivery.last_status_code = outcome.status_code
    if outcome.delivered:
        delivery.status = DeliveryStatus.delivered.value
        delivery.delivered_at = now
        delivery.last_error = None
        return
    delivery.last_error = (outcome.error or "")[:500]
    if outcome.permanent or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.failed.value
        log.error("Giving up on webhook delivery %s: %s", delivery.id, delivery.last_error)
    else:
        delivery.status = DeliveryStatus.queued.value
        delivery.next_attempt_at = now + backoff(delivery.attempts)
        log.warning(
            "Webhook delivery %s failed (attempt %s): %s",
            delivery.id,
            delivery.attempts,
            delivery.last_error,
        )


def deliver_due(
    engine: Engine,
    settings: Settings,
    *,
    client_factory: ClientFactory | None = None,
    now: datetime | None = None,
    guard: bool | None = None,
) -> int:
    """Posts every delivery that is due; returns how many the endpoints accepted.

    `now` replaces the clock (tests); `guard` switches the production network checks on or
    off (default: on in production only, so development and tests can use a local server)."""
    guarded = settings.is_production if guard is None else guard
    factory = client_factory or (lambda: make_client(settings, guard=guarded))
    agent = user_agent(settings)

    def clock() -> datetime:
        return now if now is not None else utcnow()

    delivered = 0
    client: httpx.Client | None = None
    with Session(engine, expire_on_commit=False) as session:
        start = clock()
        due = outbox.due_ids(session, WebhookDelivery, start, BATCH_SIZE)
        session.commit()
        try:
            for row_id in due:
                try:
                    if not _claim(session, row_id, clock()):
                        continue  # another worker took it
                    delivery = session.get(WebhookDelivery, row_id)
                    hook = session.get(Webhook, delivery.webhook_id) if delivery else None
                    # End the read transaction: no database connection waits on a partner.
                    session.commit()
                    if delivery is None:
                        continue  # deleted with its webhook meanwhile
                    if hook is None or not hook.active:
                        delivery.status = DeliveryStatus.failed.value
                        delivery.locked_until = None
                        delivery.last_error = _("Point d'accès désactivé")
                    else:
                        if client is None:
                            client = factory()
                        outcome = post(client, hook, delivery, guard=guarded, agent=agent)
                        _record(delivery, outcome, clock())
                        delivered += outcome.delivered
                    session.add(delivery)
                    session.commit()
                except Exception:
                    # One bad row must not stop the others; its lock expires and it is retried.
                    session.rollback()
                    log.exception("Webhook delivery %s could not be processed", row_id)
        finally:
            if client is not None:
                client.close()
    return delivered
