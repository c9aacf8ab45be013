"""A newcomer signs up, confirms the e-mail, logs out, logs in and resets the password; a person
with an account signs in with an e-mailed link — in French, once with JavaScript (htmx-boosted)
and once without."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from sqlmodel import Session

from app.accounts import service as accounts
from app.core.db import make_engine

pytestmark = pytest.mark.e2e
_n = itertools.count(1)


@pytest.fixture(params=[True, False], ids=["with-js", "without-js"])
def page(request, browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=request.param, locale="fr-FR")
    page = context.new_page()
    # CSP violations show up as console errors ("Refused to …"), script errors as page errors.
    # (A 422 answer to a form with errors is logged too: that one is expected.)
    page.console_errors = []
    page.on(
        "console",
        lambda msg: (
            msg.type == "error"
            and "Failed to load resource" not in msg.text
            and page.console_errors.append(msg.text)
        ),
    )
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    page.js = request.param
    yield page
    context.close()


def test_new_person_signs_up_confirms_logs_out_logs_in_and_resets_password(page, live_server):  # type: ignore[no-untyped-def]
    base = live_server.url
    email = f"e2e{next(_n)}-{'js' if page.js else 'nojs'}@exemple.fr"

    page.goto(base + "/")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_role("link", name="Créer un compte").first.click()
    page.get_by_role("heading", name="Créer un compte").wait_for()
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Nom affiché").fill("Camille")
    page.locator("#f-password").fill("premier-mot-de-passe")
    page.get_by_role("button", name="Créer mon compte").click()
    page.get_by_role("heading", name="Vérifiez vos e-mails").wait_for()

    page.goto(live_server.last_link(email, "/account/verify"))
    # The link shows a button (a mail scanner opening it confirms nothing).
    page.get_by_role("button", name="Confirmer mon adresse").click()
    page.get_by_text("Votre adresse e-mail est confirmée").wait_for()
    assert page.get_by_text(email).is_visible()

    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_text("Vous êtes déconnecté·e.").wait_for()

    page.get_by_label("Adresse e-mail").first.fill(email)
    page.locator("#f-password").fill("mauvais-mot-de-passe")
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.get_by_text("Adresse e-mail ou mot de passe incorrect.").first.wait_for()

    page.locator("#f-password").fill("premier-mot-de-passe")
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.get_by_role("link", name="Mon compte").wait_for()
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_text("Vous êtes déconnecté·e.").wait_for()

    page.get_by_role("link", name="Mot de passe oublié ?").click()
    page.get_by_role("heading", name="Mot de passe oublié").wait_for()
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_role("button", name="Envoyer le lien").click()
    page.get_by_role("heading", name="Vérifiez vos e-mails").wait_for()

    page.goto(live_server.last_link(email, "/account/password/reset"))
    page.locator("#f-password").fill("court")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    page.get_by_text("Le mot de passe doit faire au moins 10 caractères.").first.wait_for()
    page.locator("#f-password").fill("second-mot-de-passe")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    page.get_by_text("Votre mot de passe a été changé").wait_for()

    page.get_by_label("Adresse e-mail").first.fill(email)
    page.locator("#f-password").fill("second-mot-de-passe")
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.get_by_role("link", name="Mon compte").click()
    page.get_by_role("heading", name="Mon compte", exact=True).wait_for()

    # Downloads a copy of their data, then deletes the account (the box must be ticked).
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger mes données").click()
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert exported["account"]["email"] == email
    page.get_by_label("Votre mot de passe").fill("second-mot-de-passe")
    page.get_by_role("button", name="Supprimer définitivement mon compte").click()
    page.get_by_text("Cochez la case pour confirmer").first.wait_for()
    page.get_by_label("Votre mot de passe").fill("second-mot-de-passe")
    page.get_by_label("Je comprends que tout sera effacé définitivement.").check()
    page.get_by_role("button", name="Supprimer définitivement mon compte").click()
    page.get_by_text("Votre compte et vos contributions ont été supprimés.").wait_for()
    assert page.get_by_role("link", name="Se connecter").first.is_visible()

    assert page.console_errors == []


def test_person_with_an_account_signs_in_with_an_emailed_link(page, live_server):  # type: ignore[no-untyped-def]
    # Typed into the « Sans mot de passe » form of the login page, as a person does: the form
    # sends its own field (link_email), so a route reading another name fails here.
    base = live_server.url
    email = f"lien{next(_n)}-{'js' if page.js else 'nojs'}@exemple.fr"
    engine = make_engine(live_server.settings.sqlalchemy_url)
    try:
        with Session(engine) as session:
            session.info["settings"] = live_server.settings
            accounts.create_user(
                session, email, display_name="Dominique", password="mot-de-passe-e2e", verified=True
            )
    finally:
        engine.dispose()

    page.goto(base + "/account/login")
    link_form = page.get_by_role("form", name="Sans mot de passe")
    link_form.get_by_label("Adresse e-mail").fill(email)
    link_form.get_by_role("button", name="Recevoir un lien de connexion").click()
    # Whichever comes first: the check-email page, or the form back with an error (then fail
    # at once, saying which, instead of waiting out the timeout).
    sent = page.get_by_role("heading", name="Vérifiez vos e-mails")
    refused = page.locator(".notice-error, .error-message")
    sent.or_(refused).first.wait_for()
    assert refused.count() == 0, refused.all_inner_texts()
    assert page.get_by_text("un lien de connexion vient de lui être envoyé").is_visible()
    assert page.get_by_role("link", name="Mon compte").count() == 0

    page.goto(live_server.last_link(email, "/account/login-link"))
    page.get_by_role("heading", name="Connexion par lien").wait_for()
    page.get_by_role("button", name="Me connecter").click()
    page.get_by_text("Vous êtes connecté·e.").wait_for()
    page.get_by_role("link", name="Mon compte").click()
    page.get_by_role("heading", name="Mon compte", exact=True).wait_for()
    assert page.get_by_text(email).is_visible()

    assert page.console_errors == []


def test_htmx_is_active_with_javascript_under_the_csp(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.goto(live_server.url + "/")
    assert page.evaluate("typeof htmx !== 'undefined' && htmx.version.startsWith('2.')")
    # A boosted link swaps the page without a full load: a marker set on window survives.
    page.evaluate("window.__stayed = true")
    page.get_by_role("link", name="Se connecter").click()
    page.get_by_role("heading", name="Se connecter").wait_for()
    assert page.evaluate("window.__stayed === true")
    assert errors == []
    context.close()
