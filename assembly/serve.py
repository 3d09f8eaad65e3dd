"""`assembly serve`: migrate, load the demo into an empty database when asked, say where to go, serve."""

from __future__ import annotations

import logging

import typer
from sqlalchemy import func, select

from assembly.config import get_settings
from assembly.db import database_version, unit_of_work
from assembly.migrations import upgrade
from assembly.runtime import get_engine

log = logging.getLogger("assembly")


def prepare(*, demo_if_empty: bool) -> None:
    """Everything before the first request: schema, and the demo estate on an empty database."""
    from assembly.demo import load_demo
    from assembly.register.models import Estate

    engine = get_engine()
    typer.echo(f"数据库 / database: {database_version(engine)}")
    upgrade(engine)
    if demo_if_empty:
        with unit_of_work(engine) as session:
            empty = session.scalar(select(func.count()).select_from(Estate)) == 0
            if empty:
                summary = load_demo(session, id_key=get_settings().id_hash_key)
                typer.echo(f"已加载示范小区 / demo estate loaded: {summary.units} units, {summary.members} members")


def banner(host: str, port: int) -> str:
    import os

    settings = get_settings()
    explicit = os.environ.get("ASSEMBLY_SITE_URL")
    base = (explicit or f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}").rstrip("/")
    return "\n".join(
        [
            "",
            f"  Assembly 业主共同决策平台 is running: {base}/",
            f"  示范小区 / demo estate:        {base}/estate/demo",
            f"  API (OpenAPI):                 {base}/api/openapi.json",
            "",
        ]
    )


def run(*, host: str, port: int, demo_if_empty: bool, reload: bool = False) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    prepare(demo_if_empty=demo_if_empty)
    typer.echo(banner(host, port))
    uvicorn.run("assembly.app:create_app", factory=True, host=host, port=port, reload=reload, proxy_headers=True)
