"""The application factory: settings → engine → middleware → routers → error handlers."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from starlette.requests import HTTPConnection

from app import RESOURCES
from app.accounts.deps import load_user_for_request, raw_session_token
from app.board.support_form_path import SupportFormPathMiddleware
from app.core import ratelimit
from app.core.db import engine_for, quick_writes_engine_for
from app.core.settings import Env, Settings
from app.ops.wiring import subscribe_handlers
from app.syndication.arrivals import PartnerArrivalMiddleware
from app.syndication.attribution import REF_COOKIE
from app.syndication.support_path import SupportPathMiddleware
from app.web.access_log import AccessLogMiddleware
from app.web.admission import AdmissionMiddleware
from app.web.bodylimit import BodyLimitMiddleware
from app.web.bodyread import BodyReadMiddleware
from app.web.cache import AnonymousCacheMiddleware, cache_of
from app.web.errors import install_error_handlers, too_many_writes
from app.web.middleware import RequestContextMiddleware
from app.web.personal_path import Person, Reads, SignedInPathMiddleware
from app.web.security import SecurityHeadersMiddleware, verify_csrf
from app.web.templating import environment

log = logging.getLogger(__name__)


def unread_notifications(request: Request, user: object) -> int:
    """The header's unread count, for signed-in pages (one indexed COUNT)."""
    from app.board.notifications import unread_count
    from app.web.deps import request_session

    # The id from the identity map: reading user.id could reload an instance that a failed
    # route expired, and the header must never turn a clean error page into a crash.
    identity = inspect(user).identity
    if not identity:
        return 0
    with request_session(request) as session:
        return unread_count(session, identity[0])


def team_waiting(request: Request) -> int:
    """For team members' headers: needs and comments waiting for moderation, reported items
    (three indexed COUNTs). An error page must render even when the database cannot answer."""
    from app.moderation.queue import waiting_total
    from app.web.deps import request_session

    try:
        with request_session(request) as session:
            return waiting_total(session)
    except Exception:
        log.debug("team count unreadable", exc_info=True)
        return 0


def read_site_identity(request: Request) -> Any:
    """The site's identity for the page being rendered (one read of `site_settings`). An error
    page must render even when the database cannot answer: then the defaults."""
    from app.web.deps import request_session
    from app.web.site_identity import Identity, read_identity

    try:
        with request_session(request) as session:
            return read_identity(session)
    except Exception:
        log.debug("site identity unreadable, defaults used", exc_info=True)
        return Identity()


def read_signed_in(request: Request, session: Any, raw: str) -> Any:
    """The account of a browser session, read with the header's unread count and the content
    version in the same statement; both are kept for a page rendered once per shape
    (app/web/personal.py), tied to this session. Other pages count unread notifications when
    they render the header (a page that marks them read must show 0)."""
    from app.board.notifications import signed_in_with_header

    found = signed_in_with_header(session, raw)
    if found is None:
        return None
    user, unread, version = found
    request.state.signed_in_reads = (session, version, unread)
    return user


