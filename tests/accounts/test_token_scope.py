"""Personal API tokens are for the JSON API only: on the site's pages they sign nobody in.

A token given to a partner's script can leak. With it and no session cookie, none of these may
work: reading the account page (address, sessions), minting a new token (revoking the leaked
one would then not end access), setting a password on a link-only account, downloading the
account's data, or opening the back office with a staff member's token. A password reset
revokes every token.
"""

from __future__ import annotations

import pytest

from app.accounts import service as accounts
from app.accounts.deps import SESSION_COOKIE
from app.accounts.models import ApiToken
from app.core.db import utcnow
from tests.accounts.helpers import count, reload
from tests.factories import make_need, make_user, post_form, submit_form


def _token_only(client, session, user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Headers of a client holding `user`'s token and no session (a CSRF cookie it has, from
    visiting a page, so forms reach their route)."""
    raw = accounts.create_api_token(session, user, "Script du partenaire")
    client.get("/account/login")
    client.cookies.delete(SESSION_COOKIE)
    return {"Authorization": f"Bearer {raw}"}


def _is_login_redirect(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 303 and response.headers["location"].startswith("/account/login")


def test_the_account_page_does_not_open_with_a_token(client, session):
    user = make_user(session, email="camille@exemple.fr")
    headers = _token_only(client, session, user)

    response = client.get("/account", headers=headers, follow_redirects=False)

    assert _is_login_redirect(response)
    assert "camille@exemple.fr" not in response.text


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_a_token_cannot_mint_another_token(client, session, scheme):
    user = make_user(session)
    raw = accounts.create_api_token(session, user, "Fuite")
    client.get("/account/login")

    response = post_form(
        client,
        "/account/tokens",
        {"label": "Ma porte"},
        headers={"Authorization": f"{scheme} {raw}"},
    )

    assert _is_login_redirect(response)
    assert count(session, ApiToken, ApiToken.user_id == user.id) == 1


def test_a_token_cannot_set_a_password_on_a_link_only_account(client, session):
    user = make_user(session, password=None)
    headers = _token_only(client, session, user)

    response = post_form(
        client,
        "/account/password",
        {"current_password": "", "new_password": "un-mot-de-passe-vole"},
        headers=headers,
    )

    assert _is_login_redirect(response)
    assert reload(session, user).password_hash is None


def test_a_token_cannot_download_the_accounts_data(client, session):
    user = make_user(session, email="dominique@exemple.fr")
    headers = _token_only(client, session, user)

    response = client.get("/account/export", headers=headers, follow_redirects=False)

    assert _is_login_redirect(response)
    assert "dominique@exemple.fr" not in response.text


@pytest.mark.parametrize(
    "path", ["/moderation/", "/moderation/webhooks", "/moderation/partners", "/moderation/ideas"]
)
def test_a_staff_token_does_not_open_the_back_office(client, session, path):
    admin = make_user(session, role="admin")
    headers = _token_only(client, session, admin)

    response = client.get(path, headers=headers, follow_redirects=False)

    assert _is_login_redirect(response)


def test_a_token_does_not_show_as_signed_in_on_public_pages(client, session):
    user = make_user(session, display_name="Camille Jeton")
    headers = _token_only(client, session, user)

    response = client.get("/", headers=headers)

    assert response.status_code == 200
    assert "Camille Jeton" not in response.text
    assert 'action="/account/logout"' not in response.text


def test_with_a_session_the_header_is_simply_ignored(client, session):
    # A site behind an HTTP password makes browsers send `Authorization: Basic …` on every
    # request: the person signed in with their cookie must keep working.
    from tests.factories import login_as

    user = make_user(session, display_name="Camille Cookie")
    login_as(client, user, session)

    response = client.get("/account", headers={"Authorization": "Basic dXNlcjpwYXNz"})

    assert response.status_code == 200
    assert "Camille Cookie" in response.text


def test_the_token_still_works_on_the_api(client, session):
    user = make_user(session)
    need = make_need(session)
    headers = _token_only(client, session, user)

    response = client.put(f"/api/v1/needs/{need.id}/support", headers=headers)

    assert response.status_code in (200, 201)


def test_a_password_reset_revokes_every_token(client, session, mailbox):
    user = make_user(session, email="eve@exemple.fr")
    raw_tokens = [accounts.create_api_token(session, user, f"Script {n}") for n in range(2)]
    need = make_need(session)

    submit_form(
        client, "/account/password/forgot", "/account/password/forgot", {"email": "eve@exemple.fr"}
    )
    link = mailbox.last_link("eve@exemple.fr", "/account/password/reset")
    response = submit_form(
        client, link, "/account/password/reset", {"password": "un-tout-nouveau-secret"}
    )
    assert _is_login_redirect(response)

    for raw in raw_tokens:
        api = client.put(
            f"/api/v1/needs/{need.id}/support", headers={"Authorization": f"Bearer {raw}"}
        )
        assert api.status_code == 401
    assert count(session, ApiToken, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)) == 0


def test_the_account_page_lists_each_tokens_last_use(client, session):
    from tests.factories import login_as

    user = make_user(session)
    raw = accounts.create_api_token(session, user, "Script du centre social")
    need = make_need(session)
    client.put(f"/api/v1/needs/{need.id}/support", headers={"Authorization": f"Bearer {raw}"})
    token = session.exec(
        ApiToken.__table__.select().where(ApiToken.user_id == user.id)  # type: ignore[attr-defined]
    ).one()
    assert token.last_used_at is not None
    assert abs((utcnow() - token.last_used_at.replace(tzinfo=utcnow().tzinfo)).total_seconds()) < 60

    login_as(client, user, session)
    page = client.get("/account").text
    assert "Script du centre social" in page
    assert "jamais" not in page.split("Script du centre social", 1)[1].split("</tr>", 1)[0]
