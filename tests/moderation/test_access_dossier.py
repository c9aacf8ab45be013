"""Who may open the demand dossier of an idea and its CSV (issue 17, item 2): staff and admins
only, like the rest of the pipeline; moderators, residents and blocked team members get 403,
visitors the login page — and none of them a byte of the dossier."""

from __future__ import annotations

import pytest

from tests.factories import make_idea, make_need
from tests.moderation.access import ROLES, STAFF_UP, browser_as

PAGES = {
    "/moderation/ideas/{idea_id}/dossier": STAFF_UP,
    "/moderation/ideas/{idea_id}/dossier.csv": STAFF_UP,
}

ROUTES_COVERED = {("GET", path) for path in PAGES}


@pytest.mark.parametrize(
    ("path", "who", "expected"),
    [(p, who, s) for p, row in PAGES.items() for who, s in zip(ROLES, row, strict=True)],
)
def test_dossier_access(client, session, path, who, expected):
    need = make_need(session, title="Un besoin confidentiel du dossier")
    idea = make_idea(session, "Une idée interne", needs=[need])
    browser_as(client, session, who)
    response = client.get(path.format(idea_id=idea.id), follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")
    if expected != 200:
        assert "Un besoin confidentiel du dossier" not in response.text
    else:
        assert "Un besoin confidentiel du dossier" in response.text
