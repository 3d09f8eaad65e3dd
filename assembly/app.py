"""create_app(): the ASGI application — routers, error handlers, templates, static files."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import Engine
from starlette.middleware.gzip import GZipMiddleware

from assembly import __version__, wiring
from assembly.audit.keys import platform_seed
from assembly.audit.observer_routes import router as audit_observer_router
from assembly.audit.routes import router as audit_router
from assembly.auth import web as auth_web
from assembly.auth.card_routes import router as card_router
from assembly.auth.print_routes import router as print_router
from assembly.auth.routes import router as auth_router
from assembly.auth.screen_routes import router as screen_router
from assembly.auth.totp_routes import router as totp_router
from assembly.auth.web import authenticate
from assembly.config import Settings, get_settings
from assembly.db import database_version
from assembly.jobs import JobRunner
from assembly.models import utcnow
from assembly.notify.routes import router as notify_router
from assembly.proxies import api as proxy_api
from assembly.proxies import pages as proxy_pages
from assembly.proxies import routes as proxy_routes
from assembly.register.routes import router as register_router
from assembly.register.voter_routes import router as voter_router
from assembly.resources import web_dir
from assembly.runtime import get_engine
from assembly.voting import (
    attachment_routes,
    document_routes,
    legal_hold_routes,
    paper_pages,
    participation_routes,
    posting_routes,
    roll_routes,
)
from assembly.voting.api import router as voting_api_router
from assembly.voting.pages import documented as documented_vote
from assembly.voting.pages import router as voting_pages_router
from assembly.web import access_log, errors
from assembly.web.i18n import RequestLocale
from assembly.web.language import router as language_router
from assembly.web.openapi import ERRORS, describe
from assembly.web.pages import router as pages_router
from assembly.web.security import SecurityHeaders
from assembly.web.static import CachedStaticFiles

log = logging.getLogger("assembly")


def create_app(*, settings: Settings | None = None, engine: Engine | None = None, ticker: bool = False) -> FastAPI:
    """The application. `ticker`: run the job runner (assembly.jobs; the server does, tests call
    `run_due` with the clock they moved)."""
    settings = settings or get_settings()
    wiring.install()
    if engine is None:
        engine = get_engine()
    if settings.is_production:
        platform_seed(settings)  # refuse to start without the log signing key

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        def clock():  # the one clock: the application's (tests move app.state.clock)
            moved = getattr(app.state, "clock", None)
            return moved() if moved else utcnow()

        duties = JobRunner(engine, settings, clock, interval=settings.jobs_interval_seconds) if ticker else None
        if duties:
            await duties.start()
        yield
        if duties:
            await duties.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Assembly 业主共同决策平台",
        version=__version__,
        docs_url=None,  # Swagger UI loads from a CDN; we serve nothing from outside
        redoc_url=None,
        openapi_url="/api/openapi.json",
        responses=ERRORS,  # every operation's error answers, described once (web/openapi.py)
        # Every route: who is asking, and the CSRF check on every state-changing request.
        dependencies=[Depends(authenticate)],
    )
    describe(app)
    app.state.settings = settings
    app.state.engine = engine
    log.info("Assembly %s, %s", __version__, database_version(engine))

    errors.install(app)
    access_log.install()  # card and screen-login tokens never reach the access log
    auth_web.install(app)  # session/CSRF cookies, 401 → login page for people
    app.mount("/static", CachedStaticFiles(directory=str(web_dir() / "static")), name="static")

    # Routers in match order (the first route that matches answers).
    app.include_router(pages_router)
    app.include_router(language_router)
    app.include_router(register_router)
    app.include_router(audit_router)
    app.include_router(audit_observer_router)
    app.include_router(auth_router)
    app.include_router(totp_router)
    app.include_router(card_router)
    app.include_router(voting_api_router)
    app.include_router(voting_pages_router)
    app.include_router(documented_vote)  # the page vote, described for programs
    for module in (attachment_routes, participation_routes, posting_routes, legal_hold_routes):
        app.include_router(module.router)
        app.include_router(module.api_router)
    app.include_router(document_routes.router)
    app.include_router(roll_routes.router)  # the frozen roll and the tally files (JSON API)
    app.include_router(paper_pages.router)  # paper ballots: entry, check, finish (pages and API)
    app.include_router(paper_pages.api_router)
    app.include_router(notify_router)
    app.include_router(print_router)
    app.include_router(screen_router)
    app.include_router(voter_router)
    app.include_router(proxy_routes.router)  # proxies: the code login, the API, the pages
    app.include_router(proxy_api.router)
    app.include_router(proxy_api.proxy_router)
    app.include_router(proxy_pages.router)
    app.include_router(proxy_pages.documented)
    app.add_middleware(RequestLocale)  # routes run in the visitor's language too (error messages)
    app.add_middleware(GZipMiddleware, minimum_size=500)  # weak mobile data: pages and htmx shrink 4–6×
    app.add_middleware(SecurityHeaders, hsts=settings.site_url.startswith("https://"))
    return app


def create_server_app() -> FastAPI:
    """The application as `assembly serve` runs it in each server process (with its job runner)."""
    return create_app(ticker=True)
