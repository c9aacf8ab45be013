"""A moderator hides or restores a need from its public page, without a detour."""

from __future__ import annotations

from sqlmodel import func, select

from app.board.models import Need
from app.core.audit import AuditEntry
from tests.factories import login_as, make_need, make_user, post_form


def _decide(client, need, **data):  # type: ignore[no-untyped-def]
    return post_form(
        client,
        f"/moderation/needs/{need.id}/decision",
        {"next": f"/needs/{need.id}-{need.slug}", **data},
    )


def test_only_moderators_see_the_moderation_box(client, session):
    need = make_need(session)
    login_as(client, make_user(session), session)
    assert "Masquer" not in client.get(f"/needs/{need.id}-{need.slug}").text
    login_as(client, make_user(session, role="moderator"), session)
    assert "Masquer" in client.get(f"/needs/{need.id}-{need.slug}").text


def test_hiding_from_the_page_returns_to_it_with_a_notice(client, session):
    need = make_need(session)
    login_as(client, make_user(session, role="moderator"), session)
    response = _decide(client, need, decision="hide", seen_status="published", reason="spam")
    assert response.status_code == 303
    assert response.headers["location"] == f"/needs/{need.id}-{need.slug}?notice=moderated"
    session.expire_all()
    assert session.get(Need, need.id).status == "hidden"  # type: ignore[union-attr]
    page = client.get(response.headers["location"]).text
    assert "Ce besoin est masqué" in page and "Rétablir" in page


def test_hiding_without_a_reason_says_so_and_writes_nothing(client, session):
    need = make_need(session)
    login_as(client, make_user(session, role="moderator"), session)
    response = _decide(client, need, decision="hide", seen_status="published")
    assert response.status_code == 422
    assert "Choisissez un motif" in response.text
    session.expire_all()
    assert session.get(Need, need.id).status == "published"  # type: ignore[union-attr]
    assert session.exec(select(func.count()).select_from(AuditEntry)).one() == 0


def test_restoring_from_the_page(client, session):
    need = make_need(session, status="hidden")
    login_as(client, make_user(session, role="moderator"), session)
    response = _decide(client, need, decision="restore", seen_status="hidden")
    assert response.status_code == 303
    session.expire_all()
    assert session.get(Need, need.id).status == "published"  # type: ignore[union-attr]


def test_next_cannot_send_the_moderator_elsewhere(client, session):
    need = make_need(session)
    login_as(client, make_user(session, role="moderator"), session)
    response = post_form(
        client,
        f"/moderation/needs/{need.id}/decision",
        {
            "decision": "hide",
            "seen_status": "published",
            "reason": "spam",
            "next": "https://evil.example/",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/moderation/queue?done=1"
