"""The global request-size limit (app.web.bodylimit): an oversized body is refused with a 413
before anything reads it, a chunked one is cut off while it is read, and only the upload
routes — which apply their own, larger limit — may send more.

Starlette's TestClient reads a whole body before the app asks for it, so the tests that count
what was read call the app through httpx's ASGI transport instead: it hands the body over one
piece at a time, only when the app calls `receive`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from fastapi.routing import APIRoute
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import func
from sqlmodel import select

from app.accounts.models import LoginFailure
from app.pipeline import uploads
from app.pipeline.models import IdeaDocument, Partner
from app.pipeline.service import IdeaInput, create_idea
from app.web.bodylimit import MAX_BODY_BYTES, UPLOAD_ROUTES, is_upload
from app.web.security import CSRF_COOKIE, csrf_token_for
from tests.factories import DEFAULT_PASSWORD, csrf_token, fresh, make_user
from tests.pipeline.test_uploads import files_in, minimal_pdf, minimal_png

MB = 1024 * 1024
PIECE = 64 * 1024
BOUNDARY = "limite-de-test"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
JSON = {"Content-Type": "application/json"}


class CountedBody:
    """A request body made on demand: `head`, `size` filler bytes in 64 KiB pieces, `tail`.
    `sent` is how much of it the application has asked for."""

    def __init__(self, head: bytes, size: int, tail: bytes = b"") -> None:
        self.head, self.size, self.tail = head, size, tail
        self.sent = 0

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def _pieces(self) -> Iterator[bytes]:
        yield self.head
        left = self.size
        while left > 0:
            yield b"a" * min(PIECE, left)
            left -= PIECE
        yield self.tail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces():
            self.sent += len(piece)
            yield piece


def login_form(token: str, filler: int) -> CountedBody:
    """The login form, with a valid CSRF token and a file of `filler` bytes (python-multipart
    spools files to disk whatever their size: without the limit, all of it would be read)."""
    fields = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in (
            ("csrf_token", token),
            ("email", "personne@exemple.fr"),
            ("password", "pas-le-bon-mot-de-passe"),
        )
    )
    head = (
        f"{fields}--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="notes"; filename="notes.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    )
    return CountedBody(head.encode(), filler, f"\r\n--{BOUNDARY}--\r\n".encode())


def json_need(token: str, filler: int) -> CountedBody:
    return CountedBody(b'{"title": "Un besoin de la ville", "body": "', filler, b'"}')


def send(
    app,  # type: ignore[no-untyped-def]
    path: str,
    make_body: Callable[[str], CountedBody],
    headers: dict[str, str],
    *,
    with_length: bool = True,
) -> tuple[httpx.Response, CountedBody]:
    """Posts the body as a browser would (after showing the login page, so with the CSRF
    cookie its token matches); without `with_length` it goes chunked, with no Content-Length."""

    async def go() -> tuple[httpx.Response, CountedBody]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await client.get("/account/login")
            token = csrf_token_for(app.state.settings.signing_key, client.cookies[CSRF_COOKIE])
            body = make_body(token)
            extra = {"Content-Length": str(len(body))} if with_length else {}
            response = await client.post(path, content=body, headers={**headers, **extra})
            return response, body

    return asyncio.run(go())


def failed_logins(session) -> int:  # type: ignore[no-untyped-def]
    return fresh(session).exec(select(func.count()).select_from(LoginFailure)).one()


def assert_french_413_page(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["connection"] == "close"
    assert response.headers["x-frame-options"] == "DENY"  # the site's headers, as on any page
    page = LexborHTMLParser(response.text)
    assert page.css_first("html").attributes.get("lang") == "fr"
    assert page.css_first("h1").text(strip=True) == "Envoi trop volumineux"


def assert_api_413(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["connection"] == "close"
    problem = response.json()
    assert problem["status"] == 413
    assert problem["title"] == "Envoi trop volumineux"
    assert problem["detail"]


# --- refused before reading -------------------------------------------------------------------


def test_a_20_mb_form_to_login_is_refused_before_a_byte_is_read(app, session):
    # The token is valid: without the limit the CSRF check would read the whole form, and the
    # login route would record a failed login.
    response, body = send(app, "/account/login", lambda t: login_form(t, 20 * MB), MULTIPART)
    assert_french_413_page(response)
    assert body.sent == 0
    assert failed_logins(session) == 0


def test_20_mb_of_json_to_the_api_without_a_token_is_refused_before_a_byte_is_read(app):
    # Without the limit FastAPI reads and parses the whole body before the token check's 401.
    response, body = send(app, "/api/v1/needs", lambda t: json_need(t, 20 * MB), JSON)
    assert_api_413(response)
    assert body.sent == 0


def test_a_body_just_over_the_limit_is_refused_too(app):
    response, body = send(app, "/api/v1/needs", lambda t: json_need(t, MAX_BODY_BYTES), JSON)
    assert_api_413(response)
    assert body.sent == 0


# --- cut off while reading --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "make_body", "headers", "check"),
    [
        ("/account/login", login_form, MULTIPART, assert_french_413_page),
        ("/api/v1/needs", json_need, JSON, assert_api_413),
    ],
    ids=["form", "api"],
)
def test_a_chunked_body_without_length_is_cut_off_once_past_the_limit(
    app, session, path, make_body, headers, check
):
    response, body = send(app, path, lambda t: make_body(t, 20 * MB), headers, with_length=False)
    check(response)
    # Read up to the piece that crossed the limit, and not one more.
    assert MAX_BODY_BYTES < body.sent <= MAX_BODY_BYTES + PIECE
    assert failed_logins(session) == 0


# --- what still works -------------------------------------------------------------------------


def test_a_normal_form_still_works(client, session):
    user = make_user(session, email="claire@exemple.fr")
    response = client.post(
        "/account/login",
        data={"csrf_token": csrf_token(client), "email": user.email, "password": DEFAULT_PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_a_form_just_under_the_limit_is_read_whole(app, session):
    # Under the limit, chunked: the form is read to the end and the login route answers.
    response, body = send(
        app,
        "/account/login",
        lambda t: login_form(t, MAX_BODY_BYTES - 2048),
        MULTIPART,
        with_length=False,
    )
    assert response.status_code == 422
    assert body.sent == len(body)
    assert failed_logins(session) == 1


def test_small_json_still_reaches_the_api(app):
    response, body = send(app, "/api/v1/needs", lambda t: json_need(t, 100), JSON)
    assert response.status_code == 401  # no token: the route's own answer
    assert body.sent == len(body)


def test_an_idea_document_over_1_mb_is_still_accepted(staff_client, staff_user, session, settings):
    idea = create_idea(
        session, staff_user, IdeaInput(title="Conciergerie d'entreprises", origin="town")
    )
    data = minimal_pdf() + b"0" * (3 * MB)  # under BOURSE_MAX_UPLOAD_MB (10)
    response = staff_client.post(
        f"/moderation/ideas/{idea.id}/documents",
        data={"csrf_token": csrf_token(staff_client)},
        files={"file": ("etude.pdf", data, "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    stored = fresh(session).exec(select(IdeaDocument)).one()
    assert stored.size == len(data)
    assert files_in(uploads.documents_dir(settings)) == [stored.stored_name]


def partner_form() -> dict[str, object]:
    return {
        "name": "Ville de Mérignac",
        "kind": "town",
        "roles": ["capteur", "funder"],
        "website": "https://www.merignac.com",
        "description": "La commune a repéré le besoin de conciergerie.",
    }


def test_a_partner_logo_over_1_mb_is_still_accepted(staff_client, session, settings):
    logo = minimal_png() + b"\0" * (3 * MB // 2)  # under the logos' 2 MB
    response = staff_client.post(
        "/moderation/partners/new",
        data={"csrf_token": csrf_token(staff_client), **partner_form()},
        files={"logo": ("logo.png", logo, "image/png")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    partner = fresh(session).exec(select(Partner)).one()
    assert files_in(uploads.logos_dir(settings)) == [partner.logo_file]


# --- the allow-list ---------------------------------------------------------------------------


def _declared_routes(app) -> Iterator[tuple[str, str, object]]:  # type: ignore[no-untyped-def]
    """(method, path, endpoint) of every route, whether FastAPI keeps it as an APIRoute or,
    since 0.16x, behind an included-router object (as in tests/moderation/test_access.py)."""
    for route in app.routes:
        if isinstance(route, APIRoute):
            for method in route.methods:
                yield method, route.path, route.endpoint
        elif hasattr(route, "effective_route_contexts"):
            for context in route.effective_route_contexts():
                for method in context.methods or ():
                    yield method, context.path, context.endpoint


def test_the_exemptions_are_exactly_the_routes_with_their_own_upload_limit(app):
    """An upload route without an exemption could not receive its files; an exemption without
    an upload route would let an unlimited body through."""
    exempt, marked = set(), set()
    routes = list(_declared_routes(app))
    assert len(routes) > 20  # the walk really sees the app's routes
    for method, path, endpoint in routes:
        key = (method, re.sub(r"\{[^}]+\}", "1", path))  # a concrete address: ids are 1
        if is_upload(*key):
            exempt.add(key)
        if getattr(endpoint, "__upload_limit__", None) is not None:
            marked.add(key)
    assert len(marked) == len(UPLOAD_ROUTES)
    assert exempt == marked


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/moderation/ideas/1/documents"),
        ("POST", "/moderation/ideas/1/documents/2"),
        ("POST", "/moderation/ideas/x/documents"),
        ("POST", "/moderation/partners/1/archive"),
        ("POST", "/moderation/partners/newer"),
        ("POST", "/api/v1/moderation/partners/1"),
        ("POST", "/account/login"),
    ],
)
def test_nothing_else_is_exempt(method, path):
    assert not is_upload(method, path)
