"""At most `BOURSE_CONCURRENCY` requests inside a worker at once (app.web.admission): the
others wait in order, static files pass by, and the database pool can never run dry."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio.to_thread
import httpx
from sqlalchemy import event

from app.core.settings import Settings
from app.main import create_app
from app.web.admission import AdmissionMiddleware


class GatedApp:
    """An ASGI app whose requests wait for the test to open the gate, recording who is inside."""

    def __init__(self) -> None:
        self.inside: list[str] = []
        self.entered: list[str] = []
        self.most_inside = 0
        self.gate = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        name = scope["path"]
        self.inside.append(name)
        self.entered.append(name)
        self.most_inside = max(self.most_inside, len(self.inside))
        if not name.startswith("/static/"):
            await self.gate.wait()
        self.inside.remove(name)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": name.encode()})


async def until(condition: Any) -> None:
    """Lets the other tasks run until `condition()` holds (no clock involved)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


def test_at_most_the_limit_inside_the_others_in_order() -> None:
    inner = GatedApp()
    admission = AdmissionMiddleware(inner, limit=3)  # type: ignore[arg-type]

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=admission)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            tasks = []
            for i in range(10):
                tasks.append(asyncio.create_task(client.get(f"/page/{i}")))
                await asyncio.sleep(0)  # each request reaches the middleware in this order
            await until(lambda: len(inner.inside) == 3)
            # Everyone else has arrived and waits: nobody more gets in while the gate is shut.
            for _ in range(200):
                await asyncio.sleep(0)
            assert inner.inside == ["/page/0", "/page/1", "/page/2"]
            # A static file passes by while the slots are all taken.
            static = await client.get("/static/app.css")
            assert static.status_code == 200
            inner.gate.set()
            return await asyncio.gather(*tasks)

    responses = asyncio.run(go())
    assert [r.text for r in responses] == [f"/page/{i}" for i in range(10)]
    pages = [name for name in inner.entered if name.startswith("/page/")]
    assert pages == [f"/page/{i}" for i in range(10)]  # first come, first served
    assert inner.most_inside == 4  # three pages and the static file, never a fourth page


def test_a_crowd_of_signed_in_pages_never_takes_more_connections_than_admitted(
    settings: Settings,
) -> None:
    """64 requests at once that the cache cannot answer (an unknown query goes to the app):
    every one answered, and never more pooled connections out at once than requests admitted.
    Without admission, requests that had a connection waited for a thread while the threads
    waited for connections (the pool's 30-s timeout, then 500)."""
    app = create_app(settings.model_copy(update={"concurrency": 2}))
    engine = app.state.engine
    out = {"now": 0, "most": 0}

    def checkout(*_: Any) -> None:
        out["now"] += 1
        out["most"] = max(out["most"], out["now"])

    def checkin(*_: Any) -> None:
        out["now"] -= 1

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    event.listen(engine, "detach", checkin)  # the cache's version reader keeps its own

    async def go() -> tuple[list[httpx.Response], int]:
        async with app.router.lifespan_context(app):
            tokens = anyio.to_thread.current_default_thread_limiter().total_tokens
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                answers = await asyncio.gather(*(c.get(f"/?nocache={i}") for i in range(64)))
        return answers, tokens

    try:
        responses, tokens = asyncio.run(go())
    finally:
        engine.dispose()
    assert [r.status_code for r in responses] == [200] * 64
    assert tokens == 2 + 4
    # One session per admitted request; the pool holds twice as many plus spares.
    assert out["most"] <= 2
    assert engine.pool.size() == 4


def test_outside_tests_the_built_app_is_frozen_out_of_the_collectors_sight(
    settings: Settings,
) -> None:
    """Full garbage collections stop the event loop: they must not walk the modules, models
    and routes on every pass (70 ms p99 on cached pages on PostgreSQL without this)."""
    import gc

    app = create_app(settings.model_copy(update={"env": "production"}))

    async def go() -> tuple[int, int]:
        before = gc.get_freeze_count()
        async with app.router.lifespan_context(app):
            during = gc.get_freeze_count()
        return before, during

    try:
        before, during = asyncio.run(go())
    finally:
        app.state.engine.dispose()
    assert during > before + 10_000
    assert gc.get_freeze_count() == 0  # given back at shutdown
