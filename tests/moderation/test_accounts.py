"""Accounts in the moderation area: search, one account's page, block and unblock, trust,
roles — each action audited in its own transaction and told to the person."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import func, select

from app.accounts.models import User
from app.board.models import Comment, Notification, Report
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.moderation import account_file, accounts
from tests.factories import (
    form_errors,
    fresh,
    login_as,
    make_need,
    make_user,
    page_text,
    post_form,
    submit_form,
)


def _count(session, model, *where) -> int:  # type: ignore[no-untyped-def]
    return fresh(session).exec(select(func.count()).select_from(model).where(*where)).one()


def _reload(session, user: User) -> User:  # type: ignore[no-untyped-def]
    found = fresh(session).get(User, user.id)
    assert found is not None
    return found


def _entries(session, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    return list(fresh(session).exec(select(AuditEntry).where(AuditEntry.action == action)))


def _notes(session, user: User) -> list[Notification]:  # type: ignore[no-untyped-def]
    return list(fresh(session).exec(select(Notification).where(Notification.user_id == user.id)))


def _rows(html: str) -> list[str]:
    tree = LexborHTMLParser(html)
    return [node.text(separator=" ", strip=True) for node in tree.css(".account-table tbody tr")]


def _field_error(html: str, form: str, name: str) -> str:
    node = LexborHTMLParser(html).css_first(f"#{form}-{name}-error")
    assert node is not None, f"no error beside {form}-{name}"
    field = LexborHTMLParser(html).css_first(f"#{form}-{name}")
    assert field is not None and f"{form}-{name}-error" in field.attributes.get(
        "aria-describedby", ""
    )
    return node.text(strip=True)


def _comment(session, need, author, body="Un commentaire de test", status="published"):  # type: ignore[no-untyped-def]
    comment = Comment(
        need_id=need.id, author_id=author.id, body=body, body_html=body, status=status
    )
    session.add(comment)
    session.commit()
    session.refresh(comment)
    return comment


@pytest.fixture
def resident(session) -> User:  # type: ignore[no-untyped-def]
    return make_user(session, display_name="Jean Dupont", email="jean.dupont@exemple.fr")


# --- the list ------------------------------------------------------------------------------------


def test_the_list_shows_role_date_counts_and_state(client, session, signed_in_moderator, resident):
    need = make_need(session, author=resident)
    make_need(session, author=resident, status="hidden")
    _comment(session, need, resident)
    resident.trusted_at = utcnow()
    session.add(resident)
    session.commit()
    page = client.get("/moderation/accounts?q=dupont")
    assert page.status_code == 200
    (row,) = _rows(page.text)
    assert "Jean Dupont" in row and "Habitant·e" in row and "De confiance" in row
    cells = LexborHTMLParser(page.text).css(".account-table tbody tr td")
    assert [c.text(strip=True) for c in cells[2:4]] == ["2", "1"]  # needs, comments


def test_moderators_search_by_name_but_never_see_or_search_e_mails(
    client, session, signed_in_moderator, resident
):
    assert "Jean Dupont" in page_text(client.get("/moderation/accounts?q=jean").text)
    page = client.get("/moderation/accounts")
    assert "jean.dupont@exemple.fr" not in page.text
    assert _rows(client.get("/moderation/accounts?q=exemple.fr").text) == []


def test_staff_search_by_e_mail_and_see_it(client, session, resident):
    login_as(client, make_user(session, role="staff"), session)
    page = client.get("/moderation/accounts?q=JEAN.DUPONT@")
    (row,) = _rows(page.text)
    assert "jean.dupont@exemple.fr" in row


def test_a_search_with_like_wildcards_matches_them_literally(client, session, signed_in_moderator):
    make_user(session, display_name="Cent_pour_cent")
    make_user(session, display_name="Centaure")
    rows = _rows(client.get("/moderation/accounts?q=cent_").text)
    assert len(rows) == 1 and "Cent_pour_cent" in rows[0]
    assert _rows(client.get("/moderation/accounts?q=%25").text) == []


def test_a_search_with_control_characters_is_no_error(
    client, session, signed_in_moderator, resident
):
    page = client.get("/moderation/accounts", params={"q": "Jean\x00 Dup"})
    assert page.status_code == 200
    assert "Jean Dupont" in page_text(page.text)


def test_filters_by_role_and_by_block_state(client, session, signed_in_moderator, resident):
    blocked = make_user(session, display_name="Bloquée Bea")
    accounts.block_user(session, signed_in_moderator, blocked, reason="Spam")
    expired = make_user(session, display_name="Ancienne Ada")
    expired.blocked_at = utcnow() - timedelta(days=3)
    expired.blocked_until = utcnow() - timedelta(days=1)
    expired.blocked_reason = "Spam"
    session.add(expired)
    session.commit()
    names = page_text(client.get("/moderation/accounts?blocked=yes").text)
    assert "Bloquée Bea" in names and "Jean Dupont" not in names and "Ancienne Ada" not in names
    names = page_text(client.get("/moderation/accounts?blocked=no").text)
    assert "Bloquée Bea" not in names and "Ancienne Ada" in names
    rows = _rows(client.get("/moderation/accounts?role=moderator").text)
    assert len(rows) == 1 and signed_in_moderator.display_name in rows[0]


def test_a_bad_filter_says_so_in_french(client, session, signed_in_moderator):
    page = client.get("/moderation/accounts?role=roi&blocked=peut-etre&page=0")
    assert page.status_code == 400
    text = page_text(page.text)
    assert "Choisissez un rôle dans la liste." in text
    assert "Le numéro de page doit être un nombre entier" in text


def test_the_list_is_paginated(client, session, signed_in_moderator):
    for n in range(accounts.PER_PAGE + 1):
        make_user(session, display_name=f"Habitant {n:03d}")
    first = client.get("/moderation/accounts?q=habitant")
    assert len(_rows(first.text)) == accounts.PER_PAGE
    assert 'rel="next"' in first.text
    second = client.get("/moderation/accounts?q=habitant&page=2")
    assert len(_rows(second.text)) == 1 and 'rel="next"' not in second.text


# --- one account --------------------------------------------------------------------------------


def test_the_account_page_shows_content_reports_and_decisions(
    client, session, signed_in_moderator, resident
):
    other = make_user(session, display_name="Voisine Vera")
    pending = make_need(
        session, author=resident, title="Un besoin en attente de relecture", status="pending"
    )
    hidden = make_need(
        session, author=resident, title="Un besoin masqué par l'équipe", status="hidden"
    )
    public = make_need(session, author=other, title="Le besoin public de Vera")
    comment = _comment(session, public, resident, body="Mon avis très tranché")
    session.add_all(
        [
            Report(reporter_id=other.id, target_kind="user", target_id=resident.id, reason="spam"),
            Report(reporter_id=other.id, target_kind="need", target_id=hidden.id, reason="abusive"),
            Report(
                reporter_id=other.id, target_kind="comment", target_id=comment.id, reason="other",
                detail="Propos déplacés",
            ),
            Report(
                reporter_id=resident.id, target_kind="need", target_id=public.id,
                reason="off_topic",
            ),
        ]
    )  # fmt: skip
    session.commit()
    accounts.set_trust(session, signed_in_moderator, resident.id, trusted=True)
    page = client.get(f"/moderation/accounts/{resident.id}")
    assert page.status_code == 200
    tree = LexborHTMLParser(page.text)
    needs = tree.css_first("section[aria-labelledby=needs-title]").text(separator=" ")
    assert pending.title in needs and "En attente" in needs
    assert hidden.title in needs and "Masqué" in needs
    assert tree.css_first(f'a[href="/needs/{hidden.id}-{hidden.slug}"]') is not None
    comments = tree.css_first("section[aria-labelledby=comments-title]").text(separator=" ")
    assert "Mon avis très tranché" in comments and public.title in comments
    received = tree.css_first("section[aria-labelledby=received-title]").text(separator=" ")
    assert received.count("Voisine Vera") == 3 and "Propos déplacés" in received
    made = tree.css_first("section[aria-labelledby=made-title]").text(separator=" ")
    assert public.title in made and "Hors sujet" in made
    log = tree.css_first("section[aria-labelledby=log-title]").text(separator=" ")
    assert "user.trust" in log
    assert "jean.dupont@exemple.fr" not in page.text  # moderators never see e-mails


def test_staff_see_the_e_mail_on_the_account_page(client, session, resident):
    login_as(client, make_user(session, role="staff"), session)
    assert "jean.dupont@exemple.fr" in client.get(f"/moderation/accounts/{resident.id}").text


@pytest.mark.parametrize("ref", ["999999", "abc", "99999999999", "0"])
def test_an_unknown_account_is_a_404(client, session, signed_in_moderator, ref):
    assert client.get(f"/moderation/accounts/{ref}").status_code == 404


def test_an_action_on_an_unknown_account_is_a_404(client, session, signed_in_moderator):
    response = post_form(client, "/moderation/accounts/999999/block", {"reason": "Spam"})
    assert response.status_code == 404
    assert _count(session, AuditEntry) == 0


# --- block and unblock ---------------------------------------------------------------------------


def test_blocking_until_a_day_audits_and_tells_the_person(
    client, session, signed_in_moderator, resident, mailbox
):
    day = date.today() + timedelta(days=10)
    response = post_form(
        client,
        f"/moderation/accounts/{resident.id}/block",
        {"reason": "Messages publicitaires répétés", "until": day.isoformat()},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/moderation/accounts/{resident.id}?done=block"
    user = _reload(session, resident)
    assert user.is_blocked() and user.blocked_reason == "Messages publicitaires répétés"
    # Until the end of that day in Paris: midnight Paris time the day after, in UTC.
    assert user.blocked_until == accounts.end_of_day(day)
    assert user.blocked_until.astimezone(accounts.PARIS).time().isoformat() == "00:00:00"
    assert accounts.last_blocked_day(user) == day
    (entry,) = _entries(session, "user.block")
    assert (entry.actor_id, entry.target_kind, entry.target_id) == (
        signed_in_moderator.id,
        "user",
        user.id,
    )
    assert entry.reason == "Messages publicitaires répétés"
    assert entry.before["blocked_at"] is None and entry.after["blocked_until"] is not None
    (note,) = _notes(session, resident)
    assert note.kind == "moderation" and note.need_id is None
    assert "Messages publicitaires répétés" in note.message
    assert "inclus" in note.message and str(day.year) in note.message
    (mail,) = mailbox.to("jean.dupont@exemple.fr")
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Messages publicitaires répétés" in body and "/charter" in body
    page = client.get(response.headers["location"])
    assert "Le compte est bloqué" in page_text(page.text)


def test_blocking_without_an_end_date_blocks_until_unblocked(
    client, session, signed_in_moderator, resident
):
    post_form(client, f"/moderation/accounts/{resident.id}/block", {"reason": "Harcèlement"})
    user = _reload(session, resident)
    assert user.is_blocked(now=utcnow() + timedelta(days=3650))
    assert user.blocked_until is None


def test_a_block_without_reason_is_refused_beside_the_field_and_writes_nothing(
    client, session, signed_in_moderator, resident
):
    response = post_form(
        client, f"/moderation/accounts/{resident.id}/block", {"reason": "   ", "until": ""}
    )
    assert response.status_code == 422
    assert "Indiquez le motif du blocage" in _field_error(response.text, "block", "reason")
    assert not _reload(session, resident).is_blocked()
    assert _count(session, AuditEntry) == 0 and _count(session, Notification) == 0


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ((date.today() - timedelta(days=2)).isoformat(), "Cette date est passée"),
        ("31/12/2030", "AAAA-MM-JJ"),
        ("2030-02-30", "AAAA-MM-JJ"),
    ],
)
def test_a_past_or_malformed_end_date_is_a_clear_error(
    client, session, signed_in_moderator, resident, until, message
):
    response = post_form(
        client, f"/moderation/accounts/{resident.id}/block", {"reason": "Spam", "until": until}
    )
    assert response.status_code == 422
    assert message in _field_error(response.text, "block", "until")
    # what was typed is kept
    assert "Spam" in LexborHTMLParser(response.text).css_first("#block-reason").text()
    assert not _reload(session, resident).is_blocked()
    assert _count(session, AuditEntry) == 0


def test_today_as_the_end_date_blocks_until_tonight(client, session, signed_in_moderator, resident):
    today = accounts.today_in_paris()
    response = post_form(
        client,
        f"/moderation/accounts/{resident.id}/block",
        {"reason": "Spam", "until": today.isoformat()},
    )
    assert response.status_code == 303
    assert accounts.last_blocked_day(_reload(session, resident)) == today


def test_end_of_day_is_midnight_in_paris_summer_and_winter():
    assert accounts.end_of_day(date(2026, 7, 14)) == datetime(2026, 7, 14, 22, 0, tzinfo=UTC)
    assert accounts.end_of_day(date(2026, 12, 24)) == datetime(2026, 12, 24, 23, 0, tzinfo=UTC)
    before = datetime(2026, 12, 24, 12, 0, tzinfo=UTC)
    assert accounts.parse_until("2026-12-23", now=before)[1] is not None
    assert accounts.parse_until("2026-12-24", now=before)[0] == accounts.end_of_day(
        date(2026, 12, 24)
    )


def test_a_moderator_cannot_block_a_team_member_but_an_admin_can(
    client, session, signed_in_moderator
):
    colleague = make_user(session, role="staff")
    response = post_form(client, f"/moderation/accounts/{colleague.id}/block", {"reason": "Spam"})
    assert response.status_code == 403
    assert "Seul·e un·e administrateur·rice" in page_text(response.text)
    assert not _reload(session, colleague).is_blocked() and _count(session, AuditEntry) == 0
    assert "/block" not in client.get(f"/moderation/accounts/{colleague.id}").text

    login_as(client, make_user(session, role="admin"), session)
    response = post_form(client, f"/moderation/accounts/{colleague.id}/block", {"reason": "Spam"})
    assert response.status_code == 303
    assert _reload(session, colleague).is_blocked()


def test_nobody_blocks_themselves(client, session):
    admin = make_user(session, role="admin")
    login_as(client, admin, session)
    response = post_form(client, f"/moderation/accounts/{admin.id}/block", {"reason": "Test"})
    assert response.status_code == 403
    assert not _reload(session, admin).is_blocked() and _count(session, AuditEntry) == 0


def test_unblocking_clears_the_block_audits_and_tells_the_person(
    client, session, signed_in_moderator, resident
):
    accounts.block_user(session, signed_in_moderator, resident, reason="Spam")
    response = post_form(
        client, f"/moderation/accounts/{resident.id}/unblock", {"note": "Erreur de notre part"}
    )
    assert response.status_code == 303
    user = _reload(session, resident)
    assert not user.is_blocked()
    assert (user.blocked_at, user.blocked_until, user.blocked_reason) == (None, None, None)
    (entry,) = _entries(session, "user.unblock")
    assert entry.reason == "Erreur de notre part" and entry.before["blocked_reason"] == "Spam"
    note = _notes(session, resident)[-1]
    assert "débloqué" in note.message and "Erreur de notre part" in note.message


def test_unblocking_an_account_that_is_not_blocked_says_so(
    client, session, signed_in_moderator, resident
):
    response = post_form(client, f"/moderation/accounts/{resident.id}/unblock")
    assert response.status_code == 409
    assert "Ce compte n'est pas bloqué." in page_text(response.text)
    assert _count(session, AuditEntry) == 0


# --- trust ---------------------------------------------------------------------------------------


def test_trusting_and_untrusting_are_audited_told_and_idempotent(
    client, session, signed_in_moderator, resident
):
    assert post_form(client, f"/moderation/accounts/{resident.id}/trust").status_code == 303
    assert _reload(session, resident).trusted_at is not None
    response = post_form(client, f"/moderation/accounts/{resident.id}/trust")
    assert response.headers["location"].endswith("done=unchanged")
    assert len(_entries(session, "user.trust")) == 1 and len(_notes(session, resident)) == 1
    assert "sans attendre" in _notes(session, resident)[0].message

    post_form(client, f"/moderation/accounts/{resident.id}/untrust")
    assert _reload(session, resident).trusted_at is None
    (entry,) = _entries(session, "user.untrust")
    assert entry.before["trusted_at"] is not None and entry.after == {"trusted_at": None}
    assert len(_notes(session, resident)) == 2


# --- roles ---------------------------------------------------------------------------------------


def test_an_admin_changes_a_role_audited_and_told(client, session, signed_in_admin, resident):
    response = post_form(
        client,
        f"/moderation/accounts/{resident.id}/role",
        {"role": "moderator", "note": "Bénévole depuis deux ans"},
    )
    assert response.status_code == 303
    assert _reload(session, resident).role == "moderator"
    (entry,) = _entries(session, "user.role")
    assert (entry.before, entry.after) == ({"role": "resident"}, {"role": "moderator"})
    assert entry.reason == "Bénévole depuis deux ans" and entry.actor_id == signed_in_admin.id
    (note,) = _notes(session, resident)
    assert "Modérateur·rice" in note.message


def test_an_unknown_or_unchanged_role_is_refused_beside_the_field(
    client, session, signed_in_admin, resident
):
    response = post_form(client, f"/moderation/accounts/{resident.id}/role", {"role": "roi"})
    assert response.status_code == 422
    assert "Choisissez un rôle" in _field_error(response.text, "role", "role")
    response = post_form(client, f"/moderation/accounts/{resident.id}/role", {"role": "resident"})
    assert response.status_code == 422
    assert "déjà ce rôle" in _field_error(response.text, "role", "role")
    assert _count(session, AuditEntry) == 0


def _role_form_on(html: str, user: User) -> bool:
    action = f"/moderation/accounts/{user.id}/role"
    return any(f.attributes.get("action") == action for f in LexborHTMLParser(html).css("form"))


def test_an_admin_has_no_role_form_on_their_own_page_and_cannot_post_one(
    client, session, signed_in_admin
):
    make_user(session, role="admin")  # even when another admin would remain
    page = client.get(f"/moderation/accounts/{signed_in_admin.id}")
    assert page.status_code == 200 and not _role_form_on(page.text, signed_in_admin)

    response = post_form(
        client, f"/moderation/accounts/{signed_in_admin.id}/role", {"role": "staff"}
    )

    assert response.status_code == 403
    assert _reload(session, signed_in_admin).role == "admin" and _count(session, AuditEntry) == 0


def test_another_admin_changes_an_admins_role_through_the_page_form(
    client, session, signed_in_admin
):
    other = make_user(session, role="admin", display_name="Admin Bea")
    page = f"/moderation/accounts/{other.id}"

    response = submit_form(
        client, page, f"{page}/role", {"role": "staff", "note": "Passe à l'équipe"}
    )

    assert response.status_code == 303
    assert _reload(session, other).role == "staff"
    (entry,) = _entries(session, "user.role")
    assert (entry.actor_id, entry.before, entry.after) == (
        signed_in_admin.id,
        {"role": "admin"},
        {"role": "staff"},
    )
    # Now staff, the demoted admin cannot give the role back to themselves.
    login_as(client, other, session)
    assert not _role_form_on(client.get(page).text, other)
    response = post_form(client, f"{page}/role", {"role": "admin"})
    assert response.status_code == 403 and _reload(session, other).role == "staff"


def test_the_role_form_as_rendered_sends_the_account_its_current_role(
    client, session, signed_in_admin
):
    other = make_user(session, role="moderator")
    page = f"/moderation/accounts/{other.id}"

    response = submit_form(client, page, f"{page}/role")  # sent untouched: nothing to change

    assert response.status_code == 422
    assert "déjà ce rôle" in _field_error(response.text, "role", "role")


def test_two_admins_demoting_each_other_keep_the_last_one(session):
    from app.web.errors import Conflict

    first = make_user(session, role="admin")
    second = make_user(session, role="admin")
    # The second admin acts from a page read before the first demoted them.
    second_as_seen = User(id=second.id, email=second.email, display_name="B", role="admin")
    accounts.change_role(session, first, second.id, "staff")

    with pytest.raises(Conflict):
        accounts.change_role(session, second_as_seen, first.id, "staff")
    session.rollback()
    assert _reload(session, first).role == "admin"


def test_only_admins_see_the_role_form(client, session, signed_in_moderator, resident):
    assert not _role_form_on(client.get(f"/moderation/accounts/{resident.id}").text, resident)
    login_as(client, make_user(session, role="admin"), session)
    assert _role_form_on(client.get(f"/moderation/accounts/{resident.id}").text, resident)


# --- the service checks who acts, not only the route ----------------------------------------------


def test_the_services_refuse_residents_and_blocked_moderators(session, resident):
    from app.web.errors import Forbidden

    target = make_user(session)
    blocked_moderator = make_user(session, role="moderator")
    blocked_moderator.blocked_at = utcnow()
    for actor in (resident, blocked_moderator):
        with pytest.raises(Forbidden):
            accounts.block_account(session, actor, target.id, reason="x", until="")
        with pytest.raises(Forbidden):
            accounts.set_trust(session, actor, target.id, trusted=True)
        with pytest.raises(Forbidden):
            accounts.unblock_account(session, actor, target.id)
        with pytest.raises(Forbidden):
            account_file.account_detail(session, actor, target.id)
    staff = make_user(session, role="staff")
    with pytest.raises(Forbidden):
        accounts.change_role(session, staff, target.id, "admin")
    assert _count(session, AuditEntry) == 0


def test_form_errors_helper_reads_the_block_form(client, session, signed_in_moderator, resident):
    response = post_form(client, f"/moderation/accounts/{resident.id}/block", {"reason": ""})
    assert any("Indiquez le motif" in message for message in form_errors(response.text))
