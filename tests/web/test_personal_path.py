"""Signed-in pages answered before routing (app/web/personal_path.py): from a render the route
stored for the person's shape, with the reads of what is theirs only, and the route itself for
anyone the shared render does not fit."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import Session, select

from app.accounts.models import User, UserSession
from app.board.follows import follow
from app.board.supports import add_support
from app.core.db import utcnow
from app.web import personal
from tests.board.comment_helpers import count_statements
from tests.factories import csrf_token, login_as, make_need, make_user


def browser(client: TestClient, user: User, session: Session) -> TestClient:
    other = TestClient(client.app)
    login_as(other, user, session)
    return other


def statements(client: TestClient):  # type: ignore[no-untyped-def]
    """The SQL statements the app runs inside the block."""
    return count_statements(client.app.state.engine)  # type: ignore[attr-defined]


def doc_of(client: TestClient, url: str) -> LexborHTMLParser:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert "\x1e" not in response.text
    return LexborHTMLParser(response.text)


def pressed(doc: LexborHTMLParser, selector: str) -> str | None:
    node = doc.css_first(selector)
    return node.attributes.get("aria-pressed") if node is not None else None


def routed(monkeypatch) -> list[str]:
    """The names of the shared pages whose route ran (each route asks `shared_page` first)."""
    calls: list[str] = []
    real = personal.shared_page

    def spy(request, session, user, name):  # type: ignore[no-untyped-def]
        calls.append(name)
        return real(request, session, user, name)

    monkeypatch.setattr(personal, "shared_page", spy)
    return calls


def test_the_board_again_costs_one_read_and_is_the_persons_own(client, session, monkeypatch):
    calls = routed(monkeypatch)
    need = make_need(session, title="Une épicerie solidaire")
    make_need(session, title="Un atelier vélo")
    alice, bruno = make_user(session), make_user(session)
    add_support(session, need, alice)
    as_alice, as_bruno = browser(client, alice, session), browser(client, bruno, session)
    first = doc_of(as_alice, "/")
    doc_of(as_bruno, "/")  # the first answer before routing learns which needs the page shows

    with statements(client) as seen:
        again = doc_of(as_alice, "/")
        other = doc_of(as_bruno, "/")
    # Each: one statement, the person with their unread count, the content version and
    # whether they support each of the page's needs. No routing, no categories, no needs read.
    assert len(seen) == 2, seen
    assert calls == ["board"]  # only the first request reached the route
    assert first.html == again.html or _same_but_tokens(first, again)
    token = again.css_first('form[action="/account/logout"] input[name="csrf_token"]')
    assert token is not None and token.attributes["value"] == csrf_token(as_alice)
    assert marks(again) == [("Un atelier vélo", False), ("Une épicerie solidaire", True)]
    assert marks(other) == [("Un atelier vélo", False), ("Une épicerie solidaire", False)]

    # Another need: the page's needs are no longer those the reads name; a second statement
    # reads the person's supports among the new ones.
    newer = make_need(session, title="Une cantine de quartier")
    add_support(session, newer, bruno)
    doc_of(as_alice, "/")  # the route renders the new page
    with statements(client) as seen:
        other = doc_of(as_bruno, "/")
    assert len(seen) == 2, seen
    assert marks(other) == [
        ("Une cantine de quartier", True),
        ("Un atelier vélo", False),
        ("Une épicerie solidaire", False),
    ]
    assert marks(doc_of(as_alice, "/"))[2] == ("Une épicerie solidaire", True)


def marks(doc: LexborHTMLParser) -> list[tuple[str, bool]]:
    return [
        (
            card.css_first(".need-card-title a").text(strip=True),  # type: ignore[union-attr]
            card.css_first(".count-mine") is not None,
        )
        for card in doc.css(".need-card")
    ]


def _same_but_tokens(a: LexborHTMLParser, b: LexborHTMLParser) -> bool:
    """Equal but for the per-request values (anti-abuse signatures, submission keys)."""

    def strip(doc: LexborHTMLParser) -> str:
        for node in doc.css('input[type="hidden"]'):
            node.attrs["value"] = ""
        return doc.html or ""

    return strip(a) == strip(b)


def test_need_page_again_is_each_residents_own(client, session, monkeypatch):
    need = make_need(session, title="Un repair café")
    url = f"/needs/{need.id}-{need.slug}"
    alice, bruno, chloe = make_user(session), make_user(session), make_user(session)
    add_support(session, need, alice)
    follow(session, need, bruno)
    people = {"alice": alice, "bruno": bruno, "chloe": chloe}
    browsers = {name: browser(client, person, session) for name, person in people.items()}
    expected = {
        "alice": ("true", "false"),
        "bruno": ("false", "true"),
        "chloe": ("false", "false"),
    }
    for _round in range(2):
        for name, person_browser in browsers.items():
            doc = doc_of(person_browser, url)
            got = (pressed(doc, ".support-button"), pressed(doc, ".follow-button"))
            assert got == expected[name], (name, _round)
    calls = routed(monkeypatch)
    with statements(client) as seen:
        doc_of(browsers["chloe"], url)
    assert len(seen) == 1, seen  # the person with their relation to the need
    assert calls == []


def test_the_author_of_a_need_or_a_comment_gets_the_route(client, session):
    from tests.board.comment_helpers import add_comment

    author, commenter, reader = make_user(session), make_user(session), make_user(session)
    need = make_need(session, title="Une laverie", author=author)
    add_comment(session, need, commenter, body="J'en ai besoin aussi.")
    url = f"/needs/{need.id}-{need.slug}"
    doc_of(browser(client, reader, session), url)  # the shared render exists
    for person in (author, commenter):
        as_person = browser(client, person, session)
        doc_of(as_person, url)
        with statements(client) as seen:
            doc = doc_of(as_person, url)
        assert len(seen) > 1  # the whole route
        assert doc.css_first(f'a[href^="/needs/{need.id}/edit"], a[href$="/edit"]') is not None


def test_a_demoted_team_member_is_refused_the_idea_board(client, session, monkeypatch):
    member = make_user(session, role="staff")
    as_member = browser(client, member, session)
    assert as_member.get("/moderation/ideas").status_code == 200
    calls = routed(monkeypatch)
    assert as_member.get("/moderation/ideas").status_code == 200
    assert calls == []  # answered before routing
    member.role = "moderator"
    session.add(member)
    session.commit()
    assert as_member.get("/moderation/ideas").status_code == 403
    resident = browser(client, make_user(session), session)
    assert resident.get("/moderation/ideas").status_code == 403


def test_an_ended_or_blocked_session_gets_the_route(client, session):
    make_need(session, title="Une recyclerie")
    person = make_user(session)
    as_person = browser(client, person, session)
    doc_of(as_person, "/")
    doc_of(as_person, "/")
    for row in session.exec(select(UserSession).where(UserSession.user_id == person.id)):
        row.expires_at = utcnow() - timedelta(minutes=1)
        session.add(row)
    session.commit()
    doc = doc_of(as_person, "/")
    assert doc.css_first('form[action="/account/logout"]') is None  # signed out
    assert doc.css_first('a[href^="/account/login"]') is not None

    other = make_user(session)
    as_other = browser(client, other, session)
    doc_of(as_other, "/")
    other.blocked_at = utcnow()
    other.blocked_reason = "Messages publicitaires"
    session.add(other)
    session.commit()
    banner = doc_of(as_other, "/").css_first("main .notice-warning")
    assert banner is not None and "Messages publicitaires" in banner.text()


def test_the_moderation_dashboard_counts_a_new_report_at_once(client, session, monkeypatch):
    from tests.moderation.queue_helpers import make_report

    need = make_need(session, title="Un local associatif")
    moderator = browser(client, make_user(session, role="moderator"), session)
    reporter = make_user(session)  # before the visits: a new account bumps the version too

    def reported() -> str:
        response = moderator.get("/moderation/")
        assert response.status_code == 200 and "\x1e" not in response.text
        doc = LexborHTMLParser(response.text)
        link = doc.css_first('section[aria-labelledby="waiting-title"] a[href="/moderation/queue"]')
        assert link is not None
        return link.text(strip=True)

    assert reported().startswith("0 ")
    calls = routed(monkeypatch)
    assert reported().startswith("0 ")
    assert calls == []  # the second visit was answered before routing
    make_report(session, reporter, "need", need.id)
    assert reported().startswith("1 ")  # a report bumps the version (migration 0010)
    assert calls == ["moderation"]
    resident = browser(client, make_user(session), session)
    assert resident.get("/moderation/").status_code == 403
