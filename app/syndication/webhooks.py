"""Webhooks (issue 6, item 7): staff register HTTPS endpoints of partners' sites for some
events; each event writes one delivery row per subscribed endpoint, in the transaction of the
change it reports, and the background worker (app/syndication/webhook_delivery.py) posts it.

Payload (JSON, UTF-8):

    {"id": "<event uuid>", "event": "need.published", "created_at": "<RFC 3339>",
     "site": "<BOURSE_BASE_URL>", "data": {...}}

`data` uses the public API's shapes (app/syndication/serialize.py), so a partner parses one
format. Nothing hidden ever leaves: a need that stops being public is reported by id and
status only, an idea made private by its id only; a private idea's moves or a comment on a
non-public need are not reported at all.

The board and the pipeline announce what happened (app/core/events.py); `subscribe()` at
start-up turns those announcements into deliveries.

Signature: header `X-Bourse-Signature: t=<unix seconds>,v1=<hex>` where hex is
HMAC-SHA256(secret, "<t>.<raw body>"), the timestamp letting receivers refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import uuid
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, select

from app.accounts.models import User
from app.board.events import CommentPublished, NeedPublished, NeedStatusChanged
from app.board.models import PUBLIC_NEED_STATUSES, Comment, CommentStatus, Need, NeedStatus
from app.core import events
from app.core.db import utcnow
from app.core.settings import Settings
from app.pipeline.events import IdeaPublished, IdeaStageChanged, IdeaUnpublished
from app.syndication.models import Webhook, WebhookDelivery, WebhookEvent
from app.syndication.serialize import comment_json, idea_json, need_json
from app.web.errors import Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.urls import need_url, split_url

SIGNATURE_HEADER = "X-Bourse-Signature"
EVENT_HEADER = "X-Bourse-Event"
DELIVERY_HEADER = "X-Bourse-Delivery"
# Not an event anyone subscribes to: the "send a test" button of the staff page.
PING_EVENT = "ping"

EVENT_LABELS = {
    WebhookEvent.need_published.value: N_("Besoin publié"),
    WebhookEvent.need_status_changed.value: N_("Statut d'un besoin modifié"),
    WebhookEvent.idea_stage_changed.value: N_("Idée passée à une autre étape"),
    WebhookEvent.idea_published.value: N_("Idée rendue publique"),
    WebhookEvent.idea_unpublished.value: N_("Idée retirée du public"),
    WebhookEvent.comment_published.value: N_("Commentaire publié"),
}


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The value of SIGNATURE_HEADER for this body sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does (also documented on /api/v1/docs); used by the tests."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- Endpoint addresses (SSRF) ----------------------------------------------------------------


class RefusedAddress(ValueError):
    """The endpoint resolves to an address the server must not call (production only)."""


# IPv6 forms that carry an IPv4 address are judged as the IPv4 address they lead to (Python
# calls most of them global, though ::7f00:1 or 64:ff9b::7f00:1 lead to 127.0.0.1):
# - IPv4-compatible ::a.b.c.d (RFC 4291, deprecated; :: and ::1 fall in it too, judged as
#   0.0.0.0 and 0.0.0.1, neither public), IPv4-mapped ::ffff:a.b.c.d and IPv4-translated
#   ::ffff:0:a.b.c.d (RFC 2765): the last 32 bits;
# - the NAT64 well-known prefix 64:ff9b::/96 (RFC 6052): the last 32 bits;
# - 6to4 2002::/16 (RFC 3056): bits 16 to 48.
_IPV4_IN_LAST_32_BITS = tuple(
    ipaddress.ip_network(prefix)
    for prefix in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
# Any other IPv6 address must be global unicast (RFC 4291 §2.4) and global for Python. That
# leaves out, with the usual private ranges, the NAT64 local-use prefix 64:ff9b:1::/48 (RFC
# 8215) whatever it carries: an operator's own translator, whose prefix length — and so where
# the IPv4 address sits (RFC 6052 §2.2) — cannot be known from outside.
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
# Teredo (RFC 4380) is never called: the address names a relay server and an obfuscated
# client IPv4 address, either of which may be private, and no partner's web server is
# reached over Teredo. (Python calls 2001::/23 non-global already; this does not rely on it.)
_TEREDO = ipaddress.ip_network("2001::/32")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to (see above), or None for a plain one."""
    if any(ip in network for network in _IPV4_IN_LAST_32_BITS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def is_public_address(address: str) -> bool:
    """Whether the server may call `address`: a global unicast address; an IPv6 address that
    carries an IPv4 address is judged as that IPv4 address."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        carried = embedded_ipv4(ip)
        if carried is not None:
            ip = carried
        elif ip not in _GLOBAL_UNICAST or ip in _TEREDO:
            return False
    return ip.is_global and not ip.is_multicast


def resolve_public(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, all of them public, or RefusedAddress."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedAddress(_("Le nom {host} ne se résout pas.").format(host=host)) from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    refused = [a for a in addresses if not is_public_address(str(a))]
    if not addresses or refused:
        raise RefusedAddress(
            _("{host} désigne une adresse privée ou locale ({address}).").format(
                host=host, address=refused[0] if refused else "?"
            )
        )
    return [str(a) for a in addresses]


def validate_endpoint(url: str, settings: Settings) -> str:
    """The cleaned URL, or Invalid({"url": message}). In production only HTTPS endpoints
    that resolve to public addresses are accepted (checked again at each delivery, since
    DNS can change); in development and tests any http(s) URL, so a local server works."""
    url = url.strip()
    if not url:
        raise Invalid({"url": _("Indiquez l'adresse qui recevra les événements.")})
    if len(url) > 500:
        raise Invalid({"url": _("L'adresse ne doit pas dépasser 500 caractères.")})
    parts = split_url(url)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid({"url": _("Indiquez une adresse complète, commençant par https://.")})
    if parts.username or parts.password:
        raise Invalid({"url": _("L'adresse ne doit pas contenir d'identifiants.")})
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Invalid({"url": _("Le port de l'adresse n'est pas valide.")}) from None
    if settings.is_production:
        if parts.scheme != "https":
            raise Invalid({"url": _("L'adresse doit commencer par https://.")})
        try:
            resolve_public(parts.hostname, port)
        except RefusedAddress as exc:
            raise Invalid(
                {"url": _("Adresse refusée : {reason}").format(reason=str(exc))}
            ) from None
    return url


def parse_events(values: Iterable[str]) -> list[str]:
    """The known events among `values`, in the canonical order, or Invalid."""
    chosen = set(values)
    known = [event.value for event in WebhookEvent if event.value in chosen]
    if not known or chosen - set(known):
        raise Invalid({"events": _("Choisissez au moins un événement dans la liste.")})
    return known


# --- Emitting events --------------------------------------------------------------------------


def _settings(session: Session) -> Settings:
    return session.info.get("settings") or Settings()


def _body(session: Session, event_id: str, event: str, data: dict[str, Any]) -> str:
    return json.dumps(
        {
            "id": event_id,
            "event": event,
            "created_at": utcnow().isoformat(),
            "site": _settings(session).base_url,
            "data": data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def emit(session: Session, event: str, data: dict[str, Any]) -> int:
    """Queues `event` for every active endpoint subscribed to it, in the caller's transaction
    (nothing is sent if it rolls back). Returns how many deliveries were queued."""
    hooks = [
        hook
        for hook in session.exec(select(Webhook).where(Webhook.active == True))  # noqa: E712
        if event in hook.event_list()
    ]
    if not hooks:
        return 0
    event_id = str(uuid.uuid4())
    body = _body(session, event_id, event, data)
    for hook in hooks:
        session.add(
            WebhookDelivery(webhook_id=hook.id, event=event, event_id=event_id, payload=body)  # type: ignore[arg-type]
        )
    return len(hooks)


def _public(need: Need) -> bool:
    return need.status in PUBLIC_NEED_STATUSES and need.deleted_at is None


def _need_data(session: Session, need: Need) -> dict[str, Any]:
    if _public(need):
        return need_json(session, need, _settings(session).base_url)
    # No longer public: its id is all a partner needs to take it down.
    status = "deleted" if need.deleted_at is not None else need.status
    data: dict[str, Any] = {"id": need.id, "status": status}
    if need.status == NeedStatus.merged.value and need.merged_into_id:
        data["merged_into_id"] = need.merged_into_id
    return data


def need_changed(
    session: Session, need: Need, previous_status: str, *, was_deleted: bool = False
) -> int:
    """Call after a need's status (or deletion) changed, before commit. A need becoming public
    for the first time (from pending or rejected) is `need.published`; any other change seen
    from outside (public → other public status, public → hidden/merged/deleted, hidden →
    public) is `need.status_changed`.
    Changes between two non-public states were never visible: nothing is sent."""
    was_public = previous_status in PUBLIC_NEED_STATUSES and not was_deleted
    now_public = _public(need)
    if not was_public and not now_public:
        return 0
    if was_public and now_public and previous_status == need.status:
        return 0
    # Only a waiting need can be refused (app/moderation/service.py), so a refused need that a
    # moderator restores is public for the first time too.
    if now_public and previous_status in (NeedStatus.pending.value, NeedStatus.rejected.value):
        return emit(session, WebhookEvent.need_published.value, {"need": _need_data(session, need)})
    return emit(
        session,
        WebhookEvent.need_status_changed.value,
        {"need": _need_data(session, need), "previous_status": previous_status},
    )


def need_published(session: Session, need: Need) -> int:
    """Call when a need is created already public (direct publication, offline need)."""
    if not _public(need):
        return 0
    return emit(session, WebhookEvent.need_published.value, {"need": _need_data(session, need)})


def comment_published(session: Session, comment: Comment, need: Need | None = None) -> int:
    """Call when a comment becomes visible (posted without moderation, approved, restored) —
    only reported while its need is public."""
    need = need or session.get(Need, comment.need_id)
    if need is None or not _public(need) or comment.status != CommentStatus.published.value:
        return 0
    author = session.get(User, comment.author_id) if comment.author_id else None
    name = author.display_name if author else ""
    base_url = _settings(session).base_url
    return emit(
        session,
        WebhookEvent.comment_published.value,
        {
            "comment": comment_json(comment, need, name, base_url),
            "need": {
                "id": need.id,
                "title": need.title,
                "url": base_url + need_url(need),
            },
        },
    )


def idea_stage_changed(session: Session, idea: Any, previous_stage: str) -> int:
    """Call after an idea moved; private ideas stay private."""
    if not idea.is_public or previous_stage == idea.stage:
        return 0
    return emit(
        session,
        WebhookEvent.idea_stage_changed.value,
        {
            "idea": idea_json(session, idea, _settings(session).base_url),
            "previous_stage": previous_stage,
        },
    )


def idea_published(session: Session, idea: Any) -> int:
    """Call when an idea is created public or made public, before commit."""
    if not idea.is_public:
        return 0
    return emit(
        session,
        WebhookEvent.idea_published.value,
        {"idea": idea_json(session, idea, _settings(session).base_url)},
    )


def idea_unpublished(session: Session, idea: Any) -> int:
    """Call when a public idea is made private, before commit: its id is all a partner needs
    to take it down (the idea's texts are private again)."""
    if idea.is_public:
        return 0
    return emit(session, WebhookEvent.idea_unpublished.value, {"idea": {"id": idea.id}})


# --- Subscriptions to the domain events (app/ops/wiring.py) --------------------------------


def _on_need_published(session: Session, event: NeedPublished) -> None:
    need_published(session, event.need)


def _on_need_status_changed(session: Session, event: NeedStatusChanged) -> None:
    need_changed(session, event.need, event.previous_status, was_deleted=event.was_deleted)


def _on_comment_published(session: Session, event: CommentPublished) -> None:
    comment_published(session, event.comment, event.need)


def _on_idea_published(session: Session, event: IdeaPublished) -> None:
    idea_published(session, event.idea)


def _on_idea_unpublished(session: Session, event: IdeaUnpublished) -> None:
    idea_unpublished(session, event.idea)


def _on_idea_stage_changed(session: Session, event: IdeaStageChanged) -> None:
    idea_stage_changed(session, event.idea, event.previous_stage)


def subscribe() -> None:
    """Queues a delivery for each event a partner may subscribe to (harmless if repeated)."""
    events.subscribe(NeedPublished, _on_need_published)
    events.subscribe(NeedStatusChanged, _on_need_status_changed)
    events.subscribe(CommentPublished, _on_comment_published)
    events.subscribe(IdeaPublished, _on_idea_published)
    events.subscribe(IdeaUnpublished, _on_idea_unpublished)
    events.subscribe(IdeaStageChanged, _on_idea_stage_changed)


def ping(session: Session, hook: Webhook) -> WebhookDelivery:
    """A test delivery to one endpoint, whatever its events (the staff page's button)."""
    event_id = str(uuid.uuid4())
    data = {"webhook_id": hook.id, "events": hook.event_list()}
    body = _body(session, event_id, PING_EVENT, data)
    delivery = WebhookDelivery(
        webhook_id=hook.id,  # type: ignore[arg-type]
        event=PING_EVENT,
        event_id=event_id,
        payload=body,
    )
    session.add(delivery)
    return delivery
