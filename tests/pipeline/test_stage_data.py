"""Each stage's data on the idea page: validation (422 next to the field, nothing written),
audit entries with before and after, milestones, and editing the idea itself."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.core.audit import AuditEntry
from app.pipeline import service, stage_data
from app.pipeline.models import Idea, Milestone
from tests.factories import fresh, make_theme, post_form, submit_form


@pytest.fixture
def idea(session, signed_in_staff):
    return service.create_idea(
        session,
        signed_in_staff,
        service.IdeaInput(title="Une conciergerie solidaire", origin="fabrique"),
    )


def _errors(response):
    return {
        n.attributes["id"].removeprefix("f-").removesuffix("-error"): n.text(strip=True)
        for n in LexborHTMLParser(response.text).css(".error-message")
    }


def _updates(session):
    return (
        fresh(session)
        .exec(select(AuditEntry).where(AuditEntry.action == "idea.update").order_by(AuditEntry.id))
        .all()
    )


def test_the_study_is_saved_and_audited_with_before_and_after(client, session, idea):
    response = post_form(
        client,
        f"/moderation/ideas/{idea.id}/study",
        {"study_notes": "# Marché\nDemande forte", "verdict": "viable"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/moderation/ideas/{idea.id}?saved=study#study"
    saved = fresh(session).get(Idea, idea.id)
    assert (saved.study_notes, saved.verdict) == ("# Marché\nDemande forte", "viable")
    [entry] = _updates(session)
    assert entry.before == {"study_notes": "", "verdict": None}
    assert entry.after == {"study_notes": "# Marché\nDemande forte", "verdict": "viable"}
    # Saving the same again changes nothing and logs nothing.
    post_form(
        client,
        f"/moderation/ideas/{idea.id}/study",
        {"study_notes": "# Marché\nDemande forte", "verdict": "viable"},
    )
    assert len(_updates(session)) == 1


def test_an_unknown_verdict_is_refused(client, session, idea):
    response = post_form(client, f"/moderation/ideas/{idea.id}/study", {"verdict": "peut-être"})
    assert response.status_code == 422
    assert "verdict" in _errors(response)
    assert fresh(session).get(Idea, idea.id).verdict is None


def test_the_call_and_the_carrier_are_saved_by_their_own_forms(client, session, idea):
    page = f"/moderation/ideas/{idea.id}"
    call = submit_form(client, page, f"{page}/call", {"carrier_call": "Une structure d'insertion"})
    assert call.status_code == 303 and call.headers["location"].endswith("?saved=call#call")
    carrier = submit_form(client, page, f"{page}/carrier", {"carrier_name": "  Emmaüs   Connect "})
    assert carrier.status_code == 303
    assert carrier.headers["location"].endswith("?saved=carrier#carrier")
    saved = fresh(session).get(Idea, idea.id)
    assert (saved.carrier_call, saved.carrier_name) == (
        "Une structure d'insertion",
        "Emmaüs Connect",
    )
    too_long = submit_form(client, page, f"{page}/carrier", {"carrier_name": "x" * 121})
    assert too_long.status_code == 422 and "carrier_name" in _errors(too_long)
    assert fresh(session).get(Idea, idea.id).carrier_name == "Emmaüs Connect"


GOOD = {
    "enterprise_name": "Club services 33",
    "legal_form": "scic",
    "jobs_created": "0",
    "launch_date": "2024-03-01",
    "enterprise_website": "https://club-services-33.fr",
}


STAGE_SAMPLES = {
    "study": {"study_notes": "Demande forte", "verdict": "viable"},
    "call": {"carrier_call": "Une structure d'insertion"},
    "carrier": {"carrier_name": "Emmaüs Connect"},
    "enterprise": GOOD,
}


def test_each_stage_form_of_the_table_saves_its_fields_once_audited(client, session, idea):
    assert set(STAGE_SAMPLES) == set(stage_data.STAGE_FORMS)
    for name, values in STAGE_SAMPLES.items():
        response = post_form(client, f"/moderation/ideas/{idea.id}/{name}", values)
        assert response.status_code == 303, name
        assert response.headers["location"] == f"/moderation/ideas/{idea.id}?saved={name}#{name}"
    saved = fresh(session).get(Idea, idea.id)
    assert (saved.study_notes, saved.verdict) == ("Demande forte", "viable")
    assert (saved.carrier_call, saved.carrier_name) == (
        "Une structure d'insertion",
        "Emmaüs Connect",
    )
    assert saved.enterprise_name == "Club services 33"
    assert [set(entry.after) for entry in _updates(session)] == [
        set(form.fields) for form in stage_data.STAGE_FORMS.values()
    ]


@pytest.mark.parametrize(
    ("name", "field", "limit"),
    [
        ("study", "study_notes", stage_data.STUDY_NOTES_MAX),
        ("call", "carrier_call", stage_data.CARRIER_CALL_MAX),
    ],
)
def test_a_text_over_its_limit_is_refused_with_its_message_not_cut(
    client, session, idea, name, field, limit
):
    response = post_form(client, f"/moderation/ideas/{idea.id}/{name}", {field: "x" * (limit + 1)})
    assert response.status_code == 422
    assert "caractères" in _errors(response)[field]  # the limit said, not the text cut
    assert getattr(fresh(session).get(Idea, idea.id), field) == ""
    assert _updates(session) == []


def test_the_enterprise_is_saved(client, session, idea):
    response = post_form(client, f"/moderation/ideas/{idea.id}/enterprise", GOOD)
    assert response.status_code == 303
    saved = fresh(session).get(Idea, idea.id)
    assert saved.enterprise_name == "Club services 33" and saved.legal_form == "scic"
    assert saved.jobs_created == 0 and saved.launch_date == date(2024, 3, 1)
    assert saved.enterprise_website == "https://club-services-33.fr"
    [entry] = _updates(session)
    assert entry.after["launch_date"] == "2024-03-01" and entry.after["jobs_created"] == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("jobs_created", "-1"),
        ("jobs_created", "10001"),
        ("jobs_created", "deux"),
        ("jobs_created", "²"),
        ("launch_date", (date.today() + timedelta(days=3)).isoformat()),
        ("launch_date", "2024-02-30"),
        ("launch_date", "demain"),
        ("enterprise_website", "javascript:alert(1)"),
        ("enterprise_website", "ftp://club.fr"),
        ("enterprise_website", "club-services.fr"),
        # Brackets that hold no IPv6 address: urlsplit raises on them (was a 500).
        ("enterprise_website", "http://[x"),
        ("enterprise_website", "https://[club]/"),
        ("legal_form", "sarl"),
        ("enterprise_name", "x" * 121),
    ],
)
def test_bad_enterprise_data_is_refused_next_to_its_field(client, session, idea, field, value):
    response = post_form(client, f"/moderation/ideas/{idea.id}/enterprise", {**GOOD, field: value})
    assert response.status_code == 422
    assert list(_errors(response)) == [field]
    # The typed value is kept in the form.
    node = LexborHTMLParser(response.text).css_first(f"#f-{field}")
    if node.tag == "input":
        assert node.attributes["value"] == value
    saved = fresh(session).get(Idea, idea.id)
    assert saved.enterprise_name is None and saved.jobs_created is None
    assert _updates(session) == []


def test_the_data_that_let_an_idea_in_cannot_be_emptied_afterwards(session, signed_in_staff, idea):
    stage_data.save_stage_form(
        session, signed_in_staff, idea.id, "study", {"study_notes": "ok", "verdict": "viable"}
    )
    stage_data.save_stage_form(
        session, signed_in_staff, idea.id, "call", {"carrier_call": "Profil"}
    )
    stage_data.save_stage_form(
        session, signed_in_staff, idea.id, "carrier", {"carrier_name": "Elise"}
    )
    for stage in ("studying", "seeking_carrier"):
        idea = service.move_idea(session, signed_in_staff, idea.id, stage, seen_stage=idea.stage)
    with pytest.raises(Exception) as caught:
        stage_data.save_stage_form(
            session,
            signed_in_staff,
            idea.id,
            "study",
            {"study_notes": "ok", "verdict": "not_viable"},
        )
    assert "verdict" in caught.value.errors  # type: ignore[attr-defined]
    session.rollback()
    # What the stage does not need yet stays free: the carrier may still change or go.
    stage_data.save_stage_form(session, signed_in_staff, idea.id, "carrier", {"carrier_name": ""})
    assert fresh(session).get(Idea, idea.id).verdict == "viable"


def test_stage_data_stays_editable_before_the_idea_gets_there(client, session, idea):
    response = post_form(client, f"/moderation/ideas/{idea.id}/enterprise", GOOD)
    assert response.status_code == 303
    assert fresh(session).get(Idea, idea.id).stage == "detected"


# --- milestones --------------------------------------------------------------------------------


def _milestones(session, idea):
    return [
        (m.label, m.done_at is not None)
        for m in stage_data.milestones(fresh(session), fresh(session).get(Idea, idea.id))
    ]


def test_milestones_are_added_ticked_renamed_reordered_and_deleted(client, session, idea):
    url = f"/moderation/ideas/{idea.id}/milestones"
    for label in ("Statuts déposés", "Local trouvé", "Premier financement"):
        assert post_form(client, url, {"label": label}).status_code == 303
    ids = [m.id for m in fresh(session).exec(select(Milestone).order_by(Milestone.id)).all()]
    assert post_form(client, f"{url}/{ids[1]}", {"action": "done"}).status_code == 303
    assert post_form(client, f"{url}/{ids[2]}", {"action": "up"}).status_code == 303
    assert _milestones(session, idea) == [
        ("Statuts déposés", False),
        ("Premier financement", False),
        ("Local trouvé", True),
    ]
    post_form(client, f"{url}/{ids[0]}", {"action": "down"})
    post_form(client, f"{url}/{ids[1]}", {"action": "undone"})
    post_form(client, f"{url}/{ids[2]}", {"action": "rename", "label": "Prêt de la NEF"})
    post_form(client, f"{url}/{ids[1]}", {"action": "down"})  # already last: nothing moves
    assert _milestones(session, idea) == [
        ("Prêt de la NEF", False),
        ("Statuts déposés", False),
        ("Local trouvé", False),
    ]
    assert post_form(client, f"{url}/{ids[0]}", {"action": "delete"}).status_code == 303
    assert [label for label, _done in _milestones(session, idea)] == [
        "Prêt de la NEF",
        "Local trouvé",
    ]
    actions = (
        fresh(session)
        .exec(
            select(AuditEntry.action).where(AuditEntry.action.startswith("idea.milestone"))  # type: ignore[attr-defined]
        )
        .all()
    )
    assert {
        "idea.milestone.add",
        "idea.milestone.done",
        "idea.milestone.undone",
        "idea.milestone.rename",
        "idea.milestone.move",
        "idea.milestone.delete",
    } <= set(actions)


def test_a_milestone_needs_a_label_and_belongs_to_its_idea(client, session, signed_in_staff, idea):
    url = f"/moderation/ideas/{idea.id}/milestones"
    empty = post_form(client, url, {"label": "   "})
    assert empty.status_code == 422 and "milestone-label" in _errors(empty)
    other = service.create_idea(session, signed_in_staff, service.IdeaInput(title="Une autre idée"))
    foreign = stage_data.add_milestone(session, signed_in_staff, other.id, "Ailleurs")
    assert post_form(client, f"{url}/{foreign.id}", {"action": "done"}).status_code == 404
    assert post_form(client, f"{url}/999999", {"action": "done"}).status_code == 404
    post_form(client, url, {"label": "Une étape"})
    mine = fresh(session).exec(select(Milestone).where(Milestone.idea_id == idea.id)).one()
    bad = post_form(client, f"{url}/{mine.id}", {"action": "rename", "label": ""})
    assert bad.status_code == 422 and f"milestone-{mine.id}-label" in _errors(bad)
    assert post_form(client, f"{url}/{mine.id}", {"action": "explode"}).status_code == 422
    assert fresh(session).get(Milestone, mine.id).label == "Une étape"


# --- the idea itself ---------------------------------------------------------------------------


def test_editing_the_idea_changes_title_slug_summary_theme_and_visibility(client, session, idea):
    make_theme(session)
    page = client.get(f"/moderation/ideas/{idea.id}/edit")
    assert page.status_code == 200
    response = post_form(
        client,
        f"/moderation/ideas/{idea.id}/edit",
        {
            "title": "Club services 33",
            "summary": "Une *conciergerie*",
            "theme": "mobilite",
            "is_public": "1",
        },
    )
    assert response.status_code == 303
    saved = fresh(session).get(Idea, idea.id)
    assert (saved.title, saved.slug, saved.is_public) == (
        "Club services 33",
        "club-services-33",
        True,
    )
    assert saved.summary_html == "<p>Une <em>conciergerie</em></p>"
    [entry] = _updates(session)
    assert entry.before["title"] == "Une conciergerie solidaire"
    assert entry.after["is_public"] is True
    bad = post_form(client, f"/moderation/ideas/{idea.id}/edit", {"title": "Ab"})
    assert bad.status_code == 422 and "title" in _errors(bad)
    assert fresh(session).get(Idea, idea.id).title == "Club services 33"
