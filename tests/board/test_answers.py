"""The fabrique's public answer on a need (issue 17, app/board/answers.py): staff write, edit and
remove it from the need page's own form; everyone reads it at the top of the page, marked
« Réponse de la fabrique » with its date; followers are told; team comments carry « Équipe de
la fabrique »; the board filters by « a une réponse » and by the stage of the need's idea."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.accounts.models import Role
from app.board.answers import ANSWER_MAX, public_answer
from app.board.follows import follow
from app.board.models import Need, Notification
from app.core.audit import AuditEntry
from app.web.urls import need_url
from tests.board.comment_helpers import HTMX, add_comment
from tests.factories import (
    fresh,
    login_as,
    make_idea,
    make_need,
    make_user,
    read_form,
    submit_form,
)


def answer_action(need: Need) -> str:
    return f"/moderation/needs/{need.id}/answer"


def reload(session, need: Need) -> Need:
    found = fresh(session).get(Need, need.id)
    assert found is not None
    return found


def answer_section(html: str):  # type: ignore[no-untyped-def]
    return LexborHTMLParser(html).css_first("section#answer")


def write_answer(client, need: Need, text: str, **kwargs):  # type: ignore[no-untyped-def]
    """Fills the need page's answer form as staff do."""
    return submit_form(client, need_url(need), answer_action(need), {"answer": text}, **kwargs)


# --- who may answer --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.resident, False),
        (Role.moderator, False),
        (Role.staff, True),
        (Role.admin, True),
    ],
)
def test_only_staff_and_admins_get_the_answer_form_and_page(client, session, role, allowed):
    need = make_need(session)
    login_as(client, make_user(session, role=role), session)

    page = client.get(need_url(need)).text
    has_form = f'action="{answer_action(need)}"' in page

    assert has_form is allowed
    assert client.get(answer_action(need)).status_code == (200 if allowed else 403)


@pytest.mark.parametrize("role", [Role.resident, Role.moderator])
def test_a_resident_or_moderator_sending_the_staff_form_is_refused(client, session, role):
    need = make_need(session)
    login_as(client, make_user(session, role="staff"), session)
    staff_page = client.get(need_url(need)).text
    login_as(client, make_user(session, role=role), session)

    response = write_answer(client, need, "Nous étudions ce besoin.", html=staff_page)

    assert response.status_code == 403
    assert reload(session, need).answer_at is None


# --- writing, editing, removing ----------------------------------------------------------------


def test_staff_answer_shows_at_the_top_of_the_need_page_with_its_date(client, session):
    need = make_need(session, body="Le corps du besoin.")
    staff = make_user(session, role="staff")
    login_as(client, staff, session)

    response = write_answer(client, need, "Nous **étudions** ce besoin avec la mairie.")

    assert response.status_code == 303
    assert response.headers["location"] == f"{need_url(need)}?notice=answered#answer"
    client.cookies.clear()  # as a visitor
    page = client.get(need_url(need)).text
    section = answer_section(page)
    assert section is not None
    assert section.css_first("h2").text(strip=True) == "Réponse de la fabrique"
    assert section.css_first("strong").text() == "étudions"
    assert section.css_first("time").attributes["datetime"]
    assert "Réponse du" in section.css_first("time").text()
    # Before the need's own description, and no form for visitors.
    assert page.index('id="answer"') < page.index('class="need-body')
    assert section.css_first("form") is None
    saved = reload(session, need)
    assert public_answer(saved) == {"body_html": saved.answer_html, "at": saved.answer_at}
    entry = fresh(session).exec(select(AuditEntry).where(AuditEntry.action == "need.answer")).one()
    assert (entry.actor_id, entry.target_id) == (staff.id, need.id)


def test_the_answer_is_sanitised_markdown(client, session):
    need = make_need(session)
    login_as(client, make_user(session, role="staff"), session)

    write_answer(client, need, "Voir [ici](javascript:alert(1)) <script>alert(2)</script> ok")

    html = reload(session, need).answer_html
    assert "<script" not in html and 'href="javascript' not in html
    assert "ok" in html


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   \n  ", "La réponse est vide"),
        ("x" * (ANSWER_MAX + 1), "La réponse est trop longue"),
    ],
    ids=["empty", "too-long"],
)
def test_a_bad_answer_is_refused_in_french_and_nothing_is_written(client, session, text, message):
    need = make_need(session)
    login_as(client, make_user(session, role="staff"), session)

    response = write_answer(client, need, text)

    assert response.status_code == 422
    errors = [n.text(strip=True) for n in LexborHTMLParser(response.text).css(".error-message")]
    assert any(message in e for e in errors)
    # What was typed is kept, to be corrected.
    assert LexborHTMLParser(response.text).css_first("textarea#f-answer").text() == text
    saved = reload(session, need)
    assert saved.answer_at is None and saved.answer_body == ""
    assert fresh(session).exec(select(AuditEntry)).all() == []


