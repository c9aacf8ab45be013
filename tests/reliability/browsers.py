"""Clients of a running `bourse serve` for the reliability tests under load (test_floods.py,
test_soak.py): a person's browser, or a script with their personal token, reaching the site
from a given address, and forms filled in as a browser fills them."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import httpx
from itsdangerous import Signer
from selectolax.lexbor import LexborHTMLParser

from app.accounts.deps import SESSION_COOKIE
from app.core.db import utcnow
from app.web.antiabuse import STARTED_FIELD, sign_form_start
from tests.factories import read_form
from tests.serving import SECRET_KEY

# What the anti-abuse fields are signed with: the servers' secret (tests/serving.py).
SERVER_SECRET = SimpleNamespace(signing_key=SECRET_KEY)
# No answer within this is a failure (a request waiting for a lock that is never released).
REQUEST_TIMEOUT = 30.0
# Idle connections dropped well before the server closes them (app.ops.http_limits:
# KEEP_ALIVE_SECONDS, 5 s), as browsers do. httpx keeps them 5 s too: a request sent on one the
# server was closing at that moment got « connection reset » (a 20-minute soak, twice, on a
# loaded machine), which a browser would have retried.
KEEPALIVE_EXPIRY = 2.0


class Client:
    """One person's browser, or a script with their personal token, reaching the site through
    the proxy in front of it as `address` (X-Forwarded-For, which `bourse serve` believes from
    the loopback by default). One cookie jar whatever the instance (cookies do not care about
    ports), so a form rendered by one instance is accepted by another, as behind a load
    balancer."""

    def __init__(self, address: str, *, session: str | None = None, token: str | None = None):
        headers = {"X-Forwarded-For": address}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(
            headers=headers,
            timeout=REQUEST_TIMEOUT,
            follow_redirects=False,
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY),
        )
        if session is not None:
            signed = Signer(SECRET_KEY, salt="bourse.session").sign(session).decode()
            self.http.cookies.set(SESSION_COOKIE, signed)

    def close(self) -> None:
        self.http.close()


def fill_in(
    client: Client,
    page_url: str,
    post_to: str,
    action: str,
    fill: dict[str, str] | None = None,
    form_selector: str | None = None,
) -> httpx.Response:
    """Renders `page_url`, reads the form posting to `action` as a browser does (or the one
    `form_selector` names, when the page has several), fills it and sends it to `post_to`
    (the base URL of the same instance or of another). The one liberty: the form's signed
    rendering time is dated ten seconds back, as if the person had taken that long to type."""
    rendered = client.http.get(page_url)
    assert rendered.status_code == 200, f"{page_url}: {rendered.status_code}"
    html = rendered.text
    if form_selector is not None:
        node = LexborHTMLParser(html).css_first(form_selector)
        assert node is not None, f"no {form_selector} on {page_url}"
        html = node.html or ""
    _method, values, _names = read_form(html, action)
    values.update(fill or {})
    if STARTED_FIELD in values:
        values[STARTED_FIELD] = sign_form_start(SERVER_SECRET, utcnow() - timedelta(seconds=10))
    return client.http.post(post_to + action, data=values)
