"""app/web/urls.py and app/web/params.py: the addresses the site builds and checks, and the
numbers it reads from URLs. Table-driven, without HTTP."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.web.params import MAX_ID, parse_id, parse_page
from app.web.urls import need_url, safe_next

NEXTS = [
    # (next as given, where it leads)
    (None, "/"),
    ("", "/"),
    ("/needs/3-une-creche", "/needs/3-une-creche"),
    ("/account?notice=welcome#top", "/account?notice=welcome#top"),
    ("//evil.example/", "/"),
    ("https://evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("needs/3", "/"),
    ("/\\evil.example", "/"),
    # Brackets that hold no IPv6 address, on which urlsplit raises (was a 500).
    ("//[evil", "/"),
    ("/[x]", "/[x]"),
]


@pytest.mark.parametrize(("target", "expected"), NEXTS)
def test_next_only_leads_to_a_local_path(target, expected):
    assert safe_next(target) == expected


def test_next_refused_falls_back_to_the_given_default():
    assert safe_next("https://evil.example/", "/account") == "/account"
    assert safe_next(None, "") == ""


def test_a_need_is_addressed_by_its_id_and_slug():
    assert need_url(SimpleNamespace(id=12, slug="une-navette")) == "/needs/12-une-navette"


IDS = [
    ("1", 1),
    (" 42 ", 42),
    (str(MAX_ID), MAX_ID),
    (str(MAX_ID + 1), None),
    ("0", None),
    ("-3", None),
    ("²", None),
    ("12a", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), IDS)
def test_ids_read_from_text(raw, expected):
    assert parse_id(raw) == expected


PAGES = [
    # (raw, unbounded, page, refused)
    (None, False, 1, False),
    ("", False, 1, False),
    ("3", False, 3, False),
    ("0", False, 1, True),
    ("²", False, 1, True),
    (str(MAX_ID + 1), False, 1, True),
    (str(MAX_ID + 1), True, MAX_ID + 1, False),
    ("0007", True, 7, False),
    ("9" * 40, True, 10**18, False),
    ("0", True, 1, True),
    ("-1", True, 1, True),
    (" 2", True, 1, True),  # the board takes digits only, as typed
]


@pytest.mark.parametrize(("raw", "unbounded", "page", "refused"), PAGES)
def test_page_numbers_read_from_the_url(raw, unbounded, page, refused):
    errors: dict[str, str] = {}

    assert parse_page(raw, errors, unbounded=unbounded) == page
    assert ("page" in errors) is refused
