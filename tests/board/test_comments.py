"""Comments: posting (plain form and htmx), one level of replies, Markdown cleaning, the edit
window, soft delete, exact counts, bad input and the number of queries of a comment list."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.accounts.models import Role
from app.board.comment_routes import comment_form_state
from app.board.comments import comment_threads, delete_comment, post_comment
from app.board.models import Comment, CommentStatus, Follow, Need
from app.core.db import utcnow
from app.core.ratelimit import RateEvent
from app.web.errors import Forbidden, Invalid
from app.web.templating import render_to_string
from tests.board.comment_helpers import (
    HTMX,
    add_comment,
    age_account,
    age_comment,
    block,
    comments_of,
    count,
    count_statements,
    fresh,
    parse,
    reload_need,
    send_comment,
    text_of,
)
from tests.factories import login_as, make_need, make_user, post_form


@pytest.fixture
def need(session):  # type: ignore[no-untyped-def]
    return make_need(session, title="Une crèche en horaires décalés à Mérignac")


@pytest.fixture
def alice(client, session):  # type: ignore[no-untyped-def]
    user = make_user(session, display_name="Alice")
    age_account(session, user)
    login_as(client, user, session)
    return user


# --- posting -------------------------------------------------------------------------------------


def test_a_comment_is_posted_counted_and_shown_at_its_anchor(client, session, need, alice):
    response = send_comment(client, need, "Je travaille de nuit, **moi aussi** je cherche.")
    assert response.status_code == 303
    [comment] = comments_of(session, need)
    assert response.headers["location"] == f"/needs/{need.id}-{need.slug}#comment-{comment.id}"
    assert comment.author_id == alice.id
    assert comment.parent_id is None
    assert comment.status == CommentStatus.published.value
    assert "<strong>moi aussi</strong>" in comment.body_html
    assert reload_need(session, need).comments_count == 1


def test_the_commenter_follows_the_need(client, session, need, alice):
    send_comment(client, need, "Je suis intéressée.")
    assert count(session, Follow, Follow.need_id == need.id, Follow.user_id == alice.id) == 1
    send_comment(client, need, "Et encore une précision.")
    assert count(session, Follow, Follow.need_id == need.id, Follow.user_id == alice.id) == 1


def test_markdown_is_cleaned_and_dangerous_links_are_inert(session, need):
    author = make_user(session)
    comment = add_comment(
        session,
        need,
        author,
        '<script>alert(1)</script> [clic](javascript:alert(1)) <a href="x" onclick="y">a</a>'
        " *ok* <img src=x onerror=alert(1)>",
    )
    tree = parse(comment.body_html)
    # Raw HTML is shown as text, never as markup; the javascript: link is not a link.
    assert tree.css("script") == [] and tree.css("img") == []
    for node in tree.body.traverse():  # type: ignore[union-attr]
        assert not any(name.startswith("on") for name in node.attributes), node.html
    for link in tree.css("a"):
        assert (link.attributes.get("href") or "").startswith(("http://", "https://", "mailto:"))
    assert "<em>ok</em>" in comment.body_html
    # With a real link, rel is set.
    linked = add_comment(
        session, need, author, "[site](https://exemple.fr) [x](javascript:alert(1))"
    )
    [link] = parse(linked.body_html).css("a")
    assert link.attributes["href"] == "https://exemple.fr"
    assert link.attributes["rel"] == "nofollow ugc noopener"


def test_a_reply_to_a_reply_joins_the_top_level_thread(session, need):
    first, second, third = (make_user(session) for _ in range(3))
    top = add_comment(session, need, first, "Le commentaire de départ.")
    reply = add_comment(session, need, second, "Une réponse.", parent=top)
    deeper = add_comment(session, need, third, "Une réponse à la réponse.", parent=reply)
    assert reply.parent_id == top.id
    assert deeper.parent_id == top.id
    threads = comment_threads(session, need, None)
    assert [t.id for t in threads] == [top.id]
    assert [r.id for r in threads[0].replies] == [reply.id, deeper.id]
    assert reload_need(session, need).comments_count == 3


def test_a_reply_to_a_comment_of_another_need_is_refused(session, need):
    other = make_need(session)
    author = make_user(session)
    elsewhere = add_comment(session, other, author, "Ailleurs.")
    with pytest.raises(Invalid) as caught:
        add_comment(session, need, author, "Réponse égarée.", parent=elsewhere)
    assert "parent_id" in caught.value.errors
    assert len(comments_of(session, need)) == 0


def test_htmx_post_answers_with_the_new_comment_fragment(client, session, need, alice):
    response = send_comment(client, need, "Via htmx, *en place*.", htmx=True)
    assert response.status_code == 200
    [comment] = comments_of(session, need)
    tree = parse(response.text)
    thread = tree.css_first("li.comment-thread")
    assert thread is not None
    assert thread.css_first(f"article#comment-{comment.id}") is not None
    body = thread.css_first(".comment-body")
    assert body is not None and "data-hx-disable" in body.attributes
    assert "<em>en place</em>" in body.html  # type: ignore[operator]
    # The emptied form and the count come along, out of band.
    form = tree.css_first(f"form#comment-form-{need.id}")
    assert form is not None and form.attributes.get("data-hx-swap-oob") == "true"
    assert form.css_first("textarea").text() == ""  # type: ignore[union-attr]
    count_node = tree.css_first(f"#comments-count-{need.id}")
    assert count_node is not None and "1" in count_node.text()
    # No page around it.
    assert (
        tree.css_first("html body header") is None
        or '<header class="site-header"' not in response.text
    )


def test_htmx_reply_is_one_list_item_for_the_thread(client, session, need, alice):
    top = add_comment(session, need, make_user(session), "Question ?")
    response = send_comment(client, need, "Réponse.", htmx=True, parent_id=str(top.id))
    assert response.status_code == 200
    tree = parse(response.text)
    item = tree.css_first("li.comment-reply-item")
    assert item is not None
    reply = comments_of(session, need)[-1]
    assert reply.parent_id == top.id
    assert item.css_first(f"#comment-{reply.id}") is not None
    assert tree.css_first(f"form#reply-form-{top.id}[data-hx-swap-oob]") is not None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Écrivez votre commentaire"),
        ("   \n  ", "Écrivez votre commentaire"),
        ("x" * 5001, "au plus 5000 caractères"),
    ],
)
def test_a_bad_body_is_refused_with_a_clear_message_and_nothing_written(
    client, session, need, alice, body, message
):
    response = send_comment(client, need, body)
    assert response.status_code == 422
    assert message in text_of(response.text).replace("\u202f", " ").replace("\u00a0", " ")
    assert comments_of(session, need) == []
    assert reload_need(session, need).comments_count == 0


def test_a_refused_htmx_comment_comes_back_as_the_form_in_place(client, session, need, alice):
    long_text = "y" * 5001
    response = send_comment(client, need, long_text, htmx=True)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == f"#comment-form-{need.id}"
    assert response.headers["HX-Reswap"] == "outerHTML"
    tree = parse(response.text)
    form = tree.css_first(f"form#comment-form-{need.id}")
    assert form is not None
    assert form.css_first("textarea").text() == long_text  # type: ignore[union-attr]
    assert form.css_first(".error-message") is not None
    assert comments_of(session, need) == []


def test_a_body_of_exactly_5000_characters_is_accepted(session, need):
    comment = add_comment(session, need, make_user(session), "a" * 5000)
    assert len(comment.body) == 5000


def test_control_characters_are_removed(session, need):
    comment = add_comment(session, need, make_user(session), "avant\x00après\x07")
    assert comment.body == "avantaprès"


# --- who may comment -----------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page_and_nothing_is_written(
    client, session, need
):
    response = send_comment(client, need, "Sans compte.")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login?next=")
    htmx = send_comment(client, need, "Sans compte, htmx.", htmx=True)
    assert htmx.headers["HX-Redirect"].startswith("/account/login?next=")
    assert comments_of(session, need) == []


def test_a_blocked_account_gets_a_french_403_page(client, session, need, alice):
    block(session, alice)
    response = send_comment(client, need, "Je suis bloquée.")
    assert response.status_code == 403
    assert "bloqué" in text_of(response.text)
    assert comments_of(session, need) == []


def test_a_blocked_account_with_htmx_gets_the_form_back_with_the_reason(
    client, session, need, alice
):
    block(session, alice)
    response = send_comment(client, need, "Je suis bloquée.", htmx=True)
    assert response.status_code == 403
    assert "bloqué" in text_of(response.text, "form")
    assert comments_of(session, need) == []


@pytest.mark.parametrize("status", ["hidden", "pending", "rejected", "merged"])
def test_commenting_a_need_that_is_not_public_answers_404(client, session, alice, status):
    need = make_need(session, status=status)
    response = send_comment(client, need, "Bonjour.")
    assert response.status_code == 404
    assert comments_of(session, need) == []


def test_commenting_a_deleted_need_answers_404(client, session, need, alice):
    row = reload_need(session, need)
    row.deleted_at = utcnow()
    session.add(row)
    session.commit()
    assert send_comment(client, need, "Bonjour.").status_code == 404


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5"])
def test_a_non_integer_parent_is_a_clear_422(client, session, need, alice, bad):
    response = send_comment(client, need, "Réponse.", parent_id=bad)
    assert response.status_code == 422
    assert comments_of(session, need) == []


@pytest.mark.parametrize("bad", ["abc", "0", "-3", "99999999999", str(10**25)])
def test_malformed_or_out_of_range_ids_are_refused_without_a_server_error(
    client, session, need, alice, bad
):
    # Beyond the INTEGER range PostgreSQL fails the query instead of finding nothing.
    assert post_form(client, f"/needs/{bad}/comments", {"body": "x"}).status_code in (404, 422)
    assert post_form(client, f"/comments/{bad}/delete").status_code in (404, 422)
    assert post_form(client, f"/comments/{bad}/edit", {"body": "x"}).status_code in (404, 422)
    assert client.get(f"/comments/{bad}/edit").status_code in (404, 422)
    assert post_form(client, f"/needs/{bad}/follow").status_code in (404, 422)
    assert post_form(client, f"/needs/{bad}/unfollow").status_code in (404, 422)
    response = send_comment(client, need, "Réponse.", parent_id=bad)
    assert response.status_code == 422
    assert comments_of(session, need) == []


def test_the_same_form_sent_twice_creates_one_comment(client, session, need, alice):
    first = send_comment(client, need, "Envoyé deux fois.", submission_key="cle-unique-1234")
    second = send_comment(client, need, "Envoyé deux fois.", submission_key="cle-unique-1234")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(comments_of(session, need)) == 1
    assert reload_need(session, need).comments_count == 1
    # Another form (another key) is another comment.
    send_comment(client, need, "Envoyé deux fois.", submission_key="cle-unique-5678")
    assert len(comments_of(session, need)) == 2


def test_the_same_key_from_two_people_makes_two_comments(session, need):
    one, two = make_user(session), make_user(session)
    add_comment(session, need, one, "Moi.", submission_key="meme-cle")
    add_comment(session, need, two, "Moi aussi.", submission_key="meme-cle")
    assert len(comments_of(session, need)) == 2


def test_a_new_account_may_put_at_most_two_links(client, session, need):
    newcomer = make_user(session)
    login_as(client, newcomer, session)
    three = "https://a.example http://b.example www.c.example"
    response = send_comment(client, need, three)
    assert response.status_code == 422
    assert "liens" in text_of(response.text)
    assert comments_of(session, need) == []
    assert send_comment(client, need, "https://a.example https://b.example").status_code == 303
    age_account(session, newcomer, days=2)
    assert send_comment(client, need, three).status_code == 303


def test_the_honeypot_refuses_the_comment(client, session, need, alice):
    response = send_comment(client, need, "Je suis un robot.", website="http://spam.example")
    assert response.status_code == 422
    assert comments_of(session, need) == []


def test_too_many_comments_answer_429_with_retry_after(client, session, need, alice):
    for _ in range(10):
        session.add(RateEvent(key=f"comment:user:{alice.id}"))
    session.commit()
    response = send_comment(client, need, "Un de trop.")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert comments_of(session, need) == []


# --- edit ----------------------------------------------------------------------------------------


def test_the_author_edits_within_15_minutes_and_the_html_is_rendered_again(
    client, session, need, alice
):
    comment = add_comment(session, need, alice, "Premiere version.")
    page = client.get(f"/comments/{comment.id}/edit")
    assert page.status_code == 200
    assert parse(page.text).css_first("textarea").text() == "Premiere version."  # type: ignore[union-attr]
    response = post_form(client, f"/comments/{comment.id}/edit", {"body": "Première *version*."})
    assert response.status_code == 303
    assert response.headers["location"].endswith(f"#comment-{comment.id}")
    [edited] = comments_of(session, need)
    assert edited.body == "Première *version*."
    assert "<em>version</em>" in edited.body_html
    assert comment_threads(fresh(session), need, alice)[0].edited


def test_editing_after_15_minutes_is_refused(client, session, need, alice):
    comment = add_comment(session, need, alice, "Trop tard.")
    age_comment(session, comment, minutes=16)
    assert client.get(f"/comments/{comment.id}/edit").status_code == 403
    response = post_form(client, f"/comments/{comment.id}/edit", {"body": "Changé."})
    assert response.status_code == 403
    assert comments_of(session, need)[0].body == "Trop tard."


def test_editing_someone_elses_comment_is_403(client, session, need, alice):
    comment = add_comment(session, need, make_user(session), "Pas à toi.")
    assert client.get(f"/comments/{comment.id}/edit").status_code == 403
    response = post_form(client, f"/comments/{comment.id}/edit", {"body": "Piraté."})
    assert response.status_code == 403
    assert comments_of(session, need)[0].body == "Pas à toi."


def test_an_empty_edit_is_refused_with_the_form_again(client, session, need, alice):
    comment = add_comment(session, need, alice, "Texte.")
    response = post_form(client, f"/comments/{comment.id}/edit", {"body": "  "})
    assert response.status_code == 422
    assert parse(response.text).css_first(".error-message") is not None
    assert comments_of(session, need)[0].body == "Texte."


def test_an_anonymous_edit_goes_to_login(client, session, need):
    comment = add_comment(session, need, make_user(session), "Texte.")
    response = post_form(client, f"/comments/{comment.id}/edit", {"body": "x"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login")
    assert comments_of(session, need)[0].body == "Texte."


# --- delete --------------------------------------------------------------------------------------


def test_a_deleted_comment_without_replies_disappears(client, session, need, alice):
    comment = add_comment(session, need, alice, "À effacer.")
    response = post_form(client, f"/comments/{comment.id}/delete")
    assert response.status_code == 303
    assert response.headers["location"] == f"/needs/{need.id}-{need.slug}#commentaires"
    assert comments_of(session, need)[0].deleted_at is not None  # soft delete
    assert comment_threads(fresh(session), need, alice) == []
    assert reload_need(session, need).comments_count == 0


def test_a_deleted_comment_with_replies_stays_as_a_placeholder(client, session, need, alice):
    top = add_comment(session, need, alice, "Question initiale secrète.")
    reply = add_comment(session, need, make_user(session), "Une réponse.", parent=top)
    response = post_form(client, f"/comments/{top.id}/delete", headers=HTMX)
    assert response.status_code == 200
    fragment = parse(response.text)
    assert "Commentaire supprimé" in fragment.css_first(f"#comment-{top.id}").text()  # type: ignore[union-attr]
    assert fragment.css_first(f"#comment-{reply.id}") is not None
    assert "secrète" not in response.text
    [thread] = comment_threads(fresh(session), need, None)
    assert thread.placeholder == "Commentaire supprimé"
    assert thread.body_html == "" and thread.author_name is None
    assert [r.id for r in thread.replies] == [reply.id]
    assert reload_need(session, need).comments_count == 1


def test_deleting_the_last_reply_under_a_deleted_comment_removes_the_thread(session, need):
    author, other = make_user(session), make_user(session)
    top = add_comment(session, need, author, "Début.")
    reply = add_comment(session, need, other, "Réponse.", parent=top)
    delete_comment(session, top.id, author)  # type: ignore[arg-type]
    delete_comment(session, reply.id, other)  # type: ignore[arg-type]
    assert comment_threads(session, need, None) == []
    assert reload_need(session, need).comments_count == 0


def test_htmx_delete_of_a_reply_answers_nothing_to_swap(client, session, need, alice):
    top = add_comment(session, need, make_user(session), "Début.")
    reply = add_comment(session, need, alice, "Ma réponse.", parent=top)
    response = post_form(client, f"/comments/{reply.id}/delete", headers=HTMX)
    assert response.status_code == 200
    tree = parse(response.text)
    assert tree.css_first("li") is None
    # The count, out of band: 2 before, the top-level comment remains.
    assert tree.css_first(f"#comments-count-{need.id}").text() == "(1)"  # type: ignore[union-attr]


def test_deleting_twice_counts_once(client, session, need, alice):
    add_comment(session, need, alice, "Reste.")
    comment = add_comment(session, need, alice, "Doublon.")
    assert post_form(client, f"/comments/{comment.id}/delete").status_code == 303
    assert post_form(client, f"/comments/{comment.id}/delete").status_code == 303
    assert reload_need(session, need).comments_count == 1


def test_deleting_someone_elses_comment_is_403(client, session, need, alice):
    comment = add_comment(session, need, make_user(session), "Pas à toi.")
    response = post_form(client, f"/comments/{comment.id}/delete")
    assert response.status_code == 403
    assert comments_of(session, need)[0].deleted_at is None
    assert reload_need(session, need).comments_count == 1


def test_a_moderator_may_delete_any_comment(session, need):
    comment = add_comment(session, need, make_user(session), "Hors sujet.")
    moderator = make_user(session, role=Role.moderator)
    delete_comment(session, comment.id, moderator)  # type: ignore[arg-type]
    assert comments_of(session, need)[0].deleted_at is not None


def test_an_anonymous_delete_goes_to_login_and_deletes_nothing(client, session, need):
    comment = add_comment(session, need, make_user(session), "Texte.")
    response = post_form(client, f"/comments/{comment.id}/delete")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login")
    assert comments_of(session, need)[0].deleted_at is None


def test_deleting_an_unknown_comment_is_404(client, alice):
    assert post_form(client, "/comments/999999/delete").status_code == 404
    assert post_form(client, "/comments/abc/delete").status_code in (404, 422)


# --- counts and visibility -----------------------------------------------------------------------


def test_the_stored_count_matches_published_non_deleted_comments(session, need):
    people = [make_user(session) for _ in range(4)]
    made = []
    for i, person in enumerate(people):
        top = add_comment(session, need, person, f"Commentaire {i}.")
        made.append(top)
        made.append(add_comment(session, need, people[(i + 1) % 4], f"Réponse {i}.", parent=top))
    delete_comment(session, made[0].id, people[0])  # type: ignore[arg-type]
    delete_comment(session, made[3].id, people[2])  # type: ignore[arg-type]
    rows = comments_of(session, need)
    expected = sum(
        1 for c in rows if c.deleted_at is None and c.status == CommentStatus.published.value
    )
    assert expected == 6
    assert reload_need(session, need).comments_count == expected


def test_a_held_comment_is_shown_to_its_author_and_moderators_only(session, need):
    settings = session.info["settings"].model_copy(
        update={"moderation_mode": "pre", "rate_limits": "off"}
    )
    author = make_user(session)
    comment = post_comment(session, need, author, "En attente.", settings=settings)
    assert comment.status == CommentStatus.pending.value
    assert reload_need(session, need).comments_count == 0
    assert comment_threads(session, need, None) == []
    assert comment_threads(session, need, make_user(session)) == []
    assert [t.id for t in comment_threads(session, need, author)] == [comment.id]
    assert comment_threads(session, need, author)[0].is_pending
    moderator = make_user(session, role=Role.moderator)
    assert [t.id for t in comment_threads(session, need, moderator)] == [comment.id]


def test_a_hidden_comment_with_replies_is_a_placeholder_for_others(session, need):
    author, other = make_user(session), make_user(session)
    top = add_comment(session, need, author, "Propos masqués.")
    add_comment(session, need, other, "Réponse.", parent=top)
    row = session.get(Comment, top.id)
    row.status = CommentStatus.hidden.value  # type: ignore[union-attr]
    session.add(row)
    session.commit()
    [thread] = comment_threads(session, need, other)
    assert thread.placeholder and thread.body_html == ""
    [own] = comment_threads(session, need, author)
    assert own.placeholder is None and own.is_hidden


def test_replying_to_a_deleted_comment_is_refused(session, need):
    author = make_user(session)
    top = add_comment(session, need, author, "Effacé.")
    delete_comment(session, top.id, author)  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        add_comment(session, need, make_user(session), "Réponse.", parent=top)


def test_blocked_accounts_cannot_comment_through_the_service(session, need):
    author = make_user(session)
    block(session, author)
    with pytest.raises(Forbidden):
        add_comment(session, need, author, "Bloqué.")


def test_comment_threads_runs_a_constant_number_of_queries(app, session):
    def build(n: int) -> Need:
        need = make_need(session)
        people = [make_user(session) for _ in range(5)]
        tops: list[Comment] = []
        for i in range(n):
            parent = tops[i % len(tops)] if i % 3 == 2 and tops else None
            comment = Comment(
                need_id=need.id,  # type: ignore[arg-type]
                author_id=people[i % 5].id,
                parent_id=parent.id if parent else None,
                body=f"Commentaire {i}",
                body_html=f"<p>Commentaire {i}</p>",
            )
            session.add(comment)
            session.flush()
            if parent is None:
                tops.append(comment)
        session.commit()
        return need

    small, large = build(5), build(50)
    viewer = make_user(session)
    engine = app.state.engine
    session.expire_all()  # nothing cached: the comments and authors must be read
    for row in (small, large, viewer):
        session.refresh(row)
    with count_statements(engine) as few:
        threads_small = comment_threads(session, small, viewer)
    with count_statements(engine) as many:
        threads_large = comment_threads(session, large, viewer)
    assert sum(1 + len(t.replies) for t in threads_small) == 5
    assert sum(1 + len(t.replies) for t in threads_large) == 50
    # One query: the comments joined to their authors.
    assert len(many) == len(few) == 1


# --- the comments section ------------------------------------------------------------------------


def test_the_comments_section_renders_threads_forms_and_labels(app, session, need):
    author, replier = make_user(session), make_user(session, display_name="Bob")
    top = add_comment(session, need, author, "Premier <script>x</script>.")
    add_comment(session, need, replier, "Réponse de Bob.", parent=top)
    need = reload_need(session, need)
    html = render_to_string(
        "board/_comments.html",
        {
            "need": need,
            "threads": comment_threads(session, need, author),
            "current_user": author,
            "csrf_token": "jeton",
            "can_comment": True,
            "comment_form": comment_form_state(app.state.settings),
        },
    )
    tree = parse(html)
    section = tree.css_first("section#commentaires")
    assert section is not None
    heading_id = section.attributes["aria-labelledby"]
    assert tree.css_first(f"#{heading_id}") is not None
    assert "<script" not in html
    for body in tree.css(".comment-body"):
        assert "data-hx-disable" in body.attributes
    # Every textarea has a label; the ids of the forms are unique.
    for textarea in tree.css("textarea"):
        assert tree.css_first(f'label[for="{textarea.attributes["id"]}"]') is not None
    ids = [n.attributes["id"] for n in tree.css("[id]")]
    assert len(ids) == len(set(ids))
    assert tree.css_first(f"form#comment-form-{need.id} input[name=submission_key]") is not None
    # A thread offers the way to its reply form, which is asked for when wanted.
    reply = tree.css_first(f"#reply-box-{top.id} a.reply-link")
    assert reply is not None
    assert reply.attributes["href"] == f"/comments/{top.id}/reply"
    assert reply.attributes["data-hx-get"] == f"/comments/{top.id}/reply"
    assert tree.css_first(f"form#reply-form-{top.id}") is None
    assert tree.css_first("input[name=website]") is not None  # the honeypot
    assert "Bob" in section.text()


def test_the_comments_section_invites_visitors_to_sign_in(session, need):
    html = render_to_string(
        "board/_comments.html",
        {
            "need": need,
            "threads": [],
            "current_user": None,
            "csrf_token": "",
            "can_comment": False,
            "comment_form": {},
        },
    )
    tree = parse(html)
    assert tree.css_first("form.comment-form") is None
    assert tree.css_first('a[href^="/account/login?next="]') is not None


def test_no_row_is_left_behind_by_a_refused_comment(client, session, need, alice):
    before = count(session, RateEvent)
    send_comment(client, need, "")
    assert count(session, RateEvent) == before
    assert count(session, Follow, Follow.user_id == alice.id) == 0
    assert list(session.exec(select(Comment))) == []


# --- concurrency ---------------------------------------------------------------------------------


def _race(count_: int, work) -> list:  # type: ignore[no-untyped-def]
    import threading
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(count_, timeout=60)
    with ThreadPoolExecutor(max_workers=count_) as pool:
        futures = [pool.submit(work, i, barrier) for i in range(count_)]
        return [f.result() for f in futures]


def test_the_count_stays_exact_when_many_people_comment_and_delete_at_once(app, session, need):
    from sqlmodel import Session

    people = [make_user(session) for _ in range(8)]
    settings = app.state.settings.model_copy(update={"rate_limits": "off"})
    kept = [add_comment(session, need, p, "Avant la course.") for p in people[:4]]

    def work(i: int, barrier) -> None:  # type: ignore[no-untyped-def]
        with Session(app.state.engine, expire_on_commit=False) as db:
            db.info["settings"] = settings
            person = db.get(type(people[i]), people[i].id)
            barrier.wait()
            if i < 4:
                delete_comment(db, kept[i].id, person)  # type: ignore[arg-type]
                delete_comment(db, kept[i].id, person)  # a double click
            for n in range(3):
                post_comment(db, need.id, person, f"Commentaire {i}-{n}.", settings=settings)  # type: ignore[arg-type]

    _race(len(people), work)
    rows = comments_of(session, need)
    published = [c for c in rows if c.deleted_at is None]
    assert len(published) == 8 * 3
    assert reload_need(session, need).comments_count == 24


def test_the_same_form_sent_at_once_from_several_tabs_creates_one_comment(app, session, need):
    from sqlmodel import Session

    author = make_user(session)
    settings = app.state.settings.model_copy(update={"rate_limits": "off"})

    def work(i: int, barrier) -> int:  # type: ignore[no-untyped-def]
        with Session(app.state.engine, expire_on_commit=False) as db:
            db.info["settings"] = settings
            person = db.get(type(author), author.id)
            barrier.wait()
            comment = post_comment(
                db,
                need.id,
                person,
                "Envoyé en double.",
                submission_key="meme-formulaire",
                settings=settings,  # type: ignore[arg-type]
            )
            return comment.id  # type: ignore[return-value]

    ids = _race(4, work)
    assert len(set(ids)) == 1
    assert len(comments_of(session, need)) == 1
    assert reload_need(session, need).comments_count == 1
