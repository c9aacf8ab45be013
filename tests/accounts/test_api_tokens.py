"""Personal API tokens from the account page: shown once, stored hashed, listed by label and
prefix, revocable by their owner only."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.accounts import service
from app.accounts.models import ApiToken
from app.accounts.tokens import hash_secret
from tests.accounts.helpers import CSRF_MESSAGE, count, error_page, field_error, fresh, notice
from tests.factories import login_as, make_user, post_form


def new_token_on(html: str) -> str | None:
    node = LexborHTMLParser(html).css_first("#new-token")
    return node.text(strip=True) if node else None


def token_rows(html: str) -> list[list[str]]:
    tree = LexborHTMLParser(html)
    return [
        [" ".join(cell.text(separator=" ").split()) for cell in row.css("td")]
        for row in tree.css("section[aria-labelledby=tokens-title] tbody tr")
    ]


def stored_tokens(session, user) -> list[ApiToken]:
    return list(fresh(session).exec(select(ApiToken).where(ApiToken.user_id == user.id)))


@pytest.fixture
def alice(client, session):
    user = make_user(session, email="alice@exemple.fr")
    login_as(client, user, session)
    return user


def test_creating_a_token_shows_it_once_and_stores_only_its_hash(client, session, alice):
    response = post_form(client, "/account/tokens", {"label": "Site de la mairie"})

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    raw = new_token_on(response.text)
    assert raw is not None
    assert raw.startswith("bourse_")
    assert len(raw) > 40
    [token] = stored_tokens(session, alice)
    assert token.label == "Site de la mairie"
    assert token.token_hash == hash_secret(raw)
    assert token.prefix == raw[:12]
    stored_values = [str(value) for value in token.model_dump().values()]
    assert not any(raw in value for value in stored_values)
    # Never again: the next visit lists the token but does not show it.
    later = client.get("/account")
    assert new_token_on(later.text) is None
    assert raw not in later.text


def test_tokens_are_listed_by_label_and_prefix(client, session, alice):
    first = new_token_on(post_form(client, "/account/tokens", {"label": "Site de la mairie"}).text)
    second = new_token_on(post_form(client, "/account/tokens", {"label": "Tableau de bord"}).text)

    rows = token_rows(client.get("/account").text)

    assert {(row[0], row[1]) for row in rows} == {
        ("Site de la mairie", f"{first[:12]}…"),
        ("Tableau de bord", f"{second[:12]}…"),
    }
    assert all("jamais" in row[3] for row in rows)


def test_a_created_token_identifies_its_owner(client, session, alice):
    raw = new_token_on(post_form(client, "/account/tokens", {"label": "Script"}).text)

    owner = service.user_for_api_token(fresh(session), raw)

    assert owner is not None
    assert owner.id == alice.id
    assert stored_tokens(session, alice)[0].last_used_at is not None


def test_an_empty_label_gets_a_default_name(client, session, alice):
    post_form(client, "/account/tokens", {"label": "   "})

    [token] = stored_tokens(session, alice)
    assert token.label == "Jeton personnel"


def test_a_label_that_is_too_long_is_refused_in_french_and_nothing_is_created(
    client, session, alice
):
    response = post_form(client, "/account/tokens", {"label": "x" * 81})

    assert response.status_code == 422
    assert "au plus 80 caractères" in field_error(response.text, "label")
    assert new_token_on(response.text) is None
    assert stored_tokens(session, alice) == []


def test_a_label_with_control_characters_is_stored_without_them(client, session, alice):
    # PostgreSQL refuses NUL in text: it must not reach the database (it used to be a 500).
    response = post_form(client, "/account/tokens", {"label": "Jeton\x00 de\u200b test\n"})

    assert response.status_code == 200
    [token] = stored_tokens(session, alice)
    assert token.label == "Jeton de test"


def test_a_label_with_html_is_shown_as_text(client, session, alice):
    post_form(client, "/account/tokens", {"label": "<b>gras</b><script>x()</script>"})

    html = client.get("/account").text

    assert "<script>x()</script>" not in html
    assert token_rows(html)[0][0] == "<b>gras</b><script>x()</script>"


def test_revoking_a_token_stops_it_working_and_keeps_it_listed_as_revoked(client, session, alice):
    raw = new_token_on(post_form(client, "/account/tokens", {"label": "Script"}).text)
    [token] = stored_tokens(session, alice)

    response = post_form(client, f"/account/tokens/{token.id}/revoke")

    assert response.status_code == 303
    assert response.headers["location"] == "/account?notice=token_revoked"
    assert "Le jeton a été révoqué." in notice(client.get(response.headers["location"]).text)
    assert stored_tokens(session, alice)[0].revoked_at is not None
    assert service.user_for_api_token(fresh(session), raw) is None
    rows = token_rows(client.get("/account").text)
    assert rows[0][0] == "Script"
    assert rows[0][4] == "révoqué"


def test_revoking_twice_is_harmless(client, session, alice):
    post_form(client, "/account/tokens", {"label": "Script"})
    [token] = stored_tokens(session, alice)
    post_form(client, f"/account/tokens/{token.id}/revoke")
    first_revocation = stored_tokens(session, alice)[0].revoked_at

    response = post_form(client, f"/account/tokens/{token.id}/revoke")

    assert response.status_code == 303
    assert stored_tokens(session, alice)[0].revoked_at == first_revocation


def test_a_person_cannot_revoke_someone_elses_token(client, session, alice):
    bruno = make_user(session, email="bruno@exemple.fr")
    raw = service.create_api_token(session, bruno, "Le jeton de Bruno")
    [token] = stored_tokens(session, bruno)

    response = post_form(client, f"/account/tokens/{token.id}/revoke")

    assert response.status_code == 404
    assert "Ce jeton n'existe pas." in error_page(response)[1]
    assert stored_tokens(session, bruno)[0].revoked_at is None
    assert service.user_for_api_token(fresh(session), raw).id == bruno.id


def test_even_an_admin_cannot_revoke_someone_elses_token_from_the_account_page(client, session):
    admin = make_user(session, role="admin")
    bruno = make_user(session, email="bruno@exemple.fr")
    service.create_api_token(session, bruno, "Le jeton de Bruno")
    [token] = stored_tokens(session, bruno)
    login_as(client, admin, session)

    response = post_form(client, f"/account/tokens/{token.id}/revoke")

    assert response.status_code == 404
    assert stored_tokens(session, bruno)[0].revoked_at is None


@pytest.mark.parametrize(
    ("token_id", "status", "title"),
    [
        ("999999", 404, "Page introuvable"),
        ("-1", 404, "Page introuvable"),
        ("abc", 404, "Page introuvable"),
    ],
)
def test_revoking_a_token_that_does_not_exist_is_a_french_error_page(
    client, alice, token_id, status, title
):
    response = post_form(client, f"/account/tokens/{token_id}/revoke")

    assert response.status_code == status
    assert error_page(response)[0] == title


def test_another_persons_tokens_are_not_listed(client, session, alice):
    bruno = make_user(session, email="bruno@exemple.fr")
    service.create_api_token(session, bruno, "Le jeton de Bruno")

    assert token_rows(client.get("/account").text) == []


def test_creating_a_token_needs_to_be_signed_in(client, session):
    response = post_form(client, "/account/tokens", {"label": "Anonyme"})

    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login")
    assert count(session, ApiToken) == 0


def test_creating_a_token_without_the_csrf_token_is_refused(client, session, alice):
    response = client.post("/account/tokens", data={"label": "Forgé"}, follow_redirects=False)

    assert response.status_code == 403
    assert CSRF_MESSAGE in error_page(response)[1]
    assert stored_tokens(session, alice) == []
