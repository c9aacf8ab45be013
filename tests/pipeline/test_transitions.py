"""The stage rules of the pipeline (app/pipeline/service.py docstring), the optimistic check
on moves, their audit entries and who is told."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import func, select

from app.accounts.models import User
from app.board.models import Follow, Notification, NotificationPreference, Support
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.pipeline import service
from app.pipeline.models import Idea, StageChange
from app.web.errors import Conflict, Forbidden, Invalid
from tests.factories import fresh, login_as, make_idea, make_need, make_user, page_text, post_form


def _move(session, staff, idea, to_stage, note="", confirmed=True):
    """A move with its confirmation ticked (steps back ask for one: tested on its own)."""
    return service.move_idea(
        session,
        staff,
        idea.id,
        to_stage,
        seen_stage=idea.stage,
        note=note,
        confirmed_backward=confirmed,
    )


def _refusal(session, staff, idea, to_stage, note="", confirmed=True):
    with pytest.raises(Invalid) as caught:
        _move(session, staff, idea, to_stage, note, confirmed)
    session.rollback()
    assert fresh(session).get(Idea, idea.id).stage == idea.stage
    return caught.value.errors


READY = {
    "verdict": "viable",
    "carrier_call": "Une structure d'insertion",
    "carrier_name": "Association Emmaüs Connect",
    "enterprise_name": "Club services 33",
    "legal_form": "scic",
    "launch_date": date(2024, 3, 1),
    "jobs_created": 0,
}


def test_an_idea_goes_forward_one_stage_at_a_time_with_each_stages_data(session, staff_user):
    idea = make_idea(session, actor=staff_user, **READY)
    for stage in ("studying", "seeking_carrier", "launching", "launched"):
        idea = _move(session, staff_user, idea, stage)
        assert idea.stage == stage
    timeline = service.timeline(session, idea)
    assert [(c.from_stage, c.to_stage) for c in timeline] == [
        (None, "detected"),
        ("detected", "studying"),
        ("studying", "seeking_carrier"),
        ("seeking_carrier", "launching"),
        ("launching", "launched"),
    ]
    assert all(c.actor_name == "Awa Diallo" for c in timeline)


def test_skipping_a_stage_is_refused(session, staff_user):
    idea = make_idea(session, actor=staff_user, **READY)
    assert "stage" in _refusal(session, staff_user, idea, "seeking_carrier")
    assert "stage" in _refusal(session, staff_user, idea, "launched")


def test_seeking_a_carrier_needs_a_viable_verdict_and_a_call(session, staff_user):
    idea = make_idea(session, actor=staff_user, stage="studying")
    errors = _refusal(session, staff_user, idea, "seeking_carrier")
    assert set(errors) == {"verdict", "carrier_call"}
    idea = make_idea(
        session, actor=staff_user, stage="studying", verdict="to_complete", carrier_call="Profil"
    )
    assert set(_refusal(session, staff_user, idea, "seeking_carrier")) == {"verdict"}
    idea = make_idea(
        session, actor=staff_user, stage="studying", verdict="viable", carrier_call="Profil"
    )
    assert _move(session, staff_user, idea, "seeking_carrier").stage == "seeking_carrier"


def test_launching_needs_a_carrier(session, staff_user):
    idea = make_idea(session, actor=staff_user, stage="seeking_carrier", carrier_name="  ")
    assert set(_refusal(session, staff_user, idea, "launching")) == {"carrier_name"}


def test_launched_needs_name_form_date_and_jobs_where_zero_jobs_counts(session, staff_user):
    idea = make_idea(session, actor=staff_user, stage="launching")
    errors = _refusal(session, staff_user, idea, "launched")
    assert set(errors) == {"enterprise_name", "legal_form", "launch_date", "jobs_created"}
    idea = make_idea(session, actor=staff_user, stage="launching", **READY)
    assert _move(session, staff_user, idea, "launched").jobs_created == 0


def test_going_back_needs_a_note(session, staff_user):
    idea = make_idea(session, actor=staff_user, stage="seeking_carrier")
    assert set(_refusal(session, staff_user, idea, "studying", note="   ")) == {"note"}
    moved = _move(session, staff_user, idea, "detected", note="L'étude est à refaire")
    assert moved.stage == "detected"
    assert service.timeline(session, moved)[-1].note == "L'étude est à refaire"


def test_going_back_needs_its_confirmation_ticked_and_says_from_where_to_where(session, staff_user):
    idea = make_idea(session, actor=staff_user, stage="seeking_carrier")
    errors = _refusal(session, staff_user, idea, "studying", note="", confirmed=False)
    assert set(errors) == {"note", "confirm_backward"}
    assert "Recherche de porteur\xa0» à «\xa0À l'étude" in errors["confirm_backward"]
    # Forward, abandoning and reopening ask for no such confirmation.
    assert _move(
        session, staff_user, make_idea(session, actor=staff_user), "studying", confirmed=False
    )
    abandoned = _move(session, staff_user, idea, "abandoned", note="Stop", confirmed=False)
    assert abandoned.stage == "abandoned"
    # (This idea was made at its stage directly: it reached « Détectée » only.)
    reopened = _move(session, staff_user, abandoned, "detected", note="Reprise", confirmed=False)
    assert reopened.stage == "detected"


def test_abandoning_needs_a_reason_which_is_kept(session, staff_user):
    idea = make_idea(session, actor=staff_user, stage="studying")
    assert set(_refusal(session, staff_user, idea, "abandoned")) == {"note"}
    moved = _move(session, staff_user, idea, "abandoned", note="Un service existe déjà")
    assert moved.stage == "abandoned" and moved.abandon_reason == "Un service existe déjà"


def test_a_launched_enterprise_cannot_be_abandoned(session, staff_user):
    idea = make_idea(session, actor=staff_user, stage="launched", **READY)
    errors = _refusal(session, staff_user, idea, "abandoned", note="Fermée")
    assert "ne peut pas être abandonnée" in errors["stage"]


def test_an_abandoned_idea_reopens_only_at_a_stage_it_reached_and_with_a_note(session, staff_user):
    idea = make_idea(session, actor=staff_user)
    idea = _move(session, staff_user, idea, "studying")
    idea = _move(session, staff_user, idea, "abandoned", note="Pas de marché")
    assert "stage" in _refusal(session, staff_user, idea, "seeking_carrier", note="On reprend")
    assert set(_refusal(session, staff_user, idea, "studying")) == {"note"}
    assert (
        _move(session, staff_user, idea, "studying", note="Nouveau financeur").stage == "studying"
    )


def test_moving_to_the_same_or_an_unknown_stage_is_refused(session, staff_user):
    idea = make_idea(session, actor=staff_user)
    assert "stage" in _refusal(session, staff_user, idea, "detected")
    assert "stage" in _refusal(session, staff_user, idea, "nowhere")


def test_only_active_staff_move_ideas(session, staff_user):
    idea = make_idea(session, actor=staff_user)
    for role in ("resident", "moderator"):
        with pytest.raises(Forbidden):
            _move(session, make_user(session, role=role), idea, "studying")
    assert fresh(session).get(Idea, idea.id).stage == "detected"


def test_a_move_is_audited_with_before_and_after(session, staff_user):
    idea = make_idea(session, actor=staff_user, stage="studying")
    _move(session, staff_user, idea, "detected", note="À requalifier")
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "idea.move")).one()
    assert entry.target_kind == "idea" and entry.target_id == idea.id
    assert entry.before == {"stage": "studying"} and entry.after == {"stage": "detected"}
    assert entry.reason == "À requalifier" and entry.actor_name == "Awa Diallo"


# --- over HTTP: the optimistic check -----------------------------------------------------------


def test_a_stale_move_is_a_409_naming_who_moved_it_and_writes_nothing(client, session, staff_user):
    idea = make_idea(session, actor=staff_user)
    _move(session, staff_user, idea, "studying")
    other = make_user(session, role="staff")
    login_as(client, other, session)
    before = fresh(session).exec(select(func.count()).select_from(AuditEntry)).one()
    for origin in ("idea", "board"):
        response = post_form(
            client,
            f"/moderation/ideas/{idea.id}/move",
            {"from": origin, "seen_stage": "detected", "to_stage": "studying"},
        )
        assert response.status_code == 409
        text = page_text(response.text).replace("\xa0", " ").replace("\u202f", " ")
        assert "déjà été déplacée par Awa Diallo" in text
    db = fresh(session)
    assert db.get(Idea, idea.id).stage == "studying"
    assert db.exec(select(func.count()).select_from(AuditEntry)).one() == before
    assert len(db.exec(select(StageChange).where(StageChange.idea_id == idea.id)).all()) == 2


def test_a_refused_move_on_the_idea_page_is_a_422_next_to_the_field(client, session, staff_user):
    idea = make_idea(session, actor=staff_user, stage="studying")
    login_as(client, staff_user, session)
    response = post_form(
        client,
        f"/moderation/ideas/{idea.id}/move",
        {"seen_stage": "studying", "to_stage": "abandoned", "note": ""},
    )
    assert response.status_code == 422
    assert "Indiquez la raison de l'abandon." in page_text(response.text, "#f-note-error")
    assert fresh(session).get(Idea, idea.id).stage == "studying"
    response = post_form(
        client,
        f"/moderation/ideas/{idea.id}/move",
        {"seen_stage": "studying", "to_stage": "abandoned", "note": "Non viable"},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/moderation/ideas/{idea.id}?saved=moved")


def test_an_internal_note_stays_off_the_public_timeline(client, session, staff_user):
    idea = make_idea(session, actor=staff_user, stage="studying")
    login_as(client, staff_user, session)
    post_form(
        client,
        f"/moderation/ideas/{idea.id}/move",
        {
            "seen_stage": "studying",
            "to_stage": "detected",
            "note": "Budget",
            "internal_note": "1",
            "confirm_backward": "1",
        },
    )
    public = service.timeline(fresh(session), idea, public_only=True)
    assert [c.to_stage for c in public] == ["detected"]  # the creation only


# --- notifications -----------------------------------------------------------------------------


def _people(session):
    author, supporter, follower = (make_user(session) for _ in range(3))
    need = make_need(session, author=author)
    session.add(Support(need_id=need.id, user_id=supporter.id))
    session.add(Follow(need_id=need.id, user_id=follower.id))
    session.commit()
    return need, {author.id, supporter.id, follower.id}


def _notified(session):
    rows = fresh(session).exec(select(Notification)).all()
    return rows


def _age_notifications(session, minutes: int) -> None:  # type: ignore[no-untyped-def]
    for row in session.exec(select(Notification)).all():
        row.created_at -= timedelta(minutes=minutes)
        if row.emailed_at is not None:
            row.emailed_at -= timedelta(minutes=minutes)
        session.add(row)
    session.commit()


def test_a_public_move_tells_the_author_supporters_and_followers(session, staff_user):
    need, people = _people(session)
    idea = make_idea(session, actor=staff_user, needs=[need], is_public=True)
    assert {n.user_id for n in _notified(session)} == people
    _age_notifications(session, 20)  # the idea was made a while ago
    created = {n.id for n in _notified(session)}
    _move(session, staff_user, idea, "studying")
    moved = [n for n in _notified(session) if n.id not in created]
    assert {n.user_id for n in moved} == people
    assert all(n.kind == "pipeline" and n.need_id == need.id for n in moved)
    assert all("À l'étude" in n.message for n in moved)


def test_moves_in_a_row_bring_one_notification_up_to_date_and_mail_once(
    session, staff_user, mailbox
):
    need, people = _people(session)
    for person in people:  # confirmed addresses that chose « at once » for the pipeline
        person_row = session.get(User, person)
        person_row.email_verified_at = utcnow()  # type: ignore[union-attr]
        session.add(person_row)
        session.add(NotificationPreference(user_id=person, kind="pipeline", email_mode="immediate"))
    session.commit()
    idea = make_idea(session, actor=staff_user, needs=[need], is_public=True)
    idea = _move(session, staff_user, idea, "studying")
    idea = _move(session, staff_user, idea, "detected", note="Étude à reprendre")
    idea = _move(session, staff_user, idea, "studying")
    rows = _notified(session)
    # One line per person, saying where the idea stands now.
    assert sorted(n.user_id for n in rows) == sorted(people)
    assert all("À l'étude" in n.message and n.read_at is None for n in rows)
    mails = mailbox.deliver()
    assert sorted(m["To"] for m in mails) == sorted(
        fresh(session).get(User, p).email  # type: ignore[union-attr]
        for p in people
    )


def test_a_person_behind_two_needs_of_an_idea_is_told_once_per_move(session, staff_user):
    first, people = _people(session)
    second = make_need(session)
    supporter = min(people)
    session.add(Support(need_id=second.id, user_id=supporter))
    session.commit()
    make_idea(session, actor=staff_user, needs=[first, second], is_public=True)
    rows = [n for n in _notified(session) if n.user_id == supporter]
    assert len(rows) == 1 and rows[0].need_id == first.id


def test_each_person_is_told_in_their_own_language(session, staff_user):
    need, people = _people(session)
    english = fresh(session).get(User, min(people))
    english.locale = "en"  # type: ignore[union-attr]
    session.add(english)
    session.commit()
    idea = make_idea(session, actor=staff_user, needs=[need], is_public=True)
    _age_notifications(session, 20)
    created = {n.id for n in _notified(session)}
    _move(session, staff_user, idea, "studying")
    latest = {n.user_id: n.message for n in _notified(session) if n.id not in created}
    assert set(latest) == people
    assert "Under study" in latest[min(people)] and "À l'étude" not in latest[min(people)]
    assert all("À l'étude" in text for who, text in latest.items() if who != min(people))


def test_a_private_idea_tells_nobody(session, staff_user):
    need, _people_ids = _people(session)
    idea = make_idea(session, actor=staff_user, needs=[need], is_public=False)
    _move(session, staff_user, idea, "studying")
    assert _notified(session) == []


def test_the_staff_member_who_moves_is_not_notified(session, staff_user):
    need = make_need(session, author=staff_user)
    idea = make_idea(session, actor=staff_user, needs=[need], is_public=True)
    _move(session, staff_user, idea, "studying")
    assert _notified(session) == []


def test_conflict_is_raised_by_the_service_itself(session, staff_user):
    idea = make_idea(session, actor=staff_user)
    _move(session, staff_user, idea, "studying")
    with pytest.raises(Conflict):
        service.move_idea(session, staff_user, idea.id, "studying", seen_stage="detected")
