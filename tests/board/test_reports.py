"""Reports: a resident flags a need, a comment or an account with a reason; one open report per
reporter and item; never their own content; only what they can see; stored, listed nowhere
public. Every refusal is a clear French page or message, writes nothing, and is never a 500."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.board import reports
from app.board.models import Comment, Need, Report, ReportReason, ReportTarget
from app.core.db import utcnow
from app.core.ratelimit import LIMITS, RateEvent, address_key
from app.core.text import render_markdown
from tests.factories import fresh, login_as, make_need, make_user, post_form, submit_form
from tests.factories import page_text as _page_text

REASONS = [reason.value for reason in ReportReason]
ALREADY = "Vous avez déjà signalé ce contenu ; l'équipe de modération va l'examiner."
SECRET_DETAIL = "Texte confidentiel du signalement 7f3a"


# --- helpers -------------------------------------------------------------------------------------


def _reports(session: Session) -> list[Report]:
    return list(fresh(session).exec(select(Report).order_by(Report.id)))  # type: ignore[arg-type]


def _rate_events(session: Session) -> int:
    return fresh(session).exec(select(func.count()).select_from(RateEvent)).one()


def make_comment(
    session: Session, need: Need, author: User, body: str = "Un avis sur ce besoin.", **extra
) -> Comment:  # type: ignore[no-untyped-def]
    comment = Comment(
        need_id=need.id,  # type: ignore[arg-type]
        author_id=author.id,
        body=body,
        body_html=render_markdown(body),
        **extra,
    )
    session.add(comment)
    session.commit()
    session.refresh(comment)
    return comment


def _signed_in(client, session, **kwargs) -> User:  # type: ignore[no-untyped-def]
    user = make_user(session, **kwargs)
    login_as(client, user, session)
    return user


def _report(client, kind: str, target_id, reason: str = "spam", detail: str = "", **kwargs):  # type: ignore[no-untyped-def]
    data = {"kind": kind, "id": str(target_id), "reason": reason, "detail": detail}
    return post_form(client, "/report", data, **kwargs)


def page_text(html: str) -> str:
    """The main text, French typography's narrow no-break spaces read as plain spaces."""
    return _page_text(html).replace("\u202f", " ").replace("\u00a0", " ")


def _tree(response) -> LexborHTMLParser:  # type: ignore[no-untyped-def]
    return LexborHTMLParser(response.text)


def _block(session: Session, user: User) -> None:
    user = fresh(session).get(User, user.id)  # type: ignore[assignment]
    user.blocked_at = utcnow()
    user.blocked_reason = "Spam répété"
    session.add(user)
    session.commit()


@pytest.fixture
def author(session) -> User:  # type: ignore[no-untyped-def]
    return make_user(session, display_name="Bernard")


@pytest.fixture
def need(session, author) -> Need:  # type: ignore[no-untyped-def]
    return make_need(session, author=author, title="Une conciergerie solidaire à Mérignac")


# --- each kind, each reason ----------------------------------------------------------------------


@pytest.mark.parametrize("reason", [r for r in REASONS if r != "other"])
def test_a_resident_reports_a_need_with_a_reason(client, session, need, reason):
    reporter = _signed_in(client, session)

    response = _report(client, "need", need.id, reason)

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/report/thanks"
    assert parse_qs(location.query)["back"] == [f"/needs/{need.id}-{need.slug}"]
    [report] = _reports(session)
    assert (report.reporter_id, report.target_kind, report.target_id) == (
        reporter.id,
        "need",
        need.id,
    )
    assert (report.reason, report.detail, report.status) == (reason, "", "open")
    assert report.resolved_at is None


def test_the_reason_other_is_accepted_with_a_text(client, session, need):
    _signed_in(client, session)

    response = _report(client, "need", need.id, "other", "  Ce besoin copie une annonce.  ")

    assert response.status_code == 303
    [report] = _reports(session)
    assert (report.reason, report.detail) == ("other", "Ce besoin copie une annonce.")


def test_a_resident_reports_a_comment(client, session, need, author):
    _signed_in(client, session)
    comment = make_comment(session, need, author)

    response = _report(client, "comment", comment.id, "abusive", "Insultant.")

    assert response.status_code == 303
    back = parse_qs(urlsplit(response.headers["location"]).query)["back"][0]
    assert back == f"/needs/{need.id}-{need.slug}#comment-{comment.id}"
    [report] = _reports(session)
    assert (report.target_kind, report.target_id, report.reason) == (
        "comment",
        comment.id,
        "abusive",
    )


