"""Who may open and use the admin settings (moderation rules, themes, territories): admins only,
and a refused POST writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.board.models import Territory, Theme
from app.core.audit import AuditEntry
from app.core.site_config import SiteSetting
from tests.factories import csrf_token, fresh, make_territory, make_theme
from tests.moderation.access import ADMIN_ONLY, ROLES, browser_as, matrix_cases

MATRIX = {
    "/moderation/settings": ADMIN_ONLY,
    "/moderation/settings/themes": ADMIN_ONLY,
    "/moderation/settings/territories": ADMIN_ONLY,
}

ROUTES_COVERED = {
    ("GET", "/moderation/settings"),
    ("POST", "/moderation/settings"),
    ("GET", "/moderation/settings/{kind}"),
    ("POST", "/moderation/settings/{kind}"),
    ("POST", "/moderation/settings/{kind}/{category_id}"),
    ("POST", "/moderation/settings/{kind}/{category_id}/move"),
    ("POST", "/moderation/settings/{kind}/{category_id}/archive"),
    ("POST", "/moderation/settings/{kind}/{category_id}/unarchive"),
}

# What an admin's successful POST answers (a redirect to the page), per role.
POST_EXPECTED = [303, 403, 403, 403, 403, 403, 303]


@pytest.mark.parametrize(("path", "who", "expected"), matrix_cases(MATRIX))
def test_settings_pages_are_for_admins_only(client, session, path, who, expected):
    browser_as(client, session, who)
    response = client.get(path, follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")
    if expected == 403:
        assert "Accès refusé" in response.text


def _snapshot(session) -> tuple:  # type: ignore[no-untyped-def]
    fresh(session)
    categories = [
        (row.slug, row.name, row.name_en, row.position, row.archived_at)
        for model in (Theme, Territory)
        for row in session.exec(select(model).order_by(model.id))  # type: ignore[arg-type]
    ]
    settings = [(row.key, row.value) for row in session.exec(select(SiteSetting))]
    audits = session.exec(select(func.count()).select_from(AuditEntry)).one()
    return categories, settings, audits


def _posts(theme_id: int, archived_id: int) -> list[tuple[str, dict[str, str]]]:
    return [
        (
            "/moderation/settings",
            {"moderation_mode": "pre", "auto_hide_threshold": "5", "blocked_words": "arnaque"},
        ),
        ("/moderation/settings/themes", {"name": "Alimentation"}),
        ("/moderation/settings/territories", {"name": "Pessac"}),
        (f"/moderation/settings/themes/{theme_id}", {"name": "Transports", "slug": "transports"}),
        (f"/moderation/settings/themes/{theme_id}/move", {"direction": "down"}),
        (f"/moderation/settings/themes/{theme_id}/archive", {}),
        (f"/moderation/settings/themes/{archived_id}/unarchive", {}),
    ]


@pytest.mark.parametrize("index", range(7))
@pytest.mark.parametrize(("who", "expected"), list(zip(ROLES, POST_EXPECTED, strict=True)))
def test_only_admins_change_settings_and_a_refusal_writes_nothing(
    client, session, who, expected, index
):
    theme = make_theme(session, slug="mobilite", name="Mobilité")
    make_theme(session, slug="sante", name="Santé")
    archived = make_theme(session, slug="ancien", name="Ancien thème")
    from app.core.db import utcnow

    archived.archived_at = utcnow()
    session.add(archived)
    session.commit()
    make_territory(session)
    path, data = _posts(theme.id, archived.id)[index]
    browser_as(client, session, who)
    before = _snapshot(session)
    response = client.post(
        path, data={"csrf_token": csrf_token(client), **data}, follow_redirects=False
    )
    assert response.status_code == expected
    after = _snapshot(session)
    if who == "admin":
        assert response.headers["location"].startswith("/moderation/settings")
        assert after != before
        assert after[2] == before[2] + 1  # one audit entry
    else:
        assert after == before
        if expected == 303:
            assert response.headers["location"].startswith("/account/login")


@pytest.mark.parametrize(
    "path",
    [
        "/moderation/settings/tags",
        "/moderation/settings/themes/999999",
        "/moderation/settings/themes/99999999999/move",
    ],
)
def test_unknown_kinds_and_ids_are_not_found(client, session, path):
    browser_as(client, session, "admin")
    token = csrf_token(client)
    response = client.post(
        path, data={"csrf_token": token, "name": "X y z", "direction": "up"}, follow_redirects=False
    )
    assert response.status_code == 404
    if path.endswith("tags"):
        assert client.get(path).status_code == 404
