"""A moderator edits a need or a comment (to remove a phone number…): the earlier text is kept
in a revision (read by staff), the edit is audited and told to the author with its reason, and
an edit prepared on a stale page overwrites nothing."""

from __future__ import annotations

import re

import pytest
from sqlmodel import func, select

from app.board.comments import post_comment
from app.board.models import Comment, Need, Notification
from app.core.audit import AuditEntry
from app.moderation.models import Revision
from app.moderation.revisions import edit_need_text
from app.web.errors import Forbidden
from tests.factories import (
    form_errors,
    fresh,
    login_as,
    make_need,
    make_user,
    page_text,
    post_form,
)

PHONE_BODY = "Appelez-moi au 06 12 34 56 78 pour en parler, je cherche une garde le soir."
CLEAN_BODY = "Je cherche une garde d'enfants le soir (numéro retiré par la modération)."


def _count(session, model, *where) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _seen(html: str) -> str:
    match = re.search(r'name="seen" value="([^"]+)"', html)
    assert match, "the form carries the version it was made from"
    return match.group(1)


@pytest.fixture
def need(session):  # type: ignore[no-untyped-def]
    return make_need(session, title="Une garde d'enfants le soir à Bègles", body=PHONE_BODY)


def _edit_need(client, need, seen, **data):  # type: ignore[no-untyped-def]
    payload = {"title": need.title, "body": CLEAN_BODY, "reason": "Numéro de téléphone retiré"}
    payload.update(data)
    return post_form(client, f"/moderation/needs/{need.id}/edit", {"seen": seen, **payload})


def test_editing_a_need_keeps_the_old_text_audits_and_tells_the_author(
    client, session, signed_in_moderator, need
):
    old_title = need.title
    form = client.get(f"/moderation/needs/{need.id}/edit")
    assert form.status_code == 200
    assert PHONE_BODY in form.text

    response = _edit_need(
        client, need, _seen(form.text), title="Une garde d'enfants le soir à Bègles-centre"
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/moderation/needs/{need.id}?done=edited"
    fresh(session)
    edited = session.get(Need, need.id)
    assert edited.body == CLEAN_BODY and "06 12" not in edited.body_html
    assert edited.slug == "une-garde-d-enfants-le-soir-a-begles-centre"
    assert "numéro retiré" in edited.excerpt
    revision = session.exec(select(Revision)).one()
    assert (revision.target_kind, revision.target_id, revision.editor_id) == (
        "need",
        need.id,
        signed_in_moderator.id,
    )
    assert (revision.title, revision.body, revision.reason) == (
        old_title,
        PHONE_BODY,
        "Numéro de téléphone retiré",
    )
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.action, entry.target_id, entry.reason) == (
        "need.edit",
        need.id,
        "Numéro de téléphone retiré",
    )
    assert entry.before["body"] == PHONE_BODY and entry.after["body"] == CLEAN_BODY
    assert entry.before["title"] == old_title
    assert entry.after["title"] == "Une garde d'enfants le soir à Bègles-centre"
    note = session.exec(select(Notification)).one()
    assert (note.user_id, note.kind, note.need_id) == (need.author_id, "moderation", need.id)
    assert "Numéro de téléphone retiré" in note.message
    public = client.get(f"/needs/{need.id}", follow_redirects=True).text
    assert "06 12 34 56 78" not in public and "numéro retiré" in public


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reason": "  "}, "reason", "Indiquez le motif"),
        ({"title": "Court"}, "title", "au moins 10 caractères"),
        ({"body": "x" * 5001}, "body", "au plus 5000 caractères"),
        ({"body": PHONE_BODY}, "body", "n'a pas changé"),
    ],
)
def test_a_bad_edit_is_explained_next_to_the_field_and_writes_nothing(
    client, session, signed_in_moderator, need, data, field, message
):
    seen = _seen(client.get(f"/moderation/needs/{need.id}/edit").text)
    response = _edit_need(client, need, seen, **data)
    assert response.status_code == 422
    assert any(message in error for error in form_errors(response.text))
    assert f'id="f-{field}-error"' in response.text
    if field != "reason":  # what the moderator typed is kept
        assert 'value="Numéro de téléphone retiré"' in response.text
    fresh(session)
    assert session.get(Need, need.id).body == PHONE_BODY
    assert _count(session, Revision) == _count(session, AuditEntry) == 0
    assert _count(session, Notification) == 0


def test_a_stale_edit_is_refused_and_overwrites_nothing(client, session, signed_in_moderator, need):
    seen = _seen(client.get(f"/moderation/needs/{need.id}/edit").text)
    other = make_user(session, role="moderator", display_name="Camille")
    edit_need_text(
        session,
        other,
        need.id,
        title=need.title,
        body="Le texte corrigé par Camille.",
        reason="Adresse retirée",
        seen_updated_at=need.updated_at.isoformat(),
    )

    response = _edit_need(client, need, seen)

    assert response.status_code == 409
    assert "Déjà modifié par Camille" in page_text(response.text)
    # The form now starts from the current version, the moderator's text kept.
    assert "Le texte corrigé par Camille." in response.text
    assert "(numéro retiré par la modération)" in response.text
    fresh(session)
    assert session.get(Need, need.id).body == "Le texte corrigé par Camille."
    assert _count(session, Revision) == 1 and _count(session, AuditEntry) == 1
    # Submitting again, from the current version, goes through.
    assert _edit_need(client, need, _seen(response.text)).status_code == 303


