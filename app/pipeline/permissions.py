"""Who may do what in the pipeline: ideas, their stages and documents, partners, applications.
Small commented functions, tested table by table without HTTP (tests/pipeline/
test_permissions.py); the staff routes guard with accounts.deps.require_role, the services
check again here."""

from __future__ import annotations

from app.accounts.models import Role, User
from app.accounts.permissions import ensure_role, has_active_role
from app.pipeline.models import Idea


def ensure_staff(user: User | None) -> User:
    # Ideas, stages, documents, partners, applications' answers: the fabrique's team (staff and
    # admins) when not blocked; moderators keep the board clean but do not run the pipeline.
    return ensure_role(user, Role.staff)


def can_view_idea(user: User | None, idea: Idea) -> bool:
    # Public ideas for everyone; one not yet public is previewed by the team only.
    return idea.is_public or has_active_role(user, Role.staff)
