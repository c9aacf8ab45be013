"""The privacy page lists what the database keeps about people, column by column (issue 18,
item 6).

Every table of the schema is either about people (PERSONAL: each of its columns is named by
words the French page must say, in the section that covers it) or not (NOT_ABOUT_PEOPLE, with
the reason). A new table or column fails here until it is placed, and the page is then checked
to say it: the page cannot silently fall behind the schema. Columns `id` and the links to
other rows (`…_id`) are structure, not data, unless listed.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from sqlmodel import SQLModel

import app.models  # noqa: F401  (every table)
from tests.factories import page_text

# table → {column: words of the French page that state it}
PERSONAL: dict[str, dict[str, str]] = {
    "users": {
        "email": "votre adresse e-mail",
        "display_name": "votre nom affiché",
        "password_hash": "l'empreinte de votre mot de passe",
        "role": "votre rôle sur le site",
        "locale": "votre langue préférée",
        "email_verified_at": "de confirmation de l'adresse",
        "created_at": "les dates de création du compte",
        "last_login_at": "de dernière connexion",
        "blocked_at": "en cas de blocage sa date",
        "blocked_until": "sa durée",
        "blocked_reason": "et son motif",
        "trusted_at": "si l'équipe vous accorde sa confiance",
    },
    "user_sessions": {
        "token_hash": "l'empreinte d'un jeton aléatoire",
        "user_agent": "l'identifiant du navigateur",
        "created_at": "les dates de connexion",
        "last_seen_at": "de dernière activité",
        "expires_at": "et d'expiration",
    },
    "email_tokens": {
        "purpose": "leur usage",
        "token_hash": "leur empreinte",
        "created_at": "leurs dates",
        "expires_at": "un lien de connexion 20 minutes",
        "used_at": "dès qu'ils ont servi",
    },
    "api_tokens": {
        "label": "le nom que vous leur donnez",
        "prefix": "leurs premiers caractères",
        "token_hash": "leur empreinte",
        "created_at": "les dates de création",
        "last_used_at": "de dernier usage",
        "revoked_at": "et de révocation",
    },
    "login_failures": {
        "email": "l'adresse e-mail saisie",
        "ip": "une empreinte de l'adresse ip",
        "created_at": "et l'heure",
    },
    "outbox_messages": {
        "to_address": "destinataire",
        "subject": "sujet",
        "body_text": "texte",
        "status": "état de l'envoi",
        "attempts": "tentatives",
        "next_attempt_at": "le temps de les remettre",
        "locked_until": "le temps de les remettre",
        "sent_at": "date d'envoi",
        "last_error": "dernière erreur",
        "created_at": "e-mails envoyés (ou abandonnés après plusieurs échecs) : 30 jours",
    },
    "rate_events": {
        "key": "avec une empreinte de votre adresse ip",
        "created_at": "enregistre son heure avec votre compte",
    },
    "needs": {
        "title": "vos besoins et vos commentaires (texte",
        "body": "vos besoins et vos commentaires (texte",
        "body_html": "vos besoins et vos commentaires (texte",
        "excerpt": "vos besoins et vos commentaires (texte",
        "slug": "vos besoins et vos commentaires (texte",
        "status": "état de modération",
        "moderation_reason": "motif d'une décision de l'équipe",
        "created_at": "dates",
        "updated_at": "quand ils sont modifiés",
        "deleted_at": "vous pouvez supprimer votre compte",
        "submission_key": "pour qu'un envoi ne compte pas deux fois",
        "source": "un besoin recueilli hors ligne par l'équipe",
        "source_event": "indique où",
        "source_date": "quand",
        "source_partner": "un besoin recueilli hors ligne par l'équipe",
        "recorded_by_id": "et qui l'a saisi",
        # The fabrique's public answer (issue 17): the team's words, not the author's.
        "answer_body": "la réponse de la fabrique à un besoin (son texte",
        "answer_html": "la réponse de la fabrique à un besoin (son texte",
        "answer_at": "et sa date) est publique",
        "supports_count": "le public n'en voit que des totaux",
        "comments_count": "vos besoins et vos commentaires",
        "trending_score": "le public n'en voit que des totaux",
        "merged_into_id": "chaque décision de l'équipe (modération",
        "qualified_at": "chaque décision de l'équipe (modération",
        "internal_note": "chaque décision de l'équipe (modération",
        "covered_name": "chaque décision de l'équipe (modération",
        "covered_url": "chaque décision de l'équipe (modération",
        "covered_note": "chaque décision de l'équipe (modération",
    },
    "comments": {
        "body": "vos besoins et vos commentaires (texte",
        "body_html": "vos besoins et vos commentaires (texte",
        "status": "état de modération",
        "moderation_reason": "motif d'une décision de l'équipe",
        "created_at": "dates",
        "updated_at": "quand ils sont modifiés",
        "deleted_at": "vous pouvez supprimer votre compte",
        "submission_key": "pour qu'un envoi ne compte pas deux fois",
    },
    "revisions": {
        "title": "leurs versions précédentes sont gardées",
        "body": "leurs versions précédentes sont gardées",
        "editor_name": "avec le nom de qui les a modifiés",
        "reason": "motif d'une décision de l'équipe",
        "target_kind": "vos besoins et vos commentaires",
        "created_at": "leurs versions précédentes sont gardées",
    },
    "supports": {
        "created_at": "pour chaque besoin que vous soutenez : la date",
        "concern": "comment vous êtes concerné·e",
        "territory_id": "et votre territoire",
    },
    "follows": {"created_at": "les besoins que vous suivez, avec la date"},
    "topic_follows": {
        "kind": "les thèmes, territoires et idées que vous suivez (leur type",
        "target_id": "lequel",
        "created_at": "et la date)",
    },
    "notifications": {
        "kind": "leur type",
        "need_id": "le besoin",
        "comment_id": "le commentaire",
        "actor_id": "et la personne concernés",
        "message": "le message",
        "created_at": "les dates de création",
        "read_at": "de lecture",
        "emailed_at": "et d'envoi par e-mail",
    },
    "notification_preferences": {
        "kind": "pour chaque type",
        "email_mode": "votre choix d'envoi par e-mail",
    },
    "reports": {
        "target_kind": "ce qui est signalé",
        "target_id": "ce qui est signalé",
        "reason": "le motif",
        "detail": "votre précision",
        "status": "son état",
        "created_at": "ses dates",
        "resolved_at": "ses dates",
    },
    "carrier_applications": {
        "motivation": "votre motivation",
        "experience": "votre expérience",
        "organisation": "votre organisation",
        "contact": "le moyen de vous joindre que vous donnez",
        "status": "son état",
        "staff_notes": "les notes de l'équipe",
        "created_at": "ses dates",
        "updated_at": "ses dates",
    },
    "carrier_profiles": {
        "skills": "vos compétences",
        "domains": "vos domaines",
        "availability": "votre disponibilité",
        "presentation": "votre présentation et ses dates",
        "created_at": "votre présentation et ses dates",
        "updated_at": "votre présentation et ses dates",
    },
    "carrier_invitations": {
        "message": "le message de l'équipe",
        "created_at": "la date de la proposition",
    },
    "carrier_proposals": {
        "title": "le nom de votre projet",
        "description": "sa description",
        "organisation": "votre organisation",
        "contact": "le moyen de vous joindre",
        "status": "son état, la réponse de l'équipe et ses dates",
        "staff_note": "la réponse de l'équipe",
        "created_at": "son état, la réponse de l'équipe et ses dates",
        "updated_at": "son état, la réponse de l'équipe et ses dates",
    },
    "audit_entries": {
        "actor_name": "avec le nom de qui l'a prise",
        "action": "chaque décision de l'équipe",
        "target_kind": "ce qu'elle concerne",
        "target_id": "ce qu'elle concerne",
        "reason": "son motif",
        "before": "les valeurs avant et après",
        "after": "les valeurs avant et après",
        "created_at": "chaque décision de l'équipe",
    },
    "idea_comments": {
        "author_name": "gardent le nom de leur auteur",
        "body": "les commentaires de l'équipe sur une idée",
        "body_html": "les commentaires de l'équipe sur une idée",
        "created_at": "les commentaires de l'équipe sur une idée",
    },
    "idea_stage_changes": {
        "actor_name": "avec le nom de qui l'a prise",
        "from_stage": "idées",
        "to_stage": "idées",
        "note": "son motif",
        "is_public": "idées",
        "created_at": "chaque décision de l'équipe",
    },
    "site_settings": {
        "key": "réglages du site",
        "value": "réglages du site",
        "updated_at": "réglages du site",
        "updated_by_id": "avec le nom de qui l'a prise",
    },
    "webhook_deliveries": {
        "payload": "ce qui est déjà public sur le site",
        "event": "avis envoyés aux sites des partenaires",
        "event_id": "avis envoyés aux sites des partenaires",
        "status": "avis envoyés aux sites des partenaires",
        "attempts": "avis envoyés aux sites des partenaires",
        "next_attempt_at": "avis envoyés aux sites des partenaires",
        "locked_until": "avis envoyés aux sites des partenaires",
        "delivered_at": "30 jours après leur envoi",
        "last_status_code": "avis envoyés aux sites des partenaires",
        "last_error": "avis envoyés aux sites des partenaires",
        "created_at": "30 jours après leur envoi",
    },
    "partner_referrals": {
        "day": "que des totaux par partenaire et par jour",
        "visits": "combien de visites",
        "needs_posted": "de besoins proposés",
        "supports": "et de soutiens",
    },
}

# Tables about organisations, places, projects and the site's own workings, not about a
# person: what they hold is published by the team or describes the fabrique's work.
NOT_ABOUT_PEOPLE: dict[str, str] = {
    "partners": "the fabrique's partner organisations (towns, funders, associations)",
    "tags": "the team's labels for needs",
    "offline_collections": "people met offline about a need: a number, never who",
    "themes": "the board's themes",
    "territories": "the board's places",
    "ideas": "the fabrique's projects, written and published by the team",
    "idea_documents": "the studies and files of a project, uploaded by the team",
    "idea_milestones": "a project's steps",
    "idea_needs": "which needs a project answers",
    "idea_partners": "which partners a project involves",
    "need_tags": "the team's labels on a need",
    "webhooks": "the partners' addresses that receive public notices",
}


def _normalised(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("’", "'").lower()
    return re.sub(r"\s+", " ", text)


def _structure(column: str) -> bool:
    return column == "id" or column.endswith("_id")


def test_every_table_is_placed_once():
    tables = set(SQLModel.metadata.tables)
    assert set(PERSONAL) & set(NOT_ABOUT_PEOPLE) == set()
    assert tables - set(PERSONAL) - set(NOT_ABOUT_PEOPLE) == set(), "place these tables here"
    assert set(PERSONAL) | set(NOT_ABOUT_PEOPLE) <= tables, "tables that no longer exist"


@pytest.mark.parametrize("table", sorted(PERSONAL))
def test_every_column_of_a_table_about_people_is_named(table):
    columns = {c.name for c in SQLModel.metadata.tables[table].columns}
    data = {c for c in columns if not _structure(c)}
    listed = set(PERSONAL[table])
    assert data - listed == set(), f"{table}: say on the privacy page what these columns keep"
    assert listed <= columns, f"{table}: these columns no longer exist"


def test_the_french_page_says_what_each_column_keeps(client):
    page = _normalised(page_text(client.get("/privacy").text))
    missing = {
        f"{table}.{column}": words
        for table, columns in PERSONAL.items()
        for column, words in columns.items()
        if _normalised(words) not in page
    }
    assert missing == {}


def test_the_english_page_has_the_same_sections(client):
    def headings(locale: str) -> int:
        html = client.get("/privacy", headers={"Accept-Language": locale}).text
        return len(re.findall(r"<h[23]", html.split("<main", 1)[1]))

    assert headings("en") == headings("fr") > 10


@pytest.mark.parametrize(
    ("days", "fr", "en"), [(1, "24 heures", "24 hours"), (7, "7 jours", "7 days")]
)
def test_the_page_states_how_long_the_anti_abuse_records_stay(app, client, days, fr, en):
    app.state.settings = app.state.settings.model_copy(update={"rate_events_days": days})
    french = _normalised(page_text(client.get("/privacy").text))
    english = _normalised(page_text(client.get("/privacy", headers={"Accept-Language": "en"}).text))
    assert f"effacés automatiquement après {fr}" in french
    assert f"deleted automatically after {en}" in english