def test_an_edit_after_the_author_changed_the_need_names_the_author(
    client, session, signed_in_moderator
):
    author = make_user(session, display_name="Dominique")
    need = make_need(session, author=author, body=PHONE_BODY)
    seen = _seen(client.get(f"/moderation/needs/{need.id}/edit").text)
    login_as(client, author, session)
    post_form(
        client,
        f"/needs/{need.id}/edit",
        {"title": need.title, "body": "Ma nouvelle version.", "theme": "", "territory": ""},
    )
    login_as(client, make_user(session, role="moderator"), session)
    response = _edit_need(client, need, seen)
    assert response.status_code == 409
    assert "Déjà modifié par Dominique" in response.text
    fresh(session)
    assert session.get(Need, need.id).body == "Ma nouvelle version."


def test_a_tampered_version_field_is_a_form_error_not_a_crash(
    client, session, signed_in_moderator, need
):
    response = _edit_need(client, need, "pas une date")
    assert response.status_code == 422
    assert "rechargez la page" in response.text
    assert _count(session, Revision) == 0


def test_editing_a_comment_keeps_the_old_text_audits_and_tells_its_author(
    client, session, signed_in_moderator, need
):
    author = make_user(session)
    comment = post_comment(session, need, author, PHONE_BODY)
    form = client.get(f"/moderation/comments/{comment.id}/edit")
    assert form.status_code == 200 and PHONE_BODY in form.text

    response = post_form(
        client,
        f"/moderation/comments/{comment.id}/edit",
        {"body": CLEAN_BODY, "reason": "Numéro retiré", "seen": _seen(form.text)},
    )

    assert response.status_code == 303
    assert response.headers["location"] == (
        f"/moderation/needs/{need.id}?done=comment-edited#comment-{comment.id}"
    )
    fresh(session)
    assert session.get(Comment, comment.id).body == CLEAN_BODY
    revision = session.exec(select(Revision)).one()
    assert (revision.target_kind, revision.target_id, revision.body, revision.title) == (
        "comment",
        comment.id,
        PHONE_BODY,
        None,
    )
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.action, entry.target_kind, entry.target_id) == (
        "comment.edit",
        "comment",
        comment.id,
    )
    assert entry.before["body"] == PHONE_BODY and entry.after["body"] == CLEAN_BODY
    note = session.exec(select(Notification).where(Notification.kind == "moderation")).one()
    assert (note.user_id, note.comment_id) == (author.id, comment.id)
    assert "Numéro retiré" in note.message


def test_a_stale_comment_edit_is_refused(client, session, signed_in_moderator, need):
    comment = post_comment(session, need, make_user(session), PHONE_BODY)
    seen = _seen(client.get(f"/moderation/comments/{comment.id}/edit").text)
    first = post_form(
        client,
        f"/moderation/comments/{comment.id}/edit",
        {"body": CLEAN_BODY, "reason": "Numéro retiré", "seen": seen},
    )
    assert first.status_code == 303
    again = post_form(
        client,
        f"/moderation/comments/{comment.id}/edit",
        {"body": "Autre version", "reason": "Encore", "seen": seen},
    )
    assert again.status_code == 409
    assert "Déjà modifié par Modé Rateur" in again.text
    fresh(session)
    assert session.get(Comment, comment.id).body == CLEAN_BODY
    assert _count(session, Revision) == 1


def test_an_empty_comment_is_refused(client, session, signed_in_moderator, need):
    comment = post_comment(session, need, make_user(session), PHONE_BODY)
    seen = _seen(client.get(f"/moderation/comments/{comment.id}/edit").text)
    response = post_form(
        client,
        f"/moderation/comments/{comment.id}/edit",
        {"body": "   ", "reason": "", "seen": seen},
    )
    assert response.status_code == 422
    errors = form_errors(response.text)
    assert any("Écrivez votre commentaire" in e for e in errors)
    assert any("Indiquez le motif" in e for e in errors)
    assert _count(session, Revision) == 0


def test_a_deleted_comment_or_need_cannot_be_edited(client, session, signed_in_moderator, need):
    from app.core.db import utcnow

    comment = post_comment(session, need, make_user(session), PHONE_BODY)
    comment.deleted_at = utcnow()
    gone = make_need(session)
    gone.deleted_at = utcnow()
    session.add_all([comment, gone])
    session.commit()
    assert client.get(f"/moderation/comments/{comment.id}/edit").status_code == 404
    assert client.get(f"/moderation/needs/{gone.id}/edit").status_code == 404
    response = post_form(
        client,
        f"/moderation/needs/{gone.id}/edit",
        {"title": "Un titre assez long", "body": "x", "reason": "r", "seen": "2026-01-01"},
    )
    assert response.status_code == 404


def test_revisions_are_shown_to_staff_and_not_to_moderators(
    client, session, signed_in_moderator, need
):
    seen = _seen(client.get(f"/moderation/needs/{need.id}/edit").text)
    _edit_need(client, need, seen)
    as_moderator = page_text(client.get(f"/moderation/needs/{need.id}").text, "#revisions")
    assert "1 modification enregistrée" in as_moderator
    assert "06 12 34 56 78" not in client.get(f"/moderation/needs/{need.id}").text
    login_as(client, make_user(session, role="staff"), session)
    as_staff = page_text(client.get(f"/moderation/needs/{need.id}").text, "#revisions")
    assert "06 12 34 56 78" in as_staff
    assert "Numéro de téléphone retiré" in as_staff and "Modé Rateur" in as_staff


def test_a_resident_cannot_edit_even_through_the_service(session, need):
    with pytest.raises(Forbidden):
        edit_need_text(
            session,
            make_user(session),
            need.id,
            title=need.title,
            body=CLEAN_BODY,
            reason="r",
            seen_updated_at=need.updated_at.isoformat(),
        )
    assert session.get(Need, need.id).body == PHONE_BODY
