"""Who may use the queue and take its decisions (table-driven), and proof that a refusal writes
nothing: anonymous visitors are sent to the login page, residents, blocked accounts and blocked
moderators get 403, and the item, its reports and the audit log stay as they were."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from app.board.models import Comment, Need, Report
from app.core.audit import AuditEntry
from tests.factories import csrf_token, fresh, make_need, make_user
from tests.moderation.access import MODERATOR_UP, ROLES, browser_as, matrix_cases
from tests.moderation.queue_helpers import count, make_comment, make_report

PAGES = {
    "/moderation/": MODERATOR_UP,
    "/moderation/queue": MODERATOR_UP,
    "/moderation/queue?kind=comment&reason=spam": MODERATOR_UP,
}

ROUTES_COVERED = {
    ("GET", "/moderation/"),
    ("GET", "/moderation/queue"),
    ("POST", "/moderation/needs/{need_id}/decision"),
    ("POST", "/moderation/comments/{comment_id}/decision"),
    ("POST", "/moderation/reports/{target_kind}/{target_id}/dismiss"),
    ("POST", "/moderation/queue/bulk"),
}

# In ROLES order: 303 to the login page, 403, or 303 back to the queue once done.
WRITERS = [303, 403, 403, 303, 403, 303, 303]
ALLOWED = ("moderator", "staff", "admin")


@pytest.mark.parametrize(("path", "who", "expected"), matrix_cases(PAGES))
def test_queue_pages_access(client, session, path, who, expected):
    browser_as(client, session, who)
    response = client.get(path, follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")


def _state(session) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    fresh(session)
    return {
        "needs": sorted((n.id, n.status) for n in session.exec(select(Need))),
        "comments": sorted((c.id, c.status) for c in session.exec(select(Comment))),
        "reports": sorted((r.id, r.status) for r in session.exec(select(Report))),
        "audit": count(session, AuditEntry),
    }


def _setup(session):  # type: ignore[no-untyped-def]
    author = make_user(session)
    need = make_need(session, author=author, status="pending")
    published = make_need(session, author=author)
    comment = make_comment(session, published, author, status="pending")
    report = make_report(session, make_user(session), "need", published.id)
    return need, published, comment, report


def _requests(need, published, comment, report):  # type: ignore[no-untyped-def]
    return {
        "need decision": (
            f"/moderation/needs/{need.id}/decision",
            {"decision": "approve", "seen_status": "pending"},
        ),
        "comment decision": (
            f"/moderation/comments/{comment.id}/decision",
            {"decision": "approve", "seen_status": "pending"},
        ),
        "dismiss": (
            f"/moderation/reports/need/{published.id}/dismiss",
            {"seen_report": str(report.id)},
        ),
        "bulk": (
            "/moderation/queue/bulk",
            {"action": "approve", "items": [f"need:{need.id}:pending:"]},
        ),
    }


@pytest.mark.parametrize("route", ["need decision", "comment decision", "dismiss", "bulk"])
@pytest.mark.parametrize(("who", "expected"), list(zip(ROLES, WRITERS, strict=True)))
def test_only_active_moderators_decide_and_a_refusal_writes_nothing(
    client, session, route, who, expected
):
    need, published, comment, report = _setup(session)
    path, data = _requests(need, published, comment, report)[route]
    browser_as(client, session, who)
    before = _state(session)
    response = client.post(
        path, data={"csrf_token": csrf_token(client), **data}, follow_redirects=False
    )
    assert response.status_code == expected
    after = _state(session)
    if who in ALLOWED:
        assert response.headers["location"].startswith("/moderation/queue")
        assert after != before and after["audit"] == before["audit"] + 1
    else:
        if expected == 303:
            assert response.headers["location"].startswith("/account/login")
        assert after == before


@pytest.mark.parametrize("route", ["need decision", "comment decision", "dismiss", "bulk"])
def test_a_decision_without_the_csrf_token_is_refused_and_writes_nothing(client, session, route):
    need, published, comment, report = _setup(session)
    path, data = _requests(need, published, comment, report)[route]
    browser_as(client, session, "moderator")
    before = _state(session)
    response = client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 403
    assert _state(session) == before
