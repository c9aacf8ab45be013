"""Automatic hiding (issue 4, item 2): a need or comment reported by N distinct accounts (admin
setting, default 3) is hidden until a moderator reviews it — at exactly N, not before —, in
the report's transaction, audited as the system and told to its author. Staff content is
exempt. Two last reports at once hide it once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.models import User
from app.board import reports
from app.board.comments import post_comment
from app.board.models import Comment, Need, Notification, Report, ReportTarget
from app.core.audit import AuditEntry
from app.core.site_config import set_value
from tests.factories import fresh, login_as, make_need, make_user, post_form


def report(session: Session, reporter: User, kind: str, target_id: int) -> Report:
    subject = reports.load_subject(session, reporter, ReportTarget(kind), target_id)
    return reports.create_report(
        session, reporter, subject, reason="spam", detail="", ip="", rate_limits=False
    )


def status(session: Session, model: type, item_id: int) -> str:  # type: ignore[type-arg]
    return fresh(session).get(model, item_id).status  # type: ignore[union-attr]


def audits(session: Session) -> list[AuditEntry]:
    return list(fresh(session).exec(select(AuditEntry)))


def moderation_notes(session: Session, user_id: int) -> list[Notification]:
    return list(
        fresh(session).exec(
            select(Notification).where(
                Notification.user_id == user_id, Notification.kind == "moderation"
            )
        )
    )


def test_a_need_is_hidden_at_the_third_distinct_reporter_not_before(client, session):
    author = make_user(session)
    need = make_need(session, author=author, title="Un besoin qui sera signalé trois fois")
    report(session, make_user(session), "need", need.id)
    report(session, make_user(session), "need", need.id)
    assert status(session, Need, need.id) == "published"
    assert need.title in client.get("/").text
    assert audits(session) == [] and moderation_notes(session, author.id) == []

    report(session, make_user(session), "need", need.id)
    hidden = fresh(session).get(Need, need.id)
    assert hidden.status == "hidden"  # type: ignore[union-attr]
    assert hidden.moderation_reason == (  # type: ignore[union-attr]
        "Masqué automatiquement après 3 signalements, en attente d'examen par l'équipe de "
        "modération."
    )
    assert need.title not in client.get("/").text
    (entry,) = audits(session)
    assert (entry.actor_id, entry.actor_name, entry.action, entry.target_kind) == (
        None,
        "Automatique",
        "need.auto_hide",
        "need",
    )
    assert entry.target_id == need.id
    assert entry.before == {"status": "published"}
    assert entry.after == {"status": "hidden", "open_reports": 3}
    (note,) = moderation_notes(session, author.id)
    assert "masqué automatiquement après 3 signalements" in note.message
    assert note.need_id == need.id and note.actor_id is None

    # A fourth report (only the team still sees the need) changes nothing more.
    report(session, make_user(session, role="moderator"), "need", need.id)
    assert len(audits(session)) == 1 and len(moderation_notes(session, author.id)) == 1


def test_through_the_report_form_too(client, session):
    need = make_need(session)
    for _ in range(3):
        login_as(client, make_user(session), session)
        response = post_form(
            client, "/report", {"kind": "need", "id": str(need.id), "reason": "abusive"}
        )
        assert response.status_code == 303
    assert status(session, Need, need.id) == "hidden"


def test_the_same_reporter_twice_counts_once(session):
    need = make_need(session)
    twice = make_user(session)
    report(session, twice, "need", need.id)
    with pytest.raises(reports.AlreadyReported):
        report(session, twice, "need", need.id)
    report(session, make_user(session), "need", need.id)
    assert status(session, Need, need.id) == "published"
    # A closed report does not count either.
    closed = make_user(session)
    session.add(
        Report(
            reporter_id=closed.id,  # type: ignore[arg-type]
            target_kind="need",
            target_id=need.id,
            reason="spam",
            status="dismissed",
        )
    )
    session.commit()
    assert reports.distinct_open_reporters(fresh(session), "need", need.id) == 2
    assert status(session, Need, need.id) == "published"


def test_the_threshold_is_the_admins_setting(session):
    set_value(session, "auto_hide_threshold", 2, user_id=None)
    session.commit()
    need = make_need(session)
    report(session, make_user(session), "need", need.id)
    assert status(session, Need, need.id) == "published"
    report(session, make_user(session), "need", need.id)
    assert status(session, Need, need.id) == "hidden"


def test_a_covered_need_is_hidden_too_and_a_pending_one_is_left_alone(session):
    covered = make_need(session, status="covered")
    author = make_user(session)
    pending = make_need(session, author=author, status="pending")
    for _ in range(3):
        report(session, make_user(session), "need", covered.id)
    assert status(session, Need, covered.id) == "hidden"
    # A pending need is only visible to its author and the team; moderators may report it.
    for _ in range(3):
        report(session, make_user(session, role="moderator"), "need", pending.id)
    assert status(session, Need, pending.id) == "pending"
    assert [e.target_id for e in audits(session)] == [covered.id]


def test_a_comment_is_hidden_at_the_threshold_and_leaves_the_count(session):
    need = make_need(session)
    author = make_user(session)
    comment = post_comment(session, need.id, author, "Un commentaire signalé.")
    post_comment(session, need.id, make_user(session), "Un autre, qui reste.")
    assert fresh(session).get(Need, need.id).comments_count == 2  # type: ignore[union-attr]
    report(session, make_user(session), "comment", comment.id)
    report(session, make_user(session), "comment", comment.id)
    assert status(session, Comment, comment.id) == "published"
    report(session, make_user(session), "comment", comment.id)
    hidden = fresh(session).get(Comment, comment.id)
    assert hidden.status == "hidden"  # type: ignore[union-attr]
    assert "Masqué automatiquement après 3 signalements" in hidden.moderation_reason  # type: ignore[union-attr]
    assert fresh(session).get(Need, need.id).comments_count == 1  # type: ignore[union-attr]
    (entry,) = audits(session)
    assert (entry.action, entry.actor_name, entry.target_id) == (
        "comment.auto_hide",
        "Automatique",
        comment.id,
    )
    (note,) = moderation_notes(session, author.id)
    assert note.comment_id == comment.id and "commentaire" in note.message


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_staff_content_is_never_hidden_automatically(session, role):
    member = make_user(session, role=role)
    need = make_need(session, author=member)
    comment = post_comment(session, make_need(session).id, member, "Précision de l'équipe.")
    for _ in range(4):
        report(session, make_user(session), "need", need.id)
        report(session, make_user(session), "comment", comment.id)
    assert status(session, Need, need.id) == "published"
    assert status(session, Comment, comment.id) == "published"
    assert audits(session) == []


def test_a_need_collected_offline_by_staff_is_exempt(session):
    staff = make_user(session, role="staff")
    need = make_need(session)
    need.author_id = None
    need.recorded_by_id = staff.id
    session.add(need)
    session.commit()
    for _ in range(3):
        report(session, make_user(session), "need", need.id)
    assert status(session, Need, need.id) == "published"


# --- two last reports at once --------------------------------------------------------------


def run_together(count: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(count, timeout=60)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(work, i, barrier) for i in range(count)]
        return [f.result() for f in futures]


@pytest.mark.parametrize("already", [1, 0])
def test_simultaneous_last_reports_hide_once_and_decrement_once(app, session, already):
    """With one report in, two more at once reach the threshold together (and with none in,
    five at once pass it): the comment is hidden once, its need's count drops by exactly one,
    one audit entry, one notification."""
    engine = app.state.engine
    need = make_need(session)
    author = make_user(session)
    comment = post_comment(session, need.id, author, "Un commentaire qui fâche.")
    if already:
        report(session, make_user(session), "comment", comment.id)
    count = 2 if already else 5
    reporter_ids = [make_user(session).id for _ in range(count)]

    def work(i: int, barrier: threading.Barrier) -> None:
        with Session(engine, expire_on_commit=False) as db:
            db.info["settings"] = app.state.settings
            reporter = db.get(User, reporter_ids[i])
            subject = reports.load_subject(db, reporter, ReportTarget.comment, comment.id)  # type: ignore[arg-type]
            db.rollback()  # give the connection back before the race
            barrier.wait()
            reports.create_report(
                db, reporter, subject, reason="spam", detail="", ip="", rate_limits=False
            )  # type: ignore[arg-type]

    run_together(count, work)
    assert status(session, Comment, comment.id) == "hidden"
    assert fresh(session).get(Need, need.id).comments_count == 0  # type: ignore[union-attr]
    assert [e.action for e in audits(session)] == ["comment.auto_hide"]
    assert len(moderation_notes(session, author.id)) == 1
    total = session.exec(select(func.count()).select_from(Report)).one()
    assert total == count + already


def test_a_moderator_restoring_it_closes_the_reports_so_the_next_one_does_not_hide_it(session):
    from app.moderation.service import decide

    need = make_need(session, author=make_user(session))
    for _ in range(3):
        report(session, make_user(session), "need", need.id)
    assert status(session, Need, need.id) == "hidden"

    decide(
        session,
        make_user(session, role="moderator"),
        "need",
        need.id,
        "restore",
        seen_status="hidden",
    )
    open_reports = fresh(session).exec(
        select(func.count()).where(Report.target_id == need.id, Report.status == "open")
    )
    assert open_reports.one() == 0
    report(session, make_user(session), "need", need.id)  # one new report: below the threshold
    assert status(session, Need, need.id) == "published"
