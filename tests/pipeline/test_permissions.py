"""app.pipeline.permissions, table by table and without HTTP: role × blocked × action."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.accounts.models import Role, User
from app.core.db import utcnow
from app.pipeline.models import Idea
from app.pipeline.permissions import can_view_idea, ensure_staff
from app.web.errors import Forbidden

NOW = utcnow()


def user(role: Role, *, blocked: bool = False) -> User:
    return User(
        id=1,
        email="u1@exemple.fr",
        display_name="U1",
        role=role.value,
        blocked_at=NOW - timedelta(days=1) if blocked else None,
    )


CASES = [
    # (role, blocked, runs the pipeline, previews an idea not yet public)
    (Role.resident, False, False, False),
    (Role.resident, True, False, False),
    (Role.moderator, False, False, False),
    (Role.moderator, True, False, False),
    (Role.staff, False, True, True),
    (Role.staff, True, False, False),
    (Role.admin, False, True, True),
    (Role.admin, True, False, False),
]


@pytest.mark.parametrize(("role", "blocked", "runs", "previews"), CASES)
def test_who_runs_the_pipeline_and_previews_ideas(role, blocked, runs, previews):
    actor = user(role, blocked=blocked)

    if runs:
        assert ensure_staff(actor) is actor
    else:
        with pytest.raises(Forbidden):
            ensure_staff(actor)
    assert can_view_idea(actor, Idea(title="Une idée", is_public=False)) is previews
    assert can_view_idea(actor, Idea(title="Une idée", is_public=True)) is True


def test_a_visitor_sees_public_ideas_only_and_runs_nothing():
    assert can_view_idea(None, Idea(title="Une idée", is_public=True)) is True
    assert can_view_idea(None, Idea(title="Une idée", is_public=False)) is False
    with pytest.raises(Forbidden):
        ensure_staff(None)
