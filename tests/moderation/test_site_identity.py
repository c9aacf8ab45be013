"""The site's identity and long pages: an admin fills them from the browser (validated with
French messages, nothing written on a refusal, audited, revisions kept), the public pages show
them in both languages, sanitised, and a fresh installation shows no placeholder."""

from __future__ import annotations

from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import Session, select

from app.core.audit import AuditEntry
from app.core.site_config import SiteSetting
from app.moderation.models import Revision
from app.pipeline import uploads
from app.web.colours import contrast
from app.web.site_identity import INFO_PAGES, PAGE_LOCALES, theme_css
from tests.factories import (
    fresh,
    login_as,
    make_user,
    page_text,
    read_form,
    submit_form,
)
from tests.pipeline.test_uploads import files_in, minimal_png

SITE = "/moderation/site"


def page_url(locale: str, name: str) -> str:
    return f"/moderation/site/pages/{locale}/{name}"


def stored(session: Session) -> dict[str, Any]:
    return {row.key: row.value for row in fresh(session).exec(select(SiteSetting))}


def audits(session: Session, action: str) -> list[AuditEntry]:
    statement = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)  # type: ignore[arg-type]
    return list(fresh(session).exec(statement))


def in_language(client, locale: str) -> None:  # type: ignore[no-untyped-def]
    client.get(f"/lang?lang={locale}", follow_redirects=False)


def field_error(html: str, name: str) -> str:
    node = LexborHTMLParser(html).css_first(f"#f-{name}-error")
    return node.text(strip=True) if node else ""


def send_identity(client, fill: dict[str, str], logo: tuple[str, bytes, str] | None = None):  # type: ignore[no-untyped-def]
    """The identity form as the page has it, with `fill` typed and, if given, a file chosen
    (the form is multipart: submit_form sends no file, so it is read and sent here)."""
    _, values, names = read_form(client.get(SITE).text, SITE)
    assert set(fill) <= names, set(fill) - names
    values.update(fill)
    files = {"logo": logo} if logo else {"logo": ("", b"", "application/octet-stream")}
    return client.post(SITE, data=values, files=files, follow_redirects=False)


LEGAL = {
    "name": "Fabrique à initiatives des Landes",
    "territory": "la Haute-Lande",
    "contact_email": "bonjour@fabrique-landes.example",
    "publisher": (
        "Association Fabrique des Landes\n12 rue des Pins, 40000 Mont-de-Marsan\n05 58 00 00 00"
    ),
    "director": "Camille Durand, présidente",
    "host": "Hébergeur Exemple SAS\n1 avenue du Serveur, 75000 Paris\n01 00 00 00 00",
}


# --- a fresh installation --------------------------------------------------------------------


@pytest.mark.parametrize("locale", PAGE_LOCALES)
@pytest.mark.parametrize("name", INFO_PAGES)
def test_a_fresh_installation_shows_no_placeholder(client, locale, name):
    in_language(client, locale)
    response = client.get(f"/{name}")
    assert response.status_code == 200
    text = page_text(response.text, "body")
    assert "[" not in text and "]" not in text
    assert "à compléter" not in text and "to be completed" not in text
    assert "{" not in text, "a {variable} left unreplaced"
    tree = LexborHTMLParser(response.text)
    assert len(tree.css("main h1")) == 1
    assert tree.css_first("html").attributes["lang"] == locale


def test_the_legal_notice_says_plainly_what_is_not_given_yet(client):
    text = page_text(client.get("/legal").text)
    assert "Directeur ou directrice de la publication : pas encore indiqué sur ce site" in text
    in_language(client, "en")
    assert "Publication director: not given on this site yet" in page_text(
        client.get("/legal").text
    )


def test_the_dashboard_lists_what_the_law_requires_until_it_is_given(
    client, session, signed_in_admin
):
    section = LexborHTMLParser(client.get("/moderation/").text).css_first("main")
    text = section.text(separator=" ")
    assert "Informations légales manquantes" in text
    assert "directeur ou la directrice de la publication" in text and "l'hébergeur" in text
    assert send_identity(client, LEGAL).status_code == 303
    assert "Informations légales manquantes" not in page_text(client.get("/moderation/").text)


