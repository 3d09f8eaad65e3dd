"""Alembic environment: the engine comes from assembly (pragmas and locking included)."""

from __future__ import annotations

from alembic import context
from assembly.tables import load_all_models

target_metadata = load_all_models().metadata


def _engine():
    engine = context.config.attributes.get("engine")
    if engine is None:
        from assembly.config import get_settings
        from assembly.db import make_engine

        engine = make_engine(get_settings().resolved_database_url)
    return engine


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
