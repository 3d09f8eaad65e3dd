"""The `assembly` command: serve, db, demo, register, tally (and audit)."""

from __future__ import annotations

import importlib
from pathlib import Path

import click
import typer
from typer.core import TyperGroup

from assembly.errors import AssemblyError

# Sub-commands imported only when used: `assembly tally` must not pay for SQLAlchemy's import.
LAZY_GROUPS = {
    "register": "assembly.register.cli:register_app",
    "audit": "assembly.audit.cli:audit_app",
    "accounts": "assembly.auth.cli:accounts_app",
    "privacy": "assembly.privacy.cli:privacy_app",
}
# Commands that run no service (no database): they do not compose the application's reactions.
PURE_COMMANDS = {"tally", None}


class LazyGroup(TyperGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_GROUPS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_GROUPS:
            module, attribute = LAZY_GROUPS[name].split(":")
            command = typer.main.get_command(getattr(importlib.import_module(module), attribute))
            command.name = name
            return command
        return super().get_command(ctx, name)


app = typer.Typer(help="Assembly 业主共同决策平台", no_args_is_help=True, add_completion=False, cls=LazyGroup)
db_app = typer.Typer(help="数据库 / database", no_args_is_help=True)
app.add_typer(db_app, name="db")


def fail(error: AssemblyError | str, code: int = 1) -> typer.Exit:
    """Print one person-readable line on stderr; return the Exit to raise."""
    message = error.message if isinstance(error, AssemblyError) else error
    typer.echo(f"错误 / error: {message}", err=True)
    return typer.Exit(code)


@app.callback()
def main(ctx: typer.Context) -> None:
    """Assembly 业主共同决策平台."""
    if ctx.invoked_subcommand not in PURE_COMMANDS:  # compose the reactions before any service runs
        importlib.import_module("assembly.wiring").install()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema (alembic upgrade head)."""
    from assembly.db import database_version
    from assembly.migrations import current_revision, upgrade
    from assembly.runtime import get_engine

    engine = get_engine()
    upgrade(engine)
    typer.echo(f"数据库已是最新 / database at {current_revision(engine)} ({database_version(engine)})")


@app.command()
def serve(
    host: str = typer.Option(None, help="address to listen on (default: ASSEMBLY_HOST or 127.0.0.1)"),
    port: int = typer.Option(None, min=1, max=65535, help="port (default: ASSEMBLY_PORT or 8000)"),
    demo_if_empty: bool = typer.Option(False, "--demo-if-empty", help="load the demo estate into an empty database"),
    workers: int = typer.Option(None, min=1, max=64, help="server processes (PostgreSQL only; default: "
                                "ASSEMBLY_WORKERS or 1; docs/operators.md)"),
) -> None:
    """Migrate the database and start the web server."""
    from assembly.config import get_settings, refuse_demo_in_production
    from assembly.serve import run

    try:
        settings = get_settings()
        refuse_demo_in_production(settings, demo_if_empty=demo_if_empty)
        run(host=host or settings.host, port=port or settings.port, demo_if_empty=demo_if_empty,
            workers=workers or settings.workers)
    except AssemblyError as error:
        raise fail(error) from None


@app.command("jobs")
def jobs() -> None:
    """Run the job runner's round once now (closes, finalisations, card ends, checkpoints, deliveries):
    what every server process does each minute; safe beside running servers (one runs a job at a time)."""
    from assembly.config import get_settings
    from assembly.jobs import run_all_due
    from assembly.models import utcnow
    from assembly.runtime import get_engine

    done = run_all_due(get_engine(), get_settings(), utcnow())
    typer.echo(", ".join(f"{name}: {count}" for name, count in done.items()) or "nothing ran (another runner holds the jobs)")


@app.command()
def demo() -> None:
    """Create the demo estate (code `demo`) with its ~2,000-unit register, one login per role and a few
    owner cards; the estate is created once, the demo passwords and cards are renewed on every run."""
    from assembly.config import get_settings
    from assembly.db import unit_of_work
    from assembly.demo import load_demo, load_demo_access
    from assembly.errors import AssemblyError
    from assembly.migrations import upgrade
    from assembly.runtime import get_engine

    engine = get_engine()
    upgrade(engine)
    with unit_of_work(engine) as session:
        summary = load_demo(session, id_key=get_settings().id_hash_key)
    state = "已创建 / created" if summary.created else "已存在 / already present"
    typer.echo(
        f"示范小区 {summary.estate.code} {state}: register version {summary.version_number}, "
        f"{summary.units} units, {summary.members} voting members"
    )
    try:
        with unit_of_work(engine) as session:
            access = load_demo_access(session, settings=get_settings())
    except AssemblyError as error:
        raise fail(error) from None
    typer.echo("\n".join(access.lines()))


@app.command()
def tally(file: Path = typer.Argument(..., help="an assembly-tally/1 JSON file")) -> None:
    """Recount one motion or election from a tally file (shared/spec/tally-format.md)."""
    from assembly.law import tally as tally_file

    raise typer.Exit(tally_file.main(file))


if __name__ == "__main__":  # pragma: no cover
    app()