def _report_links(html: str) -> dict[str, str]:
    """The « Signaler » links of the page's comments: the comment's anchor id → the link."""
    found = {}
    for article in LexborHTMLParser(html).css("article.comment"):
        for link in article.css("a"):
            if link.text(strip=True).startswith("Signaler"):
                found[article.attributes["id"] or ""] = link.attributes["href"] or ""
    return found


def test_a_comment_is_reported_from_its_own_link_on_the_need_page(client, session, need, author):
    """The charter says to use « Signaler »: each published comment of someone else has it,
    and its link leads to the report form, which the person fills and sends."""
    page = f"/needs/{need.id}-{need.slug}"
    theirs = make_comment(session, need, author, "Un avis de quelqu'un d'autre.")
    held = make_comment(session, need, author, "En attente.", status="pending")
    assert _report_links(client.get(page).text) == {}  # signed out: no link
    reporter = _signed_in(client, session)
    mine = make_comment(session, need, reporter, "Mon propre avis.")

    links = _report_links(client.get(page).text)

    assert set(links) == {f"comment-{theirs.id}"}  # not their own, not one held back
    assert f"comment-{mine.id}" not in links and f"comment-{held.id}" not in links
    form_page = client.get(links[f"comment-{theirs.id}"])
    assert form_page.status_code == 200 and "Signaler un commentaire" in form_page.text
    sent = submit_form(
        client, links[f"comment-{theirs.id}"], "/report", {"reason": "abusive"}, html=form_page.text
    )
    assert sent.status_code == 303
    [report] = _reports(session)
    assert (report.reporter_id, report.target_kind, report.target_id, report.reason) == (
        reporter.id,
        "comment",
        theirs.id,
        "abusive",
    )


def test_a_resident_reports_an_account_that_posted(client, session, need, author):
    _signed_in(client, session)

    response = _report(client, "user", author.id, "spam")

    assert response.status_code == 303
    [report] = _reports(session)
    assert (report.target_kind, report.target_id) == ("user", author.id)


def test_an_account_that_only_commented_can_be_reported(client, session, need):
    _signed_in(client, session)
    commenter = make_user(session)
    make_comment(session, need, commenter)

    assert _report(client, "user", commenter.id).status_code == 303


def test_the_thank_you_page_says_the_report_was_sent(client, session, need):
    _signed_in(client, session)

    response = _report(client, "need", need.id, follow_redirects=True)

    assert response.status_code == 200
    assert "transmis à l'équipe de modération" in page_text(response.text)
    link = _tree(response).css_first("main .notice a")
    assert link.attributes["href"] == f"/needs/{need.id}-{need.slug}"


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example", "javascript:x"])
def test_the_thank_you_page_only_links_back_inside_the_site(client, back):
    response = client.get("/report/thanks", params={"back": back})

    assert response.status_code == 200
    assert _tree(response).css_first("main .notice a").attributes["href"] == "/"


# --- the form ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["need", "comment", "user"])
def test_the_report_form_says_what_is_reported_and_offers_every_reason(
    client, session, need, author, kind
):
    _signed_in(client, session)
    comment = make_comment(session, need, author, "Appelez Jean au 06 00 00 00 00")
    target_id = {"need": need.id, "comment": comment.id, "user": author.id}[kind]

    response = client.get("/report", params={"kind": kind, "id": target_id})

    assert response.status_code == 200
    tree = _tree(response)
    subject = tree.css_first(".report-subject").text(separator=" ", strip=True)
    expected = {"need": need.title, "comment": "Appelez Jean", "user": "Bernard"}[kind]
    assert expected in subject
    form = tree.css_first('main form[action="/report"]')
    assert form.attributes["method"] == "post"
    assert form.css_first('input[name="kind"]').attributes["value"] == kind
    assert form.css_first('input[name="id"]').attributes["value"] == str(target_id)
    assert form.css_first('input[name="csrf_token"]').attributes["value"]
    fieldset = form.css_first("fieldset")
    assert fieldset.css_first("legend").text(strip=True).startswith("Pour quelle raison")
    radios = fieldset.css('input[type="radio"][name="reason"]')
    assert [r.attributes["value"] for r in radios] == REASONS
    for radio in radios:  # every choice has its label
        assert tree.css_first(f'label[for="{radio.attributes["id"]}"]') is not None
    textarea = form.css_first('textarea[name="detail"]')
    assert textarea.attributes["maxlength"] == "1000"
    assert tree.css_first(f'label[for="{textarea.attributes["id"]}"]') is not None
    assert form.css_first('button[type="submit"]') is not None


