"""The anonymous response cache (app/web/cache.py): what it stores, what it never stores, and
that no write is ever missed.

A hit runs no route at all: the tests count the SQL statements the app's engine sends (the
cache's own version read goes through a connection of its own, outside the engine).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

from app.accounts import service as accounts
from app.board.models import Need
from app.web.cache import (
    CACHE_CONTROL,
    AnonymousCacheMiddleware,
    Entry,
    ResponseStore,
    cache_of,
)
from app.web.content_version import PRIVATE_TABLES, PUBLIC_TABLES
from app.web.freshness import relative_text_lasts
from app.web.security import CSRF_COOKIE
from app.web.urls import need_url
from tests.factories import fresh, login_as, make_need, make_theme, make_user, page_text


@contextmanager
def statements(app) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def cache(app) -> AnonymousCacheMiddleware:  # type: ignore[no-untyped-def]
    found = cache_of(app)
    assert found is not None
    return found


@pytest.fixture
def need(session):  # type: ignore[no-untyped-def]
    # Posted three days ago: its « il y a 3 jours » holds for hours.
    from datetime import timedelta

    from app.core.db import utcnow

    item = make_need(session, title="Une navette vers le marché le samedi")
    item.created_at = utcnow() - timedelta(days=3)
    session.add(item)
    session.commit()
    return item


# --- hits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/?sort=top",
        "/?q=navette",
        "/ideas",
        "/impact",
        "/partners",
        "/embed/needs",
        "/embed/ideas",
        "/embed.js",
        "/feeds/needs.atom",
        "/api/v1/needs",
        "/api/v1/stats",
        "/about",
    ],
)
def test_the_second_anonymous_request_runs_no_route(client, app, need, path):
    first = client.get(path)
    assert first.status_code == 200

    with statements(app) as seen:
        second = client.get(path)

    assert seen == []
    assert second.status_code == 200
    assert second.content == first.content


def test_the_need_page_and_the_oembed_are_cached_too(client, app, need):
    for path in (need_url(need), f"/oembed?url=http://testserver{need_url(need)}"):
        client.get(path)
        with statements(app) as seen:
            assert client.get(path).status_code == 200
        assert seen == [], path


@pytest.mark.parametrize(
    "path",
    ["/?ref=mairie", "/?utm_source=journal", "/needs/new", "/account/login", "/moderation/"],
)
def test_unknown_queries_and_private_pages_go_to_the_app(client, app, need, path):
    client.get(path, follow_redirects=False)
    client.get(path, follow_redirects=False)
    assert cache(app).hits == 0, f"{path} was served from the cache"


# --- never stale --------------------------------------------------------------------------------


def test_a_support_given_through_the_api_shows_on_the_next_anonymous_page(
    client, app, session, need
):
    before = client.get(need_url(need))
    assert "Aucun soutien" in page_text(before.text)
    resident = make_user(session)
    token = accounts.create_api_token(session, resident, "Script")

    given = client.put(
        f"/api/v1/needs/{need.id}/support", headers={"Authorization": f"Bearer {token}"}
    )
    assert given.status_code in (200, 201)

    after = client.get(need_url(need))
    assert "1 soutien" in page_text(after.text)
    assert after.headers["etag"] != before.headers["etag"]
    assert "1 soutien" in page_text(client.get("/embed/needs").text)


def test_a_write_from_any_connection_invalidates(client, app, session, need):
    # Raw SQL on another connection, as another worker or another instance would write.
    client.get("/")
    with app.state.engine.begin() as conn:
        conn.execute(
            text("UPDATE needs SET title = 'Un titre changé ailleurs' WHERE id = :id"),
            {"id": need.id},
        )
    assert "Un titre changé ailleurs" in client.get("/").text


@pytest.mark.parametrize("status", ["hidden", "pending", "rejected"])
def test_a_need_that_leaves_the_public_never_comes_back_from_the_cache(
    client, app, session, need, status
):
    assert need.title in client.get("/").text
    assert client.get(need_url(need)).status_code == 200
    assert need.title in client.get("/feeds/needs.atom").text

    row = fresh(session).get(Need, need.id)
    row.status = status
    session.add(row)
    session.commit()

    assert need.title not in client.get("/").text
    assert client.get(need_url(need)).status_code == 404
    assert need.title not in client.get("/feeds/needs.atom").text
    assert need.title not in client.get("/embed/needs").text


def test_a_renamed_theme_shows_everywhere(client, session):
    theme = make_theme(session)
    make_need(session, title="Un besoin classé", theme_id=theme.id)
    assert "Mobilité" in client.get("/").text
    theme.name = "Transports"
    session.add(theme)
    session.commit()
    assert "Transports" in client.get("/").text


def test_relative_dates_end_the_entry_when_their_words_change(client, app, session, need):
    client.get("/")
    [entry] = [e for k, e in cache(app).store._entries.items() if k[0] == "/"]
    # « il y a 3 jours », posted 72 hours ago: the words hold until 3.5 days.
    assert 11 * 3600 < entry.expires - time.time() <= 12 * 3600
    make_need(session, title="Un besoin posté à l'instant")
    client.get("/")
    # « il y a 2 secondes » changes every second: not kept at all.
    assert not [
        e for k, e in cache(app).store._entries.items() if k[0] == "/" and e.version > entry.version
    ]


def test_the_relative_text_lasts_exactly_until_it_changes():
    from datetime import timedelta

    from babel.dates import format_timedelta

    def words(age: float) -> str:
        return format_timedelta(
            timedelta(seconds=-age), add_direction=True, threshold=1.1, locale="fr"
        )

    for age in (0.5, 42, 125.7, 3599, 5000, 80_000, 90_000, 8 * 86400, 40 * 86400, 400 * 86400):
        lasts = relative_text_lasts(age)
        assert lasts >= 1
        for fraction in (0.5, 0.99, 1.0):
            assert words(age + lasts * fraction) == words(age) or lasts == 1, age


# --- nothing personal ---------------------------------------------------------------------------


def test_a_signed_in_visitor_never_gets_the_cached_page(client, app, session, need):
    client.get("/")
    client.get("/")
    assert cache(app).hits >= 1
    person = make_user(session, display_name="Camille Connectée")
    login_as(client, person, session)

    page = client.get("/")

    assert 'action="/account/logout"' in page.text
    assert 'name="csrf-token"' in page.text
    client.cookies.clear()
    assert 'action="/account/logout"' not in client.get("/").text


def test_anonymous_pages_set_no_cookie_and_carry_no_form_token(client, app, need, client_at):
    for visitor in (client_at("198.51.100.1"), client_at("198.51.100.2")):
        for path in ("/", need_url(need), "/ideas", "/embed/needs"):
            response = visitor.get(path)
            assert "set-cookie" not in response.headers, path
            assert 'name="csrf-token"' not in response.text
        assert CSRF_COOKIE not in visitor.cookies


def test_the_forms_that_need_a_token_still_get_one(client):
    page = client.get("/account/login")
    assert CSRF_COOKIE in page.headers.get("set-cookie", "")
    assert 'name="csrf_token"' in page.text


def test_languages_and_htmx_fragments_are_kept_apart(client, need):
    english = client.get("/", headers={"Accept-Language": "en"})
    french = client.get("/", headers={"Accept-Language": "fr"})
    assert english.text != french.text
    assert 'lang="en"' in english.text and 'lang="fr"' in french.text

    fragment = client.get("/?sort=top", headers={"HX-Request": "true"})
    page = client.get("/?sort=top")
    assert "<html" not in fragment.text
    assert "<html" in page.text


# --- HTTP caching -------------------------------------------------------------------------------


def test_etag_last_modified_and_304(client, session, need):
    first = client.get("/")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == CACHE_CONTROL.decode()
    assert "Accept-Language" in first.headers["vary"]
    assert first.headers["last-modified"]

    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    since = client.get("/", headers={"If-Modified-Since": first.headers["last-modified"]})
    assert since.status_code == 304

    newer = make_need(session, title="Un besoin tout neuf")
    newer.created_at = need.created_at
    session.add(newer)
    session.commit()
    changed = client.get("/", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


def test_a_feed_reader_revalidating_gets_304_and_then_the_new_entry(client, session, need):
    first = client.get("/feeds/needs.atom")
    etag = first.headers["etag"]
    assert client.get("/feeds/needs.atom", headers={"If-None-Match": etag}).status_code == 304
    make_need(session, title="Une entrée de plus dans le flux")
    after = client.get("/feeds/needs.atom", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert "Une entrée de plus dans le flux" in after.text


def test_head_is_answered_from_the_cache_without_a_body(client, app, need):
    client.get("/")
    with statements(app) as seen:
        head = client.head("/")
    assert seen == []
    assert head.status_code == 200
    assert head.content == b""


# --- the store ----------------------------------------------------------------------------------


def test_the_store_is_bounded_by_size_and_drops_the_least_recently_used():
    store = ResponseStore(max_bytes=3500)

    def entry(n: int) -> Entry:
        return Entry(1, 200, [], b"x" * 900, b'"e"', 0.0, float("inf"))

    for n in range(3):
        store.put(("k", n), entry(n))
    store.get(("k", 0))
    store.put(("k", 3), entry(3))

    assert store.size <= 3500
    assert store.get(("k", 0)) is not None
    assert store.get(("k", 1)) is None
    assert len(store) == 3


def test_zero_megabytes_turns_the_cache_off(settings, need):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.main import create_app

    settings.cache_mb = 0
    application = create_app(settings)
    with TestClient(application) as browser:
        browser.get("/")
        with statements(application) as seen:
            browser.get("/")
    application.state.engine.dispose()
    assert seen


# --- the content version ------------------------------------------------------------------------


def test_every_table_is_public_or_private_and_the_migration_agrees():
    import importlib.util
    from pathlib import Path

    from sqlmodel import SQLModel

    import app.models  # noqa: F401

    tables = {t.name for t in SQLModel.metadata.sorted_tables}
    assert set(PUBLIC_TABLES) | set(PRIVATE_TABLES) == tables
    assert not set(PUBLIC_TABLES) & set(PRIVATE_TABLES)
    # Migration 0007 wrote the list, later ones what they added to it.
    migrated: dict[str, tuple[str, ...] | None] = {}
    for path in sorted(Path("migrations/versions").glob("*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        migrated.update(getattr(module, "PUBLIC_TABLES", {}))
        migrated.update(getattr(module, "PUBLIC_TABLES_ADDED", {}))
    assert migrated == PUBLIC_TABLES, "a change of PUBLIC_TABLES needs a migration"


def _version(app) -> int:  # type: ignore[no-untyped-def]
    with app.state.engine.connect() as conn:
        return conn.execute(text("SELECT version FROM content_version WHERE id = 1")).scalar_one()


def test_public_writes_bump_the_version_and_private_ones_do_not(app, session, need):
    start = _version(app)
    user = make_user(session)
    after_signup = _version(app)
    accounts.start_session(session, user)  # a login: last_login_at and a session row
    assert _version(app) == after_signup
    accounts.create_api_token(session, user, "Script")
    assert _version(app) == after_signup
    assert after_signup > start

    user.display_name = "Un autre nom"
    session.add(user)
    session.commit()
    assert _version(app) > after_signup


def test_every_public_table_has_its_three_triggers(app):
    engine = app.state.engine
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            names = set(conn.execute(text("SELECT tgname FROM pg_trigger")).scalars())
        else:
            names = set(
                conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).scalars()
            )
    for table in PUBLIC_TABLES:
        for kind in ("ins", "upd", "del"):
            assert f"cv_{table}_{kind}" in names


def test_a_merged_need_sends_to_the_one_that_stays_even_when_cached(client, session, need):
    from app.moderation.merge import merge_needs

    target = make_need(session, title="Le besoin qui reste, plus ancien")
    assert client.get(need_url(need)).status_code == 200
    assert need.title in client.get("/").text
    moderator = make_user(session, role="moderator")

    merge_needs(session, moderator, need.id, str(target.id), seen_status="published")

    moved = client.get(need_url(need), follow_redirects=False)
    assert moved.status_code in (301, 308)
    assert moved.headers["location"].startswith(f"/needs/{target.id}-")
    assert need.title not in client.get("/").text
