"""Accounts whose e-mail address is not confirmed read the site but do not take part: they
cannot post, support, comment, report, follow or apply (forms, htmx and API alike), and reports
count toward automatic hiding only from confirmed accounts. Each page tells them why, with a
button to get the confirmation e-mail again.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import func, select

from app.accounts import service as accounts
from app.board.models import Comment, Follow, Need, Report, Support
from app.board.reports import distinct_open_reporters
from tests.factories import (
    fresh,
    login_as,
    make_need,
    make_user,
    page_text,
    post_form,
    submit_form,
)

CONFIRM = "Confirmez d'abord votre adresse e-mail pour participer"


def _counts(session: Any) -> tuple[int, ...]:
    session = fresh(session)
    return tuple(
        session.exec(select(func.count()).select_from(model)).one()
        for model in (Need, Comment, Support, Report, Follow)
    )


@pytest.fixture
def world(session):  # type: ignore[no-untyped-def]
    author = make_user(session, display_name="Autrice du besoin")
    need = make_need(session, author=author, title="Un besoin de garde d'enfants le soir")
    comment = Comment(need_id=need.id, author_id=author.id, body="Bonjour", body_html="Bonjour")
    session.add(comment)
    session.commit()
    newcomer = make_user(session, display_name="Nouveau venu", verified=False)
    return {"need": need, "comment": comment, "newcomer": newcomer, "author": author}


WRITES = {
    "post a need": ("/needs/new", {"title": "Un tout nouveau besoin du quartier", "body": "Texte"}),
    "support": ("/needs/{need}/support", {"action": "add"}),
    "say how one is concerned": ("/needs/{need}/support/concern", {"concern": "has_need"}),
    "comment": ("/needs/{need}/comments", {"body": "Un commentaire"}),
    "report a need": ("/report", {"kind": "need", "id": "{need}", "reason": "spam"}),
    "report a comment": ("/report", {"kind": "comment", "id": "{comment}", "reason": "spam"}),
    "follow": ("/needs/{need}/follow", {}),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_an_unconfirmed_account_is_told_to_confirm_and_nothing_is_written(
    client, session, world, name
):
    login_as(client, world["newcomer"], session)
    before = _counts(session)
    path, data = WRITES[name]
    ids = {"{need}": str(world["need"].id), "{comment}": str(world["comment"].id)}
    for key, value in ids.items():
        path = path.replace(key, value)
        data = {k: v.replace(key, value) for k, v in data.items()}

    response = post_form(client, path, data)

    assert response.status_code == 403
    assert CONFIRM in page_text(response.text)
    assert _counts(session) == before


def test_the_moi_aussi_button_says_why_in_place_with_htmx(client, session, world):
    login_as(client, world["newcomer"], session)
    need = world["need"]
    url = f"/needs/{need.id}-{need.slug}"

    response = submit_form(client, url, f"/needs/{need.id}/support", headers={"HX-Request": "true"})

    assert response.status_code == 403
    assert CONFIRM in page_text(response.text, "body")
    assert _counts(session)[2] == 0


def test_the_api_refuses_an_unconfirmed_accounts_token(client, session, world):
    raw = accounts.create_api_token(session, world["newcomer"], "Script")
    need = world["need"]

    response = client.put(
        f"/api/v1/needs/{need.id}/support", headers={"Authorization": f"Bearer {raw}"}
    )

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert CONFIRM in response.json()["detail"]
    assert _counts(session)[2] == 0


def test_every_page_says_so_and_sends_the_email_again(client, session, world, mailbox):
    newcomer = world["newcomer"]
    login_as(client, newcomer, session)
    need = world["need"]
    page = client.get(f"/needs/{need.id}-{need.slug}")
    assert "pas encore confirmée" in page_text(page.text)
    assert "Confirmez votre adresse e-mail pour commenter" in page_text(page.text)

    response = submit_form(client, "/", "/account/verify/resend")

    assert response.status_code == 303
    assert response.headers["location"] == "/account?notice=verification_sent"
    assert mailbox.last_link(newcomer.email, "/account/verify")


def test_once_confirmed_the_same_account_takes_part(client, session, world, mailbox):
    newcomer = world["newcomer"]
    login_as(client, newcomer, session)
    need = world["need"]
    post_form(client, "/account/verify/resend")
    link = mailbox.last_link(newcomer.email, "/account/verify")
    submit_form(client, link, "/account/verify/confirm")

    page = client.get(f"/needs/{need.id}-{need.slug}")
    assert "pas encore confirmée" not in page_text(page.text)
    response = submit_form(client, f"/needs/{need.id}-{need.slug}", f"/needs/{need.id}/support")

    assert response.status_code == 303
    assert _counts(session)[2] == 1


def test_reports_of_unconfirmed_accounts_do_not_hide_anything(client, session, world):
    # Three throwaway accounts' reports (made before confirmation was required, or written by
    # any other path) and a confirmed person's: below the threshold of 3, nothing is hidden.
    comment = world["comment"]
    for n in range(3):
        ghost = make_user(session, display_name=f"Compte jetable {n}", verified=False)
        session.add(
            Report(reporter_id=ghost.id, target_kind="comment", target_id=comment.id, reason="spam")
        )
    session.commit()
    assert distinct_open_reporters(session, "comment", comment.id) == 0

    reporter = make_user(session)
    login_as(client, reporter, session)
    page = f"/report?kind=comment&id={comment.id}"
    response = submit_form(client, page, "/report", {"reason": "spam"})

    assert response.status_code in (200, 303)
    assert fresh(session).get(Comment, comment.id).status == "published"
    assert distinct_open_reporters(session, "comment", comment.id) == 1


def test_three_confirmed_reporters_still_hide_a_comment(client, session, world):
    comment = world["comment"]
    for _n in range(3):
        login_as(client, make_user(session), session)
        page = f"/report?kind=comment&id={comment.id}"
        submit_form(client, page, "/report", {"reason": "spam"})

    assert fresh(session).get(Comment, comment.id).status != "published"
