"""The `assembly` command: serve, db, demo, register, tally (and audit)."""

from __future__ import annotations

from pathlib import Path

import typer

from assembly.errors import AssemblyError

app = typer.Typer(help="Assembly 业主共同决策平台", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="数据库 / database", no_args_is_help=True)
app.add_typer(db_app, name="db")


def fail(error: AssemblyError | str, code: int = 1) -> typer.Exit:
    """Print one person-readable line on stderr; return the Exit to raise."""
    message = error.message if isinstance(error, AssemblyError) else error
    typer.echo(f"错误 / error: {message}", err=True)
    return typer.Exit(code)


@app.callback()
def main() -> None:
    """Assembly 业主共同决策平台."""


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
def tally(file: Path = typer.Argument(..., help="an assembly-tally/1 JSON file")) -> None:
    """Recount one motion or election from a tally file (shared/spec/tally-format.md)."""
    from assembly.voting import tally as tally_file

    raise typer.Exit(tally_file.main(file))


def _register_subcommands() -> None:
    from assembly.register.cli import register_app

    app.add_typer(register_app, name="register")


_register_subcommands()

if __name__ == "__main__":  # pragma: no cover
    app()
