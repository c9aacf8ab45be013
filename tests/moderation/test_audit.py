"""The audit log: written with the action or not at all, filtered, exported, never edited."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlmodel import func, select

from app.core import audit
from app.core.audit import AuditEntry
from app.core.db import utcnow
from tests.factories import login_as, make_need, make_user


def _count(session) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(AuditEntry)).one()


def test_an_entry_is_written_with_its_action_or_not_at_all(session):
    moderator = make_user(session, role="moderator")
    need = make_need(session)
    need.status = "hidden"
    audit.record(
        session,
        moderator,
        "need.hide",
        "need",
        need.id,
        reason="Spam",
        before={"status": "published"},
        after={"status": "hidden", "at": utcnow()},
    )
    session.rollback()
    assert _count(session) == 0

    audit.record(session, moderator, "need.hide", "need", need.id, reason="Spam")
    session.commit()
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.actor_id, entry.actor_name, entry.action) == (
        moderator.id,
        moderator.display_name,
        "need.hide",
    )


def test_before_and_after_keep_dates_as_text(session):
    admin = make_user(session, role="admin")
    when = utcnow()
    audit.record(session, admin, "user.block", "user", 7, after={"until": when})
    session.commit()
    assert session.exec(select(AuditEntry)).one().after == {"until": when.isoformat()}


def _seed(session):  # type: ignore[no-untyped-def]
    alice = make_user(session, role="moderator", display_name="Alice")
    bob = make_user(session, role="staff", display_name="Bob")
    audit.record(session, alice, "need.hide", "need", 1, reason="Spam")
    audit.record(session, bob, "need.restore", "need", 1, reason="Erreur")
    old = audit.record(session, alice, "comment.hide", "comment", 9, reason="=HYPERLINK(1)")
    old.created_at = utcnow() - timedelta(days=40)
    session.commit()
    return alice, bob


def test_staff_read_the_log_with_filters(client, session):
    alice, bob = _seed(session)
    login_as(client, bob, session)
    page = client.get("/moderation/audit").text
    assert page.count("<tr>") == 4  # header + 3 entries
    assert client.get("/moderation/audit", params={"actor": alice.id}).text.count("<tr>") == 3
    assert (
        client.get("/moderation/audit", params={"action": "need.restore"}).text.count("<tr>") == 2
    )
    recent = client.get(
        "/moderation/audit", params={"since": (utcnow() - timedelta(days=7)).date().isoformat()}
    )
    assert recent.text.count("<tr>") == 3


def test_bad_filters_get_a_french_message_not_a_500(client, session):
    login_as(client, make_user(session, role="admin"), session)
    for params in ({"since": "hier"}, {"actor": "abc"}, {"page": "-1"}, {"target_id": "²"}):
        response = client.get("/moderation/audit", params=params)
        assert response.status_code == 400
        assert "Indiquez" in response.text or "numéro de page" in response.text


def test_csv_export_has_every_column_and_defuses_formulas(client, session):
    _alice, bob = _seed(session)
    login_as(client, bob, session)
    response = client.get("/moderation/audit.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == audit.CSV_COLUMNS
    assert len(rows) == 4
    reasons = {row[7] for row in rows[1:]}
    assert "'=HYPERLINK(1)" in reasons  # a spreadsheet will not run it
