"""The process-wide engine, built once from the settings (server and CLI share this)."""

from __future__ import annotations

import logging
from functools import lru_cache

from sqlalchemy import Engine

from assembly.config import get_settings
from assembly.db import database_version, make_engine

log = logging.getLogger("assembly")


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url, lock_timeout_ms=settings.db_lock_timeout_ms,
                         statement_timeout_ms=settings.db_statement_timeout_ms)
    log.info("database: %s", database_version(engine))
    return engine
