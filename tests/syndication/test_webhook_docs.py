"""The webhooks section of /api/v1/docs: its verification snippet really accepts what the
worker signs and refuses a tampered body."""

from __future__ import annotations

import time

from selectolax.lexbor import LexborHTMLParser

from app.syndication import webhooks
from app.syndication.webhook_docs import _VERIFY_PYTHON


def test_docs_page_describes_every_event_and_the_signature(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    section = LexborHTMLParser(page.text).css_first("section#webhooks")
    assert section is not None
    text = section.text()
    for event in (
        "need.published",
        "need.status_changed",
        "idea.stage_changed",
        "comment.published",
    ):
        assert event in text
    assert webhooks.SIGNATURE_HEADER in text
    assert "HMAC-SHA256" in text


def test_python_snippet_verifies_a_real_signature() -> None:
    namespace: dict[str, object] = {}
    exec(_VERIFY_PYTHON, namespace)  # our own documentation snippet, run as a reader would
    check = namespace["signature_is_valid"]
    body = '{"event":"ping","data":{"é":1}}'.encode()
    header = webhooks.signature("whsec_test", int(time.time()), body)
    assert check("whsec_test", header, body)  # type: ignore[operator]
    assert not check("whsec_other", header, body)  # type: ignore[operator]
    assert not check("whsec_test", header, body + b" ")  # type: ignore[operator]
    old = webhooks.signature("whsec_test", int(time.time()) - 3600, body)
    assert not check("whsec_test", old, body)  # type: ignore[operator]
    assert webhooks.verify_signature("whsec_test", header, body)
