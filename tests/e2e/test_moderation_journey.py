"""Issue 4's "done when": a moderator clears a queue of pending and reported items with the
keyboard alone — with the shortcuts (JavaScript) and with Tab and Enter only (no JavaScript) —
and each decision reaches its author."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Role
from app.board.comments import post_comment
from app.board.models import Comment, Need, Notification, Report
from app.board.service import NeedInput, create_need
from app.core.db import make_engine
from app.core.settings import ModerationMode

pytestmark = pytest.mark.e2e
PASSWORD = "mot-de-passe-e2e"
_n = itertools.count(1)


def _queue_with_items(live_server) -> tuple[str, list[int], int]:  # type: ignore[no-untyped-def]
    """A moderator, two waiting needs and a comment reported by two people. Returns the
    moderator's e-mail, the waiting needs' ids and the reported comment's id."""
    engine = make_engine(live_server.settings.sqlalchemy_url)
    run = next(_n)
    with Session(engine) as session:
        session.info["settings"] = live_server.settings

        def person(label: str, role: Role = Role.resident):  # type: ignore[no-untyped-def]
            return accounts.create_user(
                session,
                f"moderation-{label}{run}@exemple.fr",
                display_name=f"{label.capitalize()} {run}",
                password=PASSWORD,
                role=role,
                verified=True,
            )

        moderator = person("moderatrice", Role.moderator)
        author, first, second = person("autrice"), person("voisin"), person("voisine")
        waiting = [
            create_need(
                session,
                author,
                NeedInput(title=f"Une épicerie solidaire numéro {run}-{i}"),
                mode=ModerationMode.pre,
                rate_limits=False,
            ).id
            for i in (1, 2)
        ]
        published = create_need(
            session,
            moderator,
            NeedInput(title=f"Un atelier vélo partagé numéro {run}"),
            mode=ModerationMode.post,
            rate_limits=False,
        )
        comment = post_comment(session, published, author, "Un avis un peu vif sur ce projet.")
        for reporter in (first, second):
            session.add(
                Report(
                    reporter_id=reporter.id,  # type: ignore[arg-type]
                    target_kind="comment",
                    target_id=comment.id,  # type: ignore[arg-type]
                    reason="abusive",
                )
            )
        comment_id = comment.id
        session.commit()
        email = moderator.email
    engine.dispose()
    return email, waiting, comment_id  # type: ignore[return-value]


def _login(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/account/login")
    page.locator("#f-email").fill(email)
    page.locator("#f-password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.get_by_role("link", name="Mon compte").wait_for()


def _check_outcome(live_server, waiting: list[int], comment_id: int) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(live_server.settings.sqlalchemy_url)
    with Session(engine) as session:
        statuses = [session.get(Need, need_id).status for need_id in waiting]  # type: ignore[union-attr]
        assert statuses == ["published", "published"]
        reports = session.exec(select(Report).where(Report.target_id == comment_id)).all()
        assert {r.status for r in reports} == {"dismissed"}
        assert session.get(Comment, comment_id).status == "published"  # type: ignore[union-attr]
        author_id = session.get(Need, waiting[0]).author_id  # type: ignore[union-attr]
        told = session.exec(
            select(Notification).where(
                Notification.user_id == author_id, Notification.kind == "moderation"
            )
        ).all()
        assert len(told) == 2  # each approval reached the author
    engine.dispose()


def _remaining(page) -> int:  # type: ignore[no-untyped-def]
    return page.locator("[data-queue-item]").count()


def test_a_moderator_clears_the_queue_with_the_shortcuts(browser, live_server):  # type: ignore[no-untyped-def]
    email, waiting, comment_id = _queue_with_items(live_server)
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server.url, email)
    page.goto(live_server.url + "/moderation/queue")

    # Other tests may have left items too: the moderator clears whatever is there.
    for _ in range(50):
        left = _remaining(page)
        if left == 0:
            break
        page.keyboard.press("j")  # focus the next item
        item = page.locator("[data-queue-item]:focus")
        item.wait_for()
        key = "a" if item.locator('[data-shortcut="a"]').count() else "d"
        page.keyboard.press(key)
        # The item is replaced at the swap (htmx gives the focus to its replacement, which has
        # the same id); moderation.js moves the focus on to the next item after the settle, a
        # moment later. A key pressed in between would act on whatever held the focus then.
        page.wait_for_function(
            """n => {
                const items = document.querySelectorAll('[data-queue-item]').length;
                const focused = document.activeElement;
                return items < n
                    && (items === 0 || (focused && focused.matches('[data-queue-item]')));
            }""",
            arg=left,
        )
        # The counter above the list follows each decision (an out-of-band swap).
        page.wait_for_function(
            """n => (document.getElementById('queue-total') || {}).textContent
                .includes(n + (n > 1 ? ' éléments' : ' élément'))""",
            arg=_remaining(page),
        )
    assert _remaining(page) == 0
    page.reload()
    assert page.get_by_text("Rien à traiter : la file est vide.").is_visible()
    assert errors == []
    context.close()
    _check_outcome(live_server, waiting, comment_id)


def test_without_javascript_tab_and_enter_clear_the_queue(browser, live_server):  # type: ignore[no-untyped-def]
    email, waiting, comment_id = _queue_with_items(live_server)
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    page = context.new_page()
    _login(page, live_server.url, email)
    page.goto(live_server.url + "/moderation/queue")

    for _ in range(50):
        if _remaining(page) == 0:
            break
        # Tab through the page, as a keyboard user does, to the first item's decision.
        for _step in range(400):
            page.keyboard.press("Tab")
            label = page.evaluate("document.activeElement && document.activeElement.textContent")
            if (label or "").strip() in ("Valider", "Classer les signalements"):
                break
        else:
            raise AssertionError("no decision button reached with Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert page.get_by_text("Rien à traiter : la file est vide.").is_visible()
    context.close()
    _check_outcome(live_server, waiting, comment_id)
