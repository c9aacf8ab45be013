"""Merging a duplicate: supports united without counting anyone twice, comments and followers
moved, the old address redirecting, both authors told, one audit entry to undo it by hand —
and refused merges write nothing."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import func, select

from app.board.comments import post_comment
from app.board.follows import add_follow, follower_ids
from app.board.models import Comment, Follow, Need, Notification, Support
from app.board.supports import add_support
from app.board.trending import support_weight
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.moderation.merge import merge_needs
from app.web.errors import Conflict, Invalid, NotFound
from tests.factories import (
    fresh,
    login_as,
    make_need,
    make_user,
    page_text,
    post_form,
    read_form,
)


def _count(session, model, *where) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _merge(client, source, target, **extra):  # type: ignore[no-untyped-def]
    data = {"into": str(target.id), "seen_status": source.status, **extra}
    return post_form(client, f"/moderation/needs/{source.id}/merge", data)


@pytest.fixture
def pair(session):  # type: ignore[no-untyped-def]
    """A duplicate (source) and the need that stays (target), each by its own author."""
    source = make_need(session, title="Une navette pour aller au marché de Pessac")
    target = make_need(session, title="Un transport vers le marché de Pessac le samedi")
    return source, target


def _support(session, need, user):  # type: ignore[no-untyped-def]
    add_support(session, need, user)


def test_a_person_who_supported_both_needs_counts_once_on_the_target(
    client, session, signed_in_moderator, pair
):
    source, target = pair
    both, only_source, only_target = (make_user(session) for _ in range(3))
    for need, people in ((source, (both, only_source)), (target, (both, only_target))):
        for person in people:
            _support(session, need, person)
    both_on_target = session.exec(
        select(Support).where(Support.need_id == target.id, Support.user_id == both.id)
    ).one()

    response = _merge(client, source, target)

    assert response.status_code == 303
    assert response.headers["location"] == f"/moderation/needs/{target.id}?done=merged"
    fresh(session)
    kept = session.get(Need, target.id)
    merged = session.get(Need, source.id)
    rows = session.exec(select(Support).where(Support.need_id == target.id)).all()
    assert sorted(r.user_id for r in rows) == sorted([both.id, only_source.id, only_target.id])
    assert kept.supports_count == 3 == len(rows)
    # The person who supported both keeps the target's own support row.
    assert both_on_target.id in {r.id for r in rows}
    assert kept.trending_score == pytest.approx(sum(support_weight(r.created_at) for r in rows))
    assert (merged.status, merged.merged_into_id) == ("merged", target.id)
    assert (merged.supports_count, merged.comments_count, merged.trending_score) == (0, 0, 0)
    assert _count(session, Support, Support.need_id == source.id) == 0


def test_comments_move_with_their_replies_and_the_counts_stay_exact(
    client, session, signed_in_moderator, pair
):
    source, target = pair
    alice, bob = make_user(session), make_user(session)
    top = post_comment(session, source, alice, "Je prendrais la navette chaque semaine.")
    reply = post_comment(session, source, bob, "Moi aussi, le samedi.", parent_id=top.id)
    hidden = post_comment(session, source, bob, "Un commentaire masqué.")
    hidden.status = "hidden"
    session.add(hidden)
    session.commit()
    post_comment(session, target, alice, "Déjà un commentaire sur le besoin qui reste.")

    assert _merge(client, source, target).status_code == 303

    fresh(session)
    moved = session.exec(select(Comment).where(Comment.moved_from_need_id == source.id)).all()
    assert {c.id for c in moved} == {top.id, reply.id, hidden.id}
    assert all(c.need_id == target.id for c in moved)
    assert session.get(Comment, reply.id).parent_id == top.id
    published = _count(
        session,
        Comment,
        Comment.need_id == target.id,
        Comment.status == "published",
        Comment.deleted_at.is_(None),  # type: ignore[union-attr]
    )
    assert session.get(Need, target.id).comments_count == published == 3
    assert session.get(Need, source.id).comments_count == 0
    assert _count(session, Comment, Comment.need_id == source.id) == 0
    page = client.get(f"/needs/{target.id}-{target.slug}").text
    assert "Je prendrais la navette chaque semaine." in page
    # Each moved comment says where it comes from; the target's own comment does not.
    notes = LexborHTMLParser(page).css(".comment-moved")
    assert len(notes) == 3  # top, reply and (for the moderator) the hidden one
    assert all(f"« {source.title} »" in n.text().replace("\xa0", " ") for n in notes)


def test_followers_of_both_needs_follow_the_target_once(client, session, signed_in_moderator, pair):
    source, target = pair
    both, only_source, only_target = (make_user(session) for _ in range(3))
    for need, people in ((source, (both, only_source)), (target, (both, only_target))):
        for person in people:
            add_follow(session, need.id, person.id)
    session.commit()

    assert _merge(client, source, target).status_code == 303

    fresh(session)
    followers = follower_ids(session, target.id)
    assert sorted(followers) == sorted([both.id, only_source.id, only_target.id])
    assert _count(session, Follow, Follow.need_id == target.id) == 3


def test_the_merged_need_redirects_permanently_to_its_target(
    client, session, signed_in_moderator, pair
):
    source, target = pair
    assert _merge(client, source, target).status_code == 303
    for path in (f"/needs/{source.id}-{source.slug}", f"/needs/{source.id}"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 301
        assert response.headers["location"] == f"/needs/{target.id}-{target.slug}"
    assert source.title not in page_text(client.get("/").text)


def test_both_authors_are_told_and_not_the_moderator(client, session, signed_in_moderator, pair):
    source, target = pair
    _merge(client, source, target, note="Même demande, même quartier")
    fresh(session)
    notes = session.exec(select(Notification).where(Notification.kind == "moderation")).all()
    by_user = {n.user_id: n for n in notes}
    assert set(by_user) == {source.author_id, target.author_id}
    assert source.title in by_user[source.author_id].message
    assert "fusionné" in by_user[source.author_id].message
    assert "Même demande, même quartier" in by_user[target.author_id].message
    assert all(n.need_id == target.id for n in notes)


def test_a_moderator_merging_their_own_duplicate_is_not_notified(session):
    moderator = make_user(session, role="moderator")
    source = make_need(session, author=moderator)
    target = make_need(session)
    merge_needs(session, moderator, source.id, str(target.id), seen_status="published")
    recipients = session.exec(select(Notification.user_id)).all()
    assert recipients == [target.author_id]


def test_the_audit_entry_records_enough_to_undo_the_merge(
    client, session, signed_in_moderator, pair
):
    source, target = pair
    both, only_source = make_user(session), make_user(session)
    _support(session, source, both)
    _support(session, target, both)
    _support(session, source, only_source)
    add_support(session, source, make_user(session), concern="would_use")
    duplicate = session.exec(
        select(Support).where(Support.need_id == source.id, Support.user_id == both.id)
    ).one()
    duplicate_row = {
        "id": duplicate.id,
        "user_id": both.id,
        "created_at": duplicate.created_at.isoformat(),
        "concern": None,
        "territory_id": None,
    }
    comment = post_comment(session, source, both, "Un commentaire à déplacer.")
    follower = make_user(session)
    add_follow(session, source.id, follower.id)
    session.commit()
    moved_supports = session.exec(
        select(Support.id, Support.user_id).where(
            Support.need_id == source.id, Support.user_id != both.id
        )
    ).all()

    _merge(client, source, target, note="Doublon")

    fresh(session)
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.action, entry.target_kind, entry.target_id, entry.actor_id, entry.reason) == (
        "need.merge",
        "need",
        source.id,
        signed_in_moderator.id,
        "Doublon",
    )
    after = entry.after
    assert after["into"] == target.id
    assert sorted((s["id"], s["user_id"]) for s in after["moved_supports"]) == sorted(
        (i, u) for i, u in moved_supports
    )
    assert after["deleted_supports"] == [duplicate_row]
    assert after["moved_comments"] == [{"id": comment.id, "moved_from_need_id": None}]
    assert sorted(after["follows_added"]) == sorted([both.id, follower.id])
    assert entry.before["source"]["supports_count"] == 3
    assert entry.before["target"]["supports_count"] == 1
    assert entry.before["source"]["comments_count"] == 1
    assert after["target"]["supports_count"] == 3
    assert after["target"]["comments_count"] == 1
    assert after["source"]["status"] == "merged"
    assert after["source"]["supports_count"] == 0


def test_the_confirmation_page_says_what_will_happen(client, session, signed_in_moderator, pair):
    source, target = pair
    both = make_user(session)
    _support(session, source, both)
    _support(session, target, both)
    _support(session, source, make_user(session))
    response = client.get(f"/moderation/needs/{source.id}/merge?into={target.id}")
    assert response.status_code == 200
    text = page_text(response.text)
    assert "1 personne(s) soutenant les deux" in text
    assert ": 2 après la fusion" in text
    assert 'name="seen_status" value="published"' in response.text


def test_the_search_lists_public_needs_only(client, session, signed_in_moderator, pair):
    source, target = pair
    hidden = make_need(session, title="Un transport caché vers le marché", status="hidden")
    response = client.get(f"/moderation/needs/{source.id}/merge?q=march%C3%A9")
    assert response.status_code == 200
    assert f"?into={target.id}" in response.text
    assert f"?into={hidden.id}" not in response.text
    assert f"?into={source.id}" not in response.text
    by_number = client.get(f"/moderation/needs/{source.id}/merge?q={target.id}").text
    assert f"?into={target.id}" in by_number
    fragment = client.get(
        f"/moderation/needs/{source.id}/merge?q=transport", headers={"HX-Request": "true"}
    )
    assert fragment.text.lstrip().startswith('<div id="merge-results"')
    assert f"?into={target.id}" in fragment.text


def _refusal_cases():  # type: ignore[no-untyped-def]
    return [
        "self",
        "merged target",
        "hidden target",
        "pending target",
        "rejected target",
        "deleted target",
        "unknown target",
        "not a number",
        "merged source",
        "deleted source",
    ]


@pytest.mark.parametrize("case", _refusal_cases())
def test_refused_merges_say_why_and_write_nothing(client, session, signed_in_moderator, case):
    source = make_need(session, title="Le doublon qu'on voudrait fusionner")
    target = make_need(session, title="Le besoin qui devrait rester")
    other = make_need(session, title="Un troisième besoin sans rapport")
    into = str(target.id)
    if case == "self":
        into = str(source.id)
    elif case == "merged target":
        target.status, target.merged_into_id = "merged", other.id
    elif case in ("hidden target", "pending target", "rejected target"):
        target.status = case.split()[0]
    elif case == "deleted target":
        target.deleted_at = utcnow()
    elif case == "unknown target":
        into = "2147483647"
    elif case == "not a number":
        into = "le 12"
    elif case == "merged source":
        source.status, source.merged_into_id = "merged", other.id
    elif case == "deleted source":
        source.deleted_at = utcnow()
    session.add_all([source, target])
    session.commit()
    _support(session, source, make_user(session))
    before = {n.id: (n.status, n.supports_count) for n in session.exec(select(Need)).all()}

    response = _merge(client, source, target, into=into)

    assert response.status_code == 422
    assert page_text(response.text)  # a page with the reason, not a server error
    assert response.text.count('class="error-message"') + response.text.count("notice-error") >= 1
    fresh(session)
    assert {n.id: (n.status, n.supports_count) for n in session.exec(select(Need)).all()} == (
        before
    )
    assert _count(session, AuditEntry) == 0
    assert _count(session, Notification, Notification.kind == "moderation") == 0
    assert _count(session, Support, Support.need_id == source.id) == 1


def test_merging_into_itself_is_explained_next_to_the_field(
    client, session, signed_in_moderator, pair
):
    source, _target = pair
    response = _merge(client, source, source)
    assert response.status_code == 422
    assert "lui-même" in response.text
    assert 'aria-describedby="f-into-error"' in response.text


def test_a_second_merge_of_the_same_source_is_refused(client, session, signed_in_moderator, pair):
    source, target = pair
    third = make_need(session, title="Un autre besoin de transport au marché")
    assert _merge(client, source, target).status_code == 303
    response = _merge(client, source, third, seen_status="published")
    assert response.status_code == 422
    assert "déjà été fusionné" in response.text
    fresh(session)
    assert session.get(Need, source.id).merged_into_id == target.id
    assert _count(session, AuditEntry) == 1


def test_a_source_changed_since_the_confirmation_page_is_a_conflict(session, pair):
    """The optimistic check: the source's status is in the UPDATE's WHERE, so a merge
    prepared on a stale page (here the need was hidden meanwhile) changes nothing."""
    source, target = pair
    source.status = "hidden"
    session.add(source)
    session.commit()
    with pytest.raises(Conflict):
        merge_needs(
            session,
            make_user(session, role="moderator"),
            source.id,
            str(target.id),
            seen_status="published",
        )
    fresh(session)
    assert session.get(Need, source.id).status == "hidden"
    assert _count(session, AuditEntry) == 0


def test_a_resident_cannot_merge_even_through_the_service(session, pair):
    from app.web.errors import Forbidden

    source, target = pair
    with pytest.raises(Forbidden):
        merge_needs(session, make_user(session), source.id, str(target.id), seen_status="published")
    with pytest.raises(Invalid):
        merge_needs(
            session,
            make_user(session, role="moderator"),
            source.id,
            str(target.id),
            seen_status="published",
            note="x" * 501,
        )
    assert session.get(Need, source.id).status == "published"


# --- two moderators at once ---------------------------------------------------------------------


def _race(app, jobs):  # type: ignore[no-untyped-def]
    """Runs merge_needs(*job) for each job in its own thread and session, all released at once;
    returns "merged" or "refused" per job."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from sqlmodel import Session

    from app.accounts.models import User

    barrier = threading.Barrier(len(jobs), timeout=60)

    def work(job):  # type: ignore[no-untyped-def]
        moderator_id, source_id, target_id = job
        with Session(app.state.engine, expire_on_commit=False) as db:
            db.info["settings"] = app.state.settings
            moderator = db.get(User, moderator_id)
            db.rollback()  # give the connection back before the race
            barrier.wait()
            try:
                merge_needs(db, moderator, source_id, str(target_id), seen_status="published")
            except (Conflict, Invalid):
                db.rollback()
                return "refused"
            return "merged"

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return [f.result() for f in [pool.submit(work, job) for job in jobs]]


