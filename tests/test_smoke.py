from tests.factories import make_user, post_form


def test_home_page_renders_in_french(client):
    response = client.get("/")
    assert response.status_code == 200
    assert '<html lang="fr">' in response.text


def test_signup_then_login(client, session, mailbox):
    r = post_form(
        client,
        "/account/signup",
        {"email": "alice@exemple.fr", "display_name": "Alice", "password": "motdepasse123"},
    )
    assert r.status_code == 303
    link = mailbox.last_link("alice@exemple.fr", "/account/verify")
    r = client.get(link, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/account").status_code == 200
    make_user(session)
