"""Fragments (templates named `_*.html`, and a page's block answered to htmx) show no header,
so they do not read the header's unread count (app.web.templating.render)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import meta

from app import PROJECT_ROOT
from app.board.notifications import notify
from app.web.templating import environment, is_fragment
from tests.board.comment_helpers import count_statements
from tests.factories import login_as, make_need, make_user, submit_form

TEMPLATES = Path(PROJECT_ROOT) / "templates"


def test_every_fragment_template_stands_without_the_page_around_it():
    fragments = [
        p.relative_to(TEMPLATES).as_posix()
        for p in TEMPLATES.rglob("_*.html")
        if is_fragment(p.relative_to(TEMPLATES).as_posix())
    ]
    assert "board/_support.html" in fragments
    for name in fragments:
        source = environment.loader.get_source(environment, name)[0]  # type: ignore[union-attr]
        tree = environment.parse(source)
        assert "base.html" not in set(meta.find_referenced_templates(tree)), name
        assert "unread_count" not in meta.find_undeclared_variables(tree), name


def test_the_moi_aussi_fragment_reads_no_unread_count_and_the_page_does(client, session):
    need = make_need(session)
    person = make_user(session)
    notify(session, "comment", [person.id], need=need)  # something unread in the header
    session.commit()
    login_as(client, person, session)
    page = f"/needs/{need.id}-{need.slug}"
    html = client.get(page).text
    assert '<span class="badge-count">1<span' in html

    with count_statements(client.app.state.engine) as statements:
        answer = submit_form(
            client, page, f"/needs/{need.id}/support", html=html, headers={"HX-Request": "true"}
        )
    assert answer.status_code == 200
    assert 'aria-pressed="true"' in answer.text and "<header" not in answer.text
    # The header's count is a statement of its own (app.board.notifications.unread_count).
    counts = [s for s in statements if s.lower().lstrip().startswith("select count")]
    assert not [s for s in counts if "from notifications" in s.lower()], counts


def test_the_block_answered_after_a_toggle_is_the_one_the_need_page_shows(client, session):
    """The route knows what it just did and does not read the support again: what it
    answers is still exactly the block the need page renders from the database."""
    from selectolax.lexbor import LexborHTMLParser

    need = make_need(session)
    person = make_user(session)
    login_as(client, person, session)
    page = f"/needs/{need.id}-{need.slug}"
    action = f"/needs/{need.id}/support"

    def block(html: str) -> str:
        node = LexborHTMLParser(html).css_first(f"#support-{need.id}")
        assert node is not None
        return node.html or ""

    for pressed in ("true", "false"):  # given, then withdrawn
        answer = submit_form(client, page, action, headers={"HX-Request": "true"})
        assert answer.status_code == 200
        assert f'aria-pressed="{pressed}"' in answer.text
        assert block(answer.text) == block(client.get(page).text)
