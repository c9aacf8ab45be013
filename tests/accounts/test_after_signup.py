"""After signing up (issue 14 walkthrough): the page says which address the mail went to,
offers « Renvoyer l'e-mail » (to that address only, within the links' cap), and once the
address is confirmed the person is back on the page they came from — all through the pages'
own forms and links."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from app.accounts.deps import SIGNUP_ADDRESS_COOKIE
from tests.factories import make_need, page_text, read_form, submit_form

EMAIL = "nour@exemple.fr"


def _signup_from_a_need(client, need_url: str):  # type: ignore[no-untyped-def]
    """A visitor on a need page: « Se connecter pour soutenir », then « Créer un compte »."""
    need_page = LexborHTMLParser(client.get(need_url).text)
    login_url = need_page.css_first('a[href^="/account/login?next="]').attributes["href"]
    login_page = LexborHTMLParser(client.get(login_url).text)
    signup_url = login_page.css_first('main a[href^="/account/signup"]').attributes["href"]
    assert signup_url.startswith("/account/signup?next=")
    return submit_form(
        client,
        signup_url,
        "/account/signup",
        {"email": EMAIL, "display_name": "Nour", "password": "un-mot-de-passe-solide"},
    )


def test_the_page_after_signing_up_names_the_address_and_resends_to_it(client, session, mailbox):
    need = make_need(session, title="Une laverie solidaire près de la gare")
    need_url = f"/needs/{need.id}-{need.slug}"
    response = _signup_from_a_need(client, need_url)
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert EMAIL in page_text(page)
    assert len(mailbox.to(EMAIL)) == 1
    # « Renvoyer l'e-mail »: the form carries no address (the browser's cookie says which).
    _method, _values, names = read_form(page, "/account/check-email/resend")
    assert names == {"csrf_token"}
    resent = submit_form(client, "", "/account/check-email/resend", html=page)
    assert resent.status_code == 303
    again = client.get(resent.headers["location"]).text
    assert "un nouveau message vient de partir" in page_text(again)
    assert len(mailbox.to(EMAIL)) == 2
    # Pressed again and again: one more link, then the cap on links per address (three), then
    # the client's own limit on mails a minute — each said on the same page, never an error.
    said = []
    for _ in range(3):
        pressed = submit_form(client, "", "/account/check-email/resend", html=again)
        assert pressed.status_code == 303
        said.append(page_text(client.get(pressed.headers["location"]).text))
    assert "un nouveau message vient de partir" in said[0]
    assert "Plusieurs messages sont déjà partis" in said[1]
    assert "patientez une minute" in said[2]
    assert len(mailbox.to(EMAIL)) == 3

    # The confirmation link brings the person back to the need, signed in, told it worked.
    link = mailbox.last_link(EMAIL, "/account/verify")
    confirmed = submit_form(client, link, "/account/verify/confirm")
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == f"{need_url}?notice=verified"
    landed = client.get(confirmed.headers["location"]).text
    assert "adresse e-mail est confirmée" in page_text(landed)
    assert LexborHTMLParser(landed).css_first(f'form[action="/needs/{need.id}/support"]')
    assert SIGNUP_ADDRESS_COOKIE not in client.cookies


def test_without_the_signup_cookie_there_is_no_address_and_no_resend(client, session, mailbox):
    page = client.get("/account/check-email?reason=signup&resent=1").text
    assert "@" not in page_text(page) and "nouveau message" not in page_text(page)
    assert 'action="/account/check-email/resend"' not in page
    # A forged cookie is ignored; a post without a cookie goes back to the sign-up form.
    client.cookies.set(SIGNUP_ADDRESS_COOKIE, "bob@exemple.fr", path="/account")
    assert "bob@exemple.fr" not in client.get("/account/check-email?reason=signup").text
    from tests.factories import post_form

    response = post_form(client, "/account/check-email/resend")
    assert response.status_code == 303 and response.headers["location"] == "/account/signup"
    assert mailbox.to("bob@exemple.fr") == []


def test_an_outside_next_is_never_followed(client, session, mailbox):
    response = submit_form(
        client,
        "/account/signup?next=https://ailleurs.example/",
        "/account/signup",
        {"email": EMAIL, "display_name": "Nour", "password": "un-mot-de-passe-solide"},
    )
    assert response.status_code == 303
    link = mailbox.last_link(EMAIL, "/account/verify")
    confirmed = submit_form(client, link, "/account/verify/confirm")
    assert confirmed.headers["location"] == "/account?notice=verified"