def test_staff_edit_then_remove_the_answer(client, session):
    need = make_need(session)
    login_as(client, make_user(session, role="staff"), session)
    write_answer(client, need, "Première réponse.")

    # The form comes back filled with the current answer.
    page = client.get(need_url(need)).text
    _method, values, _names = read_form(page, answer_action(need))
    assert values["answer"] == "Première réponse."
    write_answer(client, need, "Réponse corrigée.")
    assert reload(session, need).answer_body == "Réponse corrigée."

    response = submit_form(client, need_url(need), answer_action(need), press="action=remove")

    assert response.status_code == 303
    saved = reload(session, need)
    assert (saved.answer_at, saved.answer_body, saved.answer_html) == (None, "", "")
    client.cookies.clear()
    assert answer_section(client.get(need_url(need)).text) is None
    actions = [e.action for e in fresh(session).exec(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["need.answer", "need.answer_edit", "need.answer_remove"]


def test_with_htmx_the_answer_block_comes_back_in_place(client, session):
    need = make_need(session)
    login_as(client, make_user(session, role="staff"), session)

    response = write_answer(client, need, "Réponse instantanée.", headers=HTMX)

    assert response.status_code == 200
    section = answer_section(response.text)
    assert section is not None
    assert "Réponse instantanée." in section.text()
    assert LexborHTMLParser(response.text).css_first("header") is None  # the block alone
    refused = write_answer(client, need, "  ", headers=HTMX)
    assert refused.status_code == 422
    assert answer_section(refused.text).css_first(".error-message") is not None


# --- who is told -------------------------------------------------------------------------------


def test_followers_and_author_are_notified_not_the_staff_member(client, session):
    author = make_user(session)
    need = make_need(session, author=author)
    follower = make_user(session)
    follow(session, need, follower)
    staff = make_user(session, role="staff")
    follow(session, need, staff)
    login_as(client, staff, session)

    write_answer(client, need, "Nous lançons une étude d'opportunité.")

    rows = fresh(session).exec(select(Notification).where(Notification.need_id == need.id)).all()
    assert sorted(r.user_id for r in rows) == sorted([author.id, follower.id])
    assert all("La fabrique à initiatives a répondu" in r.message for r in rows)


# --- the team's comments -----------------------------------------------------------------------


def test_team_comments_carry_the_badge_others_do_not(client, session):
    need = make_need(session)
    for role, body in [
        ("staff", "Commentaire de l'équipe."),
        ("admin", "Commentaire de l'administration."),
        ("moderator", "Commentaire d'un modérateur."),
        ("resident", "Commentaire d'une habitante."),
    ]:
        add_comment(session, need, make_user(session, role=role), body)

    page = LexborHTMLParser(client.get(need_url(need)).text)

    badged = {
        article.css_first(".comment-body").text(strip=True): bool(
            article.css_first(".comment-badge-team")
        )
        for article in page.css("article.comment")
    }
    assert badged == {
        "Commentaire de l'équipe.": True,
        "Commentaire de l'administration.": True,
        "Commentaire d'un modérateur.": False,
        "Commentaire d'une habitante.": False,
    }
    assert page.css_first(".comment-badge-team").text(strip=True) == "Équipe de la fabrique"


# --- the board's filters -----------------------------------------------------------------------


def titles(html: str) -> list[str]:
    return [n.text(strip=True) for n in LexborHTMLParser(html).css(".need-card-title")]


def test_the_board_filters_answered_needs_and_keeps_the_other_filters(client, session):
    answered = make_need(session, title="Besoin avec réponse de la fabrique")
    waiting = make_need(session, title="Besoin en attente de réponse")
    login_as(client, make_user(session, role="staff"), session)
    write_answer(client, answered, "Réponse.")
    client.cookies.clear()

    yes = submit_form(client, "/", "/", {"answer": "yes", "q": "besoin"})
    no = submit_form(client, "/", "/", {"answer": "no"})

    assert titles(yes.text) == [answered.title]
    assert titles(no.text) == [waiting.title]
    # The form shows the filters it applied, and says them in words.
    _method, values, _names = read_form(yes.text, "/")
    assert (values["answer"], values["q"]) == ("yes", "besoin")
    assert (
        "Avec une réponse de la fabrique"
        in LexborHTMLParser(yes.text).css_first(".active-filters").text()
    )


def test_the_board_filters_by_the_stage_of_a_public_idea_only(client, session):
    studied = make_need(session, title="Besoin dont l'idée est à l'étude")
    private = make_need(session, title="Besoin d'une idée interne")
    make_need(session, title="Besoin sans idée")
    make_idea(session, "Idée publique", stage="studying", is_public=True, needs=[studied])
    make_idea(session, "Idée interne", stage="studying", is_public=False, needs=[private])

    response = submit_form(client, "/", "/", {"stage": "studying"})

    assert response.status_code == 200
    assert titles(response.text) == [studied.title]
    assert titles(submit_form(client, "/", "/", {"stage": "launched"}).text) == []


def test_paging_links_keep_the_answer_and_stage_filters(client, session):
    needs = [make_need(session, title=f"Besoin répondu {n}") for n in range(22)]
    make_idea(session, "Idée", stage="detected", is_public=True, needs=needs)
    staff = make_user(session, role="staff")
    for need in needs:
        need.answer_body, need.answer_html = "R.", "<p>R.</p>"
        need.answer_at = need.created_at
        session.add(need)
    session.commit()
    del staff

    first = client.get("/", params={"answer": "yes", "stage": "detected"})
    next_link = LexborHTMLParser(first.text).css_first("a[rel=next]").attributes["href"]

    assert "answer=yes" in next_link and "stage=detected" in next_link
    assert len(titles(client.get(next_link).text)) == 2


@pytest.mark.parametrize("params", [{"answer": "maybe"}, {"stage": "nowhere"}])
def test_an_unknown_answer_or_stage_filter_is_said_in_french(client, params):
    response = client.get("/", params=params)

    assert response.status_code == 400
    alert = LexborHTMLParser(response.text).css_first("#results [role=alert]").text()
    assert "n'existe pas" in alert


# sqlite_stat1 rows of a board of 100,000 needs (bench/load.py's, as in
# tests/moderation/test_queue_plans.py), with 300 of them answered.
BOARD_STATISTICS = [
    ("ix_needs_answered", "300 1 1"),
    ("ix_needs_answered_supports", "300 50 1"),
    ("ix_needs_deleted_at", "100016 100016"),
    ("ix_needs_status", "100016 20004"),
    ("ix_needs_created_at_id", "100016 1 1"),
    ("ix_needs_supports_count_id", "100016 50 1"),
]


def test_the_answered_filter_reads_the_partial_index_on_postgresql(session, db_engine_name):
    """PostgreSQL's plan of a nearly empty table prefers reading it whole; with that way
    forbidden, what is left shows the board's statement can be served by an answered index."""
    if db_engine_name != "postgresql":
        return  # SQLite: the test below, with the statistics of a large board
    from sqlalchemy import event

    from app.board.filters import BoardFilters
    from app.board.queries import board_needs

    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_rest):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    connection = session.connection()
    event.listen(session.get_bind(), "before_cursor_execute", record)
    try:
        for sort in ("recent", "top"):
            seen.clear()
            board_needs(session, BoardFilters(answer="yes", sort=sort))
            statement, parameters = next((s, p) for s, p in seen if "answer_at" in s)
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(
                str(row) for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)
            )
            assert "ix_needs_answered" in plan, plan
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", record)


def test_the_answered_filter_reads_the_partial_index_on_sqlite(session, db_engine_name):
    if db_engine_name != "sqlite":
        return  # PostgreSQL: the test above
    from app.board.filters import BoardFilters
    from app.board.queries import board_needs
    from tests.board.comment_helpers import count_statements

    connection = session.connection()
    connection.exec_driver_sql("ANALYZE")
    connection.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'needs'")
    for index, stat in BOARD_STATISTICS:
        connection.exec_driver_sql(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('needs', ?, ?)", (index, stat)
        )
    connection.exec_driver_sql("ANALYZE sqlite_schema")
    for sort in ("recent", "top"):
        with count_statements(session.get_bind()) as statements:
            board_needs(session, BoardFilters(answer="yes", sort=sort))
        (statement,) = [s for s in statements if "answer_at" in s]
        bound = ("published", "covered", 21, 0)  # the public statuses, limit, offset
        plan = " ".join(
            str(row) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, bound)
        )
        assert "ix_needs_answered" in plan and "TEMP B-TREE" not in plan, plan