def test_two_merges_of_the_same_source_at_once_cannot_both_succeed(app, session):
    source = make_need(session, title="Le doublon que deux personnes fusionnent")
    targets = [make_need(session, title=f"Cible numéro {i} de la fusion") for i in range(2)]
    supporter = make_user(session)
    _support(session, source, supporter)
    moderators = [make_user(session, role="moderator") for _ in range(2)]

    results = _race(
        app, [(m.id, source.id, t.id) for m, t in zip(moderators, targets, strict=True)]
    )

    assert sorted(results) == ["merged", "refused"]
    fresh(session)
    merged = session.get(Need, source.id)
    winner = session.get(Need, merged.merged_into_id)
    loser = next(t for t in targets if t.id != winner.id)
    assert merged.status == "merged"
    assert winner.supports_count == 1 == _count(session, Support, Support.need_id == winner.id)
    assert session.get(Need, loser.id).supports_count == 0
    assert _count(session, AuditEntry) == 1


def test_merging_two_needs_into_each_other_at_once_merges_only_one_way(app, session):
    first = make_need(session, title="Premier besoin, doublon du second")
    second = make_need(session, title="Second besoin, doublon du premier")
    for need in (first, second):
        _support(session, need, make_user(session))
    moderators = [make_user(session, role="moderator") for _ in range(2)]

    results = _race(
        app, [(moderators[0].id, first.id, second.id), (moderators[1].id, second.id, first.id)]
    )

    assert sorted(results) == ["merged", "refused"]
    fresh(session)
    statuses = sorted(session.get(Need, n.id).status for n in (first, second))
    assert statuses == ["merged", "published"]
    kept = next(
        session.get(Need, n.id)
        for n in (first, second)
        if session.get(Need, n.id).status == "published"
    )
    assert kept.supports_count == 2 == _count(session, Support, Support.need_id == kept.id)
    assert _count(session, AuditEntry) == 1


