"""Needs collected offline: staff publish them at once under the fabrique's name with their
provenance; they are counted per source."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import func, select

from app.board.models import Follow, Need, Support
from app.core.audit import AuditEntry
from app.core.clock import local_today
from app.moderation import offline
from app.web.errors import Forbidden
from app.web.i18n import use_locale
from tests.factories import (
    form_errors,
    fresh,
    make_need,
    make_theme,
    make_user,
    page_text,
    post_form,
)

COLLECTED = local_today() - timedelta(days=14)


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(model)).one()


def _form(**changes: str) -> dict[str, str]:
    data = {
        "title": "Un lieu pour faire ses devoirs après l'école",
        "body": "Plusieurs parents rencontrés au marché cherchent une aide aux devoirs.",
        "theme": "",
        "territory": "",
        "source": "street_survey",
        "source_event": "Marché de Mérignac-Capeyron",
        "source_date": COLLECTED.isoformat(),
        "source_partner": "",
    }
    data.update(changes)
    return data


def test_staff_publish_an_offline_need_under_the_fabriques_name(client, session, signed_in_staff):
    make_theme(session)
    response = post_form(client, "/moderation/needs/new", _form(theme="mobilite"))
    assert response.status_code == 303
    need = fresh(session).exec(select(Need)).one()
    assert response.headers["location"] == f"/needs/{need.id}-{need.slug}?notice=recorded"
    assert need.status == "published"
    assert need.author_id is None and need.recorded_by_id == signed_in_staff.id
    assert (need.source, need.source_event, need.source_date, need.source_partner) == (
        "street_survey",
        "Marché de Mérignac-Capeyron",
        COLLECTED,
        None,
    )
    # The staff member is not the one in need: no support, no follow, counts at zero.
    assert need.supports_count == 0
    assert _count(session, Support) == 0 and _count(session, Follow) == 0
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.action, entry.actor_id, entry.target_id) == (
        "need.create_offline",
        signed_in_staff.id,
        need.id,
    )
    assert entry.after["source"] == "street_survey"
    assert entry.after["source_date"] == COLLECTED.isoformat()
    assert entry.after["theme"] == "mobilite"
    public = client.get(response.headers["location"])
    assert public.status_code == 200 and need.title in page_text(public.text)
    assert "publié au nom de la fabrique" in page_text(public.text)
    byline = LexborHTMLParser(public.text).css_first(".need-byline").text()
    assert "Recueilli par la fabrique" in byline and "Micro-trottoir" in byline
    assert "compte supprimé" not in byline
    client.cookies.clear()
    assert need.title in page_text(client.get("/").text)  # public at once, for everyone


def test_a_partner_relayed_need_records_the_partner(client, session, signed_in_staff):
    response = post_form(
        client,
        "/moderation/needs/new",
        _form(source="partner", source_partner="Centre social de Pessac", source_event=""),
    )
    assert response.status_code == 303
    need = fresh(session).exec(select(Need)).one()
    assert (need.source, need.source_partner, need.source_event) == (
        "partner",
        "Centre social de Pessac",
        None,
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"source": ""}, "source", "Indiquez comment ce besoin a été recueilli."),
        ({"source": "online"}, "source", "Indiquez comment ce besoin a été recueilli."),
        ({"source": "pigeon"}, "source", "Indiquez comment ce besoin a été recueilli."),
        ({"source_date": ""}, "source_date", "Indiquez la date"),
        ({"source_date": "12/11/2026"}, "source_date", "AAAA-MM-JJ"),
        ({"source_date": "2026-02-30"}, "source_date", "AAAA-MM-JJ"),
        ({"source_date": "1026-11-12"}, "source_date", "semble erronée"),
        ({"title": "court"}, "title", "au moins 10 caractères"),
        ({"theme": "inconnue"}, "theme", "Cette thématique n'existe pas."),
        ({"source_event": "x" * 121}, "source_event", "au plus 120 caractères"),
        ({"source": "partner"}, "source_partner", "Indiquez le partenaire"),
    ],
)
def test_bad_input_is_explained_next_to_the_field_and_nothing_is_written(
    client, session, signed_in_staff, changes, field, message
):
    response = post_form(client, "/moderation/needs/new", _form(**changes))
    assert response.status_code == 422
    tree = LexborHTMLParser(response.text)
    error = tree.css_first(f"#f-{field}-error")
    assert error is not None and message in error.text()
    assert f"f-{field}-error" in tree.css_first(f"#f-{field}").attributes["aria-describedby"]
    # What was typed is kept.
    assert tree.css_first("#f-title").attributes["value"] == _form(**changes)["title"]
    session = fresh(session)
    assert _count(session, Need) == 0 and _count(session, AuditEntry) == 0


def test_a_date_in_the_future_is_refused(client, session, signed_in_staff):
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    response = post_form(client, "/moderation/needs/new", _form(source_date=tomorrow))
    assert response.status_code == 422
    assert form_errors(response.text) == ["La date de recueil ne peut pas être dans le futur."]
    assert _count(fresh(session), Need) == 0


def test_today_is_accepted(client, session, signed_in_staff):
    today = local_today().isoformat()
    assert post_form(client, "/moderation/needs/new", _form(source_date=today)).status_code == 303


def test_the_same_form_sent_twice_creates_one_need(client, session, signed_in_staff):
    data = _form(submission_key="une-cle-de-formulaire")
    first = post_form(client, "/moderation/needs/new", data)
    second = post_form(client, "/moderation/needs/new", data)
    assert first.headers["location"] == second.headers["location"]
    session = fresh(session)
    assert _count(session, Need) == 1 and _count(session, AuditEntry) == 1


def test_the_form_offers_every_source_but_online_with_french_labels(
    client, session, signed_in_staff
):
    page = client.get("/moderation/needs/new")
    assert page.status_code == 200
    tree = LexborHTMLParser(page.text)
    options = {o.attributes["value"]: o.text() for o in tree.css("#f-source option")}
    assert options == {
        "": "Choisissez…",
        "street_survey": "Micro-trottoir",
        "meeting": "Réunion ou atelier",
        "phone": "Appel téléphonique",
        "partner": "Relayé par un partenaire",
        "other": "Autre rencontre",
    }
    assert "required" in tree.css_first("#f-source").attributes
    assert tree.css_first("#f-source_date").attributes["max"] == local_today().isoformat()


def test_the_service_refuses_moderators(session):
    with pytest.raises(Forbidden):
        offline.create_offline_need(
            session, make_user(session, role="moderator"), offline.OfflineNeedInput(**_form())
        )
    assert _count(fresh(session), Need) == 0


def test_source_label_words_the_provenance_in_french():
    need = Need(
        title="t",
        slug="t",
        source="street_survey",
        source_event="Marché de Capeyron",
        source_date=date(2026, 11, 12),
    )
    with use_locale("fr"):
        assert offline.source_label(need) == "Micro-trottoir — Marché de Capeyron, 12 novembre 2026"
        need.source, need.source_partner, need.source_event = "partner", "la mairie", None
        assert (
            offline.source_label(need)
            == "Relayé par un partenaire — 12 novembre 2026 — relayé par la mairie"
        )
        assert offline.source_label(Need(title="t", slug="t")) == ""


def test_needs_by_source_counts_public_needs_only(client, session, signed_in_staff):
    make_need(session)
    make_need(session, status="covered")
    make_need(session, status="hidden")
    deleted = make_need(session)
    deleted.deleted_at = deleted.created_at
    session.add(deleted)
    session.commit()
    for source in ("street_survey", "street_survey", "phone"):
        post_form(client, "/moderation/needs/new", _form(source=source))
    counts = offline.needs_by_source(fresh(session))
    assert counts == {
        "online": 2,
        "street_survey": 2,
        "meeting": 0,
        "phone": 1,
        "partner": 0,
        "other": 0,
    }
    page = client.get("/moderation/qualification").text
    figures = {
        node.css_first("dt").text(): node.css_first("dd").text()
        for node in LexborHTMLParser(page).css(".source-list > div")
    }
    assert figures["Micro-trottoir"] == "2" and figures["Déposé en ligne"] == "2"


def test_control_characters_are_dropped_not_a_server_error(client, session, signed_in_staff):
    response = post_form(
        client,
        "/moderation/needs/new",
        _form(source_event="Marché\x00 de Pessac", source_partner="Mairie\x07", source="partner"),
    )
    assert response.status_code == 303
    need = fresh(session).exec(select(Need)).one()
    assert (need.source_event, need.source_partner) == ("Marché de Pessac", "Mairie")
