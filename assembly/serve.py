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


def prepare(*, demo_if_empty: bool, site_url: str | None = None) -> list[str]:
    """Everything before the first request: schema, and the demo estate on an empty database.

    Returns the demo logins and cards to print once (never in production).
    """
    from assembly.demo import load_demo, load_demo_access
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
                if not get_settings().is_production:
                    return load_demo_access(session, site_url=site_url).lines()
    return []


def base_url(host: str, port: int) -> str:
    import os

    explicit = os.environ.get("ASSEMBLY_SITE_URL")
    return (explicit or f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}").rstrip("/")


def banner(host: str, port: int, demo_lines: list[str] | None = None) -> str:
    base = base_url(host, port)
    lines = [
        "",
        f"  Assembly 业主共同决策平台 is running: {base}/",
        f"  示范小区 / demo estate:        {base}/estate/demo",
        f"  工作人员登录 / staff login:    {base}/login   (业主扫描业主一卡通 / owners scan their card)",
        f"  API (OpenAPI):                 {base}/api/openapi.json",
    ]
    if demo_lines:
        lines += ["", *demo_lines]
    elif not get_settings().is_production:
        lines.append("  示范账户与示范卡：运行 `assembly demo` 重新生成 / run `assembly demo` for fresh demo logins and cards")
    return "\n".join([*lines, ""])


def run(*, host: str, port: int, demo_if_empty: bool) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    demo_lines = prepare(demo_if_empty=demo_if_empty, site_url=base_url(host, port))
    typer.echo(banner(host, port, demo_lines))
    from assembly.app import create_app

    uvicorn.run(create_app(ticker=True), host=host, port=port, proxy_headers=True)