# --- « Moi aussi » and « Suivre » while a merge happens -----------------------------------------


def _stale_view(app, need_id: int, user_id: int):  # type: ignore[no-untyped-def]
    """A resident's request that read the need as public, before the merge committed."""
    from sqlmodel import Session

    from app.accounts.models import User

    db = Session(app.state.engine, expire_on_commit=False)
    db.info["settings"] = app.state.settings
    need, user = db.get(Need, need_id), db.get(User, user_id)
    db.commit()  # the read is over; the objects keep what the request saw (no expiry)
    return db, need, user


def _assert_merge_exact(session, source, target) -> None:  # type: ignore[no-untyped-def]
    fresh(session)
    merged, kept = session.get(Need, source.id), session.get(Need, target.id)
    assert merged.status == "merged" and merged.supports_count == 0
    assert _count(session, Support, Support.need_id == source.id) == 0
    assert _count(session, Follow, Follow.need_id == source.id) == 0
    assert kept.supports_count == _count(session, Support, Support.need_id == target.id)


@pytest.mark.parametrize("write", ["support", "withdraw", "follow"])
def test_a_support_or_follow_read_before_a_merge_is_refused_after_it(app, session, pair, write):
    from app.board.follows import follow
    from app.board.supports import remove_support

    source, target = pair
    resident, moderator = make_user(session), make_user(session, role="moderator")
    if write == "withdraw":
        _support(session, source, resident)
    db, need, user = _stale_view(app, source.id, resident.id)
    merge_needs(session, moderator, source.id, str(target.id), seen_status="published")

    # (« Suivre » reads the need again first: it finds it gone before it could take the lock.)
    with db, pytest.raises(NotFound if write == "follow" else Conflict):
        if write == "support":
            add_support(db, need, user)
        elif write == "withdraw":
            remove_support(db, need, user)
        else:
            follow(db, need, user, settings=app.state.settings)
    _assert_merge_exact(session, source, target)
    # The withdrawn-too-late support moved with the others: the person still counts, once.
    expected = {"support": 0, "withdraw": 1, "follow": 0}[write]
    assert _count(session, Support, Support.need_id == target.id) == expected


