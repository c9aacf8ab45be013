"""Who may open and use the partner and idea-document routes of /moderation (table-driven):
staff and admins only. A refused POST writes nothing: no partner, link, document or audit
row changes, and no file appears under the upload directory."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func
from sqlmodel import select

from app.core.audit import AuditEntry
from app.pipeline import document_routes, documents, partner_routes, partners, uploads
from app.pipeline.models import IdeaDocument, IdeaPartner, Partner
from app.pipeline.service import IdeaInput, create_idea
from tests.factories import csrf_token, fresh, make_user
from tests.moderation.access import ROLES, STAFF_UP, browser_as
from tests.pipeline.test_uploads import minimal_pdf, minimal_png, upload

PAGES = {
    "/moderation/partners": STAFF_UP,
    "/moderation/partners/new": STAFF_UP,
    "/moderation/partners/{partner_id}": STAFF_UP,
    "/moderation/documents/{document_id}": STAFF_UP,
}

# For a POST the allowed roles are sent on (303) like anonymous visitors are sent to the login
# page (303); the difference is checked on the location and on what was written.
STAFF_POST = [303, 403, 403, 403, 403, 303, 303]

PARTNER_FORM = {"name": "Ville de Pessac", "kind": "town", "roles": ["capteur"]}

# path → (form data, a file to send or None)
ACTIONS: dict[str, tuple[dict[str, Any], tuple[str, bytes, str] | None]] = {
    "/moderation/partners/new": (PARTNER_FORM, ("logo.png", minimal_png(), "image/png")),
    "/moderation/partners/{partner_id}": (
        {**PARTNER_FORM, "name": "Nouveau nom"},
        ("logo.png", minimal_png(), "image/png"),
    ),
    "/moderation/partners/{partner_id}/archive": ({}, None),
    "/moderation/partners/{partner_id}/restore": ({}, None),
    "/moderation/ideas/{idea_id}/partners": ({"link": "supported_by"}, None),
    "/moderation/ideas/{idea_id}/partners/{link_id}/delete": ({}, None),
    "/moderation/ideas/{idea_id}/documents": ({}, ("etude.pdf", minimal_pdf(), "application/pdf")),
    "/moderation/documents/{document_id}/delete": ({}, None),
}

ROUTES_COVERED = {("GET", path) for path in PAGES} | {("POST", path) for path in ACTIONS}


def _world(session) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """An idea with a document and a linked partner, and an archived partner."""
    owner = make_user(session, role="staff")
    idea = create_idea(session, owner, IdeaInput(title="Conciergerie solidaire", origin="town"))
    partner = partners.create_partner(
        session,
        owner,
        partners.PartnerInput(name="Ville de Mérignac", kind="town", roles=["funder"]),
    )
    archived = partners.create_partner(
        session,
        owner,
        partners.PartnerInput(name="Ancien financeur", kind="bank", roles=["funder"]),
    )
    partners.set_archived(session, owner, archived.id, archived=True)
    link = partners.link_partner(session, owner, idea.id, partner.id, "funded_by")
    document = documents.add_document(session, owner, idea.id, upload(minimal_pdf(), "a.pdf"))
    return {
        "idea_id": idea.id,
        "partner_id": partner.id,
        "archived_id": archived.id,
        "link_id": link.id,
        "document_id": document.id,
    }


def _url(path: str, world: dict[str, Any]) -> str:
    if path.endswith("/restore"):
        return path.format(partner_id=world["archived_id"])
    return path.format(**world)


def _state(session, settings) -> tuple[Any, ...]:  # type: ignore[no-untyped-def]
    db = fresh(session)

    def count(model):  # type: ignore[no-untyped-def]
        return db.exec(select(func.count()).select_from(model)).one()

    partner_rows = tuple(
        (p.name, p.archived_at is not None, p.logo_file)
        for p in db.exec(select(Partner).order_by(Partner.id))
    )
    root = uploads.upload_root(settings)
    on_disk = sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []
    return (
        partner_rows,
        count(IdeaPartner),
        count(IdeaDocument),
        count(AuditEntry),
        on_disk,
    )


@pytest.mark.parametrize(
    ("path", "who", "expected"),
    [
        (path, who, status)
        for path, row in PAGES.items()
        for who, status in zip(ROLES, row, strict=True)
    ],
)
def test_partner_and_document_pages_access(client, session, path, who, expected):
    world = _world(session)
    browser_as(client, session, who)
    response = client.get(_url(path, world), follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")
    if expected == 403:
        assert "Accès refusé" in response.text
        assert minimal_pdf() not in response.content


@pytest.mark.parametrize(
    ("path", "who", "expected"),
    [
        (path, who, status)
        for path in ACTIONS
        for who, status in zip(ROLES, STAFF_POST, strict=True)
    ],
)
def test_only_active_staff_act_and_a_refusal_writes_nothing(
    client, session, settings, path, who, expected
):
    world = _world(session)
    data, file = ACTIONS[path]
    if path.endswith("/partners"):
        data = {**data, "partner_id": str(world["partner_id"])}
    before = _state(session, settings)
    browser_as(client, session, who)
    response = client.post(
        _url(path, world),
        data={"csrf_token": csrf_token(client), **data},
        files={"file" if "documents" in path else "logo": file} if file else None,
        follow_redirects=False,
    )
    assert response.status_code == expected
    after = _state(session, settings)
    if who in ("staff", "admin"):
        assert not response.headers["location"].startswith("/account/login")
        assert after != before
        assert after[3] == before[3] + 1  # one audit entry
    else:
        if expected == 303:
            assert response.headers["location"].startswith("/account/login?next=/moderation")
        assert after == before


def _moderation_routes(router) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {
        (method, route.path)
        for route in router.routes
        if isinstance(route, APIRoute) and route.path.startswith("/moderation")
        for method in route.methods
        if method != "HEAD"
    }


def test_every_route_of_these_files_is_in_the_matrix():
    declared = _moderation_routes(document_routes.router) | _moderation_routes(
        partner_routes.router
    )
    assert declared == ROUTES_COVERED
