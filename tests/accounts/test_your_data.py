"""« Mon compte » → « Vos données » and « Supprimer mon compte » (SPEC §5 `/account/...`: data
export, deletion): a person downloads everything kept about them, and erases their account with
their contributions — nothing of someone else's, no secret in the file, nothing written when the
confirmation is wrong."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.deps import SESSION_COOKIE
from app.accounts.models import ApiToken, User, UserSession
from app.board.comments import post_comment
from app.board.follows import add_follow
from app.board.models import Comment, Follow, Need, Report
from app.board.service import NeedInput, create_need
from app.board.supports import add_support
from app.core.audit import AuditEntry
from app.core.settings import ModerationMode
from app.mail.models import OutboxMessage
from app.syndication.models import Webhook, WebhookDelivery
from app.syndication.webhooks import new_secret
from tests.accounts.helpers import count, form_errors, page_text
from tests.factories import DEFAULT_PASSWORD, fresh, login_as, make_need, make_user, post_form

EMAIL = "camille@exemple.fr"


@pytest.fixture
def camille(client, session):  # type: ignore[no-untyped-def]
    user = make_user(session, email=EMAIL, display_name="Camille")
    login_as(client, user, session)
    return user


def _contributions(session: Session, person: User) -> dict[str, int]:
    """Camille posts a need (public) and a waiting one, comments someone else's need, supports
    and follows it, reports a comment and creates an API token. Returns the ids involved."""
    other = make_user(session, display_name="Dominique")
    theirs = make_need(session, author=other, title="Un atelier de réparation de vélos")
    mine = create_need(
        session,
        person,
        NeedInput(title="Une navette vers le marché le samedi matin"),
        mode=ModerationMode.post,
        rate_limits=False,
    )
    waiting = create_need(
        session,
        person,
        NeedInput(title="Un lieu pour les devoirs après l'école"),
        mode=ModerationMode.pre,
        rate_limits=False,
    )
    mine.internal_note = "Note de l'équipe : à rapprocher du projet de navette"
    session.add(mine)
    comment = post_comment(session, theirs, person, "Oui, et le dimanche aussi.")
    their_comment = post_comment(session, theirs, other, "Avec des bénévoles du quartier.")
    add_support(session, theirs, person)
    add_follow(session, theirs.id, person.id)  # type: ignore[arg-type]
    session.add(
        Report(
            reporter_id=person.id,  # type: ignore[arg-type]
            target_kind="comment",
            target_id=their_comment.id,  # type: ignore[arg-type]
            reason="spam",
        )
    )
    session.commit()
    accounts.create_api_token(session, person, "Site de la mairie")
    return {
        "theirs": theirs.id,
        "mine": mine.id,
        "waiting": waiting.id,
        "comment": comment.id,
        "their_comment": their_comment.id,
        "other": other.id,
    }  # type: ignore[dict-item]


# --- the copy -------------------------------------------------------------------------------


def test_the_export_is_a_json_file_of_everything_that_is_theirs(client, session, camille):
    ids = _contributions(session, camille)
    response = client.get("/account/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="bourse-mes-donnees-'
    )
    assert response.headers["cache-control"] == "no-store"
    exported = response.json()

    assert exported["format"] == "bourse-export-1"
    assert exported["account"]["email"] == EMAIL
    assert exported["account"]["display_name"] == "Camille"
    assert exported["account"]["has_password"] is True
    assert {n["id"] for n in exported["needs"]} == {ids["mine"], ids["waiting"]}
    assert {n["status"] for n in exported["needs"]} == {"published", "pending"}
    assert [c["id"] for c in exported["comments"]] == [ids["comment"]]
    assert exported["comments"][0]["body"] == "Oui, et le dimanche aussi."
    # Their own needs (supported at posting) and Dominique's.
    assert {s["need_id"] for s in exported["supports"]} == {
        ids["mine"],
        ids["waiting"],
        ids["theirs"],
    }
    assert ids["theirs"] in {f["need_id"] for f in exported["follows"]}
    assert [(r["target_id"], r["reason"]) for r in exported["reports_made"]] == [
        (ids["their_comment"], "spam")
    ]
    assert [t["label"] for t in exported["api_tokens"]] == ["Site de la mairie"]
    assert len(exported["sessions"]) == 1
    # No secret, and nothing of Dominique's.
    text = response.text
    assert "password_hash" not in text and "token_hash" not in text
    assert "internal_note" not in text and "Note de l'équipe" not in text
    assert "Avec des bénévoles du quartier." not in text
    assert "Un atelier de réparation de vélos" not in text


def test_the_account_page_offers_the_download_and_the_deletion(client, camille):
    response = client.get("/account")
    text = page_text(response.text)
    assert "Vos données" in text and "Supprimer mon compte" in text
    assert 'href="/account/export"' in response.text
    assert 'id="f-delete_password"' in response.text
    assert '<label for="f-delete_confirm">' in response.text


def test_the_export_needs_a_signed_in_browser(client, session):
    response = client.get("/account/export", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert "/account/login" in response.headers["location"]
    # A personal API token (made for partners' scripts) cannot read the address and sessions.
    user = make_user(session)
    raw = accounts.create_api_token(session, user, "script")
    response = client.get(
        "/account/export", headers={"Authorization": f"Bearer {raw}"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login")
    assert EMAIL not in response.text and user.email not in response.text


# --- deletion -------------------------------------------------------------------------------


def _delete(client, **fields: str | None):  # type: ignore[no-untyped-def]
    data = {"delete_password": DEFAULT_PASSWORD, "delete_confirm": "1", **fields}
    return post_form(client, "/account/delete", {k: v for k, v in data.items() if v is not None})


def test_deleting_the_account_erases_the_person_and_their_contributions(client, session, camille):
    ids = _contributions(session, camille)
    uid = camille.id
    hook = Webhook(
        url="https://partenaire.example/hook", events="need.status_changed", secret=new_secret()
    )
    session.add(hook)
    session.commit()
    theirs_before = session.get(Need, ids["theirs"])
    assert theirs_before.supports_count == 1 and theirs_before.comments_count == 2  # type: ignore[union-attr]

    response = _delete(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/?notice=account_deleted"
    db = fresh(session)
    assert db.exec(select(User).where(User.email == EMAIL)).first() is None
    assert count(db, UserSession, UserSession.user_id == uid) == 0
    assert count(db, ApiToken, ApiToken.user_id == uid) == 0
    assert count(db, Follow, Follow.user_id == uid) == 0
    assert count(db, Report, Report.reporter_id == uid) == 0
    # Their needs are deleted (kept for the moderation history, seen by nobody else)…
    for need_id in (ids["mine"], ids["waiting"]):
        assert db.get(Need, need_id).deleted_at is not None  # type: ignore[union-attr]
        assert client.get(f"/api/v1/needs/{need_id}").status_code == 404
    # … their comment too, and Dominique's need counts exactly what is left.
    assert db.get(Comment, ids["comment"]).deleted_at is not None  # type: ignore[union-attr]
    theirs = db.get(Need, ids["theirs"])
    assert theirs.supports_count == 0 and theirs.comments_count == 1  # type: ignore[union-attr]
    assert db.get(Comment, ids["their_comment"]).deleted_at is None  # type: ignore[union-attr]
    # Partners are told the public need is gone; the waiting one was never public.
    payloads = [json.loads(d.payload) for d in db.exec(select(WebhookDelivery))]
    assert [p["data"]["need"] for p in payloads] == [{"id": ids["mine"], "status": "deleted"}]
    # One audit line, without the person's name or address; a confirmation e-mail.
    (entry,) = db.exec(select(AuditEntry).where(AuditEntry.action == "account.delete")).all()
    assert "Camille" not in json.dumps([entry.actor_name, entry.before, entry.after])
    assert EMAIL not in json.dumps([entry.actor_name, entry.before, entry.after])
    mails = db.exec(select(OutboxMessage).where(OutboxMessage.to_address == EMAIL)).all()
    assert [m.subject for m in mails].count("Votre compte a été supprimé") == 1
    # The browser is signed out, and told.
    home = client.get(response.headers["location"])
    assert "Votre compte et vos contributions ont été supprimés." in home.text
    assert client.get("/account", follow_redirects=False).status_code in (302, 303)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"delete_password": "pas-le-bon-mot-de-passe"},
            "delete_password",
            "Le mot de passe est incorrect.",
        ),
        ({"delete_password": None}, "delete_password", "Le mot de passe est incorrect."),
        ({"delete_confirm": None}, "delete_confirm", "Cochez la case pour confirmer"),
    ],
)
def test_a_wrong_confirmation_erases_nothing(client, session, camille, fields, field, message):
    _contributions(session, camille)
    response = _delete(client, **fields)
    assert response.status_code == 422
    assert any(message in error for error in form_errors(response.text))
    assert f'id="f-{field}"' in response.text
    db = fresh(session)
    assert db.get(User, camille.id) is not None
    assert count(db, Need, Need.author_id == camille.id, Need.deleted_at.is_(None)) == 2  # type: ignore[union-attr]
    assert count(db, UserSession, UserSession.user_id == camille.id) == 1


def test_wrong_passwords_here_count_as_failed_logins(client, session, camille):
    for _attempt in range(5):
        assert _delete(client, delete_password="pas-le-bon-mot-de-passe").status_code == 422
    # The sixth try is refused before the password is even checked, the right one included.
    response = _delete(client)
    assert response.status_code == 429
    assert "Trop de tentatives" in page_text(response.text)
    assert fresh(session).get(User, camille.id) is not None


def test_an_account_without_password_confirms_with_its_address(client, session):
    person = make_user(session, email="lien@exemple.fr", password=None)
    person_id = person.id
    login_as(client, person, session)
    page = client.get("/account").text
    assert 'id="f-delete_email"' in page and 'id="f-delete_password"' not in page
    response = _delete(client, delete_password=None, delete_email="autre@exemple.fr")
    assert response.status_code == 422
    assert "Saisissez l'adresse e-mail de ce compte." in form_errors(response.text)
    assert fresh(session).get(User, person_id) is not None
    response = _delete(client, delete_password=None, delete_email="  Lien@Exemple.fr ")
    assert response.status_code == 303
    assert fresh(session).get(User, person_id) is None


def test_the_last_administrator_cannot_leave(client, session):
    admin = make_user(session, role="admin")
    admin_id = admin.id
    login_as(client, admin, session)
    response = _delete(client)
    assert response.status_code == 422
    assert "dernier compte administrateur actif" in page_text(response.text)
    assert fresh(session).get(User, admin_id) is not None
    make_user(session, role="admin")
    assert _delete(client).status_code == 303
    assert fresh(session).get(User, admin_id) is None


def test_deletion_needs_the_csrf_token_and_a_browser(client, session, camille):
    response = client.post(
        "/account/delete",
        data={"delete_password": DEFAULT_PASSWORD, "delete_confirm": "1"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert fresh(session).get(User, camille.id) is not None
    raw = accounts.create_api_token(session, camille, "script")
    # Even with a valid form (CSRF token included), a personal token cannot erase the account:
    # without the browser's session cookie it signs nobody in.
    client.cookies.delete(SESSION_COOKIE)
    response = post_form(
        client,
        "/account/delete",
        {"delete_password": DEFAULT_PASSWORD, "delete_confirm": "1"},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login")
    assert fresh(session).get(User, camille.id) is not None


def test_a_team_member_leaving_keeps_the_fabriques_ideas_and_history(client, session):
    from app.pipeline import service as pipeline
    from app.pipeline.models import Idea, StageChange

    staff = make_user(session, role="staff", display_name="Morgane")
    staff_id = staff.id
    need = make_need(session)
    idea = pipeline.create_idea(
        session,
        staff,
        pipeline.IdeaInput(title="Une conciergerie d'insertion", is_public=True),
        need_ids=[need.id],  # type: ignore[list-item]
    )
    idea_id = idea.id
    login_as(client, staff, session)
    assert _delete(client).status_code == 303

    db = fresh(session)
    assert db.get(User, staff_id) is None
    kept = db.get(Idea, idea_id)
    assert kept is not None and kept.created_by_id is None
    (created,) = db.exec(select(StageChange).where(StageChange.idea_id == idea_id)).all()
    assert created.actor_id is None
    # The need was someone else's: it stays, still linked.
    assert db.get(Need, need.id).deleted_at is None  # type: ignore[union-attr]
    assert client.get(f"/api/v1/ideas/{idea_id}").status_code == 200