def test_supports_given_while_a_merge_runs_all_land_on_the_target(app, session, pair):
    """Residents press « Moi aussi » on the duplicate while a moderator merges it: each support
    either counts on the target or is refused with a message; none stays on the merged need."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from sqlmodel import Session

    from app.accounts.models import User

    source, target = pair
    residents = [make_user(session).id for _ in range(8)]
    moderator_id = make_user(session, role="moderator").id
    barrier = threading.Barrier(len(residents) + 1, timeout=60)

    def resident(user_id: int) -> str:
        db, need, user = _stale_view(app, source.id, user_id)
        with db:
            barrier.wait()
            try:
                add_support(db, need, user)
            except Conflict:
                return "refused"
            return "added"

    def merge() -> str:
        with Session(app.state.engine, expire_on_commit=False) as db:
            db.info["settings"] = app.state.settings
            moderator = db.get(User, moderator_id)
            db.rollback()
            barrier.wait()
            merge_needs(db, moderator, source.id, str(target.id), seen_status="published")
            return "merged"

    with ThreadPoolExecutor(max_workers=len(residents) + 1) as pool:
        futures = [pool.submit(resident, r) for r in residents] + [pool.submit(merge)]
        results = [f.result() for f in futures]

    assert results[-1] == "merged"
    _assert_merge_exact(session, source, target)
    assert _count(session, Support, Support.need_id == target.id) == results.count("added")


def _merged_right_after_the_read(monkeypatch, module, app, source, target, moderator_id):  # type: ignore[no-untyped-def]
    """The moderator's merge commits between the route's read of the need and its write."""
    from sqlmodel import Session

    from app.accounts.models import User
    from app.board import queries

    def read_then_merge(session, need_id):  # type: ignore[no-untyped-def]
        need = queries.get_visible_need(session, need_id)
        if need_id == source.id:
            with Session(app.state.engine) as other:
                other.info["settings"] = app.state.settings
                moderator = other.get(User, moderator_id)
                merge_needs(other, moderator, source.id, str(target.id), seen_status="published")
        return need

    monkeypatch.setattr(module, "get_visible_need", read_then_merge)


@pytest.mark.parametrize("htmx", [True, False])
def test_moi_aussi_pressed_as_the_need_is_merged_says_so(client, session, pair, monkeypatch, htmx):
    from app.board import support_form_path, support_routes

    # The route's race: its read of the need, then its write. The way in before routing
    # (app/board/support_form_path.py) has none — it takes the need's row before reading
    # anything, and leaves a need no longer public to the route — so it stands aside here.
    monkeypatch.setattr(support_form_path, "support_by_form", lambda *a, **k: None)
    source, target = pair
    moderator = make_user(session, role="moderator")
    _merged_right_after_the_read(
        monkeypatch, support_routes, client.app, source, target, moderator.id
    )
    login_as(client, make_user(session), session)
    headers = {"HX-Request": "true"} if htmx else {}
    response = post_form(client, f"/needs/{source.id}/support", {"action": "add"}, headers=headers)
    assert response.status_code == 409
    assert "vient de changer (fusionné, masqué ou supprimé)" in response.text
    _assert_merge_exact(session, source, target)
    assert _count(session, Support, Support.need_id == target.id) == 0


def test_suivre_pressed_as_the_need_is_merged_reloads_the_page(client, session, pair, monkeypatch):
    from app.board import follows

    source, target = pair
    moderator = make_user(session, role="moderator")
    _merged_right_after_the_read(monkeypatch, follows, client.app, source, target, moderator.id)
    login_as(client, make_user(session), session)
    response = post_form(client, f"/needs/{source.id}/follow", headers={"HX-Request": "true"})
    # htmx reloads the page, which redirects to the need it was merged into.
    assert response.headers.get("HX-Refresh") == "true"
    _assert_merge_exact(session, source, target)
    assert client.get(f"/needs/{source.id}", follow_redirects=False).status_code == 301


def test_the_search_matches_words_in_any_order_and_without_accents(
    client, session, signed_in_moderator
):
    source = make_need(session, title="Un garage à vélos sécurisé près de la gare")
    target = make_need(session, title="Stationnement vélo à la gare de Bègles")
    other = make_need(session, title="Un vélo-école pour adultes")
    page = client.get(f"/moderation/needs/{source.id}/merge").text
    # The search form as the moderator fills it (the words reversed, no accent).
    search = LexborHTMLParser(page).css_first("form.merge-search").html
    method, values, names = read_form(search, f"/moderation/needs/{source.id}/merge")
    assert method == "get" and "q" in names
    found = client.get(f"/moderation/needs/{source.id}/merge", params={**values, "q": "gare velo"})
    assert f"?into={target.id}" in found.text
    assert f"?into={other.id}" not in found.text and f"?into={source.id}" not in found.text
    # Cleared with htmx: the results block only, never the whole page inside it.
    cleared = client.get(
        f"/moderation/needs/{source.id}/merge", params={"q": ""}, headers={"HX-Request": "true"}
    )
    assert cleared.text.lstrip().startswith('<div id="merge-results"')


def test_likely_duplicates_are_offered_before_any_search(client, session, signed_in_moderator):
    source = make_need(session, title="Une laverie solidaire à Bègles")
    twin = make_need(session, title="Laverie solidaire pour le quartier de Bègles")
    unrelated = make_need(session, title="Cours de cuisine pour les jeunes")
    hidden = make_need(session, title="Une laverie solidaire cachée à Bègles", status="hidden")
    html = client.get(f"/moderation/needs/{source.id}/merge").text
    results = LexborHTMLParser(html).css_first("#merge-results")
    assert "Doublons probables" in results.text()
    links = {a.attributes["href"] for a in results.css("a")}
    assert f"/moderation/needs/{source.id}/merge?into={twin.id}" in links
    assert not any(f"into={n.id}" in link for n in (unrelated, hidden, source) for link in links)
