"""The moderation file of a need: everything the team needs to decide, on one page."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from app.board.comments import post_comment
from app.board.models import Report
from app.board.supports import add_support
from app.core.db import utcnow
from app.moderation.merge import merge_needs
from app.moderation.revisions import edit_need_text
from tests.factories import login_as, make_need, make_user, page_text


def _links(html: str) -> set[str]:
    return {a.attributes.get("href") or "" for a in LexborHTMLParser(html).css("main a")}


def test_the_file_shows_status_author_counts_reports_comments_and_history(
    client, session, signed_in_moderator
):
    author = make_user(session, display_name="Claude Martin")
    need = make_need(session, author=author, title="Un lieu pour réparer les vélos à Pessac")
    add_support(session, need, author)
    add_support(session, need, make_user(session))
    reporter = make_user(session, display_name="Sacha Veilleur")
    commenter = make_user(session, display_name="Alex Commentateur")
    shown = post_comment(session, need, commenter, "Un atelier existe déjà le mardi.")
    hidden = post_comment(session, need, commenter, "Un commentaire masqué par l'équipe.")
    hidden.status = "hidden"  # as a moderator's decision leaves it: no longer counted
    session.add(hidden)
    session.refresh(need)
    need.comments_count -= 1
    session.add(need)
    session.add(
        Report(
            reporter_id=reporter.id,
            target_kind="need",
            target_id=need.id,
            reason="personal_data",
            detail="Il y a une adresse",
        )
    )
    session.add(
        Report(
            reporter_id=reporter.id,
            target_kind="comment",
            target_id=shown.id,
            reason="spam",
            status="dismissed",
        )
    )
    session.commit()
    edit_need_text(
        session,
        signed_in_moderator,
        need.id,
        title=need.title,
        body="Un texte sans l'adresse.",
        reason="Adresse retirée",
        seen_updated_at=need.updated_at.isoformat(),
    )

    response = client.get(f"/moderation/needs/{need.id}")

    assert response.status_code == 200
    text = page_text(response.text)
    assert need.title in text
    assert "Publié" in text
    assert "Claude Martin" in text
    links = _links(response.text)
    assert f"/moderation/accounts/{author.id}" in links
    assert f"/needs/{need.id}-{need.slug}" in links
    assert f"/moderation/needs/{need.id}/edit" in links
    assert f"/moderation/needs/{need.id}/merge" in links
    assert f"/moderation/comments/{shown.id}/edit" in links
    # Qualification is staff work: moderators do not get the link.
    assert f"/moderation/needs/{need.id}/qualification" not in links
    parser = LexborHTMLParser(response.text)
    assert parser.css_first(".file-count-supports").text(strip=True) == "2"
    assert parser.css_first(".file-count-comments").text(strip=True) == "1"
    # The open report is listed with its reason; the dismissed one is not.
    assert "Sacha Veilleur" in text and "Il y a une adresse" in text
    assert "Données personnelles" in text and "Publicité" not in page_text(
        response.text, "section[aria-labelledby=reports-title]"
    )
    # Comments of every status.
    assert "Un atelier existe déjà le mardi." in text
    assert "Un commentaire masqué par l'équipe." in text
    # The audit entries on it.
    history = page_text(response.text, "section[aria-labelledby=history-title]")
    assert "need.edit" in history and "Modé Rateur" in history and "Adresse retirée" in history


def test_staff_get_the_qualification_link(client, session):
    need = make_need(session)
    login_as(client, make_user(session, role="staff"), session)
    links = _links(client.get(f"/moderation/needs/{need.id}").text)
    assert f"/moderation/needs/{need.id}/qualification" in links


def test_a_merged_need_shows_its_target_and_the_target_lists_it(
    client, session, signed_in_moderator
):
    source = make_need(session, title="Une épicerie solidaire à Bègles")
    target = make_need(session, title="Une épicerie sociale dans le quartier de Bègles")
    merge_needs(session, signed_in_moderator, source.id, str(target.id), seen_status="published")

    page = client.get(f"/moderation/needs/{source.id}")
    assert page.status_code == 200
    assert "Fusionné" in page_text(page.text)
    links = _links(page.text)
    assert f"/moderation/needs/{target.id}" in links
    assert f"/moderation/needs/{source.id}/merge" not in links  # already merged

    kept = client.get(f"/moderation/needs/{target.id}").text
    assert f"/moderation/needs/{source.id}" in _links(kept)
    assert "need.merge" in page_text(kept, "section[aria-labelledby=history-title]")
    assert "need.merge" in page_text(page.text, "section[aria-labelledby=history-title]")


def test_a_need_deleted_by_its_author_is_shown_without_edit_or_merge(
    client, session, signed_in_moderator
):
    need = make_need(session)
    need.deleted_at = utcnow()
    session.add(need)
    session.commit()
    response = client.get(f"/moderation/needs/{need.id}")
    assert response.status_code == 200
    assert "supprimé par son auteur·e" in page_text(response.text)
    links = _links(response.text)
    assert f"/moderation/needs/{need.id}/edit" not in links
    assert f"/moderation/needs/{need.id}/merge" not in links


@pytest.mark.parametrize(
    "path",
    [
        "/moderation/needs/999999",
        "/moderation/needs/0",
        "/moderation/needs/2147483648",
        "/moderation/needs/99999999999999999999",
        "/moderation/needs/abc",
        "/moderation/needs/999999/edit",
        "/moderation/needs/2147483648/edit",
        "/moderation/needs/999999/merge",
        "/moderation/needs/2147483648/merge",
        "/moderation/comments/999999/edit",
        "/moderation/comments/2147483648/edit",
        "/moderation/comments/-1/edit",
    ],
)
def test_unknown_or_out_of_range_ids_are_404(client, session, signed_in_moderator, path):
    response = client.get(path)
    assert response.status_code == 404


def test_posting_to_an_unknown_need_is_404(client, session, signed_in_moderator):
    from tests.factories import post_form

    for path in ("/moderation/needs/2147483648/merge", "/moderation/needs/999999/edit"):
        assert post_form(client, path, {"into": "1", "seen": "x"}).status_code == 404
