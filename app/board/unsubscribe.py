"""Signed one-click unsubscribe links of the notification e-mails: itsdangerous, payload
[user id, kind], no expiry (it must work in an old e-mail). The link opens a confirmation page
and only its POST changes anything, because mail scanners open links; what it switches off is
app.board.notifications' (read_unsubscribe_token, unsubscribe)."""

from __future__ import annotations

from typing import Any

from itsdangerous import URLSafeSerializer

from app.core.settings import Settings

UNSUBSCRIBE_SALT = "bourse.unsubscribe"


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.signing_key, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(settings: Settings, user_id: int, kind: str) -> str:
    return _serializer(settings).dumps([user_id, kind])


def unsubscribe_path(settings: Settings, user_id: int, kind: str) -> str:
    return f"/account/unsubscribe?token={unsubscribe_token(settings, user_id, kind)}"


def read_link(settings: Settings, token: str) -> Any:
    """The payload of a link's token; itsdangerous.BadSignature when forged or damaged."""
    return _serializer(settings).loads(token[:500])
