"""Who may open and use the staff pipeline pages (table-driven): staff and admins only;
moderators, residents and blocked team members get 403, visitors the login page. A refused
POST writes nothing (no idea, no change, no audit entry)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import func, select

from app.core.audit import AuditEntry
from app.pipeline import service
from app.pipeline.models import Idea, IdeaComment, Milestone, StageChange
from tests.factories import fresh, make_need, make_user, post_form
from tests.moderation.access import ROLES, STAFF_UP, browser_as

PAGES = {
    "/moderation/ideas": STAFF_UP,
    "/moderation/ideas/list": STAFF_UP,
    "/moderation/ideas.csv": STAFF_UP,
    "/moderation/ideas/new": STAFF_UP,
    "/moderation/ideas/{idea_id}": STAFF_UP,
    "/moderation/ideas/{idea_id}/edit": STAFF_UP,
}

# For a POST, allowed roles are answered with 303 (back to the page), like visitors are sent to
# the login page; the location tells them apart.
STAFF_POST = [303, 403, 403, 403, 403, 303, 303]

# path → form data that succeeds for staff
ACTIONS: dict[str, dict[str, str]] = {
    "/moderation/ideas/new": {"title": "Une nouvelle idée", "origin": "town"},
    "/moderation/ideas/{idea_id}/move": {"to_stage": "studying", "seen_stage": "detected"},
    "/moderation/ideas/{idea_id}/edit": {"title": "Un titre changé"},
    "/moderation/ideas/{idea_id}/needs": {"need_ids": "{need_id}"},
    "/moderation/ideas/{idea_id}/study": {"study_notes": "Marché solide", "verdict": "viable"},
    "/moderation/ideas/{idea_id}/call": {"carrier_call": "Une SCIC"},
    "/moderation/ideas/{idea_id}/carrier": {"carrier_name": "Elise"},
    "/moderation/ideas/{idea_id}/enterprise": {"enterprise_name": "Club services 33"},
    "/moderation/ideas/{idea_id}/milestones": {"label": "Trouver un local"},
    "/moderation/ideas/{idea_id}/milestones/{milestone_id}": {"action": "done"},
    "/moderation/ideas/{idea_id}/comments": {"body": "À suivre"},
}

ROUTES_COVERED = {("GET", path) for path in PAGES} | {("POST", path) for path in ACTIONS}


def _setup(session) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    owner = make_user(session, role="staff")
    idea = service.create_idea(
        session, owner, service.IdeaInput(title="Une conciergerie solidaire", origin="fabrique")
    )
    milestone = Milestone(idea_id=idea.id, label="Statuts déposés", position=1)
    session.add(milestone)
    session.commit()
    need = make_need(session)
    return {"idea_id": idea.id, "milestone_id": milestone.id, "need_id": need.id}


def _snapshot(session) -> tuple[Any, ...]:  # type: ignore[no-untyped-def]
    db = fresh(session)

    def count(model):  # type: ignore[no-untyped-def]
        return db.exec(select(func.count()).select_from(model)).one()

    ideas = db.exec(select(Idea).order_by(Idea.id)).all()
    return (
        [
            (i.title, i.stage, i.study_notes, i.carrier_call, i.carrier_name, i.enterprise_name)
            for i in ideas
        ],
        count(AuditEntry),
        count(StageChange),
        count(IdeaComment),
        [(m.label, m.done_at) for m in db.exec(select(Milestone)).all()],
    )


@pytest.mark.parametrize(
    ("path", "who", "expected"),
    [(p, who, s) for p, row in PAGES.items() for who, s in zip(ROLES, row, strict=True)],
)
def test_pipeline_pages_access(client, session, path, who, expected):
    ids = _setup(session)
    browser_as(client, session, who)
    response = client.get(path.format(**ids), follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")
    if expected == 403:
        assert "Accès refusé" in response.text


@pytest.mark.parametrize(
    ("path", "who", "expected"),
    [(p, who, s) for p in ACTIONS for who, s in zip(ROLES, STAFF_POST, strict=True)],
)
def test_pipeline_actions_access_and_a_refusal_writes_nothing(client, session, path, who, expected):
    ids = _setup(session)
    before = _snapshot(session)
    browser_as(client, session, who)
    data = {k: v.format(**ids) for k, v in ACTIONS[path].items()}
    response = post_form(client, path.format(**ids), data)
    assert response.status_code == expected
    if who in ("staff", "admin"):
        assert response.headers["location"].startswith("/moderation/ideas/")
        assert _snapshot(session) != before
    else:
        if who == "anonymous":
            assert response.headers["location"].startswith("/account/login")
        assert _snapshot(session) == before
