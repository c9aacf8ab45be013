"""Admin settings: the moderation rules (validated, saved, audited, and read by the board over
the environment's defaults) and the themes and territories (create, rename, reorder, archive;
a slug in use never changes)."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import func
from sqlmodel import Session, select

from app.board.models import Comment, Need, Territory, Theme
from app.board.supports import add_support
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.core.settings import ModerationMode
from app.core.site_config import SiteSetting, set_value, site_config
from tests.factories import (
    form_errors,
    fresh,
    login_as,
    make_need,
    make_territory,
    make_theme,
    make_user,
    page_text,
    post_form,
)


def audits(session: Session, action: str | None = None) -> list[AuditEntry]:
    statement = select(AuditEntry).order_by(AuditEntry.id)  # type: ignore[arg-type]
    if action:
        statement = statement.where(AuditEntry.action == action)
    return list(fresh(session).exec(statement))


def stored(session: Session) -> dict:  # type: ignore[type-arg]
    return {row.key: row.value for row in fresh(session).exec(select(SiteSetting))}


VALID = {"moderation_mode": "first-post", "auto_hide_threshold": "3", "blocked_words": ""}


def field_error(html: str, name: str) -> str:
    node = LexborHTMLParser(html).css_first(f"#f-{name}-error")
    return node.text(strip=True) if node else ""


# --- the moderation settings ----------------------------------------------------------------


def test_the_settings_page_shows_the_effective_values_with_each_mode_explained(
    client, signed_in_admin
):
    html = client.get("/moderation/settings").text
    tree = LexborHTMLParser(html)
    checked = tree.css_first('input[name="moderation_mode"][checked]')
    assert checked is not None and checked.attributes["value"] == "first-post"
    assert tree.css_first("#f-auto_hide_threshold").attributes["value"] == "3"
    text = page_text(html)
    assert "Publication immédiate" in text and "Tout est relu avant publication" in text
    # Every radio has its label and its explanation tied to it.
    for radio in tree.css('input[name="moderation_mode"]'):
        assert tree.css_first(f'label[for="{radio.attributes["id"]}"]') is not None
        assert tree.css_first(f"#{radio.attributes['aria-describedby']}") is not None


def test_saving_writes_the_rows_and_one_audit_entry_of_what_changed(
    client, session, signed_in_admin
):
    response = post_form(
        client,
        "/moderation/settings",
        {
            "moderation_mode": "pre",
            "auto_hide_threshold": "5",
            "blocked_words": "  Arnaque  \n\ncrédit   gratuit\nARNAQUE\nCredit gratuit\n",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/moderation/settings?done=saved"
    assert stored(session) == {
        "moderation_mode": "pre",
        "auto_hide_threshold": 5,
        "blocked_words": ["Arnaque", "crédit gratuit"],
    }
    (entry,) = audits(session)
    assert (entry.action, entry.actor_id, entry.target_kind) == (
        "settings.update",
        signed_in_admin.id,
        "setting",
    )
    assert entry.before == {
        "moderation_mode": "first-post",
        "auto_hide_threshold": 3,
        "blocked_words": [],
    }
    assert entry.after == {
        "moderation_mode": "pre",
        "auto_hide_threshold": 5,
        "blocked_words": ["Arnaque", "crédit gratuit"],
    }
    config = site_config(fresh(session))
    assert config.moderation_mode == ModerationMode.pre
    assert config.blocked_words == ("arnaque", "credit gratuit")
    # The form shows what was saved, one word per line.
    page = client.get(response.headers["location"]).text
    assert "Réglages enregistrés" in page
    assert LexborHTMLParser(page).css_first("#f-blocked_words").text() == "Arnaque\ncrédit gratuit"

    # Only the threshold changes: the second entry records only it.
    post_form(
        client,
        "/moderation/settings",
        {
            "moderation_mode": "pre",
            "auto_hide_threshold": "4",
            "blocked_words": "Arnaque\ncrédit gratuit",
        },
    )
    last = audits(session)[-1]
    assert (last.before, last.after) == ({"auto_hide_threshold": 5}, {"auto_hide_threshold": 4})


def test_saving_the_same_values_writes_nothing(client, session, signed_in_admin):
    response = post_form(client, "/moderation/settings", VALID)
    assert response.headers["location"] == "/moderation/settings?done=unchanged"
    assert stored(session) == {} and audits(session) == []


@pytest.mark.parametrize("value", ["0", "51", "", "trois", "3.5", "-2", "²", "1000000"])
def test_a_bad_threshold_is_refused_next_to_its_field_and_nothing_is_saved(
    client, session, signed_in_admin, value
):
    response = post_form(
        client,
        "/moderation/settings",
        {**VALID, "moderation_mode": "pre", "auto_hide_threshold": value, "blocked_words": "spam"},
    )
    assert response.status_code == 422
    assert "nombre entier de 1 à 50" in field_error(response.text, "auto_hide_threshold")
    tree = LexborHTMLParser(response.text)
    field = tree.css_first("#f-auto_hide_threshold")
    assert field.attributes["aria-invalid"] == "true"
    assert "f-auto_hide_threshold-error" in field.attributes["aria-describedby"]
    # What was typed is kept.
    assert tree.css_first("#f-blocked_words").text() == "spam"
    assert stored(session) == {} and audits(session) == []


def test_an_unknown_mode_is_refused(client, session, signed_in_admin):
    response = post_form(client, "/moderation/settings", {**VALID, "moderation_mode": "chaos"})
    assert response.status_code == 422
    assert field_error(response.text, "moderation_mode") == (
        "Choisissez l'un des trois modes de modération."
    )
    assert stored(session) == {}


def test_a_blocked_word_longer_than_60_characters_is_refused(client, session, signed_in_admin):
    long_word = "x" * 61
    response = post_form(
        client, "/moderation/settings", {**VALID, "blocked_words": f"spam\n{long_word}"}
    )
    assert response.status_code == 422
    assert "au plus 60 caractères" in field_error(response.text, "blocked_words")
    assert stored(session) == {}


def test_at_most_500_blocked_words(client, session, signed_in_admin):
    words = "\n".join(f"mot{n}" for n in range(501))
    response = post_form(client, "/moderation/settings", {**VALID, "blocked_words": words})
    assert response.status_code == 422
    assert "au plus 500" in field_error(response.text, "blocked_words")
    assert stored(session) == {}
    words = "\n".join(f"mot{n}" for n in range(500))
    response = post_form(client, "/moderation/settings", {**VALID, "blocked_words": words})
    assert response.status_code == 303
    assert len(stored(session)["blocked_words"]) == 500


# --- the board reads the effective configuration --------------------------------------------


def test_database_settings_override_the_environment(session, settings):
    assert site_config(session).moderation_mode == ModerationMode.first_post  # environment
    set_value(session, "moderation_mode", "post", user_id=None)
    set_value(session, "auto_hide_threshold", 7, user_id=None)
    session.commit()
    config = site_config(session)
    assert (config.moderation_mode, config.auto_hide_threshold) == (ModerationMode.post, 7)


def test_a_new_residents_need_follows_the_admins_mode(client, session, signed_in_admin):
    post_form(client, "/moderation/settings", {**VALID, "moderation_mode": "post"})
    resident = make_user(session)
    login_as(client, resident, session)
    response = post_form(
        client,
        "/needs/new",
        {"title": "Une crèche ouverte le soir à Mérignac", "body": "Pour les parents."},
    )
    assert response.status_code == 303 and "notice=posted" in response.headers["location"]
    need = fresh(session).exec(select(Need).where(Need.author_id == resident.id)).one()
    assert need.status == "published"  # the environment's first-post mode would have held it


def test_comments_follow_the_admins_mode_and_trusted_accounts_skip_pre_moderation(
    client, session, signed_in_admin
):
    from app.board.comments import post_comment

    need = make_need(session)
    post_form(client, "/moderation/settings", {**VALID, "moderation_mode": "pre"})
    fresh(session)
    resident = make_user(session)
    comment = post_comment(session, need.id, resident, "Je suis concerné aussi.")
    assert comment.status == "pending"
    trusted = make_user(session)
    trusted.trusted_at = utcnow()
    session.add(trusted)
    session.commit()
    comment = post_comment(session, need.id, trusted, "Moi aussi, tous les soirs.")
    assert comment.status == "published"
    assert fresh(session).get(Need, need.id).comments_count == 1  # type: ignore[union-attr]


# --- themes and territories -----------------------------------------------------------------


def names(session: Session, model: type) -> list[str]:  # type: ignore[type-arg]
    from app.board.queries import categories

    themes, territories = categories(fresh(session))
    return [row.name for row in (themes if model is Theme else territories)]


def board_options(client, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    tree = LexborHTMLParser(client.get("/").text)
    return [o.text(strip=True) for o in tree.css(f"#f-{name} option") if o.attributes.get("value")]


@pytest.mark.parametrize(("kind", "model"), [("themes", Theme), ("territories", Territory)])
def test_creating_makes_the_slug_from_the_name_and_audits(
    client, session, signed_in_admin, kind, model
):
    response = post_form(
        client, f"/moderation/settings/{kind}", {"name": "  Accès aux droits ", "name_en": "Rights"}
    )
    assert response.status_code == 303
    row = fresh(session).exec(select(model)).one()
    assert (row.slug, row.name, row.name_en) == ("acces-aux-droits", "Accès aux droits", "Rights")
    assert response.headers["location"] == f"/moderation/settings/{kind}?done=created#cat-{row.id}"
    target = "theme" if model is Theme else "territory"
    (entry,) = audits(session)
    assert (entry.action, entry.target_kind, entry.target_id) == (
        f"{target}.create",
        target,
        row.id,
    )
    assert entry.after == {
        "slug": "acces-aux-droits",
        "name": "Accès aux droits",
        "name_en": "Rights",
    }
    assert "Accès aux droits" in client.get(f"/moderation/settings/{kind}").text


def test_a_slug_clash_gets_a_suffix_and_a_same_name_a_clear_error(client, session, signed_in_admin):
    make_theme(session, slug="sante", name="Santé publique")
    post_form(client, "/moderation/settings/themes", {"name": "Santé"})
    assert fresh(session).exec(select(Theme.slug).where(Theme.name == "Santé")).one() == "sante-2"
    response = post_form(client, "/moderation/settings/themes", {"name": "SANTE"})
    assert response.status_code == 422
    assert form_errors(response.text) == ["Un élément porte déjà ce nom."]
    assert LexborHTMLParser(response.text).css_first("#f-name-new").attributes["value"] == "SANTE"
    assert fresh(session).exec(select(func.count()).select_from(Theme)).one() == 2


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Indiquez un nom."),
        ("   ", "Indiquez un nom."),
        ("x" * 81, "Le nom doit faire au plus 80 caractères."),
        ("!!!", "Le nom doit contenir au moins une lettre latine ou un chiffre"),
    ],
)
def test_a_bad_name_is_refused_and_nothing_is_created(
    client, session, signed_in_admin, name, message
):
    response = post_form(client, "/moderation/settings/themes", {"name": name})
    assert response.status_code == 422
    assert field_error(response.text, "name-new").startswith(message)
    assert fresh(session).exec(select(func.count()).select_from(Theme)).one() == 0
    assert audits(session) == []


def test_renaming_keeps_an_unused_slug_editable_and_audits_what_changed(
    client, session, signed_in_admin
):
    theme = make_theme(session, slug="mobilite", name="Mobilité")
    response = post_form(
        client,
        f"/moderation/settings/themes/{theme.id}",
        {"name": "Transports", "name_en": "Transport", "slug": "transports"},
    )
    assert response.status_code == 303
    row = fresh(session).get(Theme, theme.id)
    assert (row.name, row.name_en, row.slug) == ("Transports", "Transport", "transports")  # type: ignore[union-attr]
    (entry,) = audits(session)
    assert entry.action == "theme.rename"
    assert entry.before == {"name": "Mobilité", "name_en": "Mobilité", "slug": "mobilite"}
    assert entry.after == {"name": "Transports", "name_en": "Transport", "slug": "transports"}


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Avec Espaces", "L'adresse ne peut contenir que des lettres minuscules"),
        ("santé", "L'adresse ne peut contenir que des lettres minuscules"),
        ("sante", "Cette adresse est déjà prise par un autre élément."),
    ],
)
def test_a_bad_or_taken_slug_is_refused(client, session, signed_in_admin, slug, message):
    theme = make_theme(session, slug="mobilite", name="Mobilité")
    make_theme(session, slug="sante", name="Santé")
    response = post_form(
        client, f"/moderation/settings/themes/{theme.id}", {"name": "Mobilité", "slug": slug}
    )
    assert response.status_code == 422
    assert field_error(response.text, f"slug-{theme.id}").startswith(message)
    assert fresh(session).get(Theme, theme.id).slug == "mobilite"  # type: ignore[union-attr]
    assert audits(session) == []


def test_a_slug_in_use_never_changes(client, session, signed_in_admin):
    theme = make_theme(session, slug="mobilite", name="Mobilité")
    make_need(session, theme_id=theme.id, status="hidden")  # even a need nobody sees
    page = client.get("/moderation/settings/themes").text
    field = LexborHTMLParser(page).css_first(f"#f-slug-{theme.id}")
    assert "readonly" in field.attributes
    hint = LexborHTMLParser(page).css_first(f"#f-slug-{theme.id}-hint").text()
    assert "ne peut plus changer" in hint

    # Renaming is still possible; the slug stays.
    response = post_form(
        client,
        f"/moderation/settings/themes/{theme.id}",
        {"name": "Se déplacer", "slug": "mobilite"},
    )
    assert response.status_code == 303
    assert fresh(session).get(Theme, theme.id).slug == "mobilite"  # type: ignore[union-attr]

    # A forged form cannot change it.
    response = post_form(
        client,
        f"/moderation/settings/themes/{theme.id}",
        {"name": "Se déplacer", "slug": "deplacements"},
    )
    assert response.status_code == 422
    assert "ne peut plus changer" in field_error(response.text, f"slug-{theme.id}")
    assert fresh(session).get(Theme, theme.id).slug == "mobilite"  # type: ignore[union-attr]


def test_a_territory_named_by_a_support_only_is_in_use(client, session, signed_in_admin):
    territory = make_territory(session)
    need = make_need(session)
    add_support(session, need, make_user(session), concern="has_need", territory_id=territory.id)
    response = post_form(
        client,
        f"/moderation/settings/territories/{territory.id}",
        {"name": "Mérignac", "slug": "merignac-centre"},
    )
    assert response.status_code == 422
    assert fresh(session).get(Territory, territory.id).slug == "merignac"  # type: ignore[union-attr]


def test_moving_changes_the_order_of_the_board_filters(client, session, signed_in_admin):
    first = make_theme(session, slug="alimentation", name="Alimentation")
    make_theme(session, slug="logement", name="Logement")
    third = make_theme(session, slug="sante", name="Santé")
    assert names(session, Theme) == ["Alimentation", "Logement", "Santé"]

    response = post_form(
        client, f"/moderation/settings/themes/{third.id}/move", {"direction": "up"}
    )
    assert response.status_code == 303
    assert names(session, Theme) == ["Alimentation", "Santé", "Logement"]
    post_form(client, f"/moderation/settings/themes/{first.id}/move", {"direction": "down"})
    assert names(session, Theme) == ["Santé", "Alimentation", "Logement"]
    assert board_options(client, "theme") == ["Santé", "Alimentation", "Logement"]
    # Already first: nothing moves, nothing is logged.
    post_form(client, f"/moderation/settings/themes/{third.id}/move", {"direction": "up"})
    assert names(session, Theme) == ["Santé", "Alimentation", "Logement"]
    entries = audits(session)
    assert [e.action for e in entries] == ["theme.move", "theme.move"]
    assert (entries[0].before, entries[0].after) == ({"position": 2}, {"position": 1})

    response = post_form(
        client, f"/moderation/settings/themes/{third.id}/move", {"direction": "sideways"}
    )
    assert response.status_code == 422


def test_the_move_buttons_are_plain_forms_with_named_buttons(client, session, signed_in_admin):
    make_theme(session, slug="alimentation", name="Alimentation")
    make_theme(session, slug="logement", name="Logement")
    tree = LexborHTMLParser(client.get("/moderation/settings/themes").text)
    buttons = [b.text(separator=" ", strip=True) for b in tree.css(".category-actions button")]
    assert "Descendre « Alimentation »" in buttons and "Monter « Logement »" in buttons


def test_archiving_removes_it_from_the_board_and_forms_but_needs_keep_it(
    client, session, signed_in_admin
):
    theme = make_theme(session, slug="mobilite", name="Mobilité")
    make_theme(session, slug="sante", name="Santé")
    need = make_need(session, theme_id=theme.id)
    assert board_options(client, "theme") == ["Mobilité", "Santé"]

    response = post_form(client, f"/moderation/settings/themes/{theme.id}/archive")
    assert response.status_code == 303
    assert board_options(client, "theme") == ["Santé"]
    form = LexborHTMLParser(client.get("/needs/new").text)
    assert [o.attributes.get("value") for o in form.css("#f-theme option")] == ["", "sante"]
    assert fresh(session).get(Need, need.id).theme_id == theme.id  # type: ignore[union-attr]
    # Listed apart on the admin page, and a second click changes nothing.
    page = client.get("/moderation/settings/themes").text
    archived = LexborHTMLParser(page).css_first('section[aria-labelledby="archived-title"]')
    assert "Mobilité" in archived.text()
    post_form(client, f"/moderation/settings/themes/{theme.id}/archive")
    assert [e.action for e in audits(session)] == ["theme.archive"]

    response = post_form(client, f"/moderation/settings/themes/{theme.id}/unarchive")
    assert response.status_code == 303
    assert board_options(client, "theme") == ["Santé", "Mobilité"]  # back at the end
    assert [e.action for e in audits(session)] == ["theme.archive", "theme.unarchive"]


def test_an_archived_theme_still_names_its_needs_and_old_links_still_filter(
    client, session, signed_in_admin
):
    theme = make_theme(session, slug="mobilite", name="Mobilité")
    make_theme(session, slug="sante", name="Santé")
    need = make_need(session, theme_id=theme.id, title="Un minibus pour le marché du samedi")
    other = make_need(session, title="Une laverie solidaire au centre-ville")
    post_form(client, f"/moderation/settings/themes/{theme.id}/archive")

    # Partners' feeds and embeds carry ?theme=<slug>: the link keeps working, selected.
    response = client.get("/?theme=mobilite")
    assert response.status_code == 200
    assert need.title in response.text and other.title not in response.text
    tree = LexborHTMLParser(response.text)
    assert tree.css_first("#f-theme option[selected]").text(strip=True) == "Mobilité"
    card = next(c for c in tree.css("article") if need.title in c.text())
    assert "Mobilité" in card.text()
    assert "Mobilité" in page_text(client.get(f"/needs/{need.id}").text)


def test_posting_a_comment_is_unaffected_by_an_archived_theme(session):
    # A need keeps its archived theme and stays fully usable.
    theme = make_theme(session)
    need = make_need(session, theme_id=theme.id)
    theme.archived_at = utcnow()
    session.add(theme)
    session.commit()
    from app.board.comments import post_comment

    comment = post_comment(session, need.id, make_user(session), "Toujours d'actualité.")
    assert fresh(session).get(Comment, comment.id).status == "published"  # type: ignore[union-attr]