def test_staff_do_not_see_the_legal_reminder(client, session):
    login_as(client, make_user(session, role="staff"), session)
    assert "Informations légales manquantes" not in page_text(client.get("/moderation/").text)


# --- identity ----------------------------------------------------------------------------------


def test_an_admin_gives_the_site_its_identity(client, session, signed_in_admin, settings):
    response = send_identity(
        client, {**LEGAL, "accent": "#8A1538"}, ("logo.png", minimal_png(), "image/png")
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/moderation/site?done=saved"
    rows = stored(session)
    assert rows["identity.name"] == LEGAL["name"]
    assert rows["identity.accent"] == "#8a1538"
    assert rows["identity.logo_type"] == "image/png"
    assert files_in(uploads.logos_dir(settings)) == [rows["identity.logo_file"]]
    [entry] = audits(session, "identity.update")
    assert entry.actor_id == signed_in_admin.id and entry.after["name"] == LEGAL["name"]
    assert entry.before["name"] == ""

    client.cookies.clear()  # what the public sees
    home = LexborHTMLParser(client.get("/").text)
    assert LEGAL["name"] in home.css_first("title").text()
    assert LEGAL["name"] in home.css_first("header .brand").text()
    logo = home.css_first("header .brand img")
    assert logo.attributes["src"].startswith("/site/logo?v=")
    image = client.get(logo.attributes["src"])
    assert image.status_code == 200 and image.content == minimal_png()
    assert image.headers["content-type"] == "image/png"
    footer = home.css_first("footer").text()
    assert "la Haute-Lande." in footer and LEGAL["contact_email"] in footer
    theme = home.css_first('link[href^="/site/theme.css"]').attributes["href"]
    css = client.get(theme)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "--color-primary: #" in css.text

    legal = page_text(client.get("/legal").text)
    assert "Camille Durand, présidente" in legal and "Hébergeur Exemple SAS" in legal
    assert "pas encore indiqué" not in legal


def test_the_form_shows_what_was_saved(client, session, signed_in_admin):
    send_identity(client, LEGAL)
    _, values, _ = read_form(client.get(SITE).text, SITE)
    assert values["name"] == LEGAL["name"] and values["director"] == LEGAL["director"]
    assert values["publisher"] == LEGAL["publisher"]


@pytest.mark.parametrize(
    ("fill", "field", "message"),
    [
        ({"accent": "bleu"}, "accent", "code hexadécimal à six chiffres"),
        ({"accent": "#12345"}, "accent", "code hexadécimal à six chiffres"),
        ({"accent": "#f6c343"}, "accent", "contraste de 1,"),
        ({"accent": "#808080"}, "accent", "contraste de 3,94:1"),
        ({"contact_email": "pas-une-adresse"}, "contact_email", "n'est pas valable"),
        ({"name": "x" * 121}, "name", "120 caractères au plus (vous en avez saisi 121)"),
        ({"territory": "y" * 200}, "territory", "120 caractères au plus"),
        ({"host": "h" * 501}, "host", "500 caractères au plus"),
    ],
)
def test_bad_identity_is_refused_in_french_and_nothing_is_written(
    client, session, signed_in_admin, settings, fill, field, message
):
    before = stored(session)
    response = send_identity(client, {**LEGAL, **fill}, ("logo.png", minimal_png(), "image/png"))
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    assert stored(session) == before
    assert audits(session, "identity.update") == []
    assert files_in(uploads.logos_dir(settings)) == []
    # What the admin typed is kept.
    _, values, _ = read_form(response.text, SITE)
    assert values["name"] == {**LEGAL, **fill}["name"]


def test_the_contrast_message_says_the_ratio(client, signed_in_admin):
    html = send_identity(client, {"accent": "#808080"}).text
    message = field_error(html, "accent")
    assert "3,94:1" in message and "4,5:1" in message
    assert round(contrast("#808080", "#ffffff"), 2) == 3.95  # shown rounded down: never « 4,5 »


def test_a_logo_that_is_not_an_image_is_refused(client, session, signed_in_admin, settings):
    before = stored(session)
    response = send_identity(
        client, LEGAL, ("logo.svg", b"<svg onload='alert(1)'/>", "image/svg+xml")
    )
    assert response.status_code == 422
    assert "PNG, JPEG ou WebP" in field_error(response.text, "logo")
    assert stored(session) == before
    assert files_in(uploads.logos_dir(settings)) == []


def test_a_new_logo_replaces_the_old_file_and_it_can_be_removed(
    client, session, signed_in_admin, settings
):
    send_identity(client, {}, ("a.png", minimal_png(), "image/png"))
    first = stored(session)["identity.logo_file"]
    send_identity(client, {}, ("b.png", minimal_png(), "image/png"))
    second = stored(session)["identity.logo_file"]
    assert second != first and files_in(uploads.logos_dir(settings)) == [second]
    response = send_identity(client, {"remove_logo": "1"})
    assert response.status_code == 303
    assert stored(session)["identity.logo_file"] == ""
    assert files_in(uploads.logos_dir(settings)) == []
    assert client.get("/site/logo").status_code == 404


def test_saving_the_same_identity_writes_nothing(client, session, signed_in_admin):
    send_identity(client, LEGAL)
    response = send_identity(client, {})
    assert response.headers["location"] == "/moderation/site?done=unchanged"
    assert len(audits(session, "identity.update")) == 1


def test_the_accent_keeps_links_readable_on_the_light_surfaces():
    css = theme_css("#767676")  # exactly 4.54:1 on white, less on the grey surfaces
    primary = css.split("--color-primary: ")[1][:7]
    assert contrast(primary, "#ffffff") >= 4.5
    assert contrast(primary, "#eef2f7") >= 4.5


# --- pages -------------------------------------------------------------------------------------


def test_an_admin_rewrites_a_page_and_the_public_reads_it(client, session, signed_in_admin):
    send_identity(client, LEGAL)
    text = (
        "# Qui sommes-nous ?\n\nNous sommes {name}, à l'écoute de {territory}.\n\n"
        "## Écrire\n\n{contact}"
    )
    response = submit_form(
        client, page_url("fr", "about"), page_url("fr", "about"), {"markdown": text}
    )
    assert response.status_code == 303
    assert response.headers["location"] == page_url("fr", "about") + "?done=page-saved"
    client.cookies.clear()
    html = client.get("/about").text
    tree = LexborHTMLParser(html)
    assert tree.css_first("main h1").text() == "Qui sommes-nous ?"
    assert tree.css_first("title").text().startswith("Qui sommes-nous ? · ")
    assert (
        "Nous sommes Fabrique à initiatives des Landes, à l'écoute de la Haute-Lande."
        in page_text(html)
    )
    assert tree.css_first(f'main a[href="mailto:{LEGAL["contact_email"]}"]') is not None
    # The English page is its own text: still the shipped one.
    in_language(client, "en")
    assert "The Bourse à initiatives and the fabrique" in page_text(client.get("/about").text)


def test_the_english_page_is_written_on_its_own(client, session, signed_in_admin):
    url = page_url("en", "charter")
    submit_form(client, url, url, {"markdown": "# House rules\n\nBe kind."})
    client.cookies.clear()
    in_language(client, "en")
    assert "Be kind." in page_text(client.get("/charter").text)
    in_language(client, "fr")
    assert "Charte de participation" in page_text(client.get("/charter").text)


def test_markdown_cannot_bring_a_script_or_raw_html(client, session, signed_in_admin):
    url = page_url("fr", "legal")
    hostile = (
        "# Mentions\n\n<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[clic](javascript:alert(1)) <a href='https://ailleurs.example' data-hx-get='/x'>a</a>"
    )
    assert submit_form(client, url, url, {"markdown": hostile}).status_code == 303
    client.cookies.clear()
    article = LexborHTMLParser(client.get("/legal").text).css_first("main article")
    assert "data-hx-disable" in article.attributes
    assert article.css("script, img, [onerror], [data-hx-get]") == []
    assert all(not a.attributes.get("href", "").startswith("javascript") for a in article.css("a"))
    assert "<script>alert('x')</script>" in article.text()  # shown as text, inert


@pytest.mark.parametrize(
    ("markdown", "message"),
    [
        ("Pas de titre", "commencer par son titre"),
        ("## Sous-titre d'abord", "commencer par son titre"),
        ("# Un\n\n# Deux", "qu'un titre"),
        ("# Long\n\n" + "a" * 60_000, "caractères au plus (vous en avez saisi 60"),
    ],
)
def test_a_bad_page_is_refused_in_french_and_nothing_is_written(
    client, session, signed_in_admin, markdown, message
):
    url = page_url("fr", "privacy")
    before = stored(session)
    response = submit_form(client, url, url, {"markdown": markdown})
    assert response.status_code == 422
    assert message in field_error(response.text, "markdown")
    assert stored(session) == before
    assert fresh(session).exec(select(Revision)).all() == []
    assert audits(session, "page.update") == []
    _, values, _ = read_form(response.text, url)
    assert values["markdown"].strip() == markdown.strip()


def test_revisions_keep_every_previous_text_and_the_audit_log_says_who(
    client, session, signed_in_admin
):
    url = page_url("fr", "accessibility")
    submit_form(client, url, url, {"markdown": "# Accessibilité\n\nPremière version."})
    submit_form(client, url, url, {"markdown": "# Accessibilité\n\nDeuxième version."})
    revisions = fresh(session).exec(select(Revision).order_by(Revision.id)).all()  # type: ignore[arg-type]
    assert [r.title for r in revisions] == ["fr/accessibility", "fr/accessibility"]
    assert revisions[0].body.startswith("# Déclaration d’accessibilité")  # the shipped text
    assert revisions[0].reason == "default"
    assert "Première version." in revisions[1].body
    assert all(r.editor_id == signed_in_admin.id for r in revisions)
    entries = audits(session, "page.update")
    assert len(entries) == 2 and entries[1].actor_id == signed_in_admin.id
    assert entries[1].before["revision"] == revisions[1].id
    # The history shows them to the admin.
    html = client.get(url).text
    history = LexborHTMLParser(html).css("#history-title ~ ul details")
    assert len(history) == 2
    assert "Première version." in history[0].text()
    assert "Adèle Admin" in history[0].css_first("summary").text()


def test_going_back_to_the_shipped_text_keeps_the_admins_text_as_a_revision(
    client, session, signed_in_admin
):
    url = page_url("en", "legal")
    submit_form(client, url, url, {"markdown": "# Legal\n\nOurs."})
    response = submit_form(client, url, url, press="action=reset")
    assert response.headers["location"] == url + "?done=page-reset"
    assert stored(session)["page.en.legal"] is None
    last = fresh(session).exec(select(Revision).order_by(Revision.id.desc())).first()  # type: ignore[attr-defined]
    assert "Ours." in last.body
    client.cookies.clear()
    in_language(client, "en")
    assert "Legal notice" in page_text(client.get("/legal").text)


def test_saving_a_page_unchanged_writes_nothing(client, session, signed_in_admin):
    url = page_url("fr", "charter")
    response = submit_form(client, url, url)
    assert response.headers["location"] == url + "?done=unchanged"
    assert stored(session) == {}
    assert fresh(session).exec(select(Revision)).all() == []


def test_an_unknown_page_is_a_404(client, signed_in_admin):
    assert client.get(page_url("de", "about")).status_code == 404
    assert client.get(page_url("fr", "cgu")).status_code == 404


def test_a_change_reaches_anonymous_visitors_at_once(client, session, signed_in_admin):
    """The anonymous cache stores /legal; a save bumps the content version (site_settings'
    triggers), so the next visitor reads the new text."""
    visitor = client.__class__(client.app, base_url="http://testserver")
    with visitor:
        first = visitor.get("/legal")
        assert "Mentions légales" in page_text(first.text)
        assert visitor.get("/legal").headers["etag"] == first.headers["etag"]  # served stored
        url = page_url("fr", "legal")
        submit_form(client, url, url, {"markdown": "# Mentions toutes neuves\n\nVoilà."})
        after = visitor.get("/legal")
        assert after.headers["etag"] != first.headers["etag"]
        assert "Mentions toutes neuves" in page_text(after.text)


def test_a_logo_over_the_limit_is_refused_and_leaves_no_file(
    client, session, signed_in_admin, settings
):
    too_big = minimal_png() + b"\x00" * uploads.LOGO_MAX_BYTES
    response = send_identity(client, LEGAL, ("grand.png", too_big, "image/png"))
    assert response.status_code == 422
    assert "Le fichier dépasse 2 Mo." in field_error(response.text, "logo")
    assert stored(session) == {}
    assert files_in(uploads.logos_dir(settings)) == []


def test_a_request_far_over_the_limit_is_refused_before_it_is_read(
    client, session, signed_in_admin
):
    huge = minimal_png() + b"\x00" * (uploads.LOGO_MAX_BYTES + uploads.FORM_MARGIN + 1)
    response = send_identity(client, LEGAL, ("enorme.png", huge, "image/png"))
    assert response.status_code == 413
    assert stored(session) == {}


def test_a_preview_shows_the_typed_text_and_writes_nothing(client, session, signed_in_admin):
    url = page_url("fr", "about")
    typed = "# Bientôt\n\nUn **nouveau** texte pour {territory}."
    response = submit_form(client, url, url, {"markdown": typed}, press="action=preview")
    assert response.status_code == 200
    tree = LexborHTMLParser(response.text)
    preview = tree.css_first(".preview .user-content")
    assert preview.css_first("h3").text() == "Bientôt"
    assert "Un nouveau texte pour celui de la fabrique." in " ".join(preview.text().split())
    assert "pas enregistré" in page_text(response.text)
    _, values, _ = read_form(response.text, url)
    assert values["markdown"].strip() == typed  # still in the box, to save or change
    assert stored(session) == {}
    assert fresh(session).exec(select(Revision)).all() == []
    assert audits(session, "page.update") == []
    client.cookies.clear()
    assert "Bientôt" not in page_text(client.get("/about").text)


def test_a_preview_of_a_bad_text_says_why(client, session, signed_in_admin):
    url = page_url("fr", "about")
    response = submit_form(client, url, url, {"markdown": "Sans titre"}, press="action=preview")
    assert response.status_code == 422
    assert "commencer par son titre" in field_error(response.text, "markdown")
    assert stored(session) == {}


def test_an_old_version_is_taken_back_through_the_form(client, session, signed_in_admin):
    url = page_url("fr", "about")
    submit_form(client, url, url, {"markdown": "# À propos\n\nVersion A."})
    submit_form(client, url, url, {"markdown": "# À propos\n\nVersion B."})
    editor = LexborHTMLParser(client.get(url).text)
    link = editor.css_first("#history-title ~ ul details a").attributes["href"]
    html = client.get(link).text  # nothing written yet
    assert "Version B." in page_text(client.get("/about").text)
    _, values, _ = read_form(html, url)
    assert "Version A." in values["markdown"]
    assert "pas changé" in page_text(html)
    response = submit_form(client, url, url, html=html)
    assert response.status_code == 303
    client.cookies.clear()
    assert "Version A." in page_text(client.get("/about").text)
    assert len(fresh(session).exec(select(Revision)).all()) == 3


def test_a_revision_of_another_page_is_not_taken(client, session, signed_in_admin):
    legal = page_url("fr", "legal")
    submit_form(client, legal, legal, {"markdown": "# Mentions\n\nSecret."})
    [revision] = fresh(session).exec(select(Revision)).all()
    html = client.get(page_url("fr", "about") + f"?from_revision={revision.id}").text
    _, values, _ = read_form(html, page_url("fr", "about"))
    assert values["markdown"].startswith("# La Bourse à initiatives et la fabrique")


def test_shared_links_name_the_fabrique(client, session, signed_in_admin):
    """A need or an idea shared on a social network names the site as the admin gave it."""
    from tests.factories import make_need
    from tests.pipeline.test_public_ideas import make_idea

    need = make_need(session, title="Une laverie solidaire")
    idea = make_idea(session, "Une recyclerie de quartier")
    assert send_identity(client, LEGAL).status_code == 303
    client.cookies.clear()
    for path in (f"/needs/{need.id}-{need.slug}", f"/ideas/{idea.id}-{idea.slug}"):
        page = LexborHTMLParser(client.get(path).text)
        meta = page.css_first('meta[property="og:site_name"]')
        assert meta is not None and meta.attributes["content"] == LEGAL["name"], path