def read_person(
    connection: HTTPConnection, db: Connection, reads: Reads | None = None
) -> tuple[Person, tuple[Any, ...]] | None:
    """The signed-in person as the way in before routing needs them (app/web/personal_path.py):
    their shape, unread count and the content version, with the page's `reads`, in one
    statement on `db`."""
    from app.board.notifications import signed_in_shape

    raw = raw_session_token(connection)  # type: ignore[arg-type]
    found = signed_in_shape(db, raw, reads) if raw else None
    if found is None:
        return None
    person, values = found
    return Person(*person), values


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.signing_key  # noqa: B018  (fail fast in production without a secret)
    subscribe_handlers()
    ratelimit.configure(settings.signing_key, refusal=too_many_writes)
    engine = engine_for(settings)
    quick_engine = quick_writes_engine_for(settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        worker = None
        if settings.env == Env.development:
            # In development the server delivers its own e-mails (to data/outbox/), so signing
            # up works with `make run` alone; production runs `bourse worker` beside it.
            from app.ops.jobs import run_forever

            worker = threading.Thread(
                target=run_forever, args=(engine, settings, stop), name="outbox", daemon=True
            )
            worker.start()
        # Admitted requests use one thread at a time each; the spare tokens serve static
        # files and the threads of requests that admission lets pass (see admission.py).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.concurrency + 4
        # What exists once the app is built (modules, models, routes, catalogues) lives as
        # long as the process: moved out of the collector's sight, so that its full
        # collections, which stop the event loop, do not walk it each time (they took 50 to
        # 110 ms per pass under load, the p99 of cached pages on PostgreSQL).
        # (Not for the test suite: a full collection per app would cost it minutes.)
        frozen = settings.env != Env.test
        if frozen:
            gc.collect()
            gc.freeze()
        if settings.rate_limits == "off":
            log.warning("BOURSE_RATE_LIMITS=off: write rate limits and form timing checks are off")
        yield
        stop.set()
        cache = cache_of(app)
        if cache is not None:
            await cache.close()
        if worker:
            worker.join(timeout=5)
        engine.dispose()
        quick_engine.dispose()
        if frozen:
            gc.unfreeze()  # a process that builds apps again (tests) can collect this one

    app = FastAPI(
        title="Bourse à initiatives",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    # Templates are read and compiled once; only development looks for edited files again
    # (Jinja otherwise checks each template's modification time on every page).
    environment.auto_reload = settings.env == Env.development
    app.state.engine = engine
    app.state.quick_engine = quick_engine
    app.state.user_loader = load_user_for_request
    app.state.unread_counter = unread_notifications
    app.state.team_counter = team_waiting
    app.state.identity_reader = read_site_identity
    app.state.signed_in_reader = read_signed_in
    app.state.person_reader = read_person

    # Middleware run outermost last-added: headers wrap everything, including errors.
    # The body limit is innermost, so its 413 page has the locale and the headers.
    app.add_middleware(BodyLimitMiddleware)
    # Signed-in pages already rendered for the person's shape, answered before routing.
    app.add_middleware(SignedInPathMiddleware)
    # « Moi aussi » through the API with a personal token, and through the form, answered
    # before routing.
    app.add_middleware(SupportPathMiddleware, sqlite=engine.dialect.name == "sqlite")
    app.add_middleware(
        SupportFormPathMiddleware,
        sqlite=engine.dialect.name == "sqlite",
        route_cookies=(REF_COOKIE,),
    )
    app.add_middleware(RequestContextMiddleware)
    # Just outside the request context, as its cookie is set after the CSRF one.
    app.add_middleware(PartnerArrivalMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, production=settings.is_production)
    # Inside the cache: a hit takes no slot.
    app.add_middleware(AdmissionMiddleware, limit=settings.concurrency)
    # Outside the slots: a body is received whole before its request takes one, and a client
    # too slow to send it is cut off (app/web/bodyread.py).
    app.add_middleware(BodyReadMiddleware, body_timeout=settings.body_timeout)
    # Outermost: a stored answer (security headers included) is replayed before anything else
    # runs. Anonymous, public GETs only; see app/web/cache.py.
    app.add_middleware(AnonymousCacheMiddleware, max_mb=settings.cache_mb)
    if settings.access_log == "on":
        # Around everything, cache hits included: what the server answered and how fast.
        app.add_middleware(AccessLogMiddleware)

    from app.accounts.routes import router as accounts_router
    from app.board.comment_routes import router as comment_router
    from app.board.notification_routes import router as notification_router
    from app.board.report_routes import router as report_router
    from app.board.routes import router as board_router
    from app.board.support_routes import router as support_router
    from app.board.topic_routes import router as topic_router
    from app.moderation.account_routes import router as moderation_accounts_router
    from app.moderation.admin_routes import router as moderation_admin_router
    from app.moderation.need_routes import router as moderation_needs_router
    from app.moderation.qualify_routes import router as moderation_qualify_router
    from app.moderation.routes import router as moderation_router
    from app.pipeline.api import router as pipeline_api_router
    from app.pipeline.application_routes import router as pipeline_applications_router
    from app.pipeline.carrier_routes import router as pipeline_carriers_router
    from app.pipeline.contribution_routes import router as pipeline_contributions_router
    from app.pipeline.document_routes import router as pipeline_documents_router
    from app.pipeline.dossier_routes import router as pipeline_dossier_router
    from app.pipeline.partner_routes import router as pipeline_partners_router
    from app.pipeline.public_routes import router as pipeline_public_router
    from app.pipeline.staff_routes import router as pipeline_staff_router
    from app.site import router as site_router
    from app.syndication.api_routes import router as api_router
    from app.syndication.embed_routes import router as embed_router
    from app.syndication.feeds_routes import router as feeds_router
    from app.syndication.sitemap import router as sitemap_router
    from app.syndication.webhook_routes import router as webhook_router

    html = [Depends(verify_csrf)]
    for router in (
        site_router,
        board_router,
        topic_router,
        support_router,
        comment_router,
        report_router,
        accounts_router,
        notification_router,
        moderation_router,
        # Before the need file: its fixed paths (/moderation/needs/new…) must win over
        # /moderation/needs/{need_id}.
        moderation_qualify_router,
        moderation_needs_router,
        moderation_accounts_router,
        moderation_admin_router,
        pipeline_staff_router,
        pipeline_dossier_router,
        pipeline_documents_router,
        pipeline_partners_router,
        pipeline_applications_router,
        pipeline_carriers_router,
        pipeline_contributions_router,
        pipeline_public_router,
        pipeline_api_router,
        feeds_router,
        sitemap_router,
        embed_router,
        webhook_router,
    ):
        app.include_router(router, dependencies=html)
    # The JSON API authenticates writes with Bearer tokens, which a forging site cannot send:
    # no CSRF check there (and no cookies are honoured for its writes).
    app.include_router(api_router)
    app.mount("/static", StaticFiles(directory=RESOURCES / "static"), name="static")
    install_error_handlers(app)
    return app
