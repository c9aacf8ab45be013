"""Who may see the register of would-be carriers and the projects people bring, propose an idea
to someone, and accept or decline a project (issue 17, item 7): staff and admins only, and a
refusal writes nothing (no invitation, no idea, no decision, no audit entry, no notification)."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from app.accounts.deps import SESSION_COOKIE
from app.board.models import Notification
from app.core.audit import AuditEntry
from app.pipeline import carriers, incubator
from app.pipeline.models import CarrierInvitation, CarrierProposal, Idea
from tests.factories import fresh, login_as, make_idea, make_territory, make_user, submit_form
from tests.moderation.access import ROLES, STAFF_UP, browser_as, matrix_cases

MATRIX = {
    "/moderation/carriers": STAFF_UP,
    "/moderation/carriers/projects": STAFF_UP,
}

ROUTES_COVERED = {("GET", path) for path in MATRIX} | {
    ("POST", "/moderation/carriers/{profile_id}/invite"),
    ("POST", "/moderation/carriers/projects/{proposal_id}/accept"),
    ("POST", "/moderation/carriers/projects/{proposal_id}/decline"),
}

# A form sent by each role: staff are sent on (303), an anonymous visitor to the login page.
POST_EXPECTED = [303, 403, 403, 403, 403, 303, 303]


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return fresh(session).exec(select(func.count()).select_from(model)).one()


def _as(client, session, who: str) -> None:  # type: ignore[no-untyped-def]
    browser_as(client, session, who)
    if who == "anonymous":  # signed out, the form token of that browser kept
        client.cookies.delete(SESSION_COOKIE)


def _staff_page(client, session, url: str) -> str:  # type: ignore[no-untyped-def]
    login_as(client, make_user(session, role="staff"), session)
    return client.get(url).text


def _profile(session):  # type: ignore[no-untyped-def]
    territory = make_territory(session, "begles", "Bègles")
    return carriers.save_profile(
        session,
        make_user(session, display_name="Inès Volontaire"),
        carriers.ProfileInput(
            skills="Gestion de boutique",
            domains=["management"],
            territory=territory.slug,
            availability="part_time",
            presentation="Ancienne gérante d'une épicerie, je veux créer une activité utile.",
        ),
    )


def _proposal(session):  # type: ignore[no-untyped-def]
    make_territory(session, "pessac", "Pessac")
    return incubator.submit_proposal(
        session,
        make_user(session, display_name="Yann Entrepreneur"),
        incubator.ProposalInput(
            title="Recyclerie de jouets",
            description=(
                "Une recyclerie de jouets à Pessac : collecte, remise en état par des salariés "
                "en insertion, vente à petits prix."
            ),
            territory="pessac",
            organisation="Asso Ludique",
            contact="06 01 02 03 04",
        ),
        rate_limits=False,
    )


@pytest.mark.parametrize(("path", "who", "expected"), matrix_cases(MATRIX))
def test_carrier_pages_access(client, session, path, who, expected):
    _profile(session)
    browser_as(client, session, who)
    response = client.get(path, follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")
    if expected == 403:
        assert "Inès Volontaire" not in response.text  # nothing of the register shows


@pytest.mark.parametrize(("who", "expected"), list(zip(ROLES, POST_EXPECTED, strict=True)))
def test_only_active_staff_propose_an_idea_and_a_refusal_writes_nothing(
    client, session, who, expected
):
    make_idea(session, stage="seeking_carrier", is_public=True, carrier_call="Une gérante.")
    profile = _profile(session)
    html = _staff_page(client, session, "/moderation/carriers")
    told = _count(session, Notification)
    _as(client, session, who)

    action = f"/moderation/carriers/{profile.id}/invite"
    response = submit_form(client, "/moderation/carriers", action, html=html)

    assert response.status_code == expected
    written = (_count(session, CarrierInvitation), _count(session, AuditEntry))
    if who in ("staff", "admin"):
        assert written == (1, 1) and _count(session, Notification) == told + 1
    else:
        assert written == (0, 0) and _count(session, Notification) == told


@pytest.mark.parametrize(("who", "expected"), list(zip(ROLES, POST_EXPECTED, strict=True)))
def test_only_active_staff_decide_on_a_project_and_a_refusal_writes_nothing(
    client, session, who, expected
):
    proposal = _proposal(session)
    html = _staff_page(client, session, "/moderation/carriers/projects")
    _as(client, session, who)

    accept = f"/moderation/carriers/projects/{proposal.id}/accept"
    decline = f"/moderation/carriers/projects/{proposal.id}/decline"
    accepted = submit_form(client, "/moderation/carriers/projects", accept, html=html)
    if who in ("staff", "admin"):
        assert accepted.status_code == expected
        assert fresh(session).get(CarrierProposal, proposal.id).status != "new"  # type: ignore[union-attr]
        assert _count(session, Idea) == 1
        return
    note = {"staff_note": "Ce projet existe déjà près de chez vous."}
    declined = submit_form(client, "/moderation/carriers/projects", decline, note, html=html)
    assert (accepted.status_code, declined.status_code) == (expected, expected)
    assert fresh(session).get(CarrierProposal, proposal.id).status == "new"  # type: ignore[union-attr]
    assert (_count(session, Idea), _count(session, AuditEntry)) == (0, 0)
