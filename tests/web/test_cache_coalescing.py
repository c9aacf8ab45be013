"""Concurrency of the anonymous response cache: one render per page and version when a crowd
asks at once, and version reads shared between requests without ever being older than the
request (app.web.cache, app.web.content_version.SharedRead)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import event

from app.web.cache import AnonymousCacheMiddleware
from app.web.content_version import SharedRead
from tests.factories import make_need


class SlowPage:
    """An ASGI app that answers once the test opens its gate, counting its calls."""

    def __init__(self, *, set_cookie: bool = False) -> None:
        self.calls = 0
        self.gate = asyncio.Event()
        self.set_cookie = set_cookie

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls += 1
        call = self.calls
        await self.gate.wait()
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        if self.set_cookie:
            headers.append((b"set-cookie", f"visitor={call}".encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": f"page {call}".encode()})


def middleware_around(inner: SlowPage, version: list[int]) -> AnonymousCacheMiddleware:
    cache = AnonymousCacheMiddleware(inner, max_mb=1)  # type: ignore[arg-type]

    async def current_version(scope: Any) -> tuple[int, int]:
        return version[0], 1_700_000_000

    cache.current_version = current_version  # type: ignore[method-assign]
    return cache


def crowd(cache: AnonymousCacheMiddleware, inner: SlowPage, size: int) -> list[httpx.Response]:
    """`size` anonymous visitors ask for `/` at once; the page answers after they all wait."""
    fake_app = SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(default_locale="fr")))

    async def with_app(scope: Any, receive: Any, send: Any) -> None:
        await cache({**scope, "app": fake_app}, receive, send)

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=with_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            tasks = [asyncio.create_task(client.get("/")) for _ in range(size)]
            while inner.calls == 0 or any(not t.done() for t in tasks):
                # Open the gate once every visitor has reached the cache and waits.
                await asyncio.sleep(0)
                if inner.calls and not inner.gate.is_set():
                    for _ in range(50):
                        await asyncio.sleep(0)
                    inner.gate.set()
            return [t.result() for t in tasks]

    return asyncio.run(go())


def test_a_crowd_asking_for_a_changed_page_gets_one_render():
    inner = SlowPage()
    cache = middleware_around(inner, [1])

    answers = crowd(cache, inner, 20)

    assert inner.calls == 1
    assert {a.status_code for a in answers} == {200}
    assert {a.text for a in answers} == {"page 1"}
    assert cache.misses == 20 and cache.hits == 19


def test_when_the_render_cannot_be_shared_each_visitor_gets_their_own():
    inner = SlowPage(set_cookie=True)
    cache = middleware_around(inner, [1])

    answers = crowd(cache, inner, 5)

    # The first answer set a cookie: not stored, so the others ran the page themselves and no
    # visitor got another's cookie.
    assert inner.calls == 5
    cookies = [a.headers["set-cookie"] for a in answers]
    assert sorted(cookies) == [f"visitor={n}" for n in range(1, 6)]
    assert [a.text.removeprefix("page ") for a in answers] == [
        c.removeprefix("visitor=") for c in cookies
    ]
    assert len(cache.store) == 0


def test_a_crowd_on_a_new_version_does_not_share_the_old_render():
    inner = SlowPage()
    version = [1]
    cache = middleware_around(inner, version)
    inner.gate.set()
    first = crowd(cache, inner, 1)
    version[0] = 2

    inner.gate = asyncio.Event()
    second = crowd(cache, inner, 3)

    assert first[0].text == "page 1"
    assert inner.calls == 2
    assert {a.text for a in second} == {"page 2"}


async def settle() -> None:
    """Lets every task that can run, run (a few turns of the event loop)."""
    for _ in range(10):
        await asyncio.sleep(0)


def test_shared_reads_never_answer_a_caller_with_a_read_started_before_it_asked():
    started: list[int] = []
    release: list[asyncio.Event] = []

    async def read() -> tuple[int, int]:
        number = len(started) + 1
        started.append(number)
        gate = asyncio.Event()
        release.append(gate)
        await gate.wait()
        return number, 0

    async def go() -> dict[str, Any]:
        shared = SharedRead(read)
        first = asyncio.create_task(shared())
        await settle()
        assert started == [1]
        # Two callers arrive while read 1 runs: they must wait for a read that starts later.
        second = asyncio.create_task(shared())
        third = asyncio.create_task(shared())
        await settle()
        assert started == [1]  # no second read while the first runs
        release[0].set()
        await settle()
        assert first.done() and not second.done()
        assert started == [1, 2]  # read 2 started at once for the callers who waited
        release[1].set()
        results = {"first": await first, "second": await second, "third": await third}
        # A caller arriving when nothing runs starts its own read.
        fourth = asyncio.create_task(shared())
        await settle()
        release[2].set()
        results["fourth"] = await fourth
        return results

    results = asyncio.run(go())

    assert results == {"first": (1, 0), "second": (2, 0), "third": (2, 0), "fourth": (3, 0)}
    assert started == [1, 2, 3]


def test_a_failed_read_answers_none_and_the_next_caller_reads_again():
    calls = 0

    async def read() -> tuple[int, int] | None:
        nonlocal calls
        calls += 1
        return None if calls == 1 else (7, 0)

    async def go() -> list[tuple[int, int] | None]:
        shared = SharedRead(read)
        return [await shared(), await shared()]

    assert asyncio.run(go()) == [None, (7, 0)]


def test_concurrent_anonymous_visitors_of_the_real_app_cost_one_render(app, session):
    need = make_need(session)
    path = f"/needs/{need.id}-{need.slug}"
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    async def visitors(size: int) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await asyncio.gather(*(client.get(path) for _ in range(size)))

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        alone = asyncio.run(visitors(1))
        one_render = len(seen)
        session.get(type(need), need.id).title = "Un autre titre pour la page"  # a public write
        session.commit()
        seen.clear()
        together = asyncio.run(visitors(12))
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert alone[0].status_code == 200 and one_render > 0
    assert {r.status_code for r in together} == {200}
    assert len({r.content for r in together}) == 1
    assert "Un autre titre pour la page" in together[0].text
    assert len(seen) == one_render