def test_the_other_reason_without_text_is_refused_and_the_form_kept(client, session, need):
    _signed_in(client, session)

    response = _report(client, "need", need.id, "other", "   ")

    assert response.status_code == 422
    tree = _tree(response)
    assert "Précisez" in tree.css_first("#f-detail-error").text()
    assert "checked" in tree.css_first('input[value="other"]').attributes
    assert _reports(session) == []
    assert _rate_events(session) == 0


@pytest.mark.parametrize("reason", ["", "inconnue", "SPAM", "spam\x00"])
def test_a_missing_or_unknown_reason_is_refused(client, session, need, reason):
    _signed_in(client, session)

    response = _report(client, "need", need.id, reason, "Un texte gardé")

    assert response.status_code == 422
    tree = _tree(response)
    assert tree.css_first("#f-reason-error").text(strip=True) == (
        "Choisissez la raison du signalement."
    )
    assert tree.css_first("textarea").text() == "Un texte gardé"
    assert _reports(session) == []


def test_a_text_over_1000_characters_is_refused_and_1000_accepted(client, session, need):
    _signed_in(client, session)

    response = _report(client, "need", need.id, "other", "é" * 1001)

    assert response.status_code == 422
    message = _tree(response).css_first("#f-detail-error").text().replace("\u202f", " ")
    assert "1 000 caractères au plus" in message.replace("\u00a0", " ")
    assert _reports(session) == []
    assert _report(client, "need", need.id, "other", "é" * 1000).status_code == 303
    assert len(_reports(session)[0].detail) == 1000


def test_markup_in_the_text_is_stored_as_typed_and_shown_inert(client, session, need):
    _signed_in(client, session)
    detail = '<script>alert(1)</script> <a href="javascript:x">lien</a>'

    response = _report(client, "need", need.id, "other", detail + "x" * 1000)

    assert response.status_code == 422
    assert "<script>alert(1)</script>" not in response.text
    assert _report(client, "need", need.id, "other", detail).status_code == 303
    assert _reports(session)[0].detail == detail


# --- one open report per reporter and item -------------------------------------------------------


def test_a_second_report_while_the_first_is_open_gets_a_friendly_message(client, session, need):
    _signed_in(client, session)
    assert _report(client, "need", need.id, "spam").status_code == 303
    events = _rate_events(session)

    response = _report(client, "need", need.id, "abusive", "Encore")

    assert response.status_code == 200
    assert ALREADY in page_text(response.text)
    assert [r.reason for r in _reports(session)] == ["spam"]
    assert _rate_events(session) == events


def test_the_form_of_an_item_already_reported_says_so_instead(client, session, need):
    _signed_in(client, session)
    _report(client, "need", need.id)

    response = client.get("/report", params={"kind": "need", "id": need.id})

    assert response.status_code == 200
    assert ALREADY in page_text(response.text)
    assert _tree(response).css_first('main form[action="/report"]') is None


@pytest.mark.parametrize("status", ["dismissed", "actioned"])
def test_a_new_report_is_allowed_once_the_first_was_closed(client, session, need, status):
    _signed_in(client, session)
    _report(client, "need", need.id, "spam")
    [first] = _reports(session)
    first.status = status
    first.resolved_at = utcnow()
    session.add(first)
    session.commit()

    response = _report(client, "need", need.id, "abusive")

    assert response.status_code == 303
    assert [(r.reason, r.status) for r in _reports(session)] == [
        ("spam", status),
        ("abusive", "open"),
    ]


def test_two_people_may_report_the_same_item(client, session, need, app):
    from fastapi.testclient import TestClient

    _signed_in(client, session)
    assert _report(client, "need", need.id).status_code == 303
    with TestClient(app, base_url="http://testserver") as other:
        _signed_in(other, session)
        assert _report(other, "need", need.id).status_code == 303
    assert len(_reports(session)) == 2


def test_the_same_person_may_report_a_need_and_its_author(client, session, need, author):
    _signed_in(client, session)

    assert _report(client, "need", need.id).status_code == 303
    assert _report(client, "user", author.id).status_code == 303
    assert len(_reports(session)) == 2


