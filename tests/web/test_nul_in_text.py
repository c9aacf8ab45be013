"""A NUL character in what a client sends never ends in a 500 (PostgreSQL refuses it in text,
SQLite keeps it): app.core.db drops it from text parameters on PostgreSQL. Found by the form
fuzzing (issue 18): a partner's slug in the embed builder, a need form's key."""

from __future__ import annotations

import pytest

from tests.factories import make_need


@pytest.mark.parametrize(
    "path",
    [
        "/embed/needs?partner=%00%01x",
        "/?theme=%00x",
        "/?q=cr%00eche",
        "/partners/%00x",
    ],
)
def test_a_nul_in_a_lookup_is_answered_not_a_500(client, session, path):
    make_need(session)
    response = client.get(path)
    assert response.status_code < 500, response.text
