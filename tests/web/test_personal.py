"""Signed-in pages rendered once per shape and filled in per person (app/web/personal.py):
each person sees their own form token, unread count, marks and banner, never another's, and
every write shows at once."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import Session

from app.accounts.models import User
from app.board.models import Notification
from app.board.supports import add_support
from app.core.db import utcnow
from app.web import personal
from tests.factories import csrf_token, login_as, make_need, make_user


def browser(client: TestClient, user: User, session: Session) -> TestClient:
    """Another browser on the same app, signed in as `user`."""
    other = TestClient(client.app)
    login_as(other, user, session)
    return other


def page(client: TestClient, url: str = "/") -> LexborHTMLParser:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert "\x1e" not in response.text  # no hole left unfilled
    return LexborHTMLParser(response.text)


def logout_token(doc: LexborHTMLParser) -> str:
    node = doc.css_first('form[action="/account/logout"] input[name="csrf_token"]')
    assert node is not None
    return node.attributes["value"] or ""


def marked(doc: LexborHTMLParser) -> list[str]:
    return [
        card.css_first(".need-card-title a").text(strip=True)  # type: ignore[union-attr]
        for card in doc.css("article.need-card")
        if card.css_first(".count-mine") is not None
    ]


def unread_badge(doc: LexborHTMLParser) -> str | None:
    node = doc.css_first(".main-nav .badge-count")
    return node.text(strip=True) if node is not None else None


def test_each_person_gets_their_own_token_marks_and_count_from_one_render(
    client, session, monkeypatch
):
    first = make_need(session, title="Une épicerie solidaire")
    second = make_need(session, title="Un atelier vélo")
    alice, bruno = make_user(session), make_user(session)
    add_support(session, first, alice)
    add_support(session, second, bruno)
    for _ in range(3):
        session.add(Notification(user_id=bruno.id, kind="comment", message="x"))
    session.commit()
    renders = []
    real = personal.render_to_string
    monkeypatch.setattr(
        personal, "render_to_string", lambda *a, **k: renders.append(a[0]) or real(*a, **k)
    )
    as_alice, as_bruno = browser(client, alice, session), browser(client, bruno, session)

    doc_a = page(as_alice)
    doc_b = page(as_bruno)
    doc_a2 = page(as_alice)

    assert marked(doc_a) == marked(doc_a2) == ["Une épicerie solidaire"]
    assert marked(doc_b) == ["Un atelier vélo"]
    # Each page's form token is the one its own browser's forms are checked against.
    assert logout_token(doc_a) == logout_token(doc_a2) == csrf_token(as_alice)
    assert logout_token(doc_b) == csrf_token(as_bruno) != csrf_token(as_alice)
    assert unread_badge(doc_a) is None
    assert unread_badge(doc_b) is not None and unread_badge(doc_b).startswith("3")
    # Alice's two pages came from one render; Bruno (unread notifications) has his own shape.
    assert renders == ["board/board.html", "board/board.html"]


def test_the_team_link_and_the_confirmation_banner_follow_the_person(client, session):
    make_need(session, title="Une laverie sociale")
    resident = make_user(session)
    moderator = make_user(session, role="moderator")
    unconfirmed = make_user(session, verified=False)

    doc = page(browser(client, resident, session))
    assert doc.css_first('.main-nav a[href="/moderation/"]') is None
    assert doc.css_first(".notice-unconfirmed") is None
    doc = page(browser(client, moderator, session))
    assert doc.css_first('.main-nav a[href="/moderation/"]') is not None
    as_unconfirmed = browser(client, unconfirmed, session)
    doc = page(as_unconfirmed)
    banner = doc.css_first('.notice-unconfirmed input[name="csrf_token"]')
    assert banner is not None and banner.attributes["value"] == csrf_token(as_unconfirmed)
    # Back to a resident's page after the others: still no team link, no banner.
    doc = page(browser(client, resident, session))
    assert doc.css_first('.main-nav a[href="/moderation/"]') is None
    assert doc.css_first(".notice-unconfirmed") is None


def test_a_blocked_person_gets_their_own_banner(client, session):
    make_need(session, title="Une recyclerie")
    person = make_user(session)
    as_person = browser(client, person, session)
    page(as_person)  # a shared render of the resident's shape exists
    person.blocked_at = utcnow()
    person.blocked_until = utcnow() + timedelta(days=3)
    person.blocked_reason = "Propos injurieux répétés"
    session.add(person)
    session.commit()
    doc = page(as_person)
    banner = doc.css_first("main .notice-warning")
    assert banner is not None and "Vous pouvez toujours lire le site" in banner.text()


def test_every_write_shows_at_once_to_people_signed_in(client, session):
    person = make_user(session)
    as_person = browser(client, person, session)
    need = make_need(session, title="Un jardin partagé")
    assert marked(page(as_person)) == []
    add_support(session, need, person)
    assert marked(page(as_person)) == ["Un jardin partagé"]
    make_need(session, title="Une cantine de quartier")
    titles = [a.text(strip=True) for a in page(as_person).css(".need-card-title a")]
    assert titles == ["Une cantine de quartier", "Un jardin partagé"]


def test_a_page_that_reads_the_person_is_rendered_for_them_alone(client, session, monkeypatch):
    """The stand-in knows the shape only: a template reading more (a name) makes the shared
    render give up, and the route renders the page for the person as usual."""
    from app.web.templating import environment

    person = make_user(session, display_name="Camille")
    make_need(session, title="Une navette solidaire")
    probe = environment.from_string("{{ current_user.display_name }}")
    tried = []

    def reads_the_name(name, ctx, block=None):
        tried.append(name)
        return probe.render(ctx)

    monkeypatch.setattr(personal, "render_to_string", reads_the_name)
    as_person = browser(client, person, session)
    doc = page(as_person)
    assert tried == ["board/board.html"]
    assert [a.text(strip=True) for a in doc.css(".need-card-title a")] == ["Une navette solidaire"]
    assert logout_token(doc) == csrf_token(as_person)
    assert len(personal.store_for_app(client.app)) == 0


# --- the need page ------------------------------------------------------------------------------


def started_values(html: str) -> list[str]:
    from app.web.antiabuse import STARTED_FIELD

    doc = LexborHTMLParser(html)
    return [n.attributes["value"] or "" for n in doc.css(f'input[name="{STARTED_FIELD}"]')]


def test_need_page_forms_are_each_persons_own(client, session, monkeypatch):
    """The need page with its comments comes from one render for residents alike, and every
    form on it carries this person's token, a submission key of theirs and a rendering time
    signed for it alone (each serves one write)."""
    from itsdangerous import TimestampSigner

    from app.web.antiabuse import SIGNER_SALT
    from tests.board.comment_helpers import add_comment
    from tests.factories import submit_form

    author, writer = make_user(session), make_user(session)
    need = make_need(session, title="Une conciergerie solidaire", author=author)
    for n in range(3):
        add_comment(session, need, writer, body=f"Commentaire numéro {n}")
    url = f"/needs/{need.id}-{need.slug}"
    alice, bruno = make_user(session), make_user(session)
    as_alice, as_bruno = browser(client, alice, session), browser(client, bruno, session)
    renders = []
    real = personal.render_to_string
    monkeypatch.setattr(
        personal, "render_to_string", lambda *a, **k: renders.append(a[0]) or real(*a, **k)
    )

    html_a = as_alice.get(url).text
    html_b = as_bruno.get(url).text
    assert renders == ["board/need.html"]  # one render for both
    assert "\x1e" not in html_a + html_b
    signer = TimestampSigner(client.app.state.settings.signing_key, salt=SIGNER_SALT)
    values = started_values(html_a) + started_values(html_b)
    assert len(started_values(html_a)) == 1  # the new comment's form (reply forms come on demand)
    assert len(set(values)) == len(values)
    for value in values:
        signer.unsign(value)  # a valid signature, not a hole
    doc_a, doc_b = LexborHTMLParser(html_a), LexborHTMLParser(html_b)
    tokens_a = {n.attributes["value"] for n in doc_a.css('input[name="csrf_token"]')}
    assert tokens_a == {csrf_token(as_alice)}
    keys = [
        {n.attributes["value"] for n in d.css('input[name="submission_key"]')}
        for d in (doc_a, doc_b)
    ]
    assert len(keys[0]) == len(keys[1]) == 1 and keys[0] != keys[1]

    # Both post through the page they were given: two comments, each theirs.
    for person, doc in ((as_alice, doc_a), (as_bruno, doc_b)):
        top = [
            f.html or ""
            for f in doc.css("form.comment-form")
            if f.css_first('input[name="parent_id"]') is None
        ]
        fill = {"body": "Je confirme, il en faudrait un près de chez moi."}
        answer = submit_form(person, url, f"/needs/{need.id}/comments", fill, html=top[0])
        assert answer.status_code == 303, answer.text
    session.expire_all()
    assert need.comments_count == 5


def test_need_page_shows_each_person_their_support_follow_and_comments(client, session):
    from app.board.follows import follow
    from tests.board.comment_helpers import add_comment

    need = make_need(session, title="Un repair café")
    alice, bruno, chloe = make_user(session), make_user(session), make_user(session)
    add_support(session, need, alice)
    follow(session, need, bruno)
    add_comment(session, need, chloe, body="Mon propre commentaire.")
    url = f"/needs/{need.id}-{need.slug}"

    def state(person: User) -> tuple[str | None, str | None, bool]:
        doc = page(browser(client, person, session), url)
        pressed = doc.css_first(".support-button")
        following = doc.css_first(".follow-button")
        own_edit = doc.css_first('.comment a[href$="/edit"], article a[href^="/comments/"]')
        return (
            pressed.attributes.get("aria-pressed") if pressed else None,
            following.attributes.get("aria-pressed") if following else None,
            own_edit is not None,
        )

    assert state(alice) == ("true", "false", False)
    assert state(bruno) == ("false", "true", False)
    assert state(chloe) == ("false", "true", True)  # her comment (which follows), her edit link
    assert state(make_user(session)) == ("false", "false", False)


# --- the staff idea board -----------------------------------------------------------------------


def test_staff_idea_board_is_each_team_members_own_and_shows_moves_at_once(client, session):
    from datetime import UTC, datetime

    from app.pipeline import service as pipeline
    from tests.pipeline.test_public_ideas import make_idea

    staff, admin = make_user(session, role="staff"), make_user(session, role="admin")
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    idea = make_idea(session, "Un garage solidaire", changed_at=three_days_ago)
    session.commit()
    as_staff, as_admin = browser(client, staff, session), browser(client, admin, session)

    def cards(person: TestClient) -> tuple[set[str], str]:
        response = person.get("/moderation/ideas")
        assert response.status_code == 200 and "\x1e" not in response.text
        doc = LexborHTMLParser(response.text)
        tokens = {n.attributes["value"] or "" for n in doc.css('main input[name="csrf_token"]')}
        card = doc.css_first(f"#idea-{idea.id}") or doc.css_first("article")
        assert card is not None
        return tokens, " ".join(card.text().split())

    tokens, card = cards(as_staff)
    assert tokens == {csrf_token(as_staff)}
    assert "depuis 3 jours" in card
    assert cards(as_staff)[0] == {csrf_token(as_staff)}
    assert cards(as_admin)[0] == {csrf_token(as_admin)}

    pipeline.move_idea(session, staff, idea.id, "studying", seen_stage="detected")
    tokens, card = cards(as_admin)
    assert "depuis un instant" in card


def test_the_unread_count_on_shared_pages_follows_what_the_person_read(client, session):
    """The count comes with the person's own row (one statement), never from the shared text:
    once they mark their notifications read, the next board has no badge."""
    from tests.factories import submit_form

    make_need(session, title="Une halte-garderie")
    person = make_user(session)
    for _ in range(2):
        session.add(Notification(user_id=person.id, kind="comment", message="x"))
    session.commit()
    as_person = browser(client, person, session)
    assert (unread_badge(page(as_person)) or "").startswith("2")
    html = as_person.get("/account/notifications").text
    first = LexborHTMLParser(html).css_first('form[action="/account/notifications/read"]')
    assert first is not None
    answer = submit_form(as_person, "", "/account/notifications/read", html=first.html or "")
    assert answer.status_code in (200, 303)
    assert unread_badge(page(as_person)) is None
    assert unread_badge(page(as_person, "/account/notifications")) is None


def test_a_page_missed_by_many_at_once_is_rendered_once(client, session, monkeypatch):
    """When a shared render ends, the requests in flight for it wait for the first one's render
    instead of each rendering the page (app.web.personal._Flights)."""
    import threading

    make_need(session, title="Une ressourcerie")
    alice, bruno = make_user(session), make_user(session)
    as_alice, as_bruno = browser(client, alice, session), browser(client, bruno, session)
    renders: list[str] = []
    rendering, waiting, release = threading.Event(), threading.Event(), threading.Event()
    real_render, real_wait = personal.render_to_string, personal._FLIGHTS.wait

    def slow_render(*args, **kwargs):  # type: ignore[no-untyped-def]
        renders.append(args[0])
        rendering.set()
        assert release.wait(10)
        return real_render(*args, **kwargs)

    def noted_wait(flight):  # type: ignore[no-untyped-def]
        waiting.set()
        real_wait(flight)

    monkeypatch.setattr(personal, "render_to_string", slow_render)
    monkeypatch.setattr(personal._FLIGHTS, "wait", noted_wait)
    answers: dict[str, str] = {}

    def visit(name: str, browser_: TestClient) -> None:
        response = browser_.get("/")
        assert response.status_code == 200
        answers[name] = response.text

    first = threading.Thread(target=visit, args=("alice", as_alice))
    first.start()
    assert rendering.wait(10)  # Alice's request renders the page…
    second = threading.Thread(target=visit, args=("bruno", as_bruno))
    second.start()
    assert waiting.wait(10)  # …and Bruno's waits for it
    release.set()
    first.join(10)
    second.join(10)
    assert renders == ["board/board.html"]
    for name, person_browser in (("alice", as_alice), ("bruno", as_bruno)):
        doc = LexborHTMLParser(answers[name])
        assert logout_token(doc) == csrf_token(person_browser)
        assert "\x1e" not in answers[name]