@pytest.mark.parametrize("rate_limits", [True, False], ids=["limits-on", "limits-off"])
def test_a_race_between_two_identical_reports_stores_one_and_writes_nothing_else(
    session, need, monkeypatch, rate_limits
):
    """Two submissions at once both pass the "already reported?" read; the partial unique index
    refuses the second, inside a savepoint: the person gets the friendly message, not a 500."""
    reporter = make_user(session)
    subject = reports.load_subject(session, reporter, ReportTarget.need, need.id)
    args = {"detail": "", "ip": "1.2.3.4", "rate_limits": rate_limits}
    reports.create_report(session, reporter, subject, reason="spam", **args)
    events = _rate_events(session)
    assert events == (2 if rate_limits else 0)
    monkeypatch.setattr(reports, "has_open_report", lambda *a: False)

    with pytest.raises(reports.AlreadyReported):
        reports.create_report(session, reporter, subject, reason="abusive", **args)

    assert [r.reason for r in _reports(session)] == ["spam"]
    assert _rate_events(session) == events
    # The session is still usable after the refused insert.
    assert session.get(Need, need.id) is not None


# --- not your own, only what you can see ---------------------------------------------------------


def test_nobody_reports_their_own_need_comment_or_account(client, session):
    me = _signed_in(client, session)
    my_need = make_need(session, author=me)
    my_comment = make_comment(session, my_need, me)

    for kind, target_id in [("need", my_need.id), ("comment", my_comment.id), ("user", me.id)]:
        for response in (
            client.get("/report", params={"kind": kind, "id": target_id}),
            _report(client, kind, target_id),
        ):
            assert response.status_code == 403, kind
            assert "propre" in page_text(response.text), kind
    assert _reports(session) == []
    assert _rate_events(session) == 0


def _hidden_targets(session: Session, author: User) -> list[tuple[str, int]]:
    public = make_need(session, author=author)
    targets = [
        ("need", make_need(session, author=author, status=status).id)
        for status in ("hidden", "pending", "rejected", "merged")
    ]
    deleted = make_need(session, author=author)
    deleted.deleted_at = utcnow()
    session.add(deleted)
    session.commit()
    targets.append(("need", deleted.id))  # type: ignore[arg-type]
    targets.append(("comment", make_comment(session, public, author, status="hidden").id))
    targets.append(("comment", make_comment(session, public, author, status="pending").id))
    targets.append(
        ("comment", make_comment(session, public, author, deleted_at=utcnow()).id)  # type: ignore[arg-type]
    )
    hidden_need = make_need(session, author=author, status="hidden")
    targets.append(("comment", make_comment(session, hidden_need, author).id))  # type: ignore[arg-type]
    silent = make_user(session)  # an account that never posted anything public
    make_need(session, author=silent, status="pending")
    targets.append(("user", silent.id))  # type: ignore[arg-type]
    targets += [("need", 999999), ("comment", 999999), ("user", 999999)]
    return targets  # type: ignore[return-value]


def test_what_the_reporter_cannot_see_is_not_found(client, session, author):
    _signed_in(client, session)

    for kind, target_id in _hidden_targets(session, author):
        for response in (
            client.get("/report", params={"kind": kind, "id": target_id}),
            _report(client, kind, target_id),
        ):
            assert response.status_code == 404, (kind, target_id)
            assert "n'existe pas" in page_text(response.text)
    assert _reports(session) == []
    assert _rate_events(session) == 0


def test_a_moderator_can_report_a_hidden_need(client, session, author):
    _signed_in(client, session, role=Role.moderator)
    hidden = make_need(session, author=author, status="hidden")

    assert _report(client, "need", hidden.id).status_code == 303


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 400),
        ({"id": "1"}, 400),
        ({"kind": "idea", "id": "1"}, 400),
        ({"kind": "NEED", "id": "1"}, 400),
        ({"kind": "need"}, 400),
        ({"kind": "need", "id": ""}, 400),
        ({"kind": "need", "id": "abc"}, 400),
        ({"kind": "need", "id": "-1"}, 400),
        ({"kind": "need", "id": "1.5"}, 400),
        ({"kind": "need", "id": "١"}, 400),  # an Arabic-Indic digit
        ({"kind": "need", "id": "1' OR '1'='1"}, 400),
        ({"kind": "need", "id": "0"}, 404),
        ({"kind": "need", "id": "2147483648"}, 404),
        ({"kind": "comment", "id": "99999999999999999999999"}, 400),
        ({"kind": "user", "id": "999999999999"}, 404),
    ],
)
def test_a_bad_kind_or_id_gets_a_french_page_and_writes_nothing(client, session, params, status):
    _signed_in(client, session)

    for response in (
        client.get("/report", params=params),
        post_form(client, "/report", {**params, "reason": "spam"}),
    ):
        assert response.status_code == status, params
        assert 'lang="fr"' in response.text
        assert f"Erreur {status}" in page_text(response.text)
    assert _reports(session) == []


