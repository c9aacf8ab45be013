"""Partners: staff create and edit them (roles, website, logo with the upload checks), the slug
never changes, archiving hides them; the public page groups them by role and shows only public
ideas; staff link partners to ideas (audited, duplicates refused with a clear message)."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import func
from sqlmodel import select

from app.core.audit import AuditEntry
from app.pipeline import partners, uploads
from app.pipeline.models import IdeaPartner, Partner
from app.pipeline.service import IdeaInput, create_idea
from app.web.templating import render_to_string
from tests.factories import csrf_token, form_errors, fresh, make_user, page_text
from tests.pipeline.test_uploads import SVG, files_in, minimal_jpeg, minimal_pdf, minimal_png


def _form(**overrides):  # type: ignore[no-untyped-def]
    data = {
        "name": "Ville de Mérignac",
        "kind": "town",
        "roles": ["capteur", "funder"],
        "website": "https://www.merignac.com",
        "description": "La commune a repéré le besoin de conciergerie.",
    }
    data.update(overrides)
    return data


def _post(client, url, data, logo=None):  # type: ignore[no-untyped-def]
    files = {"logo": logo} if logo else {"logo": ("", b"", "application/octet-stream")}
    return client.post(
        url,
        data={"csrf_token": csrf_token(client), **data},
        files=files,
        follow_redirects=False,
    )


def _partners(session) -> list[Partner]:  # type: ignore[no-untyped-def]
    return list(fresh(session).exec(select(Partner).order_by(Partner.id)))


def _audit(session, action):  # type: ignore[no-untyped-def]
    return list(fresh(session).exec(select(AuditEntry).where(AuditEntry.action == action)))


def _make_partner(session, staff, **overrides):  # type: ignore[no-untyped-def]
    data = _form(**overrides)
    return partners.create_partner(session, staff, partners.PartnerInput(**data))


# --- create and edit --------------------------------------------------------------------------


def test_staff_create_a_partner_with_roles_and_a_logo(staff_client, session, settings, staff_user):
    response = _post(
        staff_client, "/moderation/partners/new", _form(), ("logo.png", minimal_png(), "image/png")
    )
    assert response.status_code == 303
    [partner] = _partners(session)
    assert response.headers["location"] == f"/moderation/partners/{partner.id}?done=created"
    assert partner.name == "Ville de Mérignac"
    assert partner.slug == "ville-de-merignac"
    assert partner.kind == "town"
    assert (partner.is_funder, partner.is_technical, partner.is_capteur) == (True, False, True)
    assert partner.website == "https://www.merignac.com"
    assert partner.logo_type == "image/png"
    assert files_in(uploads.logos_dir(settings)) == [partner.logo_file]
    [entry] = _audit(session, "partner.create")
    assert entry.actor_id == staff_user.id and entry.target_id == partner.id
    assert entry.after["roles"] == ["funder", "capteur"]
    page = staff_client.get(response.headers["location"])
    assert "Le partenaire est créé." in page_text(page.text)


def test_the_form_pages_are_accessible(staff_client, session, staff_user):
    partner = _make_partner(session, staff_user)
    for url in ("/moderation/partners/new", f"/moderation/partners/{partner.id}"):
        response = staff_client.get(url)
        assert response.status_code == 200
        tree = LexborHTMLParser(response.text)
        form = tree.css_first("form[enctype='multipart/form-data']")
        for field in form.css("input:not([type=hidden]), select, textarea"):
            assert tree.css_first(f"label[for={field.attributes['id']}]") is not None, field.html
        assert form.css_first("fieldset legend") is not None  # the role checkboxes
    listing = LexborHTMLParser(staff_client.get("/moderation/partners").text)
    assert listing.css_first("table caption") is not None
    assert listing.css_first("th[scope=row] a").text() == "Ville de Mérignac"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"roles": []}, "roles", "Cochez au moins un rôle"),
        ({"roles": ["sponsor"]}, "roles", "Cochez au moins un rôle"),
        ({"name": " "}, "name", "Le nom doit faire entre 2 et 120 caractères."),
        ({"kind": "ministry"}, "kind", "Choisissez le type de partenaire dans la liste."),
        ({"website": "javascript:alert(1)"}, "website", "commençant par https://"),
        ({"website": "ftp://exemple.fr"}, "website", "commençant par https://"),
        ({"website": "https://"}, "website", "commençant par https://"),
        ({"description": "x" * 2001}, "description", "au plus 2000 caractères"),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_nothing_is_written(
    staff_client, session, settings, overrides, field, message
):
    response = _post(
        staff_client,
        "/moderation/partners/new",
        _form(**overrides),
        ("logo.png", minimal_png(), "image/png"),
    )
    assert response.status_code == 422
    assert any(message in error for error in form_errors(response.text))
    tree = LexborHTMLParser(response.text)
    invalid = tree.css_first(f"#f-{field}")
    assert invalid is not None
    assert f"f-{field}-error" in (invalid.attributes.get("aria-describedby") or "")
    # What was typed is kept.
    assert tree.css_first("#f-name").attributes["value"] == _form(**overrides)["name"]
    assert _partners(session) == []
    assert _audit(session, "partner.create") == []
    assert files_in(uploads.logos_dir(settings)) == []


@pytest.mark.parametrize(
    ("logo", "message"),
    [
        (("logo.svg", SVG, "image/svg+xml"), "le format SVG n'est pas accepté"),
        (("logo.png", SVG, "image/png"), "le format SVG n'est pas accepté"),
        (("logo.pdf", minimal_pdf(), "application/pdf"), "PNG, JPEG ou WebP"),
        (("logo.png", b"", "image/png"), "Le fichier est vide."),
        (("logo.png", minimal_png() + b"\0" * (2 * 1024 * 1024), "image/png"), "dépasse 2 Mo"),
    ],
)
def test_logos_get_the_upload_checks_and_svg_is_refused(
    staff_client, session, settings, logo, message
):
    response = _post(staff_client, "/moderation/partners/new", _form(), logo)
    assert response.status_code == 422
    assert any(message in error for error in form_errors(response.text))
    assert _partners(session) == []
    assert files_in(uploads.logos_dir(settings)) == []


def test_a_logo_far_over_the_limit_is_refused_before_reading(staff_client, session, settings):
    logo = ("logo.png", minimal_png() + b"\0" * (4 * 1024 * 1024), "image/png")
    response = _post(staff_client, "/moderation/partners/new", _form(), logo)
    assert response.status_code == 413
    assert _partners(session) == []
    assert files_in(uploads.logos_dir(settings)) == []


def test_the_slug_is_made_once_and_never_changes(staff_client, session, staff_user):
    partner = _make_partner(session, staff_user)
    twin = _make_partner(session, staff_user)
    assert (partner.slug, twin.slug) == ("ville-de-merignac", "ville-de-merignac-2")
    response = _post(
        staff_client,
        f"/moderation/partners/{partner.id}",
        _form(name="Mairie de Mérignac", roles=["technical"], slug="pirate"),
    )
    assert response.status_code == 303
    edited = fresh(session).get(Partner, partner.id)
    assert edited.name == "Mairie de Mérignac"
    assert edited.slug == "ville-de-merignac"
    assert (edited.is_funder, edited.is_technical, edited.is_capteur) == (False, True, False)
    [entry] = _audit(session, "partner.update")
    assert entry.before["name"] == "Ville de Mérignac"
    assert entry.after["name"] == "Mairie de Mérignac"
    assert entry.after["slug"] == "ville-de-merignac"


def test_a_new_logo_replaces_the_old_file_and_a_logo_can_be_removed(
    staff_client, session, settings, staff_user
):
    partner = _make_partner(session, staff_user)
    _post(
        staff_client,
        f"/moderation/partners/{partner.id}",
        _form(),
        ("a.png", minimal_png(), "image/png"),
    )
    first = fresh(session).get(Partner, partner.id).logo_file
    _post(
        staff_client,
        f"/moderation/partners/{partner.id}",
        _form(),
        ("b.jpg", minimal_jpeg(), "image/jpeg"),
    )
    second = fresh(session).get(Partner, partner.id)
    assert second.logo_type == "image/jpeg"
    assert files_in(uploads.logos_dir(settings)) == [second.logo_file] != [first]
    _post(staff_client, f"/moderation/partners/{partner.id}", _form(remove_logo="1"))
    assert fresh(session).get(Partner, partner.id).logo_file is None
    assert files_in(uploads.logos_dir(settings)) == []


def test_a_refused_edit_keeps_the_partner_as_it_was(staff_client, session, staff_user):
    partner = _make_partner(session, staff_user)
    response = _post(
        staff_client, f"/moderation/partners/{partner.id}", _form(name="Autre nom", roles=[])
    )
    assert response.status_code == 422
    assert fresh(session).get(Partner, partner.id).name == "Ville de Mérignac"
    assert _audit(session, "partner.update") == []


def test_unknown_partners_are_404(staff_client):
    assert staff_client.get("/moderation/partners/999999").status_code == 404
    assert staff_client.get("/moderation/partners/abc").status_code == 404
    assert _post(staff_client, "/moderation/partners/99999999999", _form()).status_code == 404


# --- archive and the public side ----------------------------------------------------------------


def test_archiving_hides_the_partner_and_its_logo_until_restored(
    staff_client, session, client, staff_user
):
    _post(
        staff_client, "/moderation/partners/new", _form(), ("logo.png", minimal_png(), "image/png")
    )
    [partner] = _partners(session)
    logo_url = partners.logo_url(partner)
    assert client.get(logo_url).status_code == 200
    response = staff_client.post(
        f"/moderation/partners/{partner.id}/archive",
        data={"csrf_token": csrf_token(staff_client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert fresh(session).get(Partner, partner.id).archived_at is not None
    assert len(_audit(session, "partner.archive")) == 1
    assert "Ville de Mérignac" not in page_text(client.get("/partners").text)
    assert client.get(logo_url).status_code == 404
    staff_client.post(
        f"/moderation/partners/{partner.id}/restore",
        data={"csrf_token": csrf_token(staff_client)},
    )
    assert fresh(session).get(Partner, partner.id).archived_at is None
    assert len(_audit(session, "partner.restore")) == 1
    assert client.get(logo_url).status_code == 200


def test_the_public_logo_is_the_checked_file_with_safe_headers(staff_client, session, client):
    _post(
        staff_client,
        "/moderation/partners/new",
        _form(),
        ("logo.svg", minimal_png(), "image/svg+xml"),
    )
    [partner] = _partners(session)
    client.cookies.clear()
    response = client.get(partners.logo_url(partner))
    assert response.status_code == 200
    assert response.content == minimal_png()
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "max-age=31536000" in response.headers["cache-control"]
    assert client.get("/partners/inconnu/logo").status_code == 404


def test_the_public_page_groups_partners_by_role_with_their_public_ideas_only(
    client, session, staff_user
):
    merignac = _make_partner(session, staff_user, roles=["capteur", "funder"])
    france_active = _make_partner(
        session,
        staff_user,
        name="France Active",
        kind="bank",
        roles=["funder"],
        website="https://www.franceactive.org",
    )
    _make_partner(session, staff_user, name="Réseau Cocagne", kind="network", roles=["technical"])
    archived = _make_partner(session, staff_user, name="Ancien partenaire", roles=["funder"])
    partners.set_archived(session, staff_user, archived.id, archived=True)
    public = create_idea(
        session, staff_user, IdeaInput(title="Club services 33", origin="town", is_public=True)
    )
    private = create_idea(
        session, staff_user, IdeaInput(title="Projet confidentiel", origin="town")
    )
    partners.link_partner(session, staff_user, public.id, merignac.id, "detected_by")
    partners.link_partner(session, staff_user, public.id, merignac.id, "funded_by")
    partners.link_partner(session, staff_user, private.id, merignac.id, "funded_by")
    partners.link_partner(session, staff_user, private.id, france_active.id, "funded_by")

    response = client.get("/partners")
    assert response.status_code == 200
    tree = LexborHTMLParser(response.text)
    sections = {
        section.css_first("h2").attributes["id"]: [h.text() for h in section.css("h3")]
        for section in tree.css("main section")
    }
    assert sections == {
        "funder": ["France Active", "Ville de Mérignac"],
        "technical": ["Réseau Cocagne"],
        "capteur": ["Ville de Mérignac"],
    }
    text = page_text(response.text)
    assert "Club services 33" in text
    assert "Projet confidentiel" not in text
    assert "Ancien partenaire" not in text
    # One line per idea, however many links.
    funder_cards = tree.css("section[aria-labelledby=funder] li.partner-card")
    merignac_card = next(c for c in funder_cards if "Ville de Mérignac" in c.text())
    assert [a.text() for a in merignac_card.css(".partner-ideas a")] == ["Club services 33"]
    assert merignac_card.css_first(".partner-ideas a").attributes["href"] == (
        f"/ideas/{public.id}-{public.slug}"
    )
    website = tree.css_first("a[href='https://www.franceactive.org']")
    assert "noopener" in website.attributes["rel"]
    assert "Banque" in text and "Commune" in text


def test_a_logo_on_the_public_page_has_the_partner_name_as_alt_text(staff_client, session, client):
    _post(
        staff_client, "/moderation/partners/new", _form(), ("logo.png", minimal_png(), "image/png")
    )
    tree = LexborHTMLParser(client.get("/partners").text)
    images = tree.css("main img.partner-logo")
    assert images and all(img.attributes["alt"] == "Ville de Mérignac" for img in images)


def test_the_public_page_without_partners(client):
    response = client.get("/partners")
    assert response.status_code == 200
    assert "bientôt" in page_text(response.text)


# --- links to ideas ---------------------------------------------------------------------------


def _links(session) -> list[IdeaPartner]:  # type: ignore[no-untyped-def]
    return list(fresh(session).exec(select(IdeaPartner).order_by(IdeaPartner.id)))


def test_staff_link_a_partner_to_an_idea_and_unlink_it(staff_client, session, staff_user):
    partner = _make_partner(session, staff_user)
    idea = create_idea(session, staff_user, IdeaInput(title="Club services 33", origin="town"))
    response = staff_client.post(
        f"/moderation/ideas/{idea.id}/partners",
        data={
            "csrf_token": csrf_token(staff_client),
            "partner_id": partner.id,
            "link": "funded_by",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith("#partners")
    [link] = _links(session)
    assert (link.idea_id, link.partner_id, link.link) == (idea.id, partner.id, "funded_by")
    [entry] = _audit(session, "idea.partner_link")
    assert entry.target_id == idea.id and entry.after["partner_id"] == partner.id

    panel = partners.partners_panel(fresh(session), idea, staff_user)
    assert [(lk.id, p.id) for lk, p in panel["idea_partners"]] == [(link.id, partner.id)]
    html = render_to_string(
        "pipeline/_partners.html",
        {"idea": idea, "csrf_token": "t", "current_user": staff_user, **panel},
    )
    assert f"/moderation/ideas/{idea.id}/partners/{link.id}/delete" in html
    assert "Financée par" in html

    response = staff_client.post(
        f"/moderation/ideas/{idea.id}/partners/{link.id}/delete",
        data={"csrf_token": csrf_token(staff_client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert _links(session) == []
    assert len(_audit(session, "idea.partner_unlink")) == 1


def test_a_duplicate_link_is_refused_with_a_clear_message(staff_client, session, staff_user):
    partner = _make_partner(session, staff_user)
    idea = create_idea(session, staff_user, IdeaInput(title="Club services 33", origin="town"))
    partners.link_partner(session, staff_user, idea.id, partner.id, "funded_by")
    response = staff_client.post(
        f"/moderation/ideas/{idea.id}/partners",
        data={
            "csrf_token": csrf_token(staff_client),
            "partner_id": partner.id,
            "link": "funded_by",
        },
        follow_redirects=False,
    )
    assert response.status_code == 422
    shown = page_text(response.text).replace("\xa0", " ")
    assert "Ville de Mérignac est déjà lié à cette idée ainsi (« Financée par »)." in shown
    assert len(_links(session)) == 1
    assert len(_audit(session, "idea.partner_link")) == 1
    # The same partner with another kind of link is fine.
    partners.link_partner(session, staff_user, idea.id, partner.id, "supported_by")
    assert len(_links(session)) == 2


@pytest.mark.parametrize(
    ("partner_id", "link", "field"),
    [
        ("", "funded_by", "partner_id"),
        ("999999", "funded_by", "partner_id"),
        (None, "owned_by", "link"),
    ],
)
def test_bad_links_are_refused(staff_client, session, staff_user, partner_id, link, field):
    partner = _make_partner(session, staff_user)
    idea = create_idea(session, staff_user, IdeaInput(title="Club services 33", origin="town"))
    response = staff_client.post(
        f"/moderation/ideas/{idea.id}/partners",
        data={
            "csrf_token": csrf_token(staff_client),
            "partner_id": partner.id if partner_id is None else partner_id,
            "link": link,
        },
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert _links(session) == []
    with pytest.raises(Exception) as refused:
        partners.link_partner(
            session,
            staff_user,
            idea.id,
            partner.id if partner_id is None else (int(partner_id) if partner_id else None),
            link,
        )
    assert field in refused.value.errors  # type: ignore[attr-defined]


def test_an_archived_partner_cannot_be_linked(session, staff_user):
    partner = _make_partner(session, staff_user)
    idea = create_idea(session, staff_user, IdeaInput(title="Club services 33", origin="town"))
    partners.set_archived(session, staff_user, partner.id, archived=True)
    assert partners.partners_panel(session, idea, staff_user)["partners_choices"] == []
    with pytest.raises(Exception) as refused:
        partners.link_partner(session, staff_user, idea.id, partner.id, "funded_by")
    assert "partner_id" in refused.value.errors  # type: ignore[attr-defined]


def test_unlinking_a_link_of_another_idea_is_a_404(staff_client, session, staff_user):
    partner = _make_partner(session, staff_user)
    idea = create_idea(session, staff_user, IdeaInput(title="Club services 33", origin="town"))
    other = create_idea(
        session, staff_user, IdeaInput(title="Autre idée du territoire", origin="town")
    )
    link = partners.link_partner(session, staff_user, idea.id, partner.id, "funded_by")
    response = staff_client.post(
        f"/moderation/ideas/{other.id}/partners/{link.id}/delete",
        data={"csrf_token": csrf_token(staff_client)},
        follow_redirects=False,
    )
    assert response.status_code == 404
    assert fresh(session).exec(select(func.count()).select_from(IdeaPartner)).one() == 1


def test_services_refuse_non_staff(session):
    from app.web.errors import Forbidden

    resident = make_user(session)
    with pytest.raises(Forbidden):
        partners.create_partner(session, resident, partners.PartnerInput(**_form()))
    with pytest.raises(Forbidden):
        partners.list_partners(session, resident)
    assert _partners(session) == []


def test_the_idea_page_shows_the_partners_panel_and_a_refused_link(
    staff_client, session, staff_user
):
    partner = _make_partner(session, staff_user)
    idea = create_idea(session, staff_user, IdeaInput(title="Club services 33", origin="town"))
    partners.link_partner(session, staff_user, idea.id, partner.id, "detected_by")
    page = LexborHTMLParser(staff_client.get(f"/moderation/ideas/{idea.id}").text)
    panel = page.css_first("section#partners")
    assert "Détectée par" in panel.text() and "Ville de Mérignac" in panel.text()
    assert panel.css_first("form[action$='/partners#partners'] select[name=partner_id]") is not None

    response = staff_client.post(
        f"/moderation/ideas/{idea.id}/partners",
        data={
            "csrf_token": csrf_token(staff_client),
            "partner_id": partner.id,
            "link": "detected_by",
        },
        follow_redirects=False,
    )
    assert response.status_code == 422
    tree = LexborHTMLParser(response.text)
    select_box = tree.css_first("section#partners #f-idea-partner-partner_id")
    assert select_box.attributes["aria-invalid"] == "true"
    assert "déjà lié" in tree.css_first("#f-idea-partner-partner_id-error").text()
    # What was chosen is kept.
    assert tree.css_first("#f-idea-partner-link option[selected]").attributes["value"] == (
        "detected_by"
    )
