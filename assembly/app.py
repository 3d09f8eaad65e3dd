"""create_app(): the ASGI application — routers, error handlers, templates, static files."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from assembly import __version__
from assembly.config import Settings, get_settings
from assembly.db import database_version
from assembly.resources import web_dir
from assembly.web import errors
from assembly.web.security import SecurityHeaders

log = logging.getLogger("assembly")


def create_app(*, settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    if engine is None:
        from assembly.runtime import get_engine

        engine = get_engine()
    app = FastAPI(
        title="Assembly 业主共同决策平台",
        version=__version__,
        docs_url=None,  # Swagger UI loads from a CDN; we serve nothing from outside
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    log.info("Assembly %s, %s", __version__, database_version(engine))

    errors.install(app)
    app.mount("/static", StaticFiles(directory=str(web_dir() / "static")), name="static")

    from assembly.register.routes import router as register_router
    from assembly.web.pages import router as pages_router

    app.include_router(pages_router)
    app.include_router(register_router)
    app.add_middleware(SecurityHeaders, hsts=settings.site_url.startswith("https://"))
    return app
