"""`assembly serve`: migrate, load the demo into an empty database when asked, say where to go, serve."""

from __future__ import annotations

import logging

import typer
from sqlalchemy import func, select

from assembly.config import Settings, get_settings, refuse_demo_in_production
from assembly.db import database_version, is_sqlite, unit_of_work
from assembly.errors import ConfigurationError
from assembly.migrations import upgrade
from assembly.runtime import get_engine

log = logging.getLogger("assembly")


def prepare(*, demo_if_empty: bool, site_url: str | None = None) -> list[str]:
    """Everything before the first request: schema, and the demo estate on an empty database.

    Returns the demo logins and cards to print once (never in production).
    """
    from assembly.demo import load_demo, load_demo_access
    from assembly.register.models import Estate

    refuse_demo_in_production(get_settings(), demo_if_empty=demo_if_empty)
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


def uvicorn_options(settings: Settings) -> dict:
    """X-Forwarded-For and -Proto are read only from ASSEMBLY_TRUSTED_PROXIES (uvicorn's own default,
    any process on the machine, and its FORWARDED_ALLOW_IPS are not used)."""
    proxies = settings.trusted_proxy_list
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None}


def run(*, host: str, port: int, demo_if_empty: bool, workers: int = 1) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if workers > 1 and is_sqlite(get_engine()):
        raise ConfigurationError(
            "SQLite 只能由一个服务进程使用；多个进程请使用 PostgreSQL（ASSEMBLY_DATABASE_URL） / several server "
            "processes need PostgreSQL (ASSEMBLY_DATABASE_URL); SQLite is served by one process",
            code="workers_need_postgresql")
    demo_lines = prepare(demo_if_empty=demo_if_empty, site_url=base_url(host, port))
    typer.echo(banner(host, port, demo_lines))
    if workers > 1:  # uvicorn's process manager; each process runs the job runner, one at a time per job
        uvicorn.run("assembly.app:create_server_app", factory=True, host=host, port=port, workers=workers,
                    **uvicorn_options(get_settings()))
        return
    from assembly.app import create_server_app

    uvicorn.run(create_server_app(), host=host, port=port, **uvicorn_options(get_settings()))
