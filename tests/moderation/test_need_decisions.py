"""The heavier decisions on a need: approve and trust the author, refuse and block (hiding all
their content in one step), « déjà couvert » with an existing service; the author is told why,
on the need page and by e-mail with a link to the charter."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.accounts.models import User
from app.board.models import Comment, Need, Report
from app.core.audit import AuditEntry
from tests.factories import (
    form_errors,
    fresh,
    login_as,
    make_need,
    make_user,
    page_text,
    post_form,
    submit_form,
)
from tests.moderation.queue_helpers import (
    audit_actions,
    count,
    make_comment,
    make_report,
    notes_for,
)


def _decide(client, need, **data):  # type: ignore[no-untyped-def]
    return post_form(client, f"/moderation/needs/{need.id}/decision", data)


def test_approve_and_trust_publishes_and_the_next_post_skips_the_queue(client, session):
    author = make_user(session)
    need = make_need(session, author=author, status="pending")
    moderator = make_user(session, role="moderator")
    login_as(client, moderator, session)
    response = _decide(client, need, decision="trust", seen_status="pending")
    assert response.status_code == 303
    fresh(session)
    assert session.get(Need, need.id).status == "published"  # type: ignore[union-attr]
    assert session.get(User, author.id).trusted_at is not None  # type: ignore[union-attr]
    assert audit_actions(session) == [
        ("need.approve", "need", need.id),
        ("user.trust", "user", author.id),
    ]
    (note,) = notes_for(session, author)
    assert "sans attendre de relecture" in note.message


def test_refuse_and_block_hides_everything_of_the_author_and_blocks_them(client, session):
    spammer = make_user(session, display_name="Spammeur")
    other_author = make_user(session)
    target = make_need(session, author=spammer, status="pending")
    published = make_need(session, author=spammer)
    covered_need = make_need(session, author=spammer, status="covered")
    waiting = make_need(session, author=spammer, status="pending")
    untouched = make_need(session, author=other_author)
    comment = make_comment(session, untouched, spammer)
    second_comment = make_comment(session, untouched, spammer)
    waiting_comment = make_comment(session, untouched, spammer, status="pending")
    honest_comment = make_comment(session, untouched, other_author)
    make_report(session, other_author, "comment", comment.id)
    assert session.get(Need, untouched.id).comments_count == 3  # type: ignore[union-attr]

    moderator = make_user(session, role="moderator")
    login_as(client, moderator, session)
    response = _decide(
        client,
        target,
        decision="reject_block",
        seen_status="pending",
        reason="spam",
        confirm_block="1",
    )
    assert response.status_code == 303
    fresh(session)
    status = {n.id: n.status for n in session.exec(select(Need))}
    assert status[target.id] == "rejected"
    assert status[published.id] == "hidden" and status[covered_need.id] == "hidden"
    assert status[waiting.id] == "rejected"
    assert status[untouched.id] == "published"
    comments = {c.id: c.status for c in session.exec(select(Comment))}
    assert comments[comment.id] == comments[second_comment.id] == "hidden"
    assert comments[waiting_comment.id] == "hidden"
    assert comments[honest_comment.id] == "published"
    # Only the two published comments were counted: the count drops by exactly two.
    assert session.get(Need, untouched.id).comments_count == 1  # type: ignore[union-attr]
    blocked = session.get(User, spammer.id)
    assert blocked.is_blocked() and blocked.blocked_reason == "Publicité ou spam"  # type: ignore[union-attr]
    actions = audit_actions(session)
    assert ("need.reject", "need", target.id) in actions
    assert ("user.block", "user", spammer.id) in actions
    assert ("need.hide", "need", published.id) in actions
    assert ("need.reject", "need", waiting.id) in actions
    assert ("comment.hide", "comment", comment.id) in actions
    assert ("comment.reject", "comment", waiting_comment.id) in actions
    assert len(actions) == 8
    assert session.exec(select(Report)).one().status == "actioned"
    # Told twice: the block (by accounts.block_user, with the charter) and the decision.
    blocked_note, note = notes_for(session, spammer)
    assert "bloqué" in blocked_note.message
    assert "n'est pas publié" in note.message and "Publicité ou spam" in note.message
    assert "3 besoin(s), 3 commentaire(s)" in note.message


def _block_form_html(client, key: str) -> str:  # type: ignore[no-untyped-def]
    """The queue item's folded « … et bloquer l'auteur·e » form, as the moderator sees it."""
    item = LexborHTMLParser(client.get("/moderation/queue").text).css_first(f"#item-{key}")
    assert item is not None
    folded = item.css_first("details.queue-block")
    assert folded is not None
    return folded.html  # type: ignore[return-value]


def test_refuse_and_block_is_folded_apart_and_needs_its_box_ticked(client, session):
    spammer = make_user(session, display_name="Spammeur")
    target = make_need(session, author=spammer, status="pending")
    published = make_need(session, author=spammer)
    login_as(client, make_user(session, role="moderator"), session)
    item = LexborHTMLParser(client.get("/moderation/queue").text).css_first(
        f"#item-need-{target.id}"
    )
    # Not beside « Refuser »: the everyday form has no blocking button.
    everyday = item.css_first("form.queue-actions")
    assert "reject_block" not in {b.attributes.get("value") for b in everyday.css("button")}
    folded = item.css_first("details.queue-block")
    assert "open" not in folded.attributes
    assert "Refuser et bloquer" in folded.css_first("summary").text()
    box = folded.css_first("input[name=confirm_block]")
    assert box.attributes["type"] == "checkbox" and "required" in box.attributes
    assert "Spammeur" in folded.css_first(f'label[for="{box.attributes["id"]}"]').text()

    action = f"/moderation/needs/{target.id}/decision"
    # The box left unticked (a browser without `required`, or a hurried click): refused, in
    # French, the form comes back open with the chosen reason, and nothing is written.
    html = _block_form_html(client, f"need-{target.id}")
    response = submit_form(client, "", action, {"reason": "spam"}, html=html)
    assert response.status_code == 422
    assert any("Cochez la case pour confirmer le blocage" in e for e in form_errors(response.text))
    again = LexborHTMLParser(response.text).css_first(f"#item-need-{target.id} details.queue-block")
    assert "open" in again.attributes
    assert again.css_first("select[name=reason] option[selected]").attributes["value"] == "spam"
    fresh(session)
    assert session.get(Need, target.id).status == "pending"  # type: ignore[union-attr]
    assert session.get(Need, published.id).status == "published"  # type: ignore[union-attr]
    assert not session.get(User, spammer.id).is_blocked()  # type: ignore[union-attr]
    assert count(session, AuditEntry) == 0

    # Neither a reason nor the box: both messages at once.
    response = submit_form(client, "", action, html=html)
    shown = " ".join(form_errors(response.text))
    assert "Choisissez un motif" in shown and "Cochez la case" in shown

    response = submit_form(client, "", action, {"reason": "spam", "confirm_block": "1"}, html=html)
    assert response.status_code == 303
    fresh(session)
    assert session.get(Need, target.id).status == "rejected"  # type: ignore[union-attr]
    assert session.get(Need, published.id).status == "hidden"  # type: ignore[union-attr]
    assert session.get(User, spammer.id).is_blocked()  # type: ignore[union-attr]


def test_hide_and_block_a_comment_is_folded_apart_too(client, session):
    spammer = make_user(session, display_name="Spammeuse")
    need = make_need(session)
    comment = make_comment(session, need, spammer)
    make_report(session, make_user(session), "comment", comment.id)
    login_as(client, make_user(session, role="moderator"), session)
    html = _block_form_html(client, f"comment-{comment.id}")
    assert "Masquer et bloquer" in html
    action = f"/moderation/comments/{comment.id}/decision"
    response = submit_form(client, "", action, {"reason": "spam"}, html=html)
    assert response.status_code == 422
    fresh(session)
    assert session.get(Comment, comment.id).status == "published"  # type: ignore[union-attr]
    response = submit_form(client, "", action, {"reason": "spam", "confirm_block": "1"}, html=html)
    assert response.status_code == 303
    fresh(session)
    assert session.get(Comment, comment.id).status == "hidden"  # type: ignore[union-attr]
    assert session.get(User, spammer.id).is_blocked()  # type: ignore[union-attr]


def test_a_moderator_cannot_block_a_team_member_and_nothing_is_written(client, session):
    colleague = make_user(session, role="staff")
    need = make_need(session, author=colleague)
    login_as(client, make_user(session, role="moderator"), session)
    response = _decide(
        client,
        need,
        decision="reject_block",
        seen_status="published",
        reason="spam",
        confirm_block="1",
    )
    assert response.status_code == 403
    fresh(session)
    assert session.get(Need, need.id).status == "published"  # type: ignore[union-attr]
    assert count(session, AuditEntry) == 0


def test_covered_points_the_author_to_the_existing_service(client, session, mailbox):
    author = make_user(session)
    need = make_need(session, author=author, status="pending", title="Aide aux devoirs")
    login_as(client, make_user(session, role="moderator"), session)
    response = _decide(
        client,
        need,
        decision="covered",
        seen_status="pending",
        covered_name="Accompagnement scolaire du centre social",
        covered_url="https://centre-social.example/devoirs",
        covered_note="Le mardi et le jeudi, de 17 h à 19 h.",
    )
    assert response.status_code == 303
    fresh(session)
    stored = session.get(Need, need.id)
    assert (stored.status, stored.covered_name, stored.covered_url, stored.covered_note) == (  # type: ignore[union-attr]
        "covered",
        "Accompagnement scolaire du centre social",
        "https://centre-social.example/devoirs",
        "Le mardi et le jeudi, de 17 h à 19 h.",
    )
    entry = session.exec(select(AuditEntry)).one()
    assert entry.action == "need.cover" and entry.after["covered_name"].startswith("Accompagnement")
    (note,) = notes_for(session, author)
    assert "Accompagnement scolaire du centre social" in note.message
    # The public sees the service, its link marked as external and not endorsed.
    client.cookies.clear()
    page = client.get(f"/needs/{need.id}-{need.slug}").text
    link = LexborHTMLParser(page).css_first('a[href="https://centre-social.example/devoirs"]')
    assert link is not None and set(link.attributes["rel"].split()) >= {"noopener", "nofollow"}
    assert "Service existant" in page_text(page) and "le jeudi" in page_text(page)
    # The e-mail names the service and links to the charter.
    (mail,) = mailbox.to(author.email)
    body = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Accompagnement scolaire" in body and "http://testserver/charter" in body


# The second: brackets that hold no IPv6 address, on which urlsplit raises (was a 500).
@pytest.mark.parametrize("link", ["javascript:alert(1)", "http://[centre-social"])
def test_covered_with_an_invalid_link_is_a_422_and_writes_nothing(client, session, link):
    need = make_need(session, status="pending")
    login_as(client, make_user(session, role="moderator"), session)
    response = _decide(
        client,
        need,
        decision="covered",
        seen_status="pending",
        covered_name="Un service",
        covered_url=link,
    )
    assert response.status_code == 422
    node = LexborHTMLParser(response.text).css_first(f"#need-{need.id}-covered_url")
    assert node.attributes["aria-invalid"] == "true"
    assert "https://" in page_text(response.text, f"#need-{need.id}-covered_url-error")
    assert node.attributes["value"] == link
    fresh(session)
    stored = session.get(Need, need.id)
    assert stored.status == "pending" and stored.covered_name is None  # type: ignore[union-attr]
    assert count(session, AuditEntry) == 0


def test_covered_needs_the_name_of_the_service(client, session):
    need = make_need(session)
    login_as(client, make_user(session, role="moderator"), session)
    response = _decide(client, need, decision="covered", seen_status="published")
    assert response.status_code == 422
    assert "nom du service" in response.text


def test_hiding_closes_the_reports_and_the_author_sees_why(client, session, mailbox):
    author = make_user(session)
    need = make_need(session, author=author)
    make_report(session, make_user(session), "need", need.id)
    make_report(session, make_user(session), "need", need.id, reason="abusive")
    login_as(client, make_user(session, role="moderator"), session)
    _decide(
        client,
        need,
        decision="hide",
        seen_status="published",
        reason="abusive",
        detail="Insultes envers un voisin",
    )
    fresh(session)
    reports = session.exec(select(Report)).all()
    assert {r.status for r in reports} == {"actioned"}
    assert all(r.resolved_at is not None for r in reports)
    assert "Signalé" not in client.get("/moderation/queue").text
    login_as(client, author, session)
    page = page_text(client.get(f"/needs/{need.id}-{need.slug}").text, ".moderation-reason")
    assert "Propos injurieux ou irrespectueux — Insultes envers un voisin" in page
    (mail,) = mailbox.to(author.email)
    body = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Insultes envers un voisin" in body and "http://testserver/charter" in body


def test_the_reason_is_not_shown_to_other_residents(client, session):
    need = make_need(session, status="hidden")
    fresh(session)
    stored = session.get(Need, need.id)
    stored.moderation_reason = "Motif confidentiel"  # type: ignore[union-attr]
    session.add(stored)
    session.commit()
    login_as(client, make_user(session, role="moderator"), session)
    assert "Motif confidentiel" in client.get(f"/needs/{need.id}-{need.slug}").text


def test_covered_is_offered_on_the_need_page_and_closes_its_reports(client, session):
    author = make_user(session)
    need = make_need(session, author=author, title="Un repair café à Bègles")
    reporter = make_user(session)
    make_report(session, reporter, "need", need.id, reason="other")
    url = f"/needs/{need.id}-{need.slug}"
    login_as(client, make_user(session, role="moderator"), session)
    html = client.get(url).text
    box = LexborHTMLParser(html).css_first("section.moderation-box details.queue-covered")
    assert box is not None and "Déjà couvert" in box.css_first("summary").text()

    response = submit_form(
        client,
        url,
        f"/moderation/needs/{need.id}/decision",
        {"covered_name": "Repair café de la maison de quartier"},
        html=box.html,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?notice=moderated"
    fresh(session)
    stored = session.get(Need, need.id)
    assert (stored.status, stored.covered_name) == (  # type: ignore[union-attr]
        "covered",
        "Repair café de la maison de quartier",
    )
    assert session.exec(select(Report)).one().status == "actioned"
    assert "Décision enregistrée" in page_text(client.get(response.headers["location"]).text)
    # A resident sees no moderation form at all.
    login_as(client, reporter, session)
    assert "queue-covered" not in client.get(url).text


def test_the_author_is_told_in_their_own_language(client, session):
    """The moderator works in French; the author chose English: the notification (and its
    reason) is written in English, the moderator's words aside."""
    author = make_user(session)
    author.locale = "en"
    session.add(author)
    session.commit()
    need = make_need(session, author=author, title="A laundrette near the station")
    login_as(client, make_user(session, role="moderator"), session)
    response = _decide(client, need, decision="hide", seen_status="published", reason="spam")
    assert response.status_code == 303
    (note,) = notes_for(session, author)
    assert note.message.startswith("Your need “A laundrette near the station” has been hidden")
    assert "Advertising or spam" in note.message and "Motif" not in note.message
