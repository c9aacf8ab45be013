"""Headers a client chooses never become addresses, languages or stored values unchecked.

The app builds every absolute address from BOURSE_BASE_URL, never from the Host or
X-Forwarded-Host a client sends (else a password-reset request with a forged Host would mail the
victim a link to the attacker's site, token included). Accept-Language only picks one of the
supported languages, and the User-Agent kept with a session is cut to its column's length.
(Which X-Forwarded-For is believed: tests/web/test_proxy_headers.py.)
"""

from __future__ import annotations

from sqlmodel import select

from app.accounts.models import User, UserSession
from tests.factories import fresh, make_need, make_user, submit_form

FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}


def test_emailed_links_point_at_the_base_url_whatever_host_the_request_names(
    client, session, mailbox
):
    user = make_user(session)
    for page, action, field in [
        ("/account/password/forgot", "/account/password/forgot", "email"),
        ("/account/login", "/account/login-link", "link_email"),
    ]:
        response = submit_form(client, page, action, {field: user.email}, headers=FORGED)
        assert response.status_code == 303, response.text
    bodies = [m.get_body(preferencelist=("plain",)).get_content() for m in mailbox.to(user.email)]
    assert len(bodies) == 2
    assert all("evil.example" not in body for body in bodies)
    assert "http://testserver/account/password/reset?token=" in bodies[0]
    assert "http://testserver/account/login-link?token=" in bodies[1]


def test_canonical_addresses_and_feeds_ignore_a_forged_host(client, session):
    need = make_need(session)
    for path in (f"/needs/{need.id}-{need.slug}", "/feeds/needs.atom", "/api/v1/needs"):
        response = client.get(path, headers=FORGED)
        assert response.status_code == 200, path
        assert "evil.example" not in response.text, path
        assert "http://testserver/needs/" in response.text, path


def test_a_signup_keeps_only_a_supported_language_from_accept_language(client, session):
    for header, stored in [("xx-XX, zz;q=0.9", "fr"), ("en-GB,en;q=0.9", "en")]:
        email = f"langue-{stored}-{len(header)}@exemple.fr"
        fill = {"email": email, "display_name": "Camille", "password": "un-mot-de-passe-solide"}
        client.cookies.clear()
        response = submit_form(
            client,
            "/account/signup",
            "/account/signup",
            fill,
            headers={"Accept-Language": header},
        )
        assert response.status_code == 303, response.text
        user = fresh(session).exec(select(User).where(User.email == email)).one()
        assert user.locale == stored


def test_a_huge_user_agent_is_cut_to_its_column_and_the_sign_in_works(client, session):
    user = make_user(session)
    fill = {"email": user.email, "password": "un-mot-de-passe-solide"}
    agent = "Mozilla/5.0 " + "x" * 5000
    response = submit_form(
        client, "/account/login", "/account/login", fill, headers={"User-Agent": agent}
    )
    assert response.status_code == 303
    kept = fresh(session).exec(select(UserSession).where(UserSession.user_id == user.id)).one()
    assert kept.user_agent == agent[:300]