# --- who may report ------------------------------------------------------------------------------


def test_a_visitor_is_sent_to_the_login_page_and_nothing_is_written(client, session, need):
    response = client.get("/report", params={"kind": "need", "id": need.id}, follow_redirects=False)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/account/login"
    assert parse_qs(location.query)["next"] == [f"/report?kind=need&id={need.id}"]

    response = _report(client, "need", need.id)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login")
    assert _reports(session) == []


def test_a_blocked_account_may_not_report(client, session, need):
    reporter = _signed_in(client, session)
    _block(session, reporter)

    for response in (
        client.get("/report", params={"kind": "need", "id": need.id}),
        _report(client, "need", need.id),
    ):
        assert response.status_code == 403
        assert "bloqué" in page_text(response.text)
    assert _reports(session) == []
    assert _rate_events(session) == 0


def test_a_report_without_csrf_token_is_refused(client, session, need):
    _signed_in(client, session)
    client.get("/report", params={"kind": "need", "id": need.id})

    response = client.post(
        "/report",
        data={"kind": "need", "id": str(need.id), "reason": "spam"},
        follow_redirects=False,
    )

    assert response.status_code == 403
    assert _reports(session) == []


def test_too_many_reports_get_429_with_retry_after(client, session, need):
    reporter = _signed_in(client, session)
    window, limit = LIMITS["report"][0]
    now = utcnow()
    for minutes in range(limit):
        session.add(
            RateEvent(key=f"report:user:{reporter.id}", created_at=now - timedelta(minutes=minutes))
        )
    session.commit()

    response = _report(client, "need", need.id)

    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= window.total_seconds() + 1
    assert "Réessayez dans" in page_text(response.text)
    assert _reports(session) == []


def test_each_report_counts_towards_the_limits_of_the_account_and_the_address(
    client, session, need
):
    reporter = _signed_in(client, session)

    _report(client, "need", need.id)

    keys = set(fresh(session).exec(select(RateEvent.key)))
    assert keys == {f"report:user:{reporter.id}", f"report:ip:{address_key('testclient')}"}


# --- htmx ----------------------------------------------------------------------------------------


def test_with_htmx_the_form_is_replaced_by_a_confirmation_fragment(client, session, need):
    _signed_in(client, session)

    response = _report(client, "need", need.id, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.headers["vary"] == "HX-Request, HX-Boosted, HX-History-Restore-Request"
    node = _tree(response).css_first("#report-panel")
    assert node.attributes["role"] == "status"
    assert "transmis" in node.text()
    assert len(_reports(session)) == 1


def test_with_htmx_an_error_returns_the_form_fragment_with_422(client, session, need):
    _signed_in(client, session)

    response = _report(client, "need", need.id, "other", headers={"HX-Request": "true"})

    assert response.status_code == 422
    assert "<html" not in response.text
    tree = _tree(response)
    assert tree.css_first("#report-panel form") is not None
    assert tree.css_first("#f-detail-error") is not None


def test_a_boosted_form_gets_the_redirect_like_a_plain_browser(client, session, need):
    _signed_in(client, session)

    response = _report(
        client, "need", need.id, headers={"HX-Request": "true", "HX-Boosted": "true"}
    )

    assert response.status_code == 303


def test_the_report_form_is_also_a_fragment_for_htmx(client, session, need):
    _signed_in(client, session)

    response = client.get(
        "/report", params={"kind": "need", "id": need.id}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert "<html" not in response.text
    assert _tree(response).css_first("#report-panel form") is not None


# --- listed nowhere public -----------------------------------------------------------------------


def test_reports_are_listed_nowhere_public(client, session, need, author, app):
    from fastapi.testclient import TestClient

    _signed_in(client, session)
    comment = make_comment(session, need, author)
    _report(client, "need", need.id, "other", SECRET_DETAIL)
    _report(client, "comment", comment.id, "other", SECRET_DETAIL)
    _report(client, "user", author.id, "other", SECRET_DETAIL)
    assert len(_reports(session)) == 3

    with TestClient(app, base_url="http://testserver") as visitor:
        pages = [
            visitor.get("/"),
            visitor.get(f"/needs/{need.id}-{need.slug}"),
            visitor.get("/", params={"q": "confidentiel"}),
        ]
    login_as(client, author, session)  # not even to the reported author
    pages.append(client.get(f"/needs/{need.id}-{need.slug}"))
    pages.append(client.get("/account"))
    for response in pages:
        assert SECRET_DETAIL not in response.text
