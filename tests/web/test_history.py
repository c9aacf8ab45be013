"""Back, Forward and reload after htmx changed the address (issue 14).

A filter, a sort or a page of results updates a block of the page in place with `hx-get` and
`hx-push-url`: htmx puts the new address in the history. On Back or Forward to it (the
history cache is off: `historyCacheSize: 0`), htmx asks the server again with
`HX-History-Restore-Request: true` (and `HX-Request: true` unless `historyRestoreAsHxRequest`
is false) and puts the answer in place of the whole body. That answer must be the whole page:
it was the bare list of needs, with no header, filters or footer
(app.web.templating.wants_fragment). The browser's own walk through it is in tests/e2e."""

from __future__ import annotations

import re

import pytest
from selectolax.lexbor import LexborHTMLParser

from app.accounts.models import Role
from tests.factories import login_as, make_need, make_user

FRAGMENT = {"HX-Request": "true"}
RESTORES = [
    {"HX-Request": "true", "HX-History-Restore-Request": "true"},  # htmx's default
    {"HX-History-Restore-Request": "true"},  # historyRestoreAsHxRequest: false (base.html)
]


# The addresses htmx pushes to the history, each with who sees it.
PAGES = [
    ("/?sort=top", None),
    ("/ideas?stage=studying", None),
    ("/moderation/ideas?q=velo", Role.staff),
    ("/moderation/ideas/list?q=velo", Role.staff),
    ("/moderation/qualification?q=velo", Role.staff),
    ("/moderation/needs/{need}/merge?q=velo", Role.moderator),
]


def whole_page(html: str) -> bool:
    tree = LexborHTMLParser(html)
    return all(tree.css_first(landmark) is not None for landmark in ("header", "main", "footer"))


@pytest.mark.parametrize(("address", "role"), PAGES)
def test_a_history_restore_gets_the_whole_page_and_a_filter_its_block(
    client, session, address, role
):
    need = make_need(session, title="Un vélo-bus pour l'école")
    make_need(session, title="Des vélos partagés près de la gare")
    path = address.format(need=need.id)
    if role is not None:
        login_as(client, make_user(session, role=role), session)

    plain = client.get(path)
    block = client.get(path, headers=FRAGMENT)
    restored = [client.get(path, headers=headers) for headers in RESTORES]

    assert plain.status_code == 200 and whole_page(plain.text)
    assert block.status_code == 200 and not whole_page(block.text) and "<html" not in block.text
    for response in restored:
        assert response.status_code == 200 and whole_page(response.text), path
    for response in (plain, block, *restored):
        vary = {name.strip().lower() for name in response.headers["vary"].split(",")}
        assert {"hx-request", "hx-boosted", "hx-history-restore-request"} <= vary, path


def test_every_filter_form_shows_what_the_address_says():
    """On Back, a browser puts back what was typed or chosen in a page's form before leaving
    it: the queue came back at `?kind=need` with « Commentaires » chosen. A form of filters
    (GET, with the address as its state) turns that off."""
    from pathlib import Path

    from app import PROJECT_ROOT

    forms = []
    for template in sorted((Path(PROJECT_ROOT) / "templates").rglob("*.html")):
        for tag in re.findall(r"<form\b[^>]*>", template.read_text(), flags=re.S):
            if 'method="get"' in tag and ("board-filters" in tag or 'role="search"' in tag):
                forms.append((template.name, 'autocomplete="off"' in tag))
    assert len(forms) >= 9
    assert [name for name, off in forms if not off] == []
